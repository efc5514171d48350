"""The production shape: docker-compose.yml and the Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_beat_redis_postgres_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"web", "worker", "beat", "redis", "postgres", "migrate"} <= set(services)
    for name in ("web", "worker", "redis", "postgres"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    # every app service waits for migrations, which wait for healthy databases
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    assert services["worker"]["command"][:3] == ["celery", "-A", "config"]
    assert "beat" in services["beat"]["command"]


def test_compose_gives_the_settings_what_production_requires() -> None:
    env = _compose()["services"]["web"]["environment"]
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS", "SKYLEDGER_READ_ROLE"):
        assert name in env
    assert "AWS_ENDPOINT_URL" not in env, "production must talk to real AWS"
    assert env["DATABASE_URL"].startswith("postgres://")


def test_dockerfile_serves_with_gunicorn_and_collects_static() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r'CMD \["gunicorn", "config.wsgi:application"', text)
    assert "collectstatic" in text and "HEALTHCHECK" in text and "USER skyledger" in text


def test_dockerfile_installs_exactly_the_locked_set() -> None:
    installs = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line]
    assert installs[0].split("pip install", 1)[1].split() == [
        "--no-cache-dir",
        "--require-hashes",
        "--no-deps",
        "-r",
        "requirements/prod.txt",
    ]
    assert all("--no-deps" in line for line in installs), "nothing may resolve dependencies past the lock"


def test_wsgi_application_imports() -> None:
    from config.wsgi import application

    assert callable(application)


def test_health_endpoint_answers_without_login(client, db) -> None:  # noqa: ANN001
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"

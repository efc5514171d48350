"""Production settings: the HTTPS proxy header is trusted only when the environment says so, HSTS
preload is off unless asked for, and `manage.py check --deploy` stays clean (as .ci/run runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOW = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
    "from django.conf import settings as s; "
    "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_PRELOAD, s.SECURE_HSTS_SECONDS > 0)"
)


# What a test process may have set that a production deployment does not (the browser tests set
# DJANGO_ALLOW_ASYNC_UNSAFE for Playwright, which `check --deploy` rightly refuses).
NOT_IN_PRODUCTION = {"SKYLEDGER_DEV", "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_IN_PRODUCTION}
    env.update(
        SECRET_KEY="test-only-" + "k3y" * 20,
        ALLOWED_HOSTS="skyledger.example.com",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        **extra,
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("trust", "expected"),
    [(None, "None"), ("0", "None"), ("1", "('HTTP_X_FORWARDED_PROTO', 'https')")],
)
def test_the_proxy_header_is_trusted_only_when_the_environment_says_so(
    trust: str | None, expected: str
) -> None:
    env = production_env()
    env.pop("SKYLEDGER_TRUST_X_FORWARDED_PROTO", None)
    if trust is not None:
        env["SKYLEDGER_TRUST_X_FORWARDED_PROTO"] = trust
    result = run(["-c", SHOW], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{expected} False True"


def test_hsts_preload_only_when_asked_for() -> None:
    result = run(["-c", SHOW], production_env(SECURE_HSTS_PRELOAD="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith(" True True")


@pytest.mark.parametrize("preload", ["0", "1"])
def test_the_deployment_check_is_clean_with_production_settings(preload: str) -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(SECURE_HSTS_PRELOAD=preload),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout

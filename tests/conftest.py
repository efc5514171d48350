"""Shared fixtures.

Services: tests marked ``postgres`` / ``redis`` skip with a visible reason when the service is not
reachable, unless ``REQUIRE_SERVICES=1`` (CI), where a missing service fails the run.
AWS: every test runs with fake credentials and ``AWS_ENDPOINT_URL`` pointing at loopback, so no
test can ever reach real AWS; tests that need an endpoint use the ``moto_server`` fixture.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from inventory.simulation import server as moto

# Set before anything creates a boto3 session: nothing in the suite may talk to real AWS.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
os.environ.setdefault("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: fails fast
os.environ.pop("AWS_PROFILE", None)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip (or fail under REQUIRE_SERVICES=1) when a service is not reachable."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and REQUIRE_SERVICES=1")
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # a hook, not a fixture added at collection: pytest resolves an item's fixtures before
    # collection hooks could add to them, so a marker-added fixture never ran
    if "redis" in item.keywords:
        _require_redis()
    if "postgres" in item.keywords:
        _require_postgres()


def _require_redis() -> None:
    need_service("Redis", "127.0.0.1", 6379)


def _require_postgres() -> None:
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        message = "this test needs PostgreSQL: set DATABASE_URL=postgres://..."
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[moto.MotoServer]:
    """One moto server process (HTTP on loopback) for the whole session."""
    server = moto.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: moto.MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto server: state reset before the test; AWS_ENDPOINT_URL points at it."""
    moto_server.reset()
    moto_server.seed(42)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    return moto_server.url


# --- users by role (accounts engineer) ----------------------------------------------------------
# One user per role of DESIGN.md, for "every view test meets three users". Log in with
# ``client.force_login(user)`` or, in a browser, with tests.factories.DEFAULT_PASSWORD.


@pytest.fixture
def security_user(db: None) -> object:
    """A member of the security group: may do everything."""
    from tests.factories import UserFactory

    return UserFactory(username="sec", security=True)


@pytest.fixture
def owner_team(db: None) -> object:
    """The team ``owner_user`` belongs to."""
    from tests.factories import TeamFactory

    return TeamFactory(name="Payments")


@pytest.fixture
def owner_user(owner_team: object) -> object:
    """A member of ``owner_team``: edits that team's accounts' descriptive records."""
    from tests.factories import UserFactory

    return UserFactory(username="owner", teams=[owner_team])


@pytest.fixture
def viewer_user(db: None) -> object:
    """A logged-in user in no team and not in the security group: read-only."""
    from tests.factories import UserFactory

    return UserFactory(username="viewer")

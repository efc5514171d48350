"""The simulated estate shared by the simulation and discovery tests.

Seeding takes seconds, so one estate is seeded per test session, on its own moto server (the
session's shared ``moto_server`` is reset by other tests, which would wipe it). Tests must not
change it; tests that change an organisation build a small one of their own.
"""

from __future__ import annotations

import atexit
import itertools
import random
from typing import Any

import boto3

from inventory.aws.session import AwsSettings, Hub
from inventory.simulation import server as moto
from inventory.simulation.estate import Estate, EstateSpec, seed

# Two regions: the fewest that still hold every planted item.
TEST_SPEC = EstateSpec(regions=("us-east-1", "eu-west-1"))

_shared: dict[str, Any] = {}


def shared_estate() -> tuple[moto.MotoServer, Estate]:
    """The session's estate (seeded on first use) and the server it lives on."""
    if "estate" not in _shared:
        server = moto.start()
        atexit.register(server.stop)
        try:
            _shared["estate"] = seed(server.url, TEST_SPEC)
        except BaseException:
            server.stop()
            raise
        _shared["server"] = server
    return _shared["server"], _shared["estate"]


def stop_shared() -> None:
    if "server" in _shared:
        _shared["server"].stop()


def register_accounts(estate: Estate, *, management_last: bool = False) -> list[Any]:
    """The estate's accounts in the registry, as discovery and the security team would set them up
    (environment, OU, read role, ExternalId, the estate's regions as the allowed list).

    ``management_last``: the management account comes last, as in ``make demo``'s first collection.
    """
    from accounts.models import AwsAccount

    infos = list(estate.accounts.values())
    if management_last:
        infos.sort(key=lambda info: info.id == estate.management_account_id)
    return [
        AwsAccount.objects.create(
            account_id=info.id,
            name=info.name,
            environment=info.env,
            org_unit=info.ou_path,
            read_role=estate.spec.read_role,
            external_id=estate.spec.external_id,
            allowed_regions=list(estate.spec.regions),
        )
        for info in infos
    ]


def credentials(access_key_id: str, secret: str, token: str = "") -> dict[str, str]:
    values = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret}
    if token:
        values["aws_session_token"] = token
    return values


def hub_session(estate: Estate) -> boto3.Session:
    """A boto3 session with Skyledger's own (hub) credentials."""
    hub = estate.hub
    return boto3.Session(
        aws_access_key_id=hub.access_key_id,
        aws_secret_access_key=hub.secret_access_key,
        aws_session_token=hub.session_token,
        region_name=estate.spec.home_region,
    )


def make_hub(estate: Estate, endpoint_url: str | None = None, **settings: Any) -> Hub:
    """A Hub (the production access layer) running as Skyledger against ``endpoint_url``."""
    options = {"endpoint_url": endpoint_url or estate.endpoint_url, "home_region": estate.spec.home_region}
    return Hub(AwsSettings(**{**options, "max_attempts": 2, **settings}), session=hub_session(estate))


_NEXT = itertools.count(random.SystemRandom().randrange(200_000_000_000, 800_000_000_000, 1_000_000))


def fresh_account() -> str:
    """A 12-digit account id no other test in this session uses."""
    return str(next(_NEXT))


def collect_and_check(estate: Estate, hub: Hub) -> tuple[list[Any], list[Any]]:
    """Register the estate's accounts, collect every one through the real access layer, then run
    every check once (as ``manage.py run_checks --all`` does), with the baseline items sandboxes skip
    by default switched on (the estate plants them there too). Returns the accounts and the engine's
    summaries.

    The after-collection hook is off while collecting: it would rebuild the estate-wide IAM graph
    after every account.
    """
    from iam_audit import engine
    from iam_audit.apps import run_checks_after_collection
    from iam_audit.checks import BASELINE_OFF_BY_DEFAULT
    from iam_audit.models import BaselineSetting
    from inventory import hooks
    from inventory.models import RunState
    from inventory.services.collect import AwsAccess, collect_account
    from inventory.services.runs import create_run

    accounts = register_accounts(estate)
    for env, ids in BASELINE_OFF_BY_DEFAULT.items():
        for check_id in ids:
            BaselineSetting.objects.create(check_id=check_id, environment=env, enabled=True)
    hooks.disconnect(run_checks_after_collection)
    try:
        for account in accounts:
            run = collect_account(account, create_run(account), access=AwsAccess(hub), region_workers=2)
            assert run.state in (RunState.DONE, RunState.PARTIAL), (account.name, run.message, run.errors[:3])
    finally:
        hooks.on_after_collection(run_checks_after_collection)
    return accounts, engine.run_all()

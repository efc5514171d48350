"""Least privilege, proven by recording: collect the whole simulated estate (discovery, the access
check, every collector in every account and region) with every AWS call recorded, map each call to
its IAM action(s), and evaluate each against the generated policies with Skyledger's own policy
evaluator (iam_audit.policy). No call may fall outside the policy; every recorded action must
be List/Read; declared actions never called are reported, not failed (the simulated estate does not
take every branch)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data

from iam_audit.apps import run_checks_after_collection
from iam_audit.policy import evaluate, parse_policy
from inventory import hooks
from inventory.aws import rolepolicy
from inventory.aws.access_check import check_access
from inventory.aws.permissions import HUB, READ, actions_for, declared, declared_actions
from inventory.aws.session import Hub, Target, acting_account
from inventory.discovery import read_from_aws
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from tests.inventory.simulation.support import make_hub, register_accounts, shared_estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]


@dataclasses.dataclass(frozen=True)
class Recorded:
    principal: str  # "read" (an account session) or "hub" (Skyledger's own credentials)
    account: str
    service: str
    operation: str
    region: str
    resource: str


class Recorder:
    """botocore ``before-parameter-build`` (the call's own parameters) on every client of a hub:
    who called what, where."""

    def __init__(self, hub: Hub, hub_account: str) -> None:
        self.calls: set[Recorded] = set()
        self._lock = threading.Lock()
        self._hub_account = hub_account
        hub.on_every_account_client("before-parameter-build", self._account_call, "test-least-privilege")
        for service in ("sts", "organizations"):
            hub.client(service).meta.events.register(
                "before-parameter-build", self._hub_call, unique_id="test-least-privilege-hub"
            )

    def _add(self, principal: str, account: str, model: Any, params: Any, context: Any) -> None:
        service = model.service_model.service_name
        region = str((context or {}).get("client_region") or "")
        resource = "*"
        if model.name == "AssumeRole":
            resource = str((params or {}).get("RoleArn") or "*")
        with self._lock:
            self.calls.add(Recorded(principal, account, service, model.name, region, resource))

    def _account_call(self, model: Any, params: Any = None, context: Any = None, **_: Any) -> None:
        self._add(READ, acting_account() or "?", model, params, context)

    def _hub_call(self, model: Any, params: Any = None, context: Any = None, **_: Any) -> None:
        self._add(HUB, self._hub_account, model, params, context)


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    doc = parse_policy(policy)
    assert not doc.problems, doc.problems
    return evaluate([(None, s) for s in doc.statements], action, resource).allowed


def _access_level(action: str) -> set[str]:
    prefix, name = action.split(":", 1)
    rows = (get_action_data(prefix, name) or {}).get(prefix, [])
    return {r["access_level"] for r in rows if str(r.get("action", "")).lower() == action.lower()}


def test_the_evaluator_refuses_what_the_policy_does_not_grant() -> None:
    # the assertion below can fail: an action the policy lacks is not allowed
    policy = rolepolicy.read_role_policy()
    assert _allowed(policy, "ec2:DescribeInstances", "*")
    assert not _allowed(policy, "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert not _allowed(policy, "ec2:RunInstances", "*")
    hub = rolepolicy.hub_policy("SkyledgerReadOnly")
    assert _allowed(hub, "sts:AssumeRole", "arn:aws:iam::111122223333:role/SkyledgerReadOnly")
    assert not _allowed(hub, "sts:AssumeRole", "arn:aws:iam::111122223333:role/Admin")


def _check_and_collect(hub: Hub, estate: Any, account: Any) -> None:
    target = Target(account.account_id, estate.read_role_arn(account.account_id), account.external_id or None)
    assert check_access(hub, target).ok, account.name
    run = collect_account(account, create_run(account), access=AwsAccess(hub), region_workers=2)
    assert run.state in ("done", "partial"), (account.name, run.message)
    denied = [e for e in run.errors if e.get("code") == "access-denied"]
    assert denied == [], (account.name, denied)


def test_a_full_collection_of_the_estate_makes_no_call_outside_the_generated_policy() -> None:
    _, estate = shared_estate()
    hub = make_hub(estate)
    recorder = Recorder(hub, estate.hub_account_id)
    accounts = register_accounts(estate)

    organization = read_from_aws(hub, read_role=estate.spec.read_role, external_id=estate.spec.external_id)
    assert len(organization.accounts) == len(accounts)
    hooks.disconnect(run_checks_after_collection)  # collection only: the checks call no AWS
    try:
        for account in accounts:
            _check_and_collect(hub, estate, account)
    finally:
        hooks.on_after_collection(run_checks_after_collection)

    calls = recorder.calls

    read_calls = {c for c in calls if c.principal == READ}
    hub_calls = {c for c in calls if c.principal == HUB}
    assert {c.account for c in read_calls} == {a.account_id for a in accounts}
    assert len({(c.service, c.operation) for c in read_calls}) > 60

    read_policy = rolepolicy.read_role_policy()
    hub_policy = rolepolicy.hub_policy(estate.spec.read_role)
    outside = sorted(
        (c.principal, c.service, c.operation, action, c.resource)
        for c in calls
        for action in actions_for(c.service, c.operation)
        if not _allowed(read_policy if c.principal == READ else hub_policy, action, c.resource)
    )
    assert outside == [], "calls outside the generated policy (declare them in their module)"

    # every declared call that was made is declared for the principal that made it
    declared_pairs = {(c.principal, c.service, c.operation) for c in declared()}
    undeclared = sorted({(c.principal, c.service, c.operation) for c in calls} - declared_pairs)
    assert undeclared == []

    recorded_actions = {a for c in calls for a in actions_for(c.service, c.operation)}
    not_read = sorted(
        a for a in recorded_actions if a != "sts:AssumeRole" and not _access_level(a) <= {"List", "Read"}
    )
    assert not_read == []
    assert all(_access_level(a) for a in recorded_actions)

    called = {a for c in read_calls for a in actions_for(c.service, c.operation)}
    never_called = sorted(set(declared_actions(READ)) - called)
    print(f"\n{len(read_calls)} distinct read calls, {len(hub_calls)} hub calls recorded")
    print(f"declared read actions never called on the simulated estate ({len(never_called)}): {never_called}")
    assert len(never_called) < len(declared_actions(READ)) // 4  # most of the policy is exercised

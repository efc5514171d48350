"""The declared AWS calls: every action exists, is List/Read, is no data-plane read, and every
client method a collector calls is declared."""

from __future__ import annotations

import ast
import importlib
import inspect

import botocore.session
import pytest
from botocore import xform_name
from policy_sentry.querying.actions import get_action_data

from inventory.aws import permissions
from inventory.aws.permissions import DATA_PLANE, HUB, READ, actions_for, declared, declared_actions
from inventory.collectors.base import collectors

READ_LEVELS = {"List", "Read"}


def _access_levels(action: str) -> set[str]:
    prefix, name = action.split(":", 1)
    data = get_action_data(prefix, name) or {}
    return {
        row["access_level"]
        for row in data.get(prefix, [])
        if str(row.get("action", "")).lower() == action.lower()
    }


@pytest.fixture(scope="module")
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


def test_every_declared_read_action_is_list_or_read_in_policy_sentry() -> None:
    actions = declared_actions(READ)
    assert len(actions) > 50
    problems = {}
    for action in actions:
        levels = _access_levels(action)
        if not levels or not levels <= READ_LEVELS:
            problems[action] = sorted(levels) or "unknown to policy_sentry"
    assert problems == {}


def test_hub_actions_are_only_assume_role_and_read() -> None:
    actions = declared_actions(HUB)
    assert "sts:AssumeRole" in actions
    for action in actions:
        if action != "sts:AssumeRole":
            assert _access_levels(action) <= READ_LEVELS and _access_levels(action), action


def test_no_declared_action_is_a_data_plane_read() -> None:
    assert set(declared_actions(READ)) & DATA_PLANE == set()
    assert set(declared_actions(HUB)) & DATA_PLANE == set()


def test_the_deny_list_names_real_non_list_actions() -> None:
    # a typo in the deny list would deny nothing: each entry is a real action in policy_sentry
    unknown = [action for action in sorted(DATA_PLANE) if not _access_levels(action)]
    assert unknown == []


def test_a_data_plane_read_is_refused_by_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory.aws import rolepolicy

    monkeypatch.setattr(
        rolepolicy, "declared_actions", lambda principal: ["s3:GetObject", "s3:ListAllMyBuckets"]
    )
    with pytest.raises(ValueError, match="s3:GetObject"):
        rolepolicy.read_role_policy()


def test_declared_operations_exist_in_botocore(botocore_session: botocore.session.Session) -> None:
    for call in declared():
        model = botocore_session.get_service_model(call.service)
        assert call.operation in model.operation_names, call


def test_signing_names_match_botocore(botocore_session: botocore.session.Session) -> None:
    for call in declared():
        signing = botocore_session.get_service_model(call.service).signing_name
        assert permissions._SIGNING_NAMES.get(call.service, call.service) == signing, call.service


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("s3", "ListObjectsV2", "s3:ListBucket"),
        ("s3", "GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        ("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
        ("lambda", "ListFunctions20150331", "lambda:ListFunctions"),
        ("lambda", "GetPolicy20150331v2", "lambda:GetPolicy"),
        ("iam", "GenerateCredentialReport", "iam:GenerateCredentialReport"),
        ("cloudwatch", "DescribeAlarms", "cloudwatch:DescribeAlarms"),
        ("elbv2", "DescribeTargetHealth", "elasticloadbalancing:DescribeTargetHealth"),
        ("accessanalyzer", "ListAnalyzers", "access-analyzer:ListAnalyzers"),
    ],
)
def test_operation_to_action(service: str, operation: str, action: str) -> None:
    assert actions_for(service, operation) == (action,)


def test_declare_refuses_a_method_name() -> None:
    with pytest.raises(ValueError, match="ListUsers"):
        permissions.declare("tests", "iam", "list_users")


def _called_names(module: object) -> set[str]:
    """String constants and attribute names in a module's source: client method names among them."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


MODULES = sorted(
    {type(c).__module__ for c in collectors()}
    | {
        "inventory.aws.regions",
        "inventory.aws.session",
        "inventory.aws.organizations",
        "inventory.aws.access_check",
    }
)


@pytest.mark.parametrize("module_name", MODULES)
def test_every_client_method_a_module_names_is_declared(
    module_name: str, botocore_session: botocore.session.Session
) -> None:
    """A module calling a client method of a service it declares must declare that operation."""
    module = importlib.import_module(module_name)
    mine = [call for call in declared() if call.owner == module_name]
    assert mine, f"{module_name} declares no AWS calls"
    services = {call.service for call in mine}
    declared_ops = {(call.service, call.operation) for call in mine}
    names = _called_names(module)
    missing = []
    for service in sorted(services):
        methods = {xform_name(op): op for op in botocore_session.get_service_model(service).operation_names}
        used = {methods[name] for name in names if name in methods}
        # a name shared by two declared services of the module (s3 and s3control both have
        # get_bucket_policy) is declared when either declares it
        for operation in sorted(used):
            if not any((other, operation) in declared_ops for other in services):
                missing.append(f"{service}.{operation}")
    assert missing == []


def test_every_registered_collector_module_declares_calls() -> None:
    owners = {call.owner for call in declared()}
    for collector in collectors():
        assert type(collector).__module__ in owners, collector.service

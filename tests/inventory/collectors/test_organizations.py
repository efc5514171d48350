"""Organizations collector against the moto server: management account, member account, no organisation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.collectors.organizations import OrganizationsCollector
from inventory.records import Coverage
from tests.inventory.collectors.conftest import (
    DEFAULT_ACCOUNT,
    AccountClients,
    by_type,
    inject_error,
    make_ctx,
    run,
)

pytestmark = pytest.mark.moto

Clients = Callable[..., AccountClients]
MANAGEMENT = "111122223333"
DENY_LEAVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}
REGIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
        }
    ],
}
DIRECT = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]}


def build_organisation(endpoint: str) -> dict[str, str]:
    org = AccountClients(endpoint, MANAGEMENT)("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    member = org.create_account(Email="prod@example.com", AccountName="prod <ünïcode>")[
        "CreateAccountStatus"
    ]["AccountId"]
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=prod)

    def scp(name: str, document: dict[str, Any], target: str) -> str:
        policy_id = org.create_policy(
            Content=json.dumps(document), Description=name, Name=name, Type="SERVICE_CONTROL_POLICY"
        )["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy_id, TargetId=target)
        return policy_id

    return {
        "root": root,
        "member": member,
        "workloads": workloads,
        "prod": prod,
        "deny_leave": scp("deny-leave", DENY_LEAVE, root),
        "regions": scp("regions", REGIONS, workloads),
        "direct": scp("direct", DIRECT, member),
    }


@pytest.fixture(scope="module")
def organisation(endpoint: str) -> dict[str, str]:
    return build_organisation(endpoint)


@pytest.fixture(scope="module")
def collected(organisation: dict[str, str], endpoint: str) -> tuple[dict[str, list[Any]], Any]:
    ctx = make_ctx(AccountClients(endpoint, MANAGEMENT), MANAGEMENT)
    return by_type(run(OrganizationsCollector(), ctx)), ctx


def test_management_account_yields_every_type(collected: Any) -> None:
    records, ctx = collected
    assert set(records) == set(OrganizationsCollector.types)
    assert all(c is Coverage.OK for c in ctx.coverage.values()) and not ctx.errors
    json.dumps([r.data for rs in records.values() for r in rs])


def test_organisation_record_carries_its_roots(collected: Any, organisation: dict[str, str]) -> None:
    records, _ = collected
    org = records["organizations:organization"][0]
    assert org.data["MasterAccountId"] == MANAGEMENT
    assert [r["Id"] for r in org.data["Roots"]] == [organisation["root"]]
    assert org.arn.startswith("arn:aws:organizations::")


def test_ous_have_parent_and_path(collected: Any, organisation: dict[str, str]) -> None:
    records, _ = collected
    ous = {r.resource_id: r.data for r in records["organizations:ou"]}
    assert ous[organisation["workloads"]]["Path"] == "Root/Workloads"
    assert ous[organisation["prod"]]["Path"] == "Root/Workloads/Prod"
    assert ous[organisation["prod"]]["ParentId"] == organisation["workloads"]


def test_accounts_have_parent_path_and_every_scp_that_reaches_them(
    collected: Any, organisation: dict[str, str]
) -> None:
    records, _ = collected
    accounts = {r.resource_id: r for r in records["organizations:account"]}
    assert set(accounts) == {MANAGEMENT, organisation["member"]}
    member = accounts[organisation["member"]]
    assert member.name == "prod <ünïcode>"
    assert [(p["Name"], p["Type"]) for p in member.data["ParentPath"]] == [
        ("Root", "ROOT"),
        ("Workloads", "ORGANIZATIONAL_UNIT"),
        ("Prod", "ORGANIZATIONAL_UNIT"),
    ]
    ids = set(member.data["PolicyIds"])
    assert {organisation["direct"], organisation["regions"], organisation["deny_leave"]} <= ids
    management = accounts[MANAGEMENT].data
    assert [p["Type"] for p in management["ParentPath"]] == ["ROOT"]
    assert organisation["deny_leave"] in management["PolicyIds"]
    assert (
        organisation["direct"] not in management["PolicyIds"]
        and organisation["regions"] not in management["PolicyIds"]
    )


def test_scps_have_parsed_content_and_targets(collected: Any, organisation: dict[str, str]) -> None:
    records, _ = collected
    policies = {r.resource_id: r.data for r in records["organizations:policy"]}
    regions = policies[organisation["regions"]]
    assert regions["Content"] == REGIONS
    assert regions["Targets"] == [
        {"TargetId": organisation["workloads"], "Type": "ORGANIZATIONAL_UNIT", "Name": "Workloads"}
    ]
    assert policies[organisation["deny_leave"]]["Targets"][0]["Type"] == "ROOT"


def test_a_member_account_collects_nothing_and_is_complete(
    organisation: dict[str, str], clients_for: Clients
) -> None:
    member = organisation["member"]
    ctx = make_ctx(clients_for(member), member)
    assert run(OrganizationsCollector(), ctx) == []
    assert ctx.coverage == {t: Coverage.OK for t in OrganizationsCollector.types} and not ctx.errors


def test_an_account_outside_any_organisation_collects_nothing_and_is_complete(clients_for: Clients) -> None:
    ctx = make_ctx(clients_for(DEFAULT_ACCOUNT), DEFAULT_ACCOUNT)
    assert run(OrganizationsCollector(), ctx) == []
    assert ctx.coverage == {t: Coverage.OK for t in OrganizationsCollector.types} and not ctx.errors


def test_unknown_scp_targets_leave_accounts_policy_ids_unknown_not_empty(
    organisation: dict[str, str], clients_for: Clients
) -> None:
    clients = clients_for(MANAGEMENT)
    inject_error(clients("organizations"), "ListTargetsForPolicy", "AccessDeniedException", status=400)
    ctx = make_ctx(clients, MANAGEMENT)

    records = by_type(run(OrganizationsCollector(), ctx))

    policy = next(r for r in records["organizations:policy"] if r.resource_id == organisation["regions"])
    assert policy.data["Targets"] is None and policy.data["Content"] == REGIONS
    member = next(r for r in records["organizations:account"] if r.resource_id == organisation["member"])
    assert member.data["PolicyIds"] is None
    assert member.data["Unavailable"] == {"PolicyIds": "access-denied"}
    assert [p["Name"] for p in member.data["ParentPath"]] == ["Root", "Workloads", "Prod"]
    assert all(c is Coverage.OK for c in ctx.coverage.values())  # the listings themselves succeeded

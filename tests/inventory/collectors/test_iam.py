"""IAM collector against the moto server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.collectors import iam as iam_module
from inventory.collectors.iam import IamCollector
from inventory.records import GLOBAL_REGION, Coverage
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
A = DEFAULT_ACCOUNT
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
HOSTILE = "</td><script>alert('x')</script> ñ 🚀"


def build_estate(clients: AccountClients) -> None:
    iam = clients("iam")
    iam.create_user(UserName="alice", Tags=[{"Key": "team<b>", "Value": HOSTILE}])
    iam.create_login_profile(UserName="alice", Password="Sup3r-secret-pw!")
    iam.create_access_key(UserName="alice")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_user_policy(UserName="alice", PolicyName="inline-admin", PolicyDocument=json.dumps(ADMIN))
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.add_user_to_group(GroupName="admins", UserName="bob")
    iam.create_group(GroupName="empty")
    policy_arn = iam.create_policy(PolicyName="local-admin", PolicyDocument=json.dumps(ADMIN))["Policy"][
        "Arn"
    ]
    iam.attach_group_policy(GroupName="admins", PolicyArn=policy_arn)
    iam.create_role(
        RoleName="cross", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=[{"Key": "Name", "Value": HOSTILE}]
    )
    iam.attach_role_policy(RoleName="cross", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="cross")
    iam.create_account_alias(AccountAlias="acme-prod")
    iam.create_saml_provider(
        SAMLMetadataDocument="<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>", Name="okta"
    )
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )


@pytest.fixture(scope="module")
def estate(endpoint: str) -> None:
    build_estate(AccountClients(endpoint))


@pytest.fixture(scope="module")
def collected(estate: None, endpoint: str) -> tuple[dict[str, list[Any]], Any]:
    ctx = make_ctx(AccountClients(endpoint), A)
    return by_type(run(IamCollector(), ctx)), ctx


def test_iam_collector_yields_every_declared_type(collected: tuple[dict[str, list[Any]], Any]) -> None:
    records, ctx = collected
    assert set(records) == set(IamCollector.types), set(IamCollector.types) - set(records)
    assert all(c is Coverage.OK for c in ctx.coverage.values()) and not ctx.errors
    assert all(r.region == GLOBAL_REGION for rs in records.values() for r in rs)
    json.dumps([r.data for rs in records.values() for r in rs])


def test_users_carry_mfa_keys_login_profile_and_their_credential_report_row(collected: Any) -> None:
    records, _ = collected
    users = {r.resource_id: r for r in records["iam:user"]}
    alice, bob = users["alice"].data, users["bob"].data
    assert users["alice"].arn == f"arn:aws:iam::{A}:user/alice"
    assert [d["SerialNumber"] for d in alice["MFADevices"]] == [f"arn:aws:iam::{A}:mfa/alice-mfa"]
    assert len(alice["AccessKeys"]) == 1
    assert set(alice["AccessKeys"][0]) == {
        "AccessKeyId",
        "Status",
        "CreateDate",
        "LastUsedDate",
        "LastUsedService",
        "LastUsedRegion",
    }
    assert alice["AccessKeys"][0]["Status"] == "Active"
    assert isinstance(alice["LoginProfile"]["CreateDate"], str)
    assert alice["CredentialReport"]["user"] == "alice" and alice["CredentialReport"]["mfa_active"] == "true"
    assert alice["UserPolicyList"][0]["PolicyDocument"] == ADMIN  # parsed, not a URL-encoded string
    assert "PasswordLastUsed" in alice
    # "there is none" is an answer, not an error
    assert (bob["MFADevices"], bob["AccessKeys"], bob["LoginProfile"]) == ([], [], None)
    assert users["alice"].tags == {"team<b>": HOSTILE}


def test_group_members_are_computed_from_users(collected: Any) -> None:
    records, _ = collected
    groups = {r.resource_id: r.data for r in records["iam:group"]}
    assert groups["admins"]["Members"] == ["alice", "bob"]
    assert groups["empty"]["Members"] == []


def test_roles_have_parsed_trust_policies_and_hostile_names_survive(collected: Any) -> None:
    records, _ = collected
    role = next(r for r in records["iam:role"] if r.resource_id == "cross")
    assert role.data["AssumeRolePolicyDocument"] == TRUST
    assert role.name == HOSTILE  # the Name tag wins; escaping is the pages' job
    profile = records["iam:instance-profile"][0]
    assert profile.resource_id == "web" and [r["RoleName"] for r in profile.data["Roles"]] == ["cross"]


def test_only_attached_aws_managed_policies_are_fetched_with_their_document(collected: Any) -> None:
    records, _ = collected
    policies = {r.resource_id: r.data for r in records["iam:policy"]}
    assert set(policies) == {"local-admin", "ReadOnlyAccess", "AdministratorAccess"}
    assert policies["local-admin"]["AwsManaged"] is False and policies["local-admin"]["Document"] == ADMIN
    admin = policies["AdministratorAccess"]
    assert admin["AwsManaged"] is True
    assert admin["Document"]["Statement"][0]["Action"] == "*"
    assert policies["ReadOnlyAccess"]["Document"]["Statement"]


def test_account_level_records_use_pseudo_arns(collected: Any) -> None:
    records, _ = collected
    password = records["iam:password-policy"][0]
    assert password.arn == f"arn:aws:iam::{A}:account-password-policy"
    assert password.data == {"Present": False}  # NoSuchEntity: a complete answer
    summary = records["iam:account-summary"][0]
    assert summary.arn == f"arn:aws:iam::{A}:account-summary"
    assert summary.data["AccountAliases"] == ["acme-prod"]
    assert summary.data["Users"] == 2
    assert [d["SerialNumber"] for d in summary.data["VirtualMFADevices"]] == [
        f"arn:aws:iam::{A}:mfa/alice-mfa"
    ]
    report = records["iam:credential-report"][0]
    assert report.arn == f"arn:aws:iam::{A}:credential-report"
    assert {row["user"] for row in report.data["Rows"]} >= {"alice", "bob"}
    assert isinstance(report.data["GeneratedTime"], str)
    assert records["iam:saml-provider"][0].resource_id == "okta"
    oidc = records["iam:oidc-provider"][0].data
    assert oidc["Url"].endswith("token.actions.githubusercontent.com") and oidc["ClientIDList"] == [
        "sts.amazonaws.com"
    ]


def test_a_password_policy_that_exists_is_recorded_as_present(collected: Any, clients_for: Clients) -> None:
    clients = clients_for()
    iam = clients("iam")
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
    try:
        policy = next(r for r in run(IamCollector(), make_ctx(clients, A)) if r.type == "iam:password-policy")
    finally:
        iam.delete_account_password_policy()  # the module's other tests expect none
    assert policy.data["Present"] is True and policy.data["MinimumPasswordLength"] == 14


def test_a_denied_authorization_listing_fails_principals_but_not_the_rest(
    estate: None, clients_for: Clients
) -> None:
    clients = clients_for()
    inject_error(clients("iam"), "GetAccountAuthorizationDetails", "AccessDenied")
    ctx = make_ctx(clients, A)

    records = by_type(run(IamCollector(), ctx))

    for type_ in ("iam:user", "iam:group", "iam:role", "iam:policy"):
        assert ctx.coverage[type_] is Coverage.DENIED and type_ not in records
    assert records["iam:instance-profile"] and records["iam:credential-report"]
    assert all(
        ctx.coverage.get(t, Coverage.OK) is Coverage.OK
        for t in ("iam:instance-profile", "iam:password-policy")
    )


def test_a_failing_per_user_call_keeps_the_user_with_a_note(estate: None, clients_for: Clients) -> None:
    clients = clients_for()
    inject_error(clients("iam"), "ListMFADevices", "Throttling", status=400)
    ctx = make_ctx(clients, A)

    users = {r.resource_id: r for r in run(IamCollector(), ctx) if r.type == "iam:user"}

    assert set(users) == {"alice", "bob"}
    assert users["alice"].data["MFADevices"] is None
    assert users["alice"].data["Unavailable"] == {"MFADevices": "throttled"}
    assert ctx.coverage.get("iam:user", Coverage.OK) is Coverage.OK


def test_a_credential_report_that_never_completes_fails_only_that_type(
    estate: None, clients_for: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.inventory.collectors.conftest import inject_answer

    clients = clients_for()
    inject_answer(clients("iam"), "GenerateCredentialReport", {"State": "STARTED"})
    monkeypatch.setattr(iam_module, "REPORT_WAIT_SECONDS", 0.3)
    ctx = make_ctx(clients, A)

    records = by_type(run(IamCollector(), ctx))

    assert ctx.coverage["iam:credential-report"] is Coverage.FAILED
    assert "iam:credential-report" not in records
    alice = next(r for r in records["iam:user"] if r.resource_id == "alice")
    assert alice.data["CredentialReport"] is None and alice.data["Unavailable"] == {
        "CredentialReport": "other"
    }

"""Organizations discovery: the simulated organisation into the registry, over HTTP against moto."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount
from accounts.services import guess_environment
from inventory.aws.errors import ErrorKind
from inventory.aws.organizations import OrgAccount, Organization, ScpRef
from inventory.aws.session import Hub
from inventory.discovery import CHANGE_REASON, DiscoveryError, apply_organization, discover_accounts
from inventory.simulation.estate import Estate
from inventory.simulation.proxy import FaultProxy
from inventory.simulation.server import MotoServer
from tests.factories import AwsAccountFactory, TeamFactory, UserFactory
from tests.inventory.discovery.support import tiny_org
from tests.inventory.simulation.support import make_hub

pytestmark = [pytest.mark.moto, pytest.mark.django_db]


def history_count() -> int:
    return AwsAccount.history.count()


def test_discovery_creates_every_account_with_environment_ou_and_scps(estate: Estate, hub: Hub) -> None:
    summary = discover_accounts(hub, read_role=estate.spec.read_role, discovery_role_arn="")
    assert summary.organization_id == estate.organization_id
    assert summary.management_account_id == estate.management_account_id
    assert sorted(summary.created) == sorted(info.id for info in estate.accounts.values())
    assert not summary.updated and not summary.left
    registry = {a.account_id: a for a in AwsAccount.objects.all()}
    for info in estate.accounts.values():
        account = registry[info.id]
        # a new account's environment is guessed from its name or OU, and recorded as a guess (the
        # identity account, called "corp-directory", reads as "security"); the management account's
        # is AWS's fact
        management = info.id == estate.management_account_id
        expected = Environment.ORG_ROOT if management else guess_environment(info.aws_name, info.ou_path)
        assert account.environment == expected, info.key
        assert account.environment_guessed is not management, info.key
        assert account.org_unit == info.ou_path
        assert account.name == info.aws_name and account.email == info.email
        assert account.status == AccountStatus.ACTIVE
        assert sorted(scp["name"] for scp in account.scps) == sorted(info.scps)
        assert account.joined_at is not None and account.discovered_at is not None
        assert account.description == "" and account.owner is None and account.read_role == ""
    prod = registry[estate.account("prod").id]
    via = {scp["name"]: scp["via"] for scp in prod.scps}
    assert via["RegionAllowList"] == ["Root/Workloads"]
    assert via["DenyLeaveOrganization"] == ["Root"]
    # AWS (and moto) attach FullAWSAccess to every new OU and account
    assert via["FullAWSAccess"] == ["Root", "Root/Workloads", "Root/Workloads/Prod", "account"]
    assert registry[estate.management_account_id].environment == Environment.ORG_ROOT


def test_every_change_is_history_with_no_user_and_the_discovery_reason(estate: Estate, hub: Hub) -> None:
    discover_accounts(hub, discovery_role_arn="")
    records = list(AwsAccount.history.all())
    assert len(records) == len(estate.accounts)
    assert {r.history_type for r in records} == {"+"}
    assert {r.history_user_id for r in records} == {None}
    assert {r.history_change_reason for r in records} == {CHANGE_REASON}


def test_second_discovery_changes_nothing_and_writes_no_history(estate: Estate, hub: Hub) -> None:
    discover_accounts(hub, discovery_role_arn="")
    before = history_count()
    snapshot = {a.account_id: (a.updated, a.scps, a.org_unit) for a in AwsAccount.objects.all()}
    again = discover_accounts(hub, discovery_role_arn="")
    assert not again.changed
    assert sorted(again.unchanged) == sorted(info.id for info in estate.accounts.values())
    assert history_count() == before
    assert {a.account_id: (a.updated, a.scps, a.org_unit) for a in AwsAccount.objects.all()} == snapshot


def test_human_edits_survive_and_aws_owned_fields_are_restored(estate: Estate, hub: Hub) -> None:
    discover_accounts(hub, discovery_role_arn="")
    team = TeamFactory(name="Payments")
    prod = AwsAccount.objects.get(account_id=estate.account("prod").id)
    edits = {
        "description": "Card payments <b>live</b>", "owner": team, "environment": Environment.STAGING,
        "notes": "ask Ana", "read_role": "CustomAudit", "external_id": "xyz-123", "contact_email": "pay@example.org",
        "collection_enabled": False, "allowed_regions": ["us-east-1"],
    }  # fmt: skip
    for field, value in edits.items():
        setattr(prod, field, value)
    prod.name, prod.org_unit = "renamed by hand", "Root/Elsewhere"
    prod.save()
    before = history_count()

    summary = discover_accounts(hub, discovery_role_arn="")

    prod.refresh_from_db()
    for field, value in edits.items():
        assert getattr(prod, field) == value, field
    assert (prod.name, prod.org_unit) == ("prod", "Root/Workloads/Prod")
    assert summary.updated == {prod.account_id: ["name", "org_unit"]}
    assert history_count() == before + 1
    last = prod.history.first()
    assert (last.history_change_reason, last.history_user_id) == (CHANGE_REASON, None)


def test_registry_accounts_outside_the_organisation_are_marked_not_deleted(estate: Estate, hub: Hub) -> None:
    stranger = AwsAccountFactory(account_id="210987654321", name="acquired-company")
    summary = discover_accounts(hub, discovery_role_arn="")
    stranger.refresh_from_db()
    assert stranger.status == AccountStatus.NOT_IN_ORG
    assert summary.left == ["210987654321"]
    assert stranger.history.first().history_change_reason == CHANGE_REASON
    assert not discover_accounts(hub, discovery_role_arn="").left  # marked once


def test_an_account_removed_from_the_organisation_is_marked_not_deleted(moto_server: MotoServer) -> None:
    org = tiny_org(moto_server.url)
    hub = org.hub()
    discover_accounts(hub, discovery_role_arn="")
    gone = org.members["gamma"]
    org.client().remove_account_from_organization(AccountId=gone)

    summary = discover_accounts(hub, discovery_role_arn="")

    account = AwsAccount.objects.get(account_id=gone)
    assert account.status == AccountStatus.NOT_IN_ORG
    assert summary.left == [gone] and not summary.created and not summary.updated
    assert AwsAccount.objects.count() == 4  # three members and the management account, none deleted
    assert account.history.first().history_change_reason == CHANGE_REASON


def test_a_closed_account_becomes_closed_and_a_returning_one_active(moto_server: MotoServer) -> None:
    org = tiny_org(moto_server.url)
    hub = org.hub()
    discover_accounts(hub, discovery_role_arn="")
    closed = org.members["beta-prod"]
    org.client().close_account(AccountId=closed)
    summary = discover_accounts(hub, discovery_role_arn="")
    assert summary.updated == {closed: ["status"]}
    account = AwsAccount.objects.get(account_id=closed)
    assert account.status == AccountStatus.SUSPENDED  # moto: SUSPENDED, as AWS says while closing

    AwsAccount.objects.filter(pk=account.pk).update(status=AccountStatus.NOT_IN_ORG)
    alpha = AwsAccount.objects.get(account_id=org.members["alpha-dev"])
    AwsAccount.objects.filter(pk=alpha.pk).update(status=AccountStatus.NOT_IN_ORG)
    summary = discover_accounts(hub, discovery_role_arn="")
    assert AwsAccount.objects.get(pk=alpha.pk).status == AccountStatus.ACTIVE
    assert summary.updated[alpha.account_id] == ["status"]


def test_environment_is_guessed_from_names_and_left_alone_otherwise(moto_server: MotoServer) -> None:
    org = tiny_org(moto_server.url)
    discover_accounts(org.hub(), discovery_role_arn="")
    environments = {a.account_id: a.environment for a in AwsAccount.objects.all()}
    assert environments[org.members["alpha-dev"]] == Environment.DEV
    assert environments[org.members["beta-prod"]] == Environment.PROD
    assert environments[org.members["gamma"]] == Environment.OTHER
    assert environments[org.management_id] == Environment.ORG_ROOT


def test_the_discovery_role_setting_names_the_management_account(estate: Estate, settings: object) -> None:
    role = estate.read_role_arn(estate.management_account_id)
    with FaultProxy(estate.endpoint_url) as proxy:
        hub = make_hub(estate, proxy.url)
        settings.SKYLEDGER_DISCOVERY_ROLE_ARN = role  # type: ignore[attr-defined]
        summary = discover_accounts(hub)
        assumed = [r.params.get("RoleArn") for r in proxy.seen("sts", "AssumeRole")]
        described = proxy.seen("organizations", "DescribeOrganization")
    assert assumed == [role]
    # only the management account's session asks Organizations: no lookup with the hub's own keys
    assert {r.account for r in described} == {estate.management_account_id}
    assert len(summary.created) == len(estate.accounts)


def test_without_an_organisation_discovery_fails_with_a_reason(moto_server: MotoServer) -> None:
    org = tiny_org(moto_server.url, names=())
    org.client().delete_organization()
    with pytest.raises(DiscoveryError) as failure:
        discover_accounts(org.hub(), discovery_role_arn="")
    assert failure.value.classified.kind is ErrorKind.NOT_ENABLED
    assert AwsAccount.objects.count() == 0


def test_a_read_role_that_cannot_be_assumed_fails_with_a_reason(estate: Estate) -> None:
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(service="sts", operation="AssumeRole", status=403, code="AccessDenied")
        with pytest.raises(DiscoveryError) as failure:
            discover_accounts(make_hub(estate, proxy.url), discovery_role_arn="")
    assert failure.value.classified.kind is ErrorKind.ROLE_MISSING
    assert AwsAccount.objects.count() == 0


def test_unreadable_scps_leave_the_registry_scps_alone(estate: Estate, hub: Hub) -> None:
    discover_accounts(hub, discovery_role_arn="")
    prod = AwsAccount.objects.get(account_id=estate.account("prod").id)
    scps = prod.scps
    with FaultProxy(estate.endpoint_url) as proxy:
        proxy.add_rule(
            service="organizations", operation="ListPolicies", status=400, code="AccessDeniedException"
        )
        summary = discover_accounts(make_hub(estate, proxy.url), discovery_role_arn="")
    prod.refresh_from_db()
    assert prod.scps == scps and scps
    assert not summary.changed
    assert "SCPs were not updated" in summary.text()


def _org(*accounts: OrgAccount, management: str = "111111111111") -> Organization:
    return Organization("o-test", "arn", management, "", "ALL", tuple(accounts), {}, {})


def test_odd_values_from_aws_are_stored_clipped_and_bad_ids_skipped() -> None:
    when = dt.datetime(2020, 1, 2, tzinfo=dt.UTC)
    odd = OrgAccount(
        id="222222222222", arn="", name="<script>alert(1)</script> 日本 " + "x" * 500, email="not-an-email " * 40,
        status="SOMETHING_NEW", joined_method="", joined_at=when, ou_path="Root/" + "deep/" * 100, parent_id="",
        scps=(ScpRef("p-1", "<b>Deny</b>", ("Root",)),),
    )  # fmt: skip
    unnamed = OrgAccount("333333333333", "", "   ", "", "ACTIVE", "", None, "Root", "")
    bad = OrgAccount("12ab", "", "bad", "", "ACTIVE", "", None, "Root", "")
    summary = apply_organization(_org(odd, unnamed, bad), now=timezone.now())
    assert summary.created == ["222222222222", "333333333333"]
    assert "12ab" in summary.text()
    stored = AwsAccount.objects.get(account_id="222222222222")
    assert stored.name.startswith("<script>") and len(stored.name) == 100
    assert len(stored.org_unit) == 300 and len(stored.email) <= 254
    assert stored.status == AccountStatus.ACTIVE  # an unknown AWS status keeps the default
    assert stored.scps == [{"id": "p-1", "name": "<b>Deny</b>", "via": ["Root"]}]
    assert AwsAccount.objects.get(account_id="333333333333").name == "333333333333"


def test_discovery_from_a_request_still_records_no_user(estate: Estate, hub: Hub) -> None:
    """The history middleware would stamp the logged-in user; discovery's changes are AWS's."""
    from simple_history.models import HistoricalRecords

    user = UserFactory(username="sec2", security=True)

    class Request:
        def __init__(self) -> None:
            self.user = user

    HistoricalRecords.context.request = Request()
    try:
        discover_accounts(hub, discovery_role_arn="")
    finally:
        del HistoricalRecords.context.request
    assert set(AwsAccount.history.values_list("history_user_id", flat=True)) == {None}

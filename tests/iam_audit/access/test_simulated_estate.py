"""The story on the simulated estate: seeded into moto, collected by the real collectors, read back.

The simulated organisation (inventory/simulation/estate.py) plants the IAM story: Developer, in the
identity account, is in group StagingReadOnly, whose policy CompanyAssumeRoleStagingReadOnly allows
sts:AssumeRole on staging's CompanyReadOnly (ReadOnlyAccess, trusting the identity account), and
the group has the enforce-MFA policy. The organisation and every account's IAM are collected over
HTTP (IAM and Organizations collectors only), the graph is built from the database, and the chain
must be exactly the story's. Seeding takes most of the time (~30-50 s on two busy cores).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import AwsAccount
from iam_audit import graph_store
from iam_audit.graph import Level
from iam_audit.graph.findings import EXTERNAL_PATH
from iam_audit.models import Principal
from inventory.aws.session import AwsSettings, Hub
from inventory.collectors import base
from inventory.models import RunState
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]

REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture(scope="module")
def simulated(moto_server: Any) -> Iterator[Any]:
    """The simulated estate, seeded once for this module (seeding resets the server first)."""
    from inventory.simulation.estate import EstateSpec, seed

    estate = seed(moto_server.url, EstateSpec(regions=REGIONS))
    yield estate
    moto_server.reset()


def _collect(estate: Any) -> dict[str, AwsAccount]:
    hub = Hub(AwsSettings(endpoint_url=estate.endpoint_url))
    collectors = base.collectors(lambda c: c.service in {"iam", "organizations"})
    accounts = {}
    for key, info in estate.accounts.items():
        account = AwsAccount.objects.create(
            account_id=info.id,
            name=info.name,
            environment=info.env,
            allowed_regions=list(REGIONS),
            read_role=estate.read_role_arn(info.id),
        )
        run = collect_account(
            account, create_run(account), access=AwsAccess(hub), collectors=collectors, region_workers=1
        )
        assert run.state == RunState.DONE, (key, run.message, run.errors)
        accounts[key] = account
    return accounts


def test_story_chain_on_the_simulated_estate(simulated: Any) -> None:
    estate = simulated
    story = estate.iam_story
    accounts = _collect(estate)
    graph_store.invalidate()
    state = graph_store.current()
    graph = state.graph

    assert graph.org.org_id == estate.organization_id
    assert graph.org.management_account_id == estate.management_account_id
    assert graph.org.environment(story.staging_account_id) == "staging"

    paths = [p for p in graph.paths_to(story.staging_account_id) if p.source_arn == story.user_arn and p.hops]
    assert len(paths) == 1
    path = paths[0]
    assert [(h.kind, h.arn) for h in path.hops] == [
        ("group", story.group_arn),
        ("policy", story.assume_policy_arn),
        ("statement", story.assume_policy_arn),
        ("assume", story.role_arn),
    ]
    assert [h.name for h in path.hops] == [
        "StagingReadOnly",
        "CompanyAssumeRoleStagingReadOnly",
        "AssumeStagingReadOnly",
        "CompanyReadOnly",
    ]
    assert path.hops[-1].environment == "staging"
    assert path.grants == ("ReadOnlyAccess",)
    assert path.privilege.level is Level.READ_ALL and path.privilege.label == "read-only, all services"
    assert path.mfa_required
    mfa = [r for r in path.conditions if r.kind == "mfa"]
    assert mfa and mfa[0].text == "MFA required"
    assert path.describe() == (
        "Developer → StagingReadOnly → CompanyAssumeRoleStagingReadOnly (statement AssumeStagingReadOnly) → "
        "staging:CompanyReadOnly → ReadOnlyAccess (read-only, all services) [MFA required]"
    )

    # the same story, as the staging access page groups it
    [group] = [
        g
        for g in graph_store.inbound_groups(state, story.staging_account_id)
        if g["role_arn"] == story.role_arn
    ]
    assert group["privilege"] == "read-only" and group["grants"] == ["ReadOnlyAccess"]
    assert story.user_arn in {r["source_arn"] for r in group["paths"]}

    # the principals table: users live in identity; the developer has MFA and reaches staging
    developer = Principal.objects.get(arn=story.user_arn)
    assert developer.account == accounts["identity"] and developer.mfa is True
    assert "StagingReadOnly" in developer.groups

    # planted: prod's VendorMonitoring trusts an account outside the organisation
    planted = {p.subject for p in estate.planted_for("iam.trust_outside_org")}
    external = {
        r.subject for r in graph_store.graph_results_by_account()[accounts["prod"].account_id][EXTERNAL_PATH]
    }
    assert planted <= external


def test_management_account_reaches_every_member_through_organization_account_access_role(
    simulated: Any,
) -> None:
    """Organizations' OrganizationAccountAccessRole trusts the management account's root: a path from
    that account into every member, whoever holds sts:AssumeRole there today (in the estate: nobody)."""
    estate = simulated
    _collect(estate)
    graph_store.invalidate()
    management = estate.management_account_id
    root = f"arn:aws:iam::{management}:root"
    members = {info.id for info in estate.accounts.values() if info.id != management}

    out = io.StringIO()
    call_command("export_access_paths", "--format", "json", "--from-principal", root, stdout=out)
    rows = [r for r in json.loads(out.getvalue()) if r["assumes"] == 1]
    role = "OrganizationAccountAccessRole"
    reached = {r["target_account"]: r for r in rows if r["target_role_arn"].endswith(f":role/{role}")}
    assert set(reached) == members
    for account_id, row in reached.items():
        assert row["source_kind"] == "account" and row["source_account"] == management
        assert row["target_role_arn"] == f"arn:aws:iam::{account_id}:role/{role}"
        assert row["privilege_class"] == "administrator" and row["grants"] == ["AdministratorAccess"]
        assert row["holders"] == []  # no principal of the management account may assume it today...
        assert "no principal holds sts:AssumeRole today" in row["path"]  # ...and the path is there anyway

    # the member's access page groups it under the role, from the management account
    state = graph_store.current()
    prod = estate.accounts["prod"].id
    [group] = [g for g in graph_store.inbound_groups(state, prod) if g["role_name"] == role]
    [path] = [r for r in group["paths"] if r["source_arn"] == root]
    assert path["whole_account"] and path["holders"] == [] and group["privilege"] == "administrator"

    # and the trust graph draws the arrow, the role listed with its (empty) holders
    [edge] = [
        e
        for e in graph_store.trust_payload(state)["edges"]
        if (e["source"], e["target"]) == (management, prod)
    ]
    assert edge["privilege"] == "administrator" and role in edge["roles"]
    assert {"role": role, "known": True, "holders": []} in edge["whole_account"]


def test_an_scp_on_a_nested_ou_blocks_a_path_and_names_itself_and_lets_its_exception_through(
    simulated: Any,
) -> None:
    """dev sits in Root/Workloads/NonProd, whose SCP DenyReleaseDeployer denies sts:AssumeRole on
    ReleaseDeployer roles to all but ReleaseApprover roles: ReleaseCi's path into staging is shown
    blocked, with the SCP named, and is not access; ReleaseApprover's (the decoy) is effective."""
    estate = simulated
    _collect(estate)
    graph_store.invalidate()
    ci = estate.resources["dev.role.release_ci"]
    approver = estate.resources["dev.role.release_approver"]
    deployer = estate.resources["staging.role.release_deployer"]
    staging = estate.accounts["staging"].id
    graph = graph_store.current().graph

    assert [p for p in graph.paths_from(ci) if p.target_arn == deployer] == []
    assert staging not in graph.reachable_accounts(ci)
    [blocked] = [p for p in graph.blocked_paths if p.source_arn == ci]
    assert blocked.target_arn == deployer and blocked.blocked_by == ("DenyReleaseDeployer",)
    assert [p for p in graph.blocked_paths if p.source_arn == approver] == []
    [allowed] = [p for p in graph.paths_from(approver) if p.target_arn == deployer]
    assert allowed.privilege.level == Level.WRITE and not allowed.blocked
    # no other path of the estate is blocked: the other SCPs stop nothing that would be access
    assert [p.source_arn for p in graph.blocked_paths] == [ci]

    out = io.StringIO()
    call_command("export_access_paths", "--format", "json", "--to-account", staging, stdout=out)
    rows = {(r["source_arn"], r["target_role_arn"]): r for r in json.loads(out.getvalue())}
    assert rows[(ci, deployer)]["blocked"] is True and rows[(ci, deployer)]["blocked_by"] == [
        "DenyReleaseDeployer"
    ]
    assert rows[(approver, deployer)]["blocked"] is False
    out = io.StringIO()
    call_command("export_access_paths", "--format", "csv", "--from-principal", ci, stdout=out)
    assert "DenyReleaseDeployer" in out.getvalue() and ",yes," in out.getvalue()

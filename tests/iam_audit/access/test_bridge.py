"""The bridge over stored data: the graph from the database, built once per collection, its table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from iam_audit import graph_store
from iam_audit.graph import Level
from iam_audit.models import Principal
from tests.iam_audit.graph.factories import (
    IDENTITY,
    MGMT,
    OUTSIDE,
    PROD,
    STAGING,
    STORY_GROUP,
    STORY_POLICY,
    STORY_ROLE,
    STORY_USER,
    aws_policy_arn,
    managed,
    role_item,
    root,
    story,
    trust,
    user_item,
)

from .stored import T0, collect_iam, store_story

pytestmark = pytest.mark.django_db


def _story_paths(state: graph_store.GraphState) -> list:
    return [p for p in state.graph.paths_to(STAGING) if p.source_arn == STORY_USER and p.hops]


def test_story_path_is_built_from_stored_data() -> None:
    store_story()
    state = graph_store.current()
    paths = _story_paths(state)
    assert len(paths) == 1
    path = paths[0]
    assert [(h.kind, h.name) for h in path.hops] == [
        ("group", "StagingReadOnly"),
        ("policy", "CompanyAssumeRoleStagingReadOnly"),
        ("statement", "AssumeStagingReadOnly"),
        ("assume", "CompanyReadOnly"),
    ]
    assert path.hops[0].arn == STORY_GROUP and path.hops[1].arn == STORY_POLICY
    assert path.target_arn == STORY_ROLE and path.target_environment == "staging"
    assert path.grants == ("ReadOnlyAccess",)
    assert path.privilege.level is Level.READ_ALL
    assert path.mfa_required
    assert path.describe() == (
        "Developer → StagingReadOnly → CompanyAssumeRoleStagingReadOnly (statement AssumeStagingReadOnly) → "
        "staging:CompanyReadOnly → ReadOnlyAccess (read-only, all services) [MFA required]"
    )


def test_organisation_and_environments_come_from_the_database() -> None:
    store_story()
    state = graph_store.current()
    org = state.graph.org
    assert org.org_id == "o-story12345" and org.management_account_id == MGMT
    assert STAGING in org.account_ids and OUTSIDE not in org.account_ids
    assert org.environment(PROD) == "prod" and org.is_critical(PROD)
    assert state.loaded.iam_collected[IDENTITY] and state.loaded.iam_collected[STAGING]


def test_graph_is_built_once_per_collection_and_rebuilt_after_one() -> None:
    accounts = store_story()
    first = graph_store.current()
    with CaptureQueriesContext(connection) as queries:
        again = graph_store.current()
    assert again is first
    assert len(queries) == 2  # the registry and the newest coverage time: nothing else
    # a new collection (later) makes a new graph
    s = story()
    s.remove(STORY_ROLE)
    collect_iam(accounts[STAGING], s.items[STAGING], at=T0 + dt.timedelta(hours=6))
    rebuilt = graph_store.current()
    assert rebuilt is not first and rebuilt.stamp != first.stamp
    assert _story_paths(rebuilt) == []


def test_changing_an_account_environment_changes_the_stamp() -> None:
    accounts = store_story()
    before = graph_store.current()
    accounts[STAGING].environment = "prod"
    accounts[STAGING].save()
    after = graph_store.current()
    assert after.stamp != before.stamp
    assert after.graph.org.is_critical(STAGING)


def test_loading_the_estate_costs_the_same_queries_whatever_its_size() -> None:
    accounts = store_story()
    with CaptureQueriesContext(connection) as small:
        graph_store.load_estate()
    many = [user_item(IDENTITY, f"user{i}", groups=["StagingReadOnly"]) for i in range(60)] + [
        role_item(PROD, f"role{i}", trust(root(IDENTITY))) for i in range(40)
    ]
    s = story()
    collect_iam(accounts[IDENTITY], s.items[IDENTITY] + many[:60], at=T0 + dt.timedelta(hours=1))
    collect_iam(accounts[PROD], many[60:], at=T0 + dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as large:
        loaded = graph_store.load_estate()
    assert len(loaded.items_by_account[IDENTITY]) > 60
    assert len(large) == len(small) <= 3


def test_principals_table_mirrors_the_graph_and_keeps_ids_across_rebuilds() -> None:
    accounts = store_story()
    graph_store.current()
    developer = Principal.objects.get(arn=STORY_USER)
    assert developer.kind == "user" and developer.account == accounts[IDENTITY]
    assert developer.mfa is True and developer.console is True and developer.active_keys == 0
    assert developer.groups == ["StagingReadOnly"]
    assert "CompanyAssumeRoleStagingReadOnly (group StagingReadOnly)" in developer.policies
    # staging through the role, and identity itself (the enforce-MFA policy lets it set up its MFA)
    assert developer.reachable_accounts == 2
    assert developer.resource is not None and developer.resource.arn == STORY_USER
    role = Principal.objects.get(arn=STORY_ROLE)
    assert role.privilege == "read-only" and role.privilege_rank == int(Level.READ_ALL)
    assert role.privilege_label.startswith("read-only, all services")
    # the developer's path and identity's as a whole (the trust names its root)
    assert role.inbound_paths == 2 and role.inbound_outside == 0
    assert role.last_used == dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    group = Principal.objects.get(arn=STORY_GROUP)
    assert group.kind == "group" and group.privilege == "none"

    # the next collection adds a role and drops the developer: same ids for what stayed
    s = story()
    s.remove(STORY_USER)
    collect_iam(accounts[IDENTITY], s.items[IDENTITY], at=T0 + dt.timedelta(hours=1))
    extra = role_item(
        STAGING,
        "Auditor",
        trust(root(IDENTITY)),
        attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
    )
    collect_iam(accounts[STAGING], [*s.items[STAGING], extra], at=T0 + dt.timedelta(hours=1))
    state = graph_store.current()
    assert not Principal.objects.filter(arn=STORY_USER).exists()
    assert Principal.objects.get(arn=STORY_ROLE).pk == role.pk
    assert Principal.objects.filter(arn=extra.arn).exists()
    assert set(Principal.objects.values_list("graph_stamp", flat=True)) == {state.stamp}


def test_refreshing_an_up_to_date_table_writes_nothing() -> None:
    store_story()
    state = graph_store.current()
    with CaptureQueriesContext(connection) as queries:
        written = graph_store.refresh_principals(state)
    assert written == 0 and len(queries) <= 2


def test_deleted_resources_are_left_out() -> None:
    accounts = store_story()
    s = story()
    s.remove(STORY_ROLE)
    collect_iam(accounts[STAGING], s.items[STAGING], at=T0 + dt.timedelta(minutes=5))
    state = graph_store.current()
    assert STORY_ROLE not in state.graph.principals
    assert _story_paths(state) == []


def test_page_data_is_cached_under_the_stamp() -> None:
    accounts = store_story()
    state = graph_store.current()
    calls = []

    def compute() -> list[int]:
        calls.append(1)
        return [len(calls)]

    assert graph_store.cached(state, "k", compute) == [1]
    assert graph_store.cached(state, "k", compute) == [1]
    collect_iam(
        accounts[PROD], [role_item(PROD, "Extra", trust(root(IDENTITY)))], at=T0 + dt.timedelta(hours=2)
    )
    assert graph_store.cached(graph_store.current(), "k", compute) == [2]


def test_inbound_groups_put_the_story_role_with_its_privilege_and_conditions() -> None:
    store_story()
    state = graph_store.current()
    groups = graph_store.inbound_groups(state, STAGING)
    [group] = [g for g in groups if g["role_arn"] == STORY_ROLE]
    assert group["privilege"] == "read-only" and group["grants"] == ["ReadOnlyAccess"]
    [row] = [r for r in group["paths"] if r["source_arn"] == STORY_USER]
    assert [h["text"] for h in row["hops"]] == [
        "StagingReadOnly",
        "CompanyAssumeRoleStagingReadOnly",
        "CompanyAssumeRoleStagingReadOnly (statement AssumeStagingReadOnly)",
        "staging:CompanyReadOnly",
    ]
    assert [c["text"] for c in row["conditions"]] == ["MFA required"]
    assert row["mfa_required"] and not row["outside_org"]


def test_trust_payload_marks_outside_parties() -> None:
    s = story()
    s.add(
        PROD,
        role_item(
            PROD,
            "VendorAudit",
            trust(root(OUTSIDE), condition={"StringEquals": {"sts:ExternalId": "vendor-42"}}),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        ),
        *[i for i in s.items[STAGING] if i.type == "iam:policy"],
    )
    store_story(s)
    payload = graph_store.trust_payload(graph_store.current())
    nodes = {n["id"]: n for n in payload["nodes"]}
    assert nodes[OUTSIDE]["inside"] is False and nodes[STAGING]["inside"] is True
    [edge] = [e for e in payload["edges"] if e["source"] == OUTSIDE]
    assert edge["target"] == PROD and edge["outside_org"] and edge["roles"] == ["VendorAudit"]
    [story_edge] = [e for e in payload["edges"] if e["source"] == IDENTITY and e["target"] == STAGING]
    # the trust names identity's root and asks for no MFA: whoever identity authorises may come without
    assert story_edge["privilege"] == "read-only" and not story_edge["mfa_always"]
    assert story_edge["whole_account"] == [
        {"role": "CompanyReadOnly", "known": True, "holders": ["Developer"]}
    ]


def test_account_without_an_organisation_uses_the_registry() -> None:
    store_story(with_org=False)
    state = graph_store.current()
    assert state.graph.org.org_id == ""
    assert state.graph.org.management_account_id == MGMT  # the registry's org-root account
    assert {IDENTITY, STAGING, PROD} <= state.graph.org.account_ids
    assert len(_story_paths(state)) == 1


def test_a_rebuild_rewrites_only_the_principals_that_changed() -> None:
    accounts = store_story()
    first = graph_store.current()
    assert Principal.objects.count() == 3
    s = story()
    s.edit(STORY_ROLE, RoleLastUsed={"LastUsedDate": "2026-11-28T08:00:00+00:00"})
    collect_iam(accounts[STAGING], s.items[STAGING], at=T0 + dt.timedelta(hours=1))
    state = graph_store.build_state()
    assert state.stamp != first.stamp
    assert graph_store.refresh_principals(state) == 1  # the role; the user and the group are as they were
    role = Principal.objects.get(arn=STORY_ROLE)
    assert role.last_used == dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    assert set(Principal.objects.values_list("graph_stamp", flat=True)) == {state.stamp}
    assert graph_store.refresh_principals(state, force=True) == 3

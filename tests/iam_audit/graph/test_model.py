"""Building the graph's input from stored items, and the graph's summary queries."""

from __future__ import annotations

from iam_audit.checks.base import Item
from iam_audit.graph import build_graph, from_items, scp_levels_from_org_items

from .factories import (
    FULL_AWS_ACCESS,
    IDENTITY,
    MGMT,
    STAGING,
    STORY_GROUP,
    STORY_ROLE,
    STORY_USER,
    deny,
    doc,
    root,
    story,
)


def _org_item(type_: str, rid: str, data: dict) -> Item:
    return Item(
        type=type_,
        arn=f"arn:aws:organizations::{MGMT}:x/{rid}",
        resource_id=rid,
        name=rid,
        region="global",
        tags={},
        data=data,
    )


def test_scp_levels_follow_the_parent_path_and_targets() -> None:
    items = [
        _org_item(
            "organizations:policy",
            "p-full",
            {
                "Id": "p-full",
                "Name": "FullAWSAccess",
                "Content": FULL_AWS_ACCESS,
                "Type": "SERVICE_CONTROL_POLICY",
                "Targets": [{"TargetId": "r-root"}, {"TargetId": "ou-work"}, {"TargetId": STAGING}],
            },
        ),
        _org_item(
            "organizations:policy",
            "p-deny",
            {
                "Id": "p-deny",
                "Name": "NoLeave",
                "Content": doc(deny("organizations:LeaveOrganization")),
                "Targets": [{"TargetId": "ou-work"}],
            },
        ),
        _org_item(
            "organizations:policy",
            "p-untargeted",
            {"Id": "p-untargeted", "Name": "Mystery", "Content": FULL_AWS_ACCESS},
        ),
        _org_item(
            "organizations:account",
            STAGING,
            {
                "Id": STAGING,
                "ParentPath": [
                    {"Id": "r-root", "Type": "ROOT"},
                    {"Id": "ou-work", "Type": "ORGANIZATIONAL_UNIT"},
                ],
                "PolicyIds": ["p-full", "p-deny", "p-untargeted", "p-missing"],
            },
        ),
        _org_item("organizations:account", "bad", {"ParentPath": "garbage", "PolicyIds": None}),
        "not an item",
    ]
    levels = scp_levels_from_org_items(items)
    assert [[p.name for p in level] for level in levels[STAGING]] == [
        ["FullAWSAccess"],
        ["FullAWSAccess", "NoLeave"],
        ["FullAWSAccess", "Mystery"],
    ]
    assert levels["bad"] == ()


def test_scp_levels_from_org_items_drive_the_graph() -> None:
    s = story()
    items = [
        _org_item(
            "organizations:policy",
            "p-full",
            {
                "Id": "p-full",
                "Name": "FullAWSAccess",
                "Content": FULL_AWS_ACCESS,
                "Targets": [{"TargetId": "r-root"}, {"TargetId": IDENTITY}],
            },
        ),
        _org_item(
            "organizations:policy",
            "p-sts",
            {
                "Id": "p-sts",
                "Name": "NoSts",
                "Content": doc(deny("sts:*")),
                "Targets": [{"TargetId": IDENTITY}],
            },
        ),
        _org_item(
            "organizations:account",
            IDENTITY,
            {"Id": IDENTITY, "ParentPath": [{"Id": "r-root"}], "PolicyIds": ["p-full", "p-sts"]},
        ),
    ]
    s.scps = dict(scp_levels_from_org_items(items))
    assert [p for p in s.graph().paths_from(STORY_USER) if p.hops] == []


def test_from_items_ignores_other_types_and_non_items() -> None:
    s = story()
    s.items[IDENTITY] = [
        *s.items[IDENTITY],
        "junk",
        None,
        Item("ec2:instance", "arn:x", "i-1", "i-1", "eu-west-1", {}, {}),
    ]  # type: ignore[list-item]
    estate = s.estate()
    assert len(estate.accounts[IDENTITY].users) == 1
    assert estate.org.environment(STAGING) == "staging"
    assert estate.org.is_critical(IDENTITY) and not estate.org.is_critical(STAGING)
    assert estate.inside(STAGING) and not estate.inside("999999999999")


def test_without_org_ids_the_collected_accounts_are_inside() -> None:
    s = story()
    estate = from_items(s.items, {}, (), "")
    assert estate.inside(IDENTITY) and not estate.inside("999999999999")


def test_items_with_missing_and_odd_data_do_not_crash_the_build() -> None:
    odd = [
        Item("iam:user", "arn:aws:iam::111111111111:user/x", "x", "x", "global", {}, {}),
        Item(
            "iam:user",
            "arn:aws:iam::111111111111:user/<b>y</b>",
            "y",
            "y",
            "global",
            {},
            {
                "GroupList": "notalist",
                "AttachedManagedPolicies": [None, {"PolicyArn": 5}],
                "UserPolicyList": [{}],
                "AccessKeys": "no",
                "PermissionsBoundary": "x",
            },
        ),
        Item(
            "iam:role",
            "arn:aws:iam::111111111111:role/z",
            "z",
            "z",
            "global",
            {},
            {
                "AssumeRolePolicyDocument": "%7B%22bad",
                "RolePolicyList": [{"PolicyName": "é🚀", "PolicyDocument": []}],
            },
        ),
        Item(
            "iam:group",
            "arn:aws:iam::111111111111:group/g",
            "g",
            "g",
            "global",
            {},
            {"Members": [1, None, "x"]},
        ),
        Item(
            "iam:policy",
            "arn:aws:iam::111111111111:policy/p",
            "p",
            "p",
            "global",
            {},
            {"Document": "garbage"},
        ),
        Item("iam:saml-provider", "arn:aws:iam::111111111111:saml-provider/s", "s", "s", "global", {}, {}),
    ]
    graph = build_graph(from_items({IDENTITY: odd}, {IDENTITY: "identity"}, (IDENTITY,), ""))
    for arn in graph.principals:
        graph.principal_summary(arn)
    graph.findings()
    assert graph.principal_summary("arn:aws:iam::111111111111:user/x")["kind"] == "user"


def test_principal_summary_of_the_story_user() -> None:
    graph = story().graph()
    summary = graph.principal_summary(STORY_USER)
    assert (
        summary["kind"] == "user"
        and summary["account_id"] == IDENTITY
        and summary["environment"] == "identity"
    )
    assert summary["mfa"] is True and summary["console"] is True and summary["active_keys"] == 0
    assert summary["groups"] == ["StagingReadOnly"]
    assert [p["name"] for p in summary["policies"]] == [
        "CompanyAssumeRoleStagingReadOnly",
        "CompanyEnforceMFA",
    ]
    assert {a["account_id"]: a["label"] for a in summary["reachable_accounts"]}[
        STAGING
    ] == "read-only, all services"
    role = graph.principal_summary(STORY_ROLE)
    # its trust names identity's root: the whole account is a way in, besides the user who holds the right
    assert role["assumable_by"] == [root(IDENTITY), STORY_USER]
    assert role["privilege"]["level"] == "read-only"
    assert graph.principal_summary(STORY_GROUP)["members"] == ["Developer"]
    assert graph.principal_summary("arn:aws:iam::1:user/nobody") == {
        "arn": "arn:aws:iam::1:user/nobody",
        "known": False,
    }


def test_trust_edges_between_accounts() -> None:
    edges = story().graph().trust_edges()
    assert [
        (
            e.source,
            e.source_kind,
            e.target_account,
            e.roles,
            e.best_privilege.name,
            e.outside_org,
            e.mfa_always,
        )
        for e in edges
    ] == [(IDENTITY, "account", STAGING, (STORY_ROLE,), "read-only", False, False)]
    # the role trusts identity's root: whoever identity authorises tomorrow needs no MFA (the trust
    # does not ask for it), so MFA is not always required, though the developer's own path requires it
    assert edges[0].whole_account == ((STORY_ROLE, (STORY_USER,)),)
    assert edges[0].as_dict()["best_privilege_label"] == "read-only, all services"
    assert edges[0].as_dict()["whole_account"] == [{"role": STORY_ROLE, "holders": [STORY_USER]}]


def test_from_items_derives_scp_levels_from_org_items() -> None:
    s = story()
    org = [
        _org_item(
            "organizations:policy",
            "p-sts",
            {
                "Id": "p-sts",
                "Name": "NoSts",
                "Content": doc(deny("sts:*")),
                "Type": "SERVICE_CONTROL_POLICY",
                "Targets": [{"TargetId": IDENTITY}],
            },
        ),
        _org_item(
            "organizations:policy",
            "p-tag",
            {
                "Id": "p-tag",
                "Name": "Tags",
                "Content": doc(deny("*")),
                "Type": "TAG_POLICY",
                "Targets": [{"TargetId": STAGING}],
            },
        ),
        _org_item(
            "organizations:account", IDENTITY, {"Id": IDENTITY, "ParentPath": [], "PolicyIds": ["p-sts"]}
        ),
        _org_item(
            "organizations:account", STAGING, {"Id": STAGING, "ParentPath": [], "PolicyIds": ["p-tag"]}
        ),
    ]
    estate = from_items(s.items, s.environments, s.org_accounts, MGMT, org_items=org)
    assert [p.name for level in estate.org.scps[IDENTITY] for p in level] == ["NoSts"]
    assert STAGING not in estate.org.scps  # a tag policy limits nothing
    assert [p for p in build_graph(estate).paths_from(STORY_USER) if p.hops] == []

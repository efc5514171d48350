"""Graph findings and their metadata."""

from __future__ import annotations

import datetime as dt

from iam_audit.checks.base import REGISTRY, Severity, Status
from iam_audit.graph import GRAPH_CHECKS, graph_findings

from .factories import (
    ADMINISTRATOR_ACCESS,
    IDENTITY,
    PROD,
    READ_ONLY_ACCESS,
    STAGING,
    STORY_GROUP,
    STORY_ROLE,
    STORY_USER,
    Story,
    allow,
    aws_policy_arn,
    doc,
    group_arn,
    group_item,
    inline,
    managed,
    policy_item,
    role_arn,
    role_item,
    root,
    story,
    trust,
    user_arn,
    user_item,
)

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def _prod_story(*, enforce_mfa: bool) -> Story:
    s = story(enforce_mfa=enforce_mfa)
    s.add(
        PROD,
        policy_item(PROD, "ReadOnlyAccess", READ_ONLY_ACCESS, aws=True),
        role_item(
            PROD,
            "CompanyReadOnly",
            trust(root(IDENTITY)),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        ),
    )
    s.add(
        IDENTITY,
        policy_item(IDENTITY, "AssumeProd", doc(allow("sts:AssumeRole", role_arn(PROD, "CompanyReadOnly")))),
    )
    s.edit(
        STORY_GROUP,
        AttachedManagedPolicies=[
            *next(i for i in s.items[IDENTITY] if i.arn == STORY_GROUP).data["AttachedManagedPolicies"],
            managed("AssumeProd", f"arn:aws:iam::{IDENTITY}:policy/AssumeProd"),
        ],
    )
    return s


def test_graph_checks_metadata_is_complete_and_not_in_the_per_account_registry() -> None:
    assert set(GRAPH_CHECKS) == {
        "iam.reach_critical_without_mfa",
        "iam.external_path_into_org",
        "iam.privilege_escalation_path",
        "iam.effective_admin",
        "iam.blanket_policy_broad_group",
        "iam.unused_principal",
    }
    for check_id, meta in GRAPH_CHECKS.items():
        assert meta.id == check_id
        assert meta.title and meta.description and meta.risk and meta.remediation and meta.references
        assert check_id not in REGISTRY
        assert meta.to_check().id == check_id
    assert GRAPH_CHECKS["iam.blanket_policy_broad_group"].severity is Severity.MEDIUM
    assert GRAPH_CHECKS["iam.unused_principal"].severity is Severity.LOW
    assert GRAPH_CHECKS["iam.reach_critical_without_mfa"].severity is Severity.HIGH


def test_user_reaching_prod_without_mfa_is_flagged() -> None:
    graph = _prod_story(enforce_mfa=False).graph()
    results = graph_findings(graph, now=NOW)["iam.reach_critical_without_mfa"]
    assert [r.subject for r in results] == [STORY_USER]
    r = results[0]
    assert r.status is Status.FAIL and r.resource_type == "iam:user"
    assert r.evidence["accounts"] == [PROD]
    assert r.evidence["paths"][0]["target_role_arn"] == role_arn(PROD, "CompanyReadOnly")
    assert "without MFA" in r.summary and "prod" in r.summary


def test_user_reaching_prod_with_mfa_enforced_is_not_flagged() -> None:
    graph = _prod_story(enforce_mfa=True).graph()
    assert graph_findings(graph, now=NOW)["iam.reach_critical_without_mfa"] == []


def test_user_without_password_or_active_key_is_not_flagged() -> None:
    s = _prod_story(enforce_mfa=False)
    s.edit(STORY_USER, LoginProfile=None, AccessKeys=[{"AccessKeyId": "AKIA1", "Status": "Inactive"}])
    assert graph_findings(s.graph(), now=NOW)["iam.reach_critical_without_mfa"] == []


def test_staging_is_not_critical_by_default() -> None:
    graph = story(enforce_mfa=False).graph()
    assert graph_findings(graph, now=NOW)["iam.reach_critical_without_mfa"] == []


def test_passrole_with_run_instances_is_an_escalation_route() -> None:
    s = Story(
        {
            PROD: [
                role_item(
                    PROD,
                    "Builder",
                    trust(root(PROD)),
                    policies=[
                        inline(
                            "Build",
                            doc(allow(["iam:PassRole", "ec2:RunInstances"], "*", sid="LaunchAnything")),
                        )
                    ],
                )
            ]
        }
    )
    results = graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"]
    assert [r.subject for r in results] == [role_arn(PROD, "Builder")]
    methods = {m["method"]: m for m in results[0].evidence["methods"]}
    assert "CreateEC2WithExistingIP" in methods
    grant = methods["CreateEC2WithExistingIP"]["granted_by"][0]
    assert grant["policy"] == "Build" and grant["sid"] == "LaunchAnything"
    assert methods["CreateEC2WithExistingIP"]["reference"].startswith("https://")


def test_passrole_limited_to_one_role_is_not_an_escalation_route() -> None:
    s = Story(
        {
            PROD: [
                role_item(
                    PROD,
                    "Builder",
                    trust(root(PROD)),
                    policies=[
                        inline(
                            "Build",
                            doc(allow("iam:PassRole", role_arn(PROD, "AppRole")), allow("ec2:RunInstances")),
                        )
                    ],
                )
            ]
        }
    )
    assert graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"] == []


def test_attach_user_policy_on_oneself_is_an_escalation_route() -> None:
    s = Story(
        {
            IDENTITY: [
                user_item(
                    IDENTITY,
                    "Alice",
                    policies=[
                        inline(
                            "Self", doc(allow("iam:AttachUserPolicy", "arn:aws:iam::*:user/${aws:username}"))
                        )
                    ],
                )
            ]
        }
    )
    results = graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"]
    assert [r.subject for r in results] == [user_arn(IDENTITY, "Alice")]
    method = next(m for m in results[0].evidence["methods"] if m["method"] == "AttachUserPolicy")
    assert method["on_self"] == [f"iam:attachuserpolicy on {user_arn(IDENTITY, 'Alice')}"]


def test_attach_user_policy_on_someone_else_only_is_not_an_escalation_route() -> None:
    s = Story(
        {
            IDENTITY: [
                user_item(
                    IDENTITY,
                    "Alice",
                    policies=[inline("Other", doc(allow("iam:AttachUserPolicy", user_arn(IDENTITY, "Bob"))))],
                )
            ]
        }
    )
    assert graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"] == []


def test_escalation_blocked_by_scp_is_not_reported() -> None:
    s = Story(
        {
            PROD: [
                role_item(
                    PROD,
                    "Builder",
                    trust(root(PROD)),
                    policies=[inline("Build", doc(allow("iam:CreatePolicyVersion")))],
                )
            ]
        }
    )
    assert len(graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"]) == 1
    s.scps[PROD] = [
        [
            {"Id": "p-full", "Name": "Full", "Content": doc(allow("*"))},
            {
                "Id": "p-noiam",
                "Name": "NoIam",
                "Content": doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}),
            },
        ]
    ]
    assert graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"] == []


def test_administrators_are_not_reported_as_escalating() -> None:
    s = Story(
        {PROD: [role_item(PROD, "Admin", trust(root(PROD)), policies=[inline("All", ADMINISTRATOR_ACCESS)])]}
    )
    assert graph_findings(s.graph(), now=NOW)["iam.privilege_escalation_path"] == []


def test_admin_by_effect_but_not_by_name_is_flagged() -> None:
    s = Story(
        {
            PROD: [
                role_item(
                    PROD, "Deployer", trust(root(PROD)), policies=[inline("Everything", ADMINISTRATOR_ACCESS)]
                ),
                role_item(
                    PROD,
                    "BreakGlassAdmin",
                    trust(root(PROD)),
                    policies=[inline("Everything", ADMINISTRATOR_ACCESS)],
                ),
                policy_item(PROD, "AdministratorAccess", ADMINISTRATOR_ACCESS, aws=True),
                role_item(
                    PROD,
                    "Ops",
                    trust(root(PROD)),
                    attached=[managed("AdministratorAccess", aws_policy_arn("AdministratorAccess"))],
                ),
            ]
        }
    )
    results = graph_findings(s.graph(), now=NOW)["iam.effective_admin"]
    assert [r.subject for r in results] == [role_arn(PROD, "Deployer")]
    assert results[0].evidence["broad_statements"][0]["policy"] == "Everything"


def test_not_action_allow_making_an_admin_is_flagged() -> None:
    s = Story(
        {
            PROD: [
                role_item(
                    PROD,
                    "Builder",
                    trust(root(PROD)),
                    policies=[
                        inline(
                            "AlmostAll",
                            doc({"Effect": "Allow", "NotAction": "account:CloseAccount", "Resource": "*"}),
                        )
                    ],
                )
            ]
        }
    )
    results = graph_findings(s.graph(), now=NOW)["iam.effective_admin"]
    assert [r.subject for r in results] == [role_arn(PROD, "Builder")]


def test_blanket_policy_on_a_broad_group_is_flagged() -> None:
    members = [f"dev{i}" for i in range(12)]
    items = [
        policy_item(IDENTITY, "ReadOnlyAccess", READ_ONLY_ACCESS, aws=True),
        group_item(
            IDENTITY,
            "Everyone",
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
            members=members,
        ),
        group_item(
            IDENTITY,
            "Few",
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
            members=["dev0"],
        ),
    ]
    items += [user_item(IDENTITY, m, groups=["Everyone"]) for m in members]
    items += [user_item(IDENTITY, f"other{i}") for i in range(20)]
    results = graph_findings(Story({IDENTITY: items}).graph(), now=NOW)["iam.blanket_policy_broad_group"]
    assert [r.subject for r in results] == [group_arn(IDENTITY, "Everyone")]
    assert results[0].evidence["attached"] == ["ReadOnlyAccess"] and results[0].evidence["members"] == 12


def test_blanket_policy_reached_through_a_role_by_most_of_the_account_is_flagged() -> None:
    s = story()
    results = graph_findings(s.graph(), now=NOW, broad_group_min_members=10)["iam.blanket_policy_broad_group"]
    assert results == []  # one member in the story account... who is every user of the account
    s.add(IDENTITY, *(user_item(IDENTITY, f"u{i}", groups=["StagingReadOnly"]) for i in range(3)))
    results = graph_findings(s.graph(), now=NOW, broad_group_min_members=10)["iam.blanket_policy_broad_group"]
    assert [r.subject for r in results] == [STORY_GROUP]
    assert results[0].evidence["through_roles"] == {"ReadOnlyAccess": [STORY_ROLE]}


def test_unused_principals_beyond_the_limit_are_flagged() -> None:
    s = Story(
        {
            PROD: [
                role_item(PROD, "Recent", trust(root(PROD)), last_used="2026-11-01T00:00:00Z"),
                role_item(PROD, "Stale", trust(root(PROD)), last_used="2026-01-01T00:00:00Z"),
                role_item(PROD, "Never", trust(root(PROD)), created="2025-01-01T00:00:00Z"),
                role_item(PROD, "NewNever", trust(root(PROD)), created="2026-11-20T00:00:00Z"),
                role_item(
                    PROD,
                    "AWSServiceRoleForSupport",
                    trust("support.amazonaws.com", key="Service"),
                    path="/aws-service-role/support.amazonaws.com/",
                    created="2020-01-01T00:00:00Z",
                ),
                user_item(
                    PROD,
                    "KeyUser",
                    password_last_used=None,
                    created="2025-01-01T00:00:00Z",
                    keys=[
                        {
                            "AccessKeyId": "AKIA1",
                            "Status": "Active",
                            "LastUsedDate": "2026-11-28T00:00:00+00:00",
                        }
                    ],
                ),
                user_item(PROD, "Gone", password_last_used="2025-06-01T00:00:00+00:00"),
                user_item(PROD, "Garbled", password_last_used="not a date", created="also not"),
            ]
        }
    )
    results = graph_findings(s.graph(), now=NOW, unused_days=90)["iam.unused_principal"]
    assert sorted(r.subject for r in results) == sorted(
        [role_arn(PROD, "Stale"), role_arn(PROD, "Never"), user_arn(PROD, "Gone")]
    )
    longer = graph_findings(s.graph(), now=NOW, unused_days=400)["iam.unused_principal"]
    assert sorted(r.subject for r in longer) == sorted([role_arn(PROD, "Never"), user_arn(PROD, "Gone")])
    assert next(r for r in results if r.subject == role_arn(PROD, "Never")).summary == (
        "role Never never used since it was created 2025-01-01"
    )


def test_flat_findings_carry_their_check_id() -> None:
    s = _prod_story(enforce_mfa=False)
    flat = s.graph().findings(now=NOW)
    ids = {r.evidence["check_id"] for r in flat}
    assert "iam.reach_critical_without_mfa" in ids
    assert all(r.status is Status.FAIL and r.summary for r in flat)


def test_findings_on_the_story_only_report_what_is_wrong() -> None:
    by_check = graph_findings(story().graph(), now=NOW)
    assert {k: [r.subject for r in v] for k, v in by_check.items() if v} == {}


def test_staging_path_counts_for_critical_when_staging_is_critical() -> None:
    s = story(enforce_mfa=False)
    from iam_audit.graph import build_graph, from_items

    estate = from_items(s.items, s.environments, s.org_accounts, "", {}, critical_environments={"staging"})
    results = graph_findings(build_graph(estate), now=NOW)["iam.reach_critical_without_mfa"]
    assert [r.subject for r in results] == [STORY_USER]
    assert results[0].evidence["accounts"] == [STAGING]

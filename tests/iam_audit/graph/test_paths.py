"""Access paths: wildcards, NotAction/NotResource, trust rules, chaining, cycles, outside parties."""

from __future__ import annotations

from typing import Any

from iam_audit.checks.base import Exposure
from iam_audit.graph import AccessGraph, Level, graph_findings

from .factories import (
    ADMINISTRATOR_ACCESS,
    IDENTITY,
    OPS,
    OUTSIDE,
    PROD,
    STAGING,
    STORY_GROUP,
    STORY_ROLE,
    STORY_USER,
    Story,
    allow,
    aws_policy_arn,
    doc,
    inline,
    managed,
    policy_item,
    role_arn,
    role_item,
    root,
    saml_provider_item,
    story,
    trust,
    user_arn,
    user_item,
)

READ_ONLY = [managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))]


def _targets(graph: AccessGraph, source: str = STORY_USER) -> list[str]:
    return sorted(p.target_arn for p in graph.paths_from(source) if p.hops)


def _with_developer_policy(document: dict[str, Any], *, enforce_mfa: bool = False) -> Story:
    s = story(enforce_mfa=enforce_mfa)
    s.edit(STORY_USER, UserPolicyList=[inline("Extra", document)], GroupList=[])
    s.edit(STORY_GROUP, Members=[])
    return s


def _company_roles(s: Story, accounts: tuple[str, ...] = (PROD, OPS)) -> Story:
    for account in accounts:
        s.add(
            account,
            role_item(account, "CompanyReadOnly", trust(root(IDENTITY)), attached=READ_ONLY),
            role_item(account, "CompanyAdmin", trust(root(IDENTITY)), attached=READ_ONLY),
            role_item(account, "Other", trust(root(IDENTITY)), attached=READ_ONLY),
        )
    return s


def test_wildcard_role_arn_reaches_every_matching_role() -> None:
    s = _company_roles(_with_developer_policy(doc(allow("sts:AssumeRole", "arn:aws:iam::*:role/Company*"))))
    graph = s.graph()
    assert _targets(graph) == sorted(
        [
            STORY_ROLE,
            role_arn(PROD, "CompanyReadOnly"),
            role_arn(PROD, "CompanyAdmin"),
            role_arn(OPS, "CompanyReadOnly"),
            role_arn(OPS, "CompanyAdmin"),
        ]
    )


def test_question_mark_matches_one_character_in_role_arn() -> None:
    s = _company_roles(
        _with_developer_policy(doc(allow("sts:AssumeRole", "arn:aws:iam::33333333333?:role/Company*")))
    )
    assert _targets(s.graph()) == sorted([role_arn(PROD, "CompanyReadOnly"), role_arn(PROD, "CompanyAdmin")])


def test_arn_matching_is_case_sensitive_and_action_matching_is_not() -> None:
    s = _company_roles(_with_developer_policy(doc(allow("STS:assumerole", "arn:aws:iam::*:role/company*"))))
    assert _targets(s.graph()) == []
    s = _company_roles(_with_developer_policy(doc(allow("STS:assumerole", "arn:aws:iam::*:role/Company*"))))
    assert len(_targets(s.graph())) == 5


def test_not_action_allow_grants_assume_role() -> None:
    s = _with_developer_policy(
        doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
    )
    assert _targets(s.graph()) == [STORY_ROLE]


def test_not_action_allow_excluding_sts_does_not_grant_assume_role() -> None:
    s = _with_developer_policy(doc({"Effect": "Allow", "NotAction": "sts:*", "Resource": "*"}))
    assert _targets(s.graph()) == []


def test_not_action_deny_covers_assume_role() -> None:
    s = _with_developer_policy(
        doc(
            allow("sts:AssumeRole"),
            {"Effect": "Deny", "NotAction": ["s3:*", "ec2:*"], "Resource": "*"},
        )
    )
    assert _targets(s.graph()) == []


def test_not_resource_excluding_the_role_does_not_reach_it() -> None:
    s = _company_roles(
        _with_developer_policy(
            doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "NotResource": "arn:aws:iam::222222222222:role/*",
                }
            )
        )
    )
    targets = _targets(s.graph())
    assert STORY_ROLE not in targets
    assert role_arn(PROD, "CompanyReadOnly") in targets


def test_not_resource_deny_protects_everything_but_listed_roles() -> None:
    s = _company_roles(
        _with_developer_policy(
            doc(
                allow("sts:AssumeRole", "*"),
                {"Effect": "Deny", "Action": "sts:AssumeRole", "NotResource": STORY_ROLE},
            )
        )
    )
    assert _targets(s.graph()) == [STORY_ROLE]


def test_same_account_trust_naming_the_user_needs_no_identity_policy() -> None:
    s = story()
    s.add(
        IDENTITY,
        role_item(IDENTITY, "Named", trust(user_arn(IDENTITY, "Developer")), attached=READ_ONLY),
        role_item(IDENTITY, "ViaRoot", trust(root(IDENTITY)), attached=READ_ONLY),
    )
    targets = _targets(s.graph())
    assert role_arn(IDENTITY, "Named") in targets
    assert role_arn(IDENTITY, "ViaRoot") not in targets  # root delegates to identity policies: none allow it


def test_cross_account_trust_naming_the_user_still_needs_identity_policy() -> None:
    s = story()
    s.add(PROD, role_item(PROD, "Named", trust(user_arn(IDENTITY, "Developer")), attached=READ_ONLY))
    assert role_arn(PROD, "Named") not in _targets(s.graph())
    s.edit(STORY_USER, UserPolicyList=[inline("P", doc(allow("sts:AssumeRole", role_arn(PROD, "Named"))))])
    graph = s.graph()
    assert role_arn(PROD, "Named") in _targets(graph)
    path = next(p for p in graph.paths_from(STORY_USER) if p.target_arn == role_arn(PROD, "Named"))
    assert [h.kind for h in path.hops] == ["policy", "statement", "assume"]


def test_trust_condition_on_principal_arn_is_decided_for_each_caller() -> None:
    s = _with_developer_policy(doc(allow("sts:AssumeRole", "*")))
    s.add(IDENTITY, user_item(IDENTITY, "Tester", policies=[inline("P", doc(allow("sts:AssumeRole", "*")))]))
    s.edit(
        STORY_ROLE,
        AssumeRolePolicyDocument=trust(
            root(IDENTITY), condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/Dev*"}}
        ),
    )
    graph = s.graph()
    assert _targets(graph) == [STORY_ROLE]
    assert _targets(graph, user_arn(IDENTITY, "Tester")) == []
    path = next(p for p in graph.paths_from(STORY_USER) if p.hops)
    assert path.conditions == ()  # decided, not left as a requirement


def test_trust_requiring_mfa_and_external_id_shows_both() -> None:
    s = _with_developer_policy(doc(allow("sts:AssumeRole", "*")))
    s.edit(
        STORY_ROLE,
        AssumeRolePolicyDocument=trust(
            root(IDENTITY),
            condition={
                "Bool": {"aws:MultiFactorAuthPresent": True},
                "StringEquals": {"sts:ExternalId": "xyz"},
            },
        ),
    )
    path = next(p for p in s.graph().paths_from(STORY_USER) if p.hops)
    assert sorted(r.text for r in path.conditions) == ["ExternalId required", "MFA required"]
    assert path.mfa_required


def test_explicit_deny_in_trust_policy_breaks_the_path() -> None:
    s = story()
    s.edit(
        STORY_ROLE,
        AssumeRolePolicyDocument=doc(
            {"Effect": "Allow", "Principal": {"AWS": root(IDENTITY)}, "Action": "sts:AssumeRole"},
            {
                "Effect": "Deny",
                "Principal": {"AWS": user_arn(IDENTITY, "Developer")},
                "Action": "sts:AssumeRole",
            },
        ),
    )
    assert _targets(s.graph()) == []


def _chain_story() -> Story:
    """Developer -> ops Deployer -> prod Deploy (AdministratorAccess)."""
    s = _with_developer_policy(doc(allow("sts:AssumeRole", role_arn(OPS, "Deployer"))))
    s.add(
        OPS,
        role_item(
            OPS,
            "Deployer",
            trust(root(IDENTITY)),
            policies=[inline("Chain", doc(allow("sts:AssumeRole", "arn:aws:iam::*:role/Deploy")))],
        ),
    )
    s.add(
        PROD,
        policy_item(PROD, "AdministratorAccess", ADMINISTRATOR_ACCESS, aws=True),
        role_item(
            PROD,
            "Deploy",
            trust(role_arn(OPS, "Deployer")),
            attached=[managed("AdministratorAccess", aws_policy_arn("AdministratorAccess"))],
        ),
    )
    return s


def test_role_chaining_reaches_the_second_role() -> None:
    graph = _chain_story().graph()
    chained = [p for p in graph.paths_to(PROD) if p.source_arn == STORY_USER]
    assert len(chained) == 1
    path = chained[0]
    assert [h.kind for h in path.hops] == ["policy", "statement", "assume", "policy", "statement", "assume"]
    assert path.roles == (role_arn(OPS, "Deployer"), role_arn(PROD, "Deploy"))
    assert path.privilege.level is Level.ADMINISTRATOR
    # the middle role is a source of its own path too
    assert [p.target_arn for p in graph.paths_from(role_arn(OPS, "Deployer"))] == [role_arn(PROD, "Deploy")]


def test_role_chaining_respects_max_depth() -> None:
    graph = _chain_story().graph(max_depth=1)
    assert [p for p in graph.paths_to(PROD) if p.source_arn == STORY_USER] == []
    assert _targets(graph) == [role_arn(OPS, "Deployer")]


def test_cycles_between_roles_terminate_without_repeating_a_role() -> None:
    s = _with_developer_policy(doc(allow("sts:AssumeRole", "*")))
    names = ["A", "B", "C"]
    for account, name in zip((STAGING, PROD, OPS), names, strict=True):
        s.add(
            account,
            role_item(
                account,
                name,
                trust(root(STAGING), root(PROD), root(OPS), root(IDENTITY)),
                policies=[inline("Any", doc(allow("sts:AssumeRole", "*"), allow("s3:GetObject")))],
            ),
        )
    graph = s.graph(max_depth=10)
    from_dev = [p for p in graph.paths_from(STORY_USER) if p.hops]
    for p in from_dev:
        assert len(set(p.roles)) == len(p.roles)
    # every ordering of distinct roles: 3 + 3*2 + 3*2*1 chains over A, B, C (+ the story role alone)
    abc = [p for p in from_dev if p.roles[0] != STORY_ROLE]
    assert len(abc) == 15


def test_role_trusting_an_outside_account_is_flagged() -> None:
    s = story()
    s.add(PROD, role_item(PROD, "VendorAccess", trust(root(OUTSIDE)), attached=READ_ONLY))
    graph = s.graph()
    paths = graph.paths_from(root(OUTSIDE))
    assert [p.target_arn for p in paths] == [role_arn(PROD, "VendorAccess")]
    assert paths[0].outside_org and paths[0].source_kind == "external"
    results = graph_findings(graph)["iam.external_path_into_org"]
    assert [r.subject for r in results] == [role_arn(PROD, "VendorAccess")]
    assert results[0].exposure is Exposure.EXTERNAL
    assert results[0].evidence["parties"] == [root(OUTSIDE)]
    assert "with no condition" in results[0].summary
    edges = [e for e in graph.trust_edges() if e.outside_org]
    assert [(e.source, e.target_account) for e in edges] == [(OUTSIDE, PROD)]


def test_outside_trust_with_external_id_is_flagged_with_the_condition() -> None:
    s = story()
    s.add(
        PROD,
        role_item(
            PROD,
            "VendorAccess",
            trust(
                f"arn:aws:iam::{OUTSIDE}:role/Scanner", condition={"StringEquals": {"sts:ExternalId": "abc"}}
            ),
            attached=READ_ONLY,
        ),
    )
    results = graph_findings(s.graph())["iam.external_path_into_org"]
    assert len(results) == 1
    assert results[0].evidence["conditions"] == ["ExternalId required"]


def test_trust_pinned_to_our_organisation_is_not_a_path_from_outside() -> None:
    s = story()
    s.org_id = "o-abc123"
    s.add(
        PROD,
        role_item(
            PROD,
            "OrgOnly",
            trust("*", condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}),
            attached=READ_ONLY,
        ),
    )
    graph = s.graph()
    assert graph.paths_from("*") == []
    assert graph_findings(graph)["iam.external_path_into_org"] == []


def test_trust_anyone_is_public() -> None:
    s = story()
    s.add(PROD, role_item(PROD, "Open", trust("*"), attached=READ_ONLY))
    graph = s.graph()
    results = graph_findings(graph)["iam.external_path_into_org"]
    assert [r.subject for r in results] == [role_arn(PROD, "Open")]
    assert results[0].exposure is Exposure.PUBLIC


def test_path_from_outside_continues_through_role_chains() -> None:
    s = _chain_story()
    s.edit(role_arn(OPS, "Deployer"), AssumeRolePolicyDocument=trust(root(OUTSIDE)))
    graph = s.graph()
    assert [p.target_arn for p in graph.paths_from(root(OUTSIDE))] == [
        role_arn(OPS, "Deployer"),
        role_arn(PROD, "Deploy"),
    ]
    result = graph_findings(graph)["iam.external_path_into_org"][0]
    assert result.subject == role_arn(OPS, "Deployer")
    assert result.evidence["best_privilege"]["level"] == "administrator"


def test_saml_federated_principal_reaches_roles_trusting_its_provider() -> None:
    s = story()
    provider = f"arn:aws:iam::{IDENTITY}:saml-provider/Okta"
    s.add(IDENTITY, saml_provider_item(IDENTITY, "Okta"))
    s.add(
        PROD,
        role_item(
            PROD,
            "SsoReadOnly",
            trust(
                provider,
                key="Federated",
                action="sts:AssumeRoleWithSAML",
                condition={"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            ),
            attached=READ_ONLY,
        ),
    )
    paths = s.graph().paths_from(provider)
    assert [p.target_arn for p in paths] == [role_arn(PROD, "SsoReadOnly")]
    assert paths[0].source_kind == "federated" and not paths[0].outside_org


def test_roles_that_grant_nothing_are_not_destinations() -> None:
    s = _with_developer_policy(doc(allow("sts:AssumeRole", "*")))
    s.add(PROD, role_item(PROD, "Empty", trust(root(IDENTITY))))
    assert role_arn(PROD, "Empty") not in _targets(s.graph())


def test_service_principals_appear_only_when_asked() -> None:
    s = story()
    s.add(PROD, role_item(PROD, "Lambda", trust("lambda.amazonaws.com", key="Service"), attached=READ_ONLY))
    assert s.graph().paths_from("service:lambda.amazonaws.com") == []
    graph = s.graph(include_service_paths=True)
    assert [p.target_arn for p in graph.paths_from("service:lambda.amazonaws.com")] == [
        role_arn(PROD, "Lambda")
    ]
    assert graph.principal_summary(role_arn(PROD, "Lambda"))["trusted_services"] == ["lambda.amazonaws.com"]


def test_bare_account_id_principal_means_that_account_root() -> None:
    s = story()
    s.edit(STORY_ROLE, AssumeRolePolicyDocument=trust(IDENTITY))
    assert _targets(s.graph()) == [STORY_ROLE]


def test_unique_id_and_assumed_role_session_principals_name_the_caller() -> None:
    s = _chain_story()
    deployer = role_arn(OPS, "Deployer")
    deployer_id = next(i for i in s.items[OPS] if i.arn == deployer).data["RoleId"]
    s.edit(role_arn(PROD, "Deploy"), AssumeRolePolicyDocument=trust(deployer_id))
    assert [p.target_arn for p in s.graph().paths_from(deployer)] == [role_arn(PROD, "Deploy")]
    s.edit(
        role_arn(PROD, "Deploy"),
        AssumeRolePolicyDocument=trust(f"arn:aws:sts::{OPS}:assumed-role/Deployer/ci"),
    )
    assert [p.target_arn for p in s.graph().paths_from(deployer)] == [role_arn(PROD, "Deploy")]
    s.edit(
        role_arn(PROD, "Deploy"), AssumeRolePolicyDocument=trust(f"arn:aws:sts::{OPS}:assumed-role/Other/ci")
    )
    assert s.graph().paths_from(deployer) == []


def test_role_in_an_uncollected_org_account_is_a_source_inside_the_org() -> None:
    uncollected = "666666666666"
    s = story()
    s.org_accounts = (*s.org_accounts, uncollected)
    s.add(PROD, role_item(PROD, "FromSibling", trust(root(uncollected)), attached=READ_ONLY))
    graph = s.graph()
    paths = graph.paths_from(root(uncollected))
    assert [p.target_arn for p in paths] == [role_arn(PROD, "FromSibling")]
    assert paths[0].source_kind == "account" and not paths[0].outside_org
    assert graph_findings(graph)["iam.external_path_into_org"] == []

"""The story every page and the demo rely on, and what breaks it."""

from __future__ import annotations

from iam_audit.graph import AccessGraph, Level, Path, paths_as_rows

from .factories import (
    ENFORCE_MFA,
    FULL_AWS_ACCESS,
    IDENTITY,
    MGMT,
    STAGING,
    STORY_GROUP,
    STORY_POLICY,
    STORY_ROLE,
    STORY_USER,
    allow,
    deny,
    doc,
    inline,
    managed,
    policy_arn,
    policy_item,
    role_item,
    root,
    scp,
    story,
    trust,
    user_arn,
)


def _assume_paths(graph: AccessGraph, source: str = STORY_USER, account: str = STAGING) -> list[Path]:
    return [p for p in graph.paths_to(account) if p.source_arn == source and p.hops]


def test_story_path_is_developer_group_policy_statement_role_read_only() -> None:
    graph = story().graph()
    paths = _assume_paths(graph)
    assert len(paths) == 1
    path = paths[0]
    assert [(h.kind, h.name) for h in path.hops] == [
        ("group", "StagingReadOnly"),
        ("policy", "CompanyAssumeRoleStagingReadOnly"),
        ("statement", "AssumeStagingReadOnly"),
        ("assume", "CompanyReadOnly"),
    ]
    group, policy, statement, assume = path.hops
    assert group.arn == STORY_GROUP
    assert policy.arn == STORY_POLICY and policy.policy_kind == "managed"
    assert statement.policy_name == "CompanyAssumeRoleStagingReadOnly"
    assert statement.sid == "AssumeStagingReadOnly" and statement.index == 0
    assert statement.statement == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": STORY_ROLE,
        "Sid": "AssumeStagingReadOnly",
    }
    assert assume.arn == STORY_ROLE and assume.account_id == STAGING and assume.environment == "staging"
    assert assume.statement["Principal"] == {"AWS": root(IDENTITY)}
    assert path.target_arn == STORY_ROLE and path.target_account == STAGING
    assert path.grants == ("ReadOnlyAccess",)
    assert path.privilege.level is Level.READ_ALL
    assert path.privilege.label == "read-only, all services"
    assert path.describe() == (
        "Developer → StagingReadOnly → CompanyAssumeRoleStagingReadOnly (statement AssumeStagingReadOnly) → "
        "staging:CompanyReadOnly → ReadOnlyAccess (read-only, all services) [MFA required]"
    )


def test_story_path_is_mfa_required_because_of_the_enforce_mfa_policy() -> None:
    path = _assume_paths(story().graph())[0]
    assert path.mfa_required
    mfa = [r for r in path.conditions if r.kind == "mfa"]
    assert len(mfa) == 1
    assert mfa[0].text == "MFA required"
    assert mfa[0].effect == "Deny" and mfa[0].key == "aws:MultiFactorAuthPresent"
    assert "CompanyEnforceMFA" in mfa[0].where and "StagingReadOnly" in mfa[0].where


def test_story_path_without_enforce_mfa_policy_has_no_mfa_condition() -> None:
    path = _assume_paths(story(enforce_mfa=False).graph())[0]
    assert not path.mfa_required
    assert path.conditions == ()


def test_removing_the_trust_breaks_the_path() -> None:
    s = story()
    s.edit(STORY_ROLE, AssumeRolePolicyDocument=trust("ec2.amazonaws.com", key="Service"))
    assert _assume_paths(s.graph()) == []


def test_trust_naming_another_account_breaks_the_path() -> None:
    s = story()
    s.edit(STORY_ROLE, AssumeRolePolicyDocument=trust(root("999988887777")))
    assert _assume_paths(s.graph()) == []


def test_explicit_deny_on_the_user_breaks_the_path() -> None:
    s = story()
    s.edit(STORY_USER, UserPolicyList=[inline("NoAssume", doc(deny("sts:AssumeRole", "*")))])
    assert _assume_paths(s.graph()) == []


def test_explicit_deny_with_wildcards_in_action_and_arn_breaks_the_path() -> None:
    s = story()
    s.edit(
        STORY_USER,
        UserPolicyList=[inline("NoAssume", doc(deny("STS:Assume*", "arn:aws:iam::2222????????:role/*")))],
    )
    assert _assume_paths(s.graph()) == []


def test_deny_on_another_role_leaves_the_path() -> None:
    s = story()
    s.edit(
        STORY_USER,
        UserPolicyList=[inline("NoAssume", doc(deny("sts:AssumeRole", "arn:aws:iam::*:role/Admin*")))],
    )
    assert len(_assume_paths(s.graph())) == 1


def test_scp_denying_assume_role_in_the_identity_account_breaks_the_path() -> None:
    s = story()
    s.scps[IDENTITY] = [[scp("FullAWSAccess", FULL_AWS_ACCESS), scp("NoAssume", doc(deny("sts:AssumeRole")))]]
    assert _assume_paths(s.graph()) == []


def test_scp_denying_everything_in_staging_breaks_the_path() -> None:
    s = story()
    s.scps[STAGING] = [[scp("FullAWSAccess", FULL_AWS_ACCESS), scp("DenyAll", doc(deny("*")))]]
    graph = s.graph()
    assert _assume_paths(graph) == []
    assert graph.privilege(STORY_ROLE).level is Level.NONE


def test_scp_allow_list_must_allow_at_every_level() -> None:
    s = story()
    # root allows everything, the OU below allows only S3: sts:AssumeRole is not allowed at that level
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("S3Only", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))],
    ]
    assert _assume_paths(s.graph()) == []
    s.scps[IDENTITY] = [[scp("FullAWSAccess", FULL_AWS_ACCESS)], [scp("FullAWSAccess", FULL_AWS_ACCESS)]]
    assert len(_assume_paths(s.graph())) == 1


def test_scps_do_not_limit_the_management_account() -> None:
    s = story()
    s.scps[MGMT] = [[scp("DenyAll", doc(deny("*")))]]
    s.add(
        MGMT,
        policy_item(
            MGMT,
            "AssumeStaging",
            doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": STORY_ROLE}),
        ),
    )
    from .factories import managed, user_item

    s.add(
        MGMT,
        user_item(MGMT, "Operator", attached=[managed("AssumeStaging", policy_arn(MGMT, "AssumeStaging"))]),
    )
    s.edit(STORY_ROLE, AssumeRolePolicyDocument=trust(root(IDENTITY), root(MGMT)))
    graph = s.graph()
    assert len(_assume_paths(graph, source=user_arn(MGMT, "Operator"))) == 1


def test_conditional_scp_deny_becomes_a_requirement_not_a_break() -> None:
    s = story(enforce_mfa=False)
    s.scps[IDENTITY] = [
        [
            scp("FullAWSAccess", FULL_AWS_ACCESS),
            scp(
                "OfficeOnly", doc(deny("*", Condition={"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}))
            ),
        ]
    ]
    path = _assume_paths(s.graph())[0]
    assert [r.text for r in path.conditions] == ["source IP in 203.0.113.0/24"]
    assert [r.kind for r in path.conditions] == ["source-ip"]


def test_permission_boundary_without_sts_breaks_the_path() -> None:
    s = story()
    s.add(
        IDENTITY,
        policy_item(IDENTITY, "S3Boundary", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
    )
    s.edit(
        STORY_USER,
        PermissionsBoundary={
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": policy_arn(IDENTITY, "S3Boundary"),
        },
    )
    assert _assume_paths(s.graph()) == []


def test_permission_boundary_allowing_sts_keeps_the_path() -> None:
    s = story()
    s.add(
        IDENTITY,
        policy_item(IDENTITY, "StsBoundary", doc({"Effect": "Allow", "Action": "sts:*", "Resource": "*"})),
    )
    s.edit(
        STORY_USER,
        PermissionsBoundary={
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": policy_arn(IDENTITY, "StsBoundary"),
        },
    )
    assert len(_assume_paths(s.graph())) == 1


def test_mfa_policy_attached_to_the_user_directly_also_applies() -> None:
    s = story(enforce_mfa=False)
    s.add(IDENTITY, policy_item(IDENTITY, "CompanyEnforceMFA", ENFORCE_MFA))
    s.edit(
        STORY_USER,
        AttachedManagedPolicies=[managed("CompanyEnforceMFA", policy_arn(IDENTITY, "CompanyEnforceMFA"))],
    )
    assert _assume_paths(s.graph())[0].mfa_required


def test_story_rows_for_json_and_csv() -> None:
    path = _assume_paths(story().graph())[0]
    nested = paths_as_rows([path])[0]
    assert nested["source_arn"] == STORY_USER
    assert [h["kind"] for h in nested["hops"]] == ["group", "policy", "statement", "assume"]
    assert nested["hops"][2]["statement"]["Sid"] == "AssumeStagingReadOnly"
    assert nested["target_role_arn"] == STORY_ROLE and nested["target_account"] == STAGING
    assert nested["privilege_class"] == "read-only"
    assert nested["conditions"][0]["text"] == "MFA required"
    flat = paths_as_rows([path], flat=True)[0]
    assert all(isinstance(v, str | int) for v in flat.values())
    assert flat["hops"] == (
        "group:StagingReadOnly → policy:CompanyAssumeRoleStagingReadOnly → "
        "statement:CompanyAssumeRoleStagingReadOnly (statement AssumeStagingReadOnly) → assume:staging:CompanyReadOnly"
    )
    assert flat["conditions"] == "MFA required" and flat["mfa_required"] == "yes"


def test_an_scp_on_an_ou_between_root_and_the_account_blocks_the_path_and_is_named() -> None:
    s = story()
    ou_deny = scp("DenyStagingReadOnly", doc(deny("sts:AssumeRole", "arn:aws:iam::*:role/CompanyReadOnly")))
    # root, a nested OU holding the deny, another OU below it, then the account: all must allow
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("FullAWSAccess", FULL_AWS_ACCESS), ou_deny],
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
    ]
    graph = s.graph()
    assert _assume_paths(graph) == []
    assert graph.reachable_accounts(STORY_USER).get(STAGING) is None  # not counted as access
    [blocked] = [p for p in graph.blocked_paths if p.source_arn == STORY_USER]
    assert blocked.blocked and blocked.blocked_by == ("DenyStagingReadOnly",)
    assert blocked.target_arn == STORY_ROLE and blocked.privilege.level is Level.READ_ALL
    assert [h.kind for h in blocked.hops][-1] == "assume"
    assert "blocked by SCP DenyStagingReadOnly" in blocked.describe()
    [row] = [r for r in paths_as_rows(graph.blocked_paths, flat=True) if r["source_arn"] == STORY_USER]
    assert row["blocked"] == "yes" and row["blocked_by"] == "DenyStagingReadOnly"


def test_an_ou_level_without_an_allow_names_its_scps_and_an_allowing_scp_blocks_nothing() -> None:
    s = story()
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("S3Only", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))],
    ]
    graph = s.graph()
    assert _assume_paths(graph) == []
    assert {p.blocked_by for p in graph.blocked_paths if p.source_arn == STORY_USER} == {("S3Only",)}
    # the decoy: an OU SCP that allows sts:AssumeRole leaves the path effective and nothing blocked
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("AllowAssume", doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:*"], "Resource": "*"}))],
    ]
    graph = s.graph()
    assert len(_assume_paths(graph)) == 1
    assert graph.blocked_paths == []


def test_an_ou_scp_excepting_one_role_by_arn_judges_each_look_alike_role_as_itself() -> None:
    """Two roles with the same policies share decisions for speed, unless an SCP asks who the caller
    is: the approver's exception must not let its look-alike through (the OU bug of issue 25)."""
    s = story()
    target = STORY_ROLE
    grant = doc(allow("sts:AssumeRole", target))
    for name in ("Approver", "Ci"):
        s.add(IDENTITY, role_item(IDENTITY, name, trust(root(IDENTITY)), policies=[inline("Deploy", grant)]))
    only_approver = {
        "Effect": "Deny",
        "Action": "sts:AssumeRole",
        "Resource": target,
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{IDENTITY}:role/Approver"}},
    }
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("FullAWSAccess", FULL_AWS_ACCESS), scp("OnlyApprover", doc(only_approver))],
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
    ]
    graph = s.graph()
    approver, ci = (f"arn:aws:iam::{IDENTITY}:role/{n}" for n in ("Approver", "Ci"))
    assert [p.target_arn for p in graph.paths_from(approver) if p.hops] == [target]
    assert [p for p in graph.paths_from(ci) if p.hops] == []
    assert [(p.source_arn, p.blocked_by) for p in graph.blocked_paths if p.source_arn == ci] == [
        (ci, ("OnlyApprover",))
    ]

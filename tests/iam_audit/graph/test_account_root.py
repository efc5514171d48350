"""A trust in an account's root: every principal that account authorises, today or tomorrow, is a way in.

The account root is then a source of its own (``OrganizationAccountAccessRole`` trusting the
management account is the classic case), and its path lists the principals of that account that
hold sts:AssumeRole on the role today — possibly none: the path exists anyway.
"""

from __future__ import annotations

from iam_audit.graph import paths_as_rows

from .factories import (
    ADMINISTRATOR_ACCESS,
    FULL_AWS_ACCESS,
    IDENTITY,
    MGMT,
    PROD,
    STAGING,
    STORY_ROLE,
    STORY_USER,
    Story,
    allow,
    aws_policy_arn,
    deny,
    doc,
    inline,
    managed,
    policy_item,
    role_arn,
    role_item,
    root,
    scp,
    story,
    trust,
    user_arn,
    user_item,
)

OAAR = "OrganizationAccountAccessRole"
ADMIN = [managed("AdministratorAccess", aws_policy_arn("AdministratorAccess"))]


def _organization_role_story() -> Story:
    s = story()
    s.add(PROD, policy_item(PROD, "AdministratorAccess", ADMINISTRATOR_ACCESS, aws=True))
    s.add(PROD, role_item(PROD, OAAR, trust(root(MGMT)), attached=ADMIN))
    return s


def test_a_trust_in_the_management_root_is_a_path_even_when_nobody_there_may_assume_it() -> None:
    graph = _organization_role_story().graph()
    [path] = [p for p in graph.paths_from(root(MGMT)) if p.target_arn == role_arn(PROD, OAAR)]
    assert path.source_kind == "account" and path.source_account == MGMT and not path.outside_org
    assert path.from_account_root and path.holders == ()
    assert path.privilege.name == "administrator" and path.grants == ("AdministratorAccess",)
    assert path.describe().endswith("(whole account: no principal holds sts:AssumeRole today)")
    [row] = paths_as_rows([path])
    assert row["holders"] == [] and row["source_arn"] == root(MGMT)
    [flat] = paths_as_rows([path], flat=True)
    assert flat["holders"] == "no principal holds sts:AssumeRole today"
    # the account-level edge: management -> prod, the role listed with its (empty) holders
    [edge] = [e for e in graph.trust_edges() if (e.source, e.target_account) == (MGMT, PROD)]
    assert edge.roles == (role_arn(PROD, OAAR),) and edge.whole_account == ((role_arn(PROD, OAAR), ()),)


def test_the_principals_allowed_to_assume_it_today_are_listed_under_the_path() -> None:
    s = _organization_role_story()
    admin = user_item(MGMT, "ops-admin", policies=[inline("Assume", doc(allow("sts:AssumeRole")))])
    reader = user_item(MGMT, "reader", policies=[inline("Read", doc(allow("s3:GetObject")))])
    elsewhere = user_item(
        MGMT, "staging-only", policies=[inline("Assume", doc(allow("sts:AssumeRole", STORY_ROLE)))]
    )
    s.add(MGMT, admin, reader, elsewhere)
    graph = s.graph()
    [path] = [p for p in graph.paths_from(root(MGMT)) if p.target_arn == role_arn(PROD, OAAR)]
    # only who may call sts:AssumeRole on this very role: not the reader, not the one scoped elsewhere
    assert path.holders == (user_arn(MGMT, "ops-admin"),)
    assert path.describe().endswith("(whole account: sts:AssumeRole held today by ops-admin)")
    # the holder has a path of its own too, with the policy that lets it
    assert role_arn(PROD, OAAR) in {p.target_arn for p in graph.paths_from(user_arn(MGMT, "ops-admin"))}
    assert graph.holders(MGMT, role_arn(PROD, OAAR)) == (user_arn(MGMT, "ops-admin"),)


def test_a_collected_account_root_is_a_source_beside_its_users() -> None:
    graph = story().graph()
    # staging's CompanyReadOnly trusts identity's root: identity as a whole, and the developer in it
    sources = {p.source_arn: p for p in graph.paths_to(STAGING) if p.target_arn == STORY_ROLE}
    assert set(sources) == {root(IDENTITY), STORY_USER}
    assert sources[root(IDENTITY)].holders == (STORY_USER,)
    assert sources[STORY_USER].holders is None  # a user's own path lists nobody
    # the root reaches only roles whose trust names its account (not every role its users may reach)
    assert {p.target_arn for p in graph.paths_from(root(IDENTITY))} == {STORY_ROLE}


def test_an_scp_that_denies_assume_role_in_the_trusted_account_closes_the_path() -> None:
    s = _organization_role_story()
    s.add(STAGING, role_item(STAGING, OAAR, trust(root(IDENTITY)), attached=ADMIN))
    s.scps[IDENTITY] = [
        [scp("FullAWSAccess", FULL_AWS_ACCESS)],
        [scp("NoAssume", doc(deny("sts:AssumeRole")))],
    ]
    graph = s.graph()
    assert not [p for p in graph.paths_from(root(IDENTITY)) if p.hops]
    assert not [p for p in graph.paths_from(STORY_USER) if p.hops]
    # the management account is not subject to SCPs: its path stays
    assert [p.target_arn for p in graph.paths_from(root(MGMT))] == [role_arn(PROD, OAAR)]

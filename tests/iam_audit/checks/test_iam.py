"""IAM checks: organisation awareness for root, credentials, policies, trusts and escalation paths."""

from __future__ import annotations

from iam_audit.checks.base import Exposure, Status
from iam_audit.checks.principals import IamView
from tests.iam_audit.checks import factories as f
from tests.iam_audit.checks.factories import (
    ACCOUNT,
    ADMIN_DOC,
    MEMBER,
    OUTSIDER,
    aws_policy,
    customer_policy,
    group,
    key,
    make_item,
    make_org,
    make_snapshot,
    managed_policy,
    only,
    policy_doc,
    role,
    run,
    user,
)


def summary(mfa: int, keys: int = 0) -> object:
    return make_item(
        "iam:account-summary",
        {"AccountMFAEnabled": mfa, "AccountAccessKeysPresent": keys, "VirtualMFADevices": []},
    )


def report(**root: str) -> object:
    row = {
        "user": "<root_account>",
        "password_enabled": "not_supported",
        "mfa_active": "false",
        "access_key_1_active": "false",
        "access_key_2_active": "false",
        "password_last_used": "N/A",
        "access_key_1_last_used_date": "N/A",
        "access_key_2_last_used_date": "N/A",
        **root,
    }
    return make_item("iam:credential-report", {"Rows": [{"user": "alice"}, row], "GeneratedTime": f.NOW})


# ----------------------------------------------------------------------------------- root
def test_root_mfa_not_applicable_for_member_without_root_credentials() -> None:
    snap = make_snapshot([summary(0)], facts={"root_credentials_removed": True})
    assert only(run("iam.root_mfa", snap)).status == Status.NOT_APPLICABLE
    assert only(run("baseline.root_locked", snap)).status == Status.PASS


def test_root_without_password_or_keys_in_credential_report_counts_as_removed_for_members() -> None:
    snap = make_snapshot([summary(0), report(password_enabled="false")])
    assert only(run("iam.root_mfa", snap)).status == Status.NOT_APPLICABLE


def test_root_mfa_still_fails_on_the_management_account_without_root_credentials() -> None:
    snap = make_snapshot(
        [summary(0)], facts={"root_credentials_removed": True}, environment="org-root", account=f.MANAGEMENT
    )
    assert only(run("iam.root_mfa", snap)).status == Status.FAIL


def test_root_mfa_fails_for_a_standalone_account_even_without_root_password() -> None:
    snap = make_snapshot(
        [summary(0), report(password_enabled="false")], status="not-in-organisation", org=make_org(members=())
    )
    assert only(run("iam.root_mfa", snap)).status == Status.FAIL


def test_root_hardware_mfa_is_not_applicable_to_members() -> None:
    assert only(run("iam.root_hardware_mfa", make_snapshot([summary(1)]))).status == Status.NOT_APPLICABLE


def test_root_hardware_mfa_fails_without_any_mfa_on_management() -> None:
    r = only(run("iam.root_hardware_mfa", make_snapshot([summary(0)], environment="org-root")))
    assert r.status == Status.FAIL and "no MFA" in r.summary


def test_root_keys_seen_in_the_credential_report() -> None:
    r = only(run("iam.root_access_keys", make_snapshot([summary(1, 0), report(access_key_2_active="true")])))
    assert r.status == Status.FAIL and r.evidence["access_key_2_active"] == "true"
    locked = only(
        run("baseline.root_locked", make_snapshot([summary(1, 0), report(access_key_2_active="true")]))
    )
    assert locked.status == Status.FAIL and "access keys" in locked.summary


def test_root_recent_use_unknown_without_a_root_row_and_uses_keys_too() -> None:
    no_row = make_item("iam:credential-report", {"Rows": [{"user": "alice"}]})
    assert only(run("iam.root_recent_use", make_snapshot([no_row]))).status == Status.UNKNOWN
    r = only(
        run(
            "iam.root_recent_use", make_snapshot([report(access_key_1_last_used_date="2026-11-20T08:00:00Z")])
        )
    )
    assert r.status == Status.FAIL and r.evidence["days_since_use"] == 8


def test_password_policy_reports_each_weak_setting() -> None:
    pol = make_item("iam:password-policy", {"Present": True, "MinimumPasswordLength": 8})
    r = only(run("iam.password_policy", make_snapshot([pol])))
    assert r.status == Status.FAIL
    assert [x["setting"] for x in r.evidence["failed"]] == [
        "MinimumPasswordLength",
        "PasswordReusePrevention",
    ]


def test_support_role_via_any_partition_arn() -> None:
    r = role("support", attached=["arn:aws-us-gov:iam::aws:policy/AWSSupportAccess"])
    assert only(run("iam.support_role", make_snapshot([r]))).status == Status.PASS


def test_access_analyzer_only_needed_in_allowed_regions() -> None:
    analyzer = make_item("accessanalyzer:analyzer", {"name": "a", "status": "ACTIVE"}, region="us-east-1")
    assert only(run("iam.access_analyzer", make_snapshot([analyzer]))).status == Status.FAIL
    assert (
        only(run("iam.access_analyzer", make_snapshot([analyzer], allowed_regions=["us-east-1"]))).status
        == Status.PASS
    )


# ----------------------------------------------------------------------------------- users
def test_console_mfa_not_applicable_to_programmatic_users() -> None:
    [r] = run("iam.console_user_no_mfa", make_snapshot([user("svc", keys=[key()])]))
    assert r.status == Status.NOT_APPLICABLE and r.resource_type == "iam:user"


def test_unused_credentials_threshold_is_configurable_and_cis_45_is_reported() -> None:
    u = user(
        "a", keys=[key(created="2025-01-01T00:00:00+00:00", last_used="2026-10-01T00:00:00+00:00")]
    )  # 59 days
    [r] = run("iam.credentials_unused", make_snapshot([u]))
    assert r.status == Status.PASS
    [cred] = r.evidence["credentials"]
    assert cred["days"] == 59 and cred["over_cis_45_days"] and not cred["over_threshold"]
    assert r.evidence["cis_threshold_days"] == 45 and r.evidence["threshold_days"] == 90
    [strict] = run("iam.credentials_unused", make_snapshot([u], facts={"unused_days": 45}))
    assert strict.status == Status.FAIL


def test_unused_console_password_counts_from_its_creation_when_never_used() -> None:
    [r] = run(
        "iam.credentials_unused",
        make_snapshot([user("a", console=True, created="2026-01-01T00:00:00+00:00")]),
    )
    assert r.status == Status.FAIL and "console password" in r.summary


def test_key_created_later_for_a_programmatic_user_is_not_a_creation_key() -> None:
    u = user("a", keys=[key(created="2026-06-01T00:00:00+00:00")])
    assert [r.status for r in run("iam.key_never_used", make_snapshot([u]))] == [Status.PASS]
    console = user("b", console=True, keys=[key(created="2026-06-01T00:00:00+00:00")])
    [r] = run("iam.key_never_used", make_snapshot([console]))
    assert r.status == Status.FAIL and r.evidence["keys"][0]["reason"] == "console user with an unused key"


def test_inactive_keys_are_ignored_by_key_checks() -> None:
    u = user("a", keys=[key("AKIA1", status="Inactive", created="2020-01-01T00:00:00+00:00")])
    assert [r.status for r in run("iam.key_rotation", make_snapshot([u]))] == [Status.NOT_APPLICABLE]
    assert [r.status for r in run("iam.multiple_active_keys", make_snapshot([u]))] == [Status.PASS]


def test_programmatic_user_with_mfa_under_mfa_gated_policy_passes() -> None:
    gated = group(
        "all",
        inline={
            "mfa": policy_doc(
                {
                    "Effect": "Deny",
                    "NotAction": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                }
            )
        },
    )
    snap = make_snapshot([user("svc", keys=[key()], groups=["all"], mfa=True), gated])
    assert [r.status for r in run("iam.user_no_mfa", snap)] == [Status.PASS]


def test_users_in_the_identity_account_are_expected() -> None:
    assert (
        only(run("iam.user_outside_identity", make_snapshot([user("a")], environment="identity"))).status
        == Status.NOT_APPLICABLE
    )
    via_org = make_snapshot([user("a")], org=make_org(identity=[ACCOUNT]))
    assert only(run("iam.user_outside_identity", via_org)).status == Status.NOT_APPLICABLE
    designated = make_org(identity=[MEMBER])
    r = only(run("iam.user_outside_identity", make_snapshot([user("a", console=True)], org=designated)))
    assert r.status == Status.FAIL and r.evidence["users"][0]["console_password"] is True


def test_users_are_unknown_until_the_security_team_designates_an_identity_account() -> None:
    # no account designated: users cannot be "outside" it, whatever the names say
    r = only(run("iam.user_outside_identity", make_snapshot([user("a")])))
    assert r.status == Status.UNKNOWN and r.evidence["reason"] == "no identity account is designated"
    assert "No identity account is designated" in r.summary
    # an environment guessed from the name ("identity") designates nothing, here or elsewhere
    guessed = make_snapshot([user("a")], environment="identity", environment_guessed=True)
    assert only(run("iam.user_outside_identity", guessed)).status == Status.UNKNOWN
    # an account without users has none outside any identity account
    assert only(run("iam.user_outside_identity", make_snapshot([]))).status == Status.PASS
    # once the security team designates another account, users here fail
    designated = make_snapshot([user("a")], org=make_org(identity=[MEMBER]))
    assert only(run("iam.user_outside_identity", designated)).status == Status.FAIL


# ----------------------------------------------------------------------------------- admin & NotAction
def test_admin_through_a_group_inline_statement_written_as_a_dict() -> None:
    devs = group("devs", inline={"all": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}})
    [r] = run("iam.admin_policy", make_snapshot([user("alice", groups=["devs"]), devs]))
    assert r.status == Status.FAIL and r.evidence["grants"][0]["via_group"] == "devs"


def test_admin_cut_by_a_known_permissions_boundary_passes() -> None:
    boundary = customer_policy("boundary")
    snap = make_snapshot(
        [
            role("r", attached=[aws_policy("AdministratorAccess")], boundary=boundary),
            managed_policy(aws_policy("AdministratorAccess"), ADMIN_DOC),
            managed_policy(boundary, policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
        ]
    )
    [r] = run("iam.admin_policy", snap)
    assert r.status == Status.PASS and r.evidence["cut_by"]


S3_READS_ONLY = policy_doc(
    {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "AllButS3Reads", "Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"},
)
MFA_GATED_ADMIN = policy_doc(
    {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {
        "Sid": "NothingButMfaSetupWithoutMfa",
        "Effect": "Deny",
        "NotAction": ["iam:*MFADevice", "sts:GetSessionToken"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    },
)


def test_a_deny_with_notaction_leaves_a_group_member_with_s3_reads_only() -> None:
    readers = group("s3-readers", inline={"ReadS3Only": S3_READS_ONLY})
    snap = make_snapshot([user("carol", groups=["s3-readers"]), readers])
    [r] = run("iam.admin_policy", snap)
    assert r.status == Status.PASS and r.evidence["cut_by"]
    # the same evaluation answers the other "may it" questions: S3 reads stay, the rest is gone
    carol = IamView(snap).users[0]
    assert carol.evaluated_allows("s3:GetObject", "arn:aws:s3:::any-bucket/key") is True
    assert carol.evaluated_allows("s3:PutObject", "arn:aws:s3:::any-bucket/key") is False
    assert carol.evaluated_allows("iam:CreateUser", None) is False
    assert carol.allows("iam:CreateUser") == []


def test_a_notaction_deny_that_only_applies_without_mfa_leaves_the_administrator() -> None:
    admins = group("admins", inline={"AdminWithMfa": MFA_GATED_ADMIN})
    [r] = run("iam.admin_policy", make_snapshot([user("dave", groups=["admins"]), admins]))
    assert r.status == Status.FAIL


def test_an_scp_denying_all_but_reads_makes_an_administrator_role_no_administrator() -> None:
    scp = policy_doc({"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"})
    full = policy_doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    org = make_org(scps=[("p-full", "FullAWSAccess", full), ("p-reads", "ReadsOnly", scp)])
    admin = role("admin", attached=[aws_policy("AdministratorAccess")])
    [r] = run("iam.admin_policy", make_snapshot([admin], org=org))
    assert r.status == Status.PASS
    [r] = run(
        "iam.admin_policy", make_snapshot([admin], org=make_org(scps=[("p-full", "FullAWSAccess", full)]))
    )
    assert r.status == Status.FAIL


def test_admin_uses_the_published_administrator_access_when_not_collected() -> None:
    [r] = run("iam.admin_policy", make_snapshot([role("r", attached=[aws_policy("AdministratorAccess")])]))
    assert r.status == Status.FAIL and "note" in r.evidence["grants"][0]


def test_admin_unknown_when_an_attached_policy_was_not_collected() -> None:
    [r] = run("iam.admin_policy", make_snapshot([role("r", attached=[customer_policy("mystery")])]))
    assert r.status == Status.UNKNOWN and r.evidence["policies_not_collected"]


def test_notaction_in_an_inline_role_policy_and_aws_managed_policies_skipped() -> None:
    snap = make_snapshot(
        [
            role(
                "r", inline={"wide": policy_doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}
            ),
            managed_policy(
                aws_policy("PowerUserAccess"),
                policy_doc({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}),
            ),
        ]
    )
    results = run("iam.notaction_allow", snap)
    assert [(r.resource_type, r.status) for r in results] == [("iam:role", Status.FAIL)]


def test_assume_role_on_any_account_fails_and_own_account_wildcard_passes_with_evidence() -> None:
    anywhere = role(
        "a",
        inline={
            "p": policy_doc({"Effect": "Allow", "Action": "sts:Assume*", "Resource": "arn:aws:iam::*:role/*"})
        },
    )
    own = role(
        "b",
        inline={
            "p": policy_doc(
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"}
            )
        },
    )
    fenced = role(
        "c",
        inline={
            "p": policy_doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceOrgID": "o-1"}},
                }
            )
        },
    )
    res = {
        r.subject.rsplit("/", 1)[-1]: r
        for r in run("iam.assume_any_role", make_snapshot([anywhere, own, fenced]))
    }
    assert res["a"].status == Status.FAIL
    assert res["b"].status == Status.PASS and res["b"].evidence["any_role_in_this_account"]
    assert res["c"].status == Status.PASS


def test_blanket_policies_skip_service_linked_roles() -> None:
    slr = role(
        "AWSServiceRoleForX",
        path="/aws-service-role/x.amazonaws.com/",
        attached=[aws_policy("AdministratorAccess")],
    )
    assert run("iam.blanket_managed_policy", make_snapshot([slr])) == []


# ----------------------------------------------------------------------------------- trust
def trusted(principal: object, condition: dict | None = None, effect: str = "Allow") -> object:
    statement: dict = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return role("r", trust={"Statement": statement})


def test_trust_anyone_with_principal_star_string_fails_as_public() -> None:
    [r] = run("iam.trust_anyone", make_snapshot([trusted("*")]))
    assert (
        r.status == Status.FAIL
        and r.exposure == Exposure.PUBLIC
        and r.evidence["statements"][0]["index"] == 0
    )


def test_trust_anyone_limited_by_organisation_passes_and_external_id_alone_does_not() -> None:
    assert (
        run(
            "iam.trust_anyone", make_snapshot([trusted("*", {"StringEquals": {"aws:PrincipalOrgID": "o-1"}})])
        )[0].status
        == Status.PASS
    )
    [r] = run(
        "iam.trust_anyone", make_snapshot([trusted({"AWS": "*"}, {"StringEquals": {"sts:ExternalId": "x"}})])
    )
    assert r.status == Status.FAIL and "ExternalId" in r.evidence["statements"][0]["note"]
    assert run("iam.trust_anyone", make_snapshot([trusted("*", effect="Deny")]))[0].status == Status.PASS


def test_trust_outside_org_is_unknown_when_the_organisation_is_unknown() -> None:
    snap = make_snapshot(
        [trusted({"AWS": f"arn:aws:iam::{OUTSIDER}:root"})], org=make_org(members=(), org_id="")
    )
    [r] = run("iam.trust_outside_org", snap)
    assert r.status == Status.UNKNOWN
    assert r.evidence["organisation_known"] is False and "unknown" in r.evidence["note"]


def test_trust_outside_org_guarded_by_external_id_or_mfa_passes() -> None:
    for cond in (
        {"StringEquals": {"sts:ExternalId": "vendor-123"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    ):
        [r] = run("iam.trust_outside_org", make_snapshot([trusted({"AWS": OUTSIDER}, cond)]))
        assert r.status == Status.PASS and r.evidence["guarded"][0]["accounts"] == [OUTSIDER]


def test_trust_outside_org_fails_with_external_exposure_and_ignores_org_members() -> None:
    [r] = run("iam.trust_outside_org", make_snapshot([trusted({"AWS": [MEMBER, OUTSIDER]})]))
    assert r.status == Status.FAIL and r.exposure == Exposure.EXTERNAL
    assert r.evidence["unguarded"][0]["accounts"] == [OUTSIDER]


def test_oidc_trust_pinned_to_any_repo_is_unscoped() -> None:
    gh = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    r = role(
        "gh",
        trust=policy_doc(
            {
                "Effect": "Allow",
                "Principal": {"Federated": gh},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}},
            }
        ),
    )
    [res] = run("iam.trust_oidc_unscoped", make_snapshot([r]))
    assert res.status == Status.FAIL and res.exposure == Exposure.PUBLIC


# ----------------------------------------------------------------------------------- privilege escalation
def _admin_role(name: str, service: str | None = None, trust_account: bool = False) -> object:
    principal: dict = (
        {"Service": service}
        if service
        else {"AWS": f"arn:aws:iam::{ACCOUNT}:root" if trust_account else MEMBER}
    )
    return role(
        name,
        attached=[aws_policy("AdministratorAccess")],
        trust=policy_doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}),
    )


def escalation(*items: object) -> dict[str, object]:
    return {r.subject.rsplit("/", 1)[-1]: r for r in run("iam.privilege_escalation", make_snapshot(items))}


def test_passrole_with_run_instances_and_an_ec2_admin_role_escalates() -> None:
    dev = user(
        "dev",
        inline={
            "p": policy_doc(
                {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
            )
        },
    )
    res = escalation(dev, _admin_role("ec2-admin", "ec2.amazonaws.com"))
    assert res["dev"].status == Status.FAIL
    [path] = res["dev"].evidence["paths"]
    assert path["method"] == "PassRole+EC2" and path["targets"] == [f"arn:aws:iam::{ACCOUNT}:role/ec2-admin"]
    assert res["ec2-admin"].status == Status.NOT_APPLICABLE


def test_passrole_without_a_passable_admin_role_does_not_escalate() -> None:
    dev = user(
        "dev",
        inline={
            "p": policy_doc(
                {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}
            )
        },
    )
    assert escalation(dev, _admin_role("lambda-admin", "lambda.amazonaws.com"))["dev"].status == Status.PASS


def test_joining_an_admin_group_escalates() -> None:
    dev = user(
        "dev", inline={"p": policy_doc({"Effect": "Allow", "Action": "iam:AddUserToGroup", "Resource": "*"})}
    )
    admins = group("admins", attached=[aws_policy("AdministratorAccess")])
    res = escalation(dev, admins)
    assert res["dev"].status == Status.FAIL and res["dev"].evidence["paths"][0]["method"] == "AddUserToGroup"


def test_assuming_an_admin_role_that_trusts_the_account_escalates() -> None:
    dev = role(
        "dev",
        inline={
            "p": policy_doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": f"arn:aws:iam::{ACCOUNT}:role/boss",
                }
            )
        },
    )
    res = escalation(dev, _admin_role("boss", trust_account=True))
    assert [p["method"] for p in res["dev"].evidence["paths"]] == ["AssumeAdminRole"]
    not_trusted = escalation(dev, _admin_role("boss"))  # trusts another account only
    assert not_trusted["dev"].status == Status.PASS


def test_wildcard_put_policy_on_self_escalates_unless_denied() -> None:
    wide = policy_doc(
        {
            "Effect": "Allow",
            "Action": "iam:Put*",
            "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
        }
    )
    assert escalation(user("dev", inline={"p": wide}))["dev"].status == Status.FAIL
    denied = policy_doc(
        {"Effect": "Allow", "Action": "iam:Put*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    )
    assert escalation(user("dev", inline={"p": denied}))["dev"].status == Status.PASS


def test_create_policy_version_on_its_own_customer_policy_escalates() -> None:
    pol = customer_policy("dev-policy")
    doc = policy_doc({"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": pol})
    res = escalation(user("dev", attached=[pol]), managed_policy(pol, doc, aws_managed=False))
    assert res["dev"].evidence["paths"][0]["method"] == "CreatePolicyVersion"

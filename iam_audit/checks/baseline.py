"""Baseline items that combine checks or read only account facts, and the baseline catalogue.

The baseline matrix (accounts x requirements) shows one account-scope check per item, listed in
:data:`BASELINE_ITEMS` in display order. :data:`BASELINE_OFF_BY_DEFAULT` names the items an
environment may skip (a sandbox gets a lighter baseline); :func:`baseline_checks` applies it.
"""

from __future__ import annotations

from collections.abc import Iterator

from iam_audit.checks.base import REGISTRY, Check, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import account_result, as_dict, is_member, text
from iam_audit.checks.iam import (
    DOC_ROOT,
    DOC_ROOT_CENTRAL,
    root_credentials_removed,
    root_keys_state,
    root_mfa_state,
)

# (label shown in the matrix, check id), in display order
BASELINE_ITEMS: tuple[tuple[str, str], ...] = (
    ("Organisation member", "org.member"),
    ("Root locked", "baseline.root_locked"),
    ("CloudTrail", "cloudtrail.multi_region"),
    ("GuardDuty", "guardduty.enabled"),
    ("Config", "config.recorder"),
    ("Access Analyzer", "iam.access_analyzer"),
    ("Security Hub", "securityhub.enabled"),
    ("S3 Block Public Access", "s3.account_public_access_block"),
    ("EBS encryption by default", "ec2.ebs_default_encryption"),
    ("Password policy", "iam.password_policy"),
    ("Support role", "iam.support_role"),
    ("Read role present", "baseline.read_role_present"),
    ("No IAM users outside identity", "iam.user_outside_identity"),
)

# Baseline items an environment does not need by default (the engine may let people override).
BASELINE_OFF_BY_DEFAULT: dict[str, frozenset[str]] = {
    "sandbox": frozenset(
        {"config.recorder", "securityhub.enabled", "iam.access_analyzer", "iam.support_role"}
    ),
}


def baseline_checks(environment: str = "") -> list[Check]:
    """The baseline checks that apply to an account of ``environment``, in display order."""
    from iam_audit.checks.base import all_checks

    all_checks()  # make sure every module is imported
    off = BASELINE_OFF_BY_DEFAULT.get(environment, frozenset())
    return [REGISTRY[cid] for _, cid in BASELINE_ITEMS if cid in REGISTRY and cid not in off]


@check(
    id="baseline.root_locked",
    title="Root user locked down",
    service="IAM",
    scope="account",
    severity=Severity.CRITICAL,
    description="The root user has MFA (or, in a member account, has no credentials at all) and has no access keys: "
    "iam.root_mfa and iam.root_access_keys together.",
    risk="The root user is the one identity no policy can restrict; if it is not locked, nothing else holds.",
    remediation=(
        "1. Member accounts: remove root credentials centrally (IAM > Root access management, after "
        "aws iam enable-organizations-root-credentials-management in the management account).\n"
        "2. Otherwise, as root: Security credentials > Assign MFA device; delete any root access key "
        "(aws iam delete-access-key --access-key-id <id>, signed in as root)."
    ),
    references=("CIS 1.3", "CIS 1.4", DOC_ROOT, DOC_ROOT_CENTRAL),
    requires=("iam:account-summary", "iam:credential-report"),
    baseline=True,
)
def root_locked(snap: Snapshot) -> Iterator[Result]:
    mfa, mfa_ev = root_mfa_state(snap)
    keys, keys_ev = root_keys_state(snap)
    removed, why = root_credentials_removed(snap)
    evidence = {
        "mfa": mfa_ev,
        "access_keys": keys_ev,
        "root_credentials_removed": removed and is_member(snap),
        "why": why,
    }
    if mfa is None or keys is None:
        yield account_result(snap, Status.UNKNOWN, "Root state not recorded", evidence)
        return
    problems = []
    if keys:
        problems.append("has access keys")
    if not mfa and not (removed and is_member(snap)):
        problems.append("has no MFA")
    if problems:
        yield account_result(snap, Status.FAIL, "Root user " + " and ".join(problems), evidence)
    elif removed and is_member(snap) and not mfa:
        yield account_result(snap, Status.PASS, "Root credentials removed", evidence)
    else:
        yield account_result(snap, Status.PASS, "Root user has MFA and no access keys", evidence)


@check(
    id="baseline.read_role_present",
    title="Skyledger read role present",
    service="IAM",
    scope="account",
    severity=Severity.MEDIUM,
    description="A role named as the account's registered read role (AccountFacts.read_role_name) exists.",
    risk="Without the read role the account cannot be audited; what is shown for it goes stale.",
    remediation=(
        "1. Deploy the read role (CloudFormation StackSet across the organisation, or one stack in the account) "
        "with the SecurityAudit and ViewOnlyAccess policies and a trust to the Skyledger account (with ExternalId).\n"
        "2. CLI: aws iam create-role --role-name <name> --assume-role-policy-document file://trust.json; "
        "aws iam attach-role-policy --role-name <name> --policy-arn arn:aws:iam::aws:policy/SecurityAudit\n"
        "3. Or correct the role name in the account's registry entry."
    ),
    references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user.html",),
    requires=("iam:role",),
    baseline=True,
)
def read_role_present(snap: Snapshot) -> Iterator[Result]:
    wanted = (snap.account.read_role_name or "").strip()
    if not wanted:
        yield account_result(snap, Status.UNKNOWN, "No read role name is registered for the account")
        return
    # IAM role names are unique case-insensitively
    found = [
        r
        for r in snap.of("iam:role")
        if str(as_dict(r.data).get("RoleName") or r.name).casefold() == wanted.casefold()
    ]
    evidence = {"read_role_name": wanted, "found": [r.arn for r in found]}
    if found:
        yield account_result(snap, Status.PASS, f"Read role {text(wanted, 64)} exists", evidence)
    else:
        yield account_result(snap, Status.FAIL, f"Read role {text(wanted, 64)} not found", evidence)

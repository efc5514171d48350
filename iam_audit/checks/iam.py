"""IAM account-level checks: the root user, the password policy, Access Analyzer, the support role."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    account_result,
    as_dict,
    days_since,
    dicts,
    expected_regions,
    is_management,
    is_member,
    join_limited,
    now,
    parse_time,
    positive_int_fact,
    text,
    to_int,
    truthy,
    unavailable,
)
from iam_audit.checks.principals import aws_managed_name

ROOT_ROW = "<root_account>"
ROOT_RECENT_DAYS = 30
MIN_PASSWORD_LENGTH = 14
MIN_PASSWORD_REUSE = 24
DOC_ROOT = "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"
DOC_ROOT_MFA = "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html"
DOC_ROOT_CENTRAL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html#id_root-user-access-management"
)
DOC_ROOT_KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html"
DOC_CRED_REPORT = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html"
DOC_PASSWORD_POLICY = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"
)
DOC_ACCESS_ANALYZER = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html"
DOC_SUPPORT = "https://docs.aws.amazon.com/awssupport/latest/user/accessing-support.html"


# ----------------------------------------------------------------------------------- root helpers
def root_row(snap: Snapshot) -> Mapping[str, Any] | None:
    """The credential report's ``<root_account>`` row, when the report has one."""
    report = snap.one("iam:credential-report")
    if report is None:
        return None
    return next((r for r in dicts(as_dict(report.data).get("Rows")) if r.get("user") == ROOT_ROW), None)


def root_credentials_removed(snap: Snapshot) -> tuple[bool, str]:
    """(removed, why): the root user of a member account has no password and no access keys."""
    if truthy(snap.facts.get("root_credentials_removed")):
        return True, "root credentials removed (centralised root access, reported by the organisation)"
    row = root_row(snap)
    if row is None:
        return False, ""
    no_password = str(row.get("password_enabled", "")).strip().lower() == "false"
    no_keys = not truthy(row.get("access_key_1_active")) and not truthy(row.get("access_key_2_active"))
    if no_password and no_keys:
        return True, "credential report: root has no password and no access keys"
    return False, ""


def root_mfa_state(snap: Snapshot) -> tuple[bool | None, dict[str, Any]]:
    """(MFA on?, evidence) from the account summary and the credential report's root row."""
    summary = snap.one("iam:account-summary")
    row = root_row(snap)
    evidence: dict[str, Any] = {}
    if summary is None and row is None:
        return None, {"reason": "no account summary or credential report root row recorded"}
    on = False
    if summary is not None:
        value = to_int(as_dict(summary.data).get("AccountMFAEnabled"), 0)
        evidence["AccountMFAEnabled"] = value
        on = on or value == 1
    if row is not None:
        evidence["credential_report_mfa_active"] = row.get("mfa_active")
        on = on or truthy(row.get("mfa_active"))
    return on, evidence


def root_keys_state(snap: Snapshot) -> tuple[bool | None, dict[str, Any]]:
    """(root has access keys?, evidence)."""
    summary = snap.one("iam:account-summary")
    row = root_row(snap)
    if summary is None and row is None:
        return None, {"reason": "no account summary or credential report root row recorded"}
    evidence: dict[str, Any] = {}
    present = False
    if summary is not None:
        value = to_int(as_dict(summary.data).get("AccountAccessKeysPresent"), 0)
        evidence["AccountAccessKeysPresent"] = value
        present = present or value == 1
    if row is not None:
        for k in ("access_key_1_active", "access_key_2_active"):
            evidence[k] = row.get(k)
            present = present or truthy(row.get(k))
    return present, evidence


# ----------------------------------------------------------------------------------- root checks
@check(
    id="iam.root_mfa",
    title="Root user has MFA",
    service="IAM",
    scope="account",
    severity=Severity.CRITICAL,
    description="The account's root user must have multi-factor authentication enabled.",
    risk="Anyone who learns the root password (or resets it through the account e-mail) controls the "
    "account completely; root cannot be restricted by IAM policies.",
    remediation=(
        "1. Sign in as the root user (or, for a member account, use centralised root access from the "
        "management account to delete root credentials instead).\n"
        "2. Console: account menu > Security credentials > Multi-factor authentication (MFA) > Assign MFA "
        "device; prefer a FIDO security key.\n"
        "3. For member accounts: aws organizations enable-aws-service-access --service-principal "
        "iam.amazonaws.com && aws iam enable-organizations-root-credentials-management, then delete the "
        "member's root credentials (IAM console > Root access management)."
    ),
    references=("CIS 1.4", DOC_ROOT_MFA, DOC_ROOT_CENTRAL),
    requires=("iam:account-summary", "iam:credential-report"),
)
def root_mfa(snap: Snapshot) -> Iterator[Result]:
    on, evidence = root_mfa_state(snap)
    if on is None:
        yield account_result(snap, Status.UNKNOWN, "Root MFA state not recorded", evidence)
    elif on:
        yield account_result(snap, Status.PASS, "Root user has MFA", evidence)
    else:
        removed, why = root_credentials_removed(snap)
        if removed and is_member(snap):
            yield account_result(
                snap,
                Status.NOT_APPLICABLE,
                "Member account without root credentials",
                {**evidence, "reason": why},
            )
        else:
            yield account_result(snap, Status.FAIL, "Root user has no MFA", evidence)


@check(
    id="iam.root_hardware_mfa",
    title="Management account root uses hardware MFA",
    service="IAM",
    scope="account",
    severity=Severity.HIGH,
    description="The root user of the organisation's management account must use a hardware MFA device "
    "(a FIDO security key or hardware TOTP token), not a virtual one on a phone.",
    risk="A virtual MFA device lives on a phone that can be lost, cloned or socially engineered; the "
    "management account's root controls every account of the organisation.",
    remediation=(
        "1. Sign in to the management account as root.\n"
        "2. Console: account menu > Security credentials > Multi-factor authentication (MFA) > Assign MFA "
        "device > Passkey or security key (or Hardware TOTP token).\n"
        "3. Remove the virtual device: aws iam deactivate-mfa-device --serial-number "
        "arn:aws:iam::<account-id>:mfa/root-account-mfa-device (as root), then "
        "aws iam delete-virtual-mfa-device --serial-number <same ARN>."
    ),
    references=("CIS 1.5", DOC_ROOT_MFA, DOC_ROOT),
    requires=("iam:account-summary", "iam:credential-report"),
)
def root_hardware_mfa(snap: Snapshot) -> Iterator[Result]:
    if not is_management(snap):
        yield account_result(snap, Status.NOT_APPLICABLE, "Applies to the management account only")
        return
    on, evidence = root_mfa_state(snap)
    if on is None:
        yield account_result(snap, Status.UNKNOWN, "Root MFA state not recorded", evidence)
        return
    if not on:
        yield account_result(
            snap, Status.FAIL, "Root user of the management account has no MFA at all", evidence
        )
        return
    summary = snap.one("iam:account-summary")
    if summary is not None and (missing := unavailable(summary, ("VirtualMFADevices",))):
        yield account_result(
            snap, Status.UNKNOWN, "Root MFA devices could not be read", {**evidence, "unavailable": missing}
        )
        return
    virtual = []
    for dev in dicts(as_dict(summary.data if summary else {}).get("VirtualMFADevices")):
        serial = str(dev.get("SerialNumber", ""))
        user_arn = str(as_dict(dev.get("User")).get("Arn", ""))
        if serial.endswith(":mfa/root-account-mfa-device") or user_arn.endswith(":root"):
            virtual.append({"SerialNumber": serial, "User": user_arn, "EnableDate": dev.get("EnableDate")})
    evidence["root_virtual_mfa_devices"] = virtual
    if virtual:
        yield account_result(snap, Status.FAIL, "Management account root uses a virtual MFA device", evidence)
    else:
        yield account_result(
            snap, Status.PASS, "Management account root MFA is not a virtual device", evidence
        )


@check(
    id="iam.root_access_keys",
    title="Root user has no access keys",
    service="IAM",
    scope="account",
    severity=Severity.CRITICAL,
    description="The root user must not have access keys.",
    risk="Root access keys give unrestricted, un-restrictable programmatic control of the account; a leaked "
    "key cannot be contained by any policy.",
    remediation=(
        "1. Sign in as root; Console: account menu > Security credentials > Access keys.\n"
        "2. Make the key inactive, watch for breakage, then delete it.\n"
        "3. As root: aws iam delete-access-key --access-key-id <key-id> (root keys can only be managed by "
        "root, or removed centrally with IAM > Root access management for member accounts)."
    ),
    references=("CIS 1.3", DOC_ROOT_KEYS, DOC_ROOT),
    requires=("iam:account-summary", "iam:credential-report"),
)
def root_access_keys(snap: Snapshot) -> Iterator[Result]:
    present, evidence = root_keys_state(snap)
    if present is None:
        yield account_result(snap, Status.UNKNOWN, "Root access-key state not recorded", evidence)
    elif present:
        yield account_result(snap, Status.FAIL, "Root user has access keys", evidence)
    else:
        yield account_result(snap, Status.PASS, "Root user has no access keys", evidence)


@check(
    id="iam.root_recent_use",
    title="Root user not used recently",
    service="IAM",
    scope="account",
    severity=Severity.HIGH,
    description="The root user's password or keys were used within the last 30 days (facts['root_recent_days']).",
    risk="Routine root use means the most powerful, least auditable credential is in daily circulation.",
    remediation=(
        "1. Find out who used root and why: CloudTrail > Event history, filter User name = root.\n"
        "2. Give that person an IAM Identity Center permission set for the task instead.\n"
        "3. Keep root for the few tasks only it can do; for member accounts remove root credentials "
        "(IAM > Root access management).\n"
        "CLI: aws iam generate-credential-report && aws iam get-credential-report (root row)."
    ),
    references=("CIS 1.6", DOC_ROOT, DOC_CRED_REPORT),
    requires=("iam:credential-report",),
)
def root_recent_use(snap: Snapshot) -> Iterator[Result]:
    row = root_row(snap)
    if row is None:
        yield account_result(
            snap, Status.UNKNOWN, "The credential report has no root row", {"reason": "no <root_account> row"}
        )
        return
    window = positive_int_fact(snap, "root_recent_days", ROOT_RECENT_DAYS)
    at = now(snap)
    uses = {
        k: row.get(k)
        for k in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
    }
    times = [t for t in (parse_time(v) for v in uses.values()) if t is not None]
    last = max(times) if times else None
    days = days_since(last, at)
    evidence = {
        **uses,
        "last_used": last.isoformat() if last else None,
        "days_since_use": days,
        "window_days": window,
    }
    if days is not None and days < window:
        yield account_result(snap, Status.FAIL, f"Root user used {days} day(s) ago", evidence)
    else:
        yield account_result(snap, Status.PASS, f"Root user not used in the last {window} days", evidence)


# ----------------------------------------------------------------------------------- password policy
@check(
    id="iam.password_policy",
    title="IAM password policy is strong",
    service="IAM",
    scope="account",
    severity=Severity.MEDIUM,
    description=f"An IAM password policy exists with a minimum length of at least {MIN_PASSWORD_LENGTH} "
    f"and prevents reuse of the last {MIN_PASSWORD_REUSE} passwords.",
    risk="Short or reused passwords of IAM users are guessed or replayed from other breaches.",
    remediation=(
        "1. Console: IAM > Account settings > Password policy > Edit.\n"
        f"2. Set minimum length {MIN_PASSWORD_LENGTH} and 'Prevent password reuse' {MIN_PASSWORD_REUSE}.\n"
        f"3. CLI: aws iam update-account-password-policy --minimum-password-length {MIN_PASSWORD_LENGTH} "
        f"--password-reuse-prevention {MIN_PASSWORD_REUSE} --require-symbols --require-numbers "
        "--require-uppercase-characters --require-lowercase-characters --allow-users-to-change-password"
    ),
    references=("CIS 1.7", "CIS 1.8", DOC_PASSWORD_POLICY),
    requires=("iam:password-policy",),
    baseline=True,
)
def password_policy(snap: Snapshot) -> Iterator[Result]:
    item = snap.one("iam:password-policy")
    if item is None:
        yield account_result(snap, Status.UNKNOWN, "Password policy state not recorded")
        return
    data = as_dict(item.data)
    if not truthy(data.get("Present", True)):
        yield account_result(snap, Status.FAIL, "No IAM password policy", {"Present": False})
        return
    length = to_int(data.get("MinimumPasswordLength"), 0) or 0
    reuse = to_int(data.get("PasswordReusePrevention"), 0) or 0
    failed = []
    if length < MIN_PASSWORD_LENGTH:
        failed.append(
            {"setting": "MinimumPasswordLength", "value": length, "required": f">= {MIN_PASSWORD_LENGTH}"}
        )
    if reuse < MIN_PASSWORD_REUSE:
        failed.append(
            {
                "setting": "PasswordReusePrevention",
                "value": reuse or None,
                "required": f">= {MIN_PASSWORD_REUSE}",
            }
        )
    evidence = {"policy": dict(data), "failed": failed}
    if failed:
        words = [f"{f['setting']}={f['value']}" for f in failed]
        yield account_result(snap, Status.FAIL, "Weak password policy: " + ", ".join(words), evidence)
    else:
        yield account_result(
            snap, Status.PASS, f"Password policy: length {length}, reuse prevention {reuse}", evidence
        )


# ----------------------------------------------------------------------------------- Access Analyzer
@check(
    id="iam.access_analyzer",
    title="IAM Access Analyzer enabled in every region",
    service="IAM",
    scope="account",
    severity=Severity.LOW,
    description="An active IAM Access Analyzer (account or organisation zone of trust) exists in every "
    "region in use.",
    risk="Without an analyzer, resources shared outside the account or organisation (buckets, keys, roles, "
    "queues...) go unnoticed.",
    remediation=(
        "1. Console: IAM > Access analyzer > Analyzer settings > Create analyzer, in each region in use.\n"
        "2. CLI per region: aws accessanalyzer create-analyzer --analyzer-name account-analyzer --type ACCOUNT "
        "--region <region> (or --type ORGANIZATION from the delegated administrator)."
    ),
    references=("CIS 1.19", DOC_ACCESS_ANALYZER),
    requires=("accessanalyzer:analyzer",),
    baseline=True,
)
def access_analyzer(snap: Snapshot) -> Iterator[Result]:
    regions = expected_regions(snap, "accessanalyzer:analyzer")
    active: dict[str, list[str]] = {}
    for item in snap.of("accessanalyzer:analyzer"):
        data = as_dict(item.data)
        if str(data.get("status", data.get("Status", ""))).upper() == "ACTIVE":
            active.setdefault(item.region, []).append(text(data.get("name") or item.name, 100))
    missing = [r for r in regions if r not in active]
    evidence = {"regions_checked": regions, "active_analyzers": active, "regions_without_analyzer": missing}
    if not regions:
        yield account_result(snap, Status.UNKNOWN, "No region was collected", evidence)
    elif missing:
        yield account_result(
            snap, Status.FAIL, "No active Access Analyzer in " + join_limited(missing), evidence
        )
    else:
        yield account_result(
            snap, Status.PASS, f"Access Analyzer active in all {len(regions)} regions", evidence
        )


# ----------------------------------------------------------------------------------- support role
@check(
    id="iam.support_role",
    title="A role can manage AWS Support cases",
    service="IAM",
    scope="account",
    severity=Severity.LOW,
    description="At least one IAM role has the AWS managed policy AWSSupportAccess attached.",
    risk="During an incident nobody can open or follow a support case without resorting to root or "
    "over-privileged credentials.",
    remediation=(
        "1. Create a role your incident responders can assume (or use an Identity Center permission set).\n"
        "2. CLI: aws iam attach-role-policy --role-name <role> --policy-arn "
        "arn:aws:iam::aws:policy/AWSSupportAccess\n"
        "3. Console: IAM > Roles > <role> > Add permissions > Attach policies > AWSSupportAccess."
    ),
    references=("CIS 1.16", DOC_SUPPORT),
    requires=("iam:role",),
    baseline=True,
)
def support_role(snap: Snapshot) -> Iterator[Result]:
    roles = []
    for item in snap.of("iam:role"):
        for p in dicts(as_dict(item.data).get("AttachedManagedPolicies")):
            if aws_managed_name(str(p.get("PolicyArn", ""))) == "AWSSupportAccess":
                roles.append({"role": item.name, "arn": item.arn})
    if roles:
        yield account_result(
            snap, Status.PASS, "Support role: " + join_limited(r["role"] for r in roles), {"roles": roles}
        )
    else:
        yield account_result(snap, Status.FAIL, "No role has AWSSupportAccess", {"roles": []})

"""IAM user checks: MFA, access keys, unused credentials, direct policies, users outside identity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    CIS_UNUSED_DAYS,
    account_result,
    as_dict,
    days_since,
    dicts,
    join_limited,
    label,
    now,
    parse_time,
    plural,
    positive_int_fact,
    resource_result,
    text,
    truthy,
    unread_result,
    unused_days,
)
from iam_audit.checks.principals import IamView
from iam_audit.policy.conditions import mentions_mfa

KEY_ROTATION_DAYS = 90
KEY_WITH_USER_WINDOW = dt.timedelta(hours=1)  # "created together with the user"
DOC_MFA = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html"
DOC_KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"
DOC_UNUSED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html"
DOC_BEST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"
DOC_GROUPS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups_manage_attach-policy.html"
DOC_IDC = "https://docs.aws.amazon.com/singlesignon/latest/userguide/what-is.html"


# ----------------------------------------------------------------------------------- user helpers
def has_console(user: Item) -> bool:
    """The user has a console password (login profile)."""
    data = as_dict(user.data)
    if data.get("LoginProfile"):
        return True
    row = as_dict(data.get("CredentialReport"))
    return "LoginProfile" not in data and truthy(row.get("password_enabled"))


def has_mfa(user: Item) -> bool:
    """The user has at least one MFA device."""
    data = as_dict(user.data)
    if dicts(data.get("MFADevices")):
        return True
    return truthy(as_dict(data.get("CredentialReport")).get("mfa_active"))


def keys(user: Item, active_only: bool = True) -> list[Mapping[str, Any]]:
    """The user's access keys (active ones by default)."""
    out = dicts(as_dict(user.data).get("AccessKeys"))
    return [k for k in out if str(k.get("Status", "")).lower() == "active"] if active_only else out


def key_view(key: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an access key worth showing (never anything secret: ids and dates only)."""
    return {k: key.get(k) for k in ("AccessKeyId", "Status", "CreateDate", "LastUsedDate", "LastUsedService")}


def users(snap: Snapshot) -> list[Item]:
    """IAM users, in a stable order."""
    return sorted(snap.of("iam:user"), key=lambda i: i.arn)


# ----------------------------------------------------------------------------------- MFA
@check(
    id="iam.console_user_no_mfa",
    title="Console users have MFA",
    service="IAM",
    scope="resource",
    severity=Severity.HIGH,
    description="Every IAM user with a console password has an MFA device.",
    risk="A phished or reused password alone gives console access to the account.",
    remediation=(
        "1. Ask the user to register a device: Console > IAM > Users > <user> > Security credentials > "
        "Multi-factor authentication (MFA) > Assign MFA device.\n"
        "2. Until then, remove the password: aws iam delete-login-profile --user-name <user>.\n"
        "3. Better: move people to IAM Identity Center and delete IAM users."
    ),
    references=("CIS 1.9", DOC_MFA),
    requires=("iam:user",),
)
def console_user_no_mfa(snap: Snapshot) -> Iterator[Result]:
    for user in users(snap):
        if (unread := unread_result(user, ("LoginProfile", "MFADevices"))) is not None:
            yield unread
            continue
        if not has_console(user):
            yield resource_result(user, Status.NOT_APPLICABLE, f"{label(user)} has no console password")
            continue
        evidence = {
            "console_password": True,
            "mfa_devices": [d.get("SerialNumber") for d in dicts(user.data.get("MFADevices"))],
        }
        if has_mfa(user):
            yield resource_result(user, Status.PASS, f"{label(user)} has MFA", evidence)
        else:
            evidence["login_profile"] = user.data.get("LoginProfile")
            yield resource_result(
                user, Status.FAIL, f"{label(user)} has a console password and no MFA", evidence
            )


@check(
    id="iam.user_no_mfa",
    title="Programmatic users under MFA-gated policies have MFA",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An IAM user with access keys but no console password, subject to a policy whose effect "
    "depends on aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge, has no MFA device.",
    risk="The policy author meant this user's actions to require MFA; without a device the user either "
    "works around the guard with long-lived keys or the guard is silently ineffective.",
    remediation=(
        "1. Register an MFA device for the user: aws iam create-virtual-mfa-device --virtual-mfa-device-name "
        "<user> --outfile qr.png --bootstrap-method QRCodePNG, then aws iam enable-mfa-device --user-name "
        "<user> --serial-number <arn> --authentication-code1 <c1> --authentication-code2 <c2>.\n"
        "2. Have the workload call sts get-session-token --serial-number <arn> --token-code <code>.\n"
        "3. Or, if the user is a machine, replace it with a role and drop the MFA-gated policy."
    ),
    references=(
        DOC_MFA,
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html",
    ),
    requires=("iam:user", "iam:group", "iam:policy", "iam:role"),
)
def user_no_mfa(snap: Snapshot) -> Iterator[Result]:
    view = IamView(snap)
    for p in sorted(view.users, key=lambda u: u.arn):
        user = p.item
        if (unread := unread_result(user, ("LoginProfile", "AccessKeys", "MFADevices"))) is not None:
            yield unread
            continue
        if has_console(user):
            yield resource_result(
                user, Status.NOT_APPLICABLE, f"{label(user)} is a console user (see iam.console_user_no_mfa)"
            )
            continue
        active = keys(user)
        if not active:
            yield resource_result(user, Status.NOT_APPLICABLE, f"{label(user)} has no active access key")
            continue
        gated = [g.evidence() for g in p.grants if mentions_mfa(g.statement)]
        if has_mfa(user):
            yield resource_result(user, Status.PASS, f"{label(user)} has MFA")
        elif gated:
            yield resource_result(
                user,
                Status.FAIL,
                f"{label(user)} uses access keys without MFA under an MFA-gated policy",
                {"mfa_gated_statements": gated, "active_keys": [key_view(k) for k in active]},
            )
        elif p.unknown_policies:
            yield resource_result(
                user,
                Status.UNKNOWN,
                f"{label(user)}: some attached policies were not collected",
                {"policies_not_collected": [x.as_dict() for x in p.unknown_policies]},
            )
        else:
            yield resource_result(
                user, Status.PASS, f"{label(user)}: no MFA-gated policy applies", {"mfa_gated_statements": []}
            )


# ----------------------------------------------------------------------------------- access keys
@check(
    id="iam.key_never_used",
    title="No unused access keys created with the user",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An active access key that has never been used and was created together with the user "
    "(within an hour of it) or belongs to a console user.",
    risk="Keys handed out 'just in case' at user creation sit unused in files and inboxes, waiting to leak.",
    remediation=(
        "1. Confirm the key is not needed: IAM > Users > <user> > Security credentials > Access keys (Last used).\n"
        "2. aws iam update-access-key --user-name <user> --access-key-id <key> --status Inactive\n"
        "3. Then aws iam delete-access-key --user-name <user> --access-key-id <key>."
    ),
    references=("CIS 1.10", DOC_KEYS),
    requires=("iam:user",),
)
def key_never_used(snap: Snapshot) -> Iterator[Result]:
    for user in users(snap):
        if (unread := unread_result(user, ("AccessKeys", "LoginProfile"))) is not None:
            yield unread
            continue
        active = keys(user)
        if not active:
            yield resource_result(user, Status.NOT_APPLICABLE, f"{label(user)} has no active access key")
            continue
        created = parse_time(user.data.get("CreateDate"))
        console = has_console(user)
        bad = []
        for k in active:
            if parse_time(k.get("LastUsedDate")) is not None:
                continue
            k_created = parse_time(k.get("CreateDate"))
            with_user = (
                created is not None
                and k_created is not None
                and abs(k_created - created) <= KEY_WITH_USER_WINDOW
            )
            if with_user or console:
                reason = "created with the user" if with_user else "console user with an unused key"
                bad.append({**key_view(k), "reason": reason})
        if bad:
            yield resource_result(
                user,
                Status.FAIL,
                f"{label(user)} has never-used key {join_limited(b['AccessKeyId'] for b in bad)}",
                {"keys": bad, "user_created": user.data.get("CreateDate"), "console_password": console},
            )
        else:
            yield resource_result(user, Status.PASS, f"{label(user)}: active keys have been used")


@check(
    id="iam.credentials_unused",
    title="No unused passwords or access keys",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A console password or active access key not used for the estate's threshold "
    f"(facts['unused_days'], default 90 days; CIS asks for {CIS_UNUSED_DAYS}, also reported in evidence).",
    risk="Dormant credentials belong to people who left or jobs that stopped; nobody notices when they are abused.",
    remediation=(
        "1. Check last use: IAM > Users > <user> (Console last sign-in, Access key last used), or the credential report.\n"
        "2. Password: aws iam delete-login-profile --user-name <user>\n"
        "3. Key: aws iam update-access-key --user-name <user> --access-key-id <key> --status Inactive, then delete it."
    ),
    references=("CIS 1.11", DOC_UNUSED),
    requires=("iam:user",),
)
def credentials_unused(snap: Snapshot) -> Iterator[Result]:
    threshold = unused_days(snap)
    at = now(snap)
    for user in users(snap):
        if (unread := unread_result(user, ("LoginProfile", "AccessKeys", "PasswordLastUsed"))) is not None:
            yield unread
            continue
        creds: list[dict[str, Any]] = []
        if has_console(user):
            last = parse_time(user.data.get("PasswordLastUsed"))
            since = (
                last
                or parse_time(as_dict(user.data.get("LoginProfile")).get("CreateDate"))
                or parse_time(user.data.get("CreateDate"))
            )
            creds.append(
                {
                    "credential": "console password",
                    "last_used": user.data.get("PasswordLastUsed"),
                    "days": days_since(since, at),
                }
            )
        for k in keys(user):
            last = parse_time(k.get("LastUsedDate"))
            since = last or parse_time(k.get("CreateDate"))
            creds.append(
                {
                    "credential": f"access key {text(k.get('AccessKeyId'), 40)}",
                    "last_used": k.get("LastUsedDate"),
                    "days": days_since(since, at),
                }
            )
        if not creds:
            yield resource_result(user, Status.NOT_APPLICABLE, f"{label(user)} has no password or active key")
            continue
        for c in creds:
            c["over_threshold"] = c["days"] is not None and c["days"] >= threshold
            c["over_cis_45_days"] = c["days"] is not None and c["days"] >= CIS_UNUSED_DAYS
        stale = [c for c in creds if c["over_threshold"]]
        evidence = {"threshold_days": threshold, "cis_threshold_days": CIS_UNUSED_DAYS, "credentials": creds}
        if stale:
            worst = max(c["days"] for c in stale)
            yield resource_result(
                user,
                Status.FAIL,
                f"{label(user)}: {join_limited(c['credential'] for c in stale)} unused for {worst} days",
                evidence,
            )
        else:
            yield resource_result(
                user, Status.PASS, f"{label(user)}: credentials used within {threshold} days", evidence
            )


@check(
    id="iam.multiple_active_keys",
    title="At most one active access key per user",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An IAM user has more than one active access key.",
    risk="A second active key is usually a rotation left half-done: the old key stays valid and keeps leaking risk.",
    remediation=(
        "1. Find which key is in use (Last used) in IAM > Users > <user> > Security credentials.\n"
        "2. aws iam update-access-key --user-name <user> --access-key-id <old-key> --status Inactive\n"
        "3. aws iam delete-access-key --user-name <user> --access-key-id <old-key>"
    ),
    references=("CIS 1.12", DOC_KEYS),
    requires=("iam:user",),
)
def multiple_active_keys(snap: Snapshot) -> Iterator[Result]:
    for user in users(snap):
        if (unread := unread_result(user, ("AccessKeys",))) is not None:
            yield unread
            continue
        active = keys(user)
        evidence = {"active_keys": [key_view(k) for k in active]}
        if len(active) > 1:
            yield resource_result(
                user, Status.FAIL, f"{label(user)} has {len(active)} active access keys", evidence
            )
        else:
            yield resource_result(
                user, Status.PASS, f"{label(user)} has {plural(len(active), 'active key')}", evidence
            )


@check(
    id="iam.key_rotation",
    title="Access keys rotated within 90 days",
    service="IAM",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An active access key is older than 90 days (facts['key_rotation_days']).",
    risk="Long-lived keys accumulate copies in laptops, CI systems and logs; rotation bounds the damage of a leak.",
    remediation=(
        "1. aws iam create-access-key --user-name <user> and deploy the new key.\n"
        "2. aws iam update-access-key --user-name <user> --access-key-id <old-key> --status Inactive\n"
        "3. aws iam delete-access-key --user-name <user> --access-key-id <old-key> once nothing breaks.\n"
        "Console: IAM > Users > <user> > Security credentials > Access keys."
    ),
    references=("CIS 1.13", DOC_KEYS),
    requires=("iam:user",),
)
def key_rotation(snap: Snapshot) -> Iterator[Result]:
    limit = positive_int_fact(snap, "key_rotation_days", KEY_ROTATION_DAYS)
    at = now(snap)
    for user in users(snap):
        if (unread := unread_result(user, ("AccessKeys",))) is not None:
            yield unread
            continue
        active = keys(user)
        if not active:
            yield resource_result(user, Status.NOT_APPLICABLE, f"{label(user)} has no active access key")
            continue
        ages = [{**key_view(k), "age_days": days_since(parse_time(k.get("CreateDate")), at)} for k in active]
        old = [a for a in ages if a["age_days"] is not None and a["age_days"] > limit]
        evidence = {"max_age_days": limit, "keys": ages}
        if old:
            oldest = max(a["age_days"] for a in old)
            yield resource_result(
                user, Status.FAIL, f"{label(user)} has an active key {oldest} days old", evidence
            )
        else:
            yield resource_result(
                user, Status.PASS, f"{label(user)}: active keys younger than {limit} days", evidence
            )


# ----------------------------------------------------------------------------------- policies on users
@check(
    id="iam.user_direct_policy",
    title="Users get permissions only through groups",
    service="IAM",
    scope="resource",
    severity=Severity.LOW,
    description="An IAM user has managed policies attached or inline policies of its own.",
    risk="Per-user permissions drift and escape review; groups (or roles) keep access consistent and auditable.",
    remediation=(
        "1. Put the user in a group that carries the permissions: aws iam add-user-to-group --group-name <g> --user-name <user>\n"
        "2. aws iam detach-user-policy --user-name <user> --policy-arn <arn> / aws iam delete-user-policy "
        "--user-name <user> --policy-name <name>\n"
        "Console: IAM > Users > <user> > Permissions."
    ),
    references=("CIS 1.14", DOC_GROUPS),
    requires=("iam:user",),
)
def user_direct_policy(snap: Snapshot) -> Iterator[Result]:
    for user in users(snap):
        attached = [
            {"PolicyName": p.get("PolicyName"), "PolicyArn": p.get("PolicyArn")}
            for p in dicts(user.data.get("AttachedManagedPolicies"))
        ]
        inline = [p.get("PolicyName") for p in dicts(user.data.get("UserPolicyList"))]
        evidence = {"attached_policies": attached, "inline_policies": inline}
        if attached or inline:
            names = [str(a["PolicyName"]) for a in attached] + [str(n) for n in inline]
            yield resource_result(
                user, Status.FAIL, f"{label(user)} has direct policies: {join_limited(names)}", evidence
            )
        else:
            yield resource_result(user, Status.PASS, f"{label(user)} has no direct policy", evidence)


# ----------------------------------------------------------------------------------- users outside identity
def is_identity_account(snap: Snapshot) -> bool:
    """The security team designated this account as an identity account (its environment is
    "identity" and was set by a person, not guessed from its name)."""
    designated_here = snap.account.environment == "identity" and not snap.account.environment_guessed
    return designated_here or snap.account.account_id in snap.org.identity_account_ids


def identity_designated(snap: Snapshot) -> bool:
    """Some account of the estate (this one or another) is a designated identity account."""
    return bool(snap.org.identity_account_ids) or is_identity_account(snap)


@check(
    id="iam.user_outside_identity",
    title="No IAM users outside the identity account",
    service="IAM",
    scope="account",
    severity=Severity.MEDIUM,
    description="IAM users exist in an account other than the identity account the security team designated. "
    "People sign in through the identity account (or IAM Identity Center) and assume roles elsewhere. Until an "
    "account is designated (an environment guessed from a name does not count), an account with IAM users is "
    "unknown, not failing.",
    risk="IAM users scattered across accounts carry long-lived credentials nobody reviews centrally.",
    remediation=(
        "1. Give each person a permission set (IAM Identity Center) or a role reachable from the identity account.\n"
        "2. Replace machine users with roles (instance profiles, OIDC federation, IAM Roles Anywhere).\n"
        "3. Delete the user: remove keys, password, MFA, group memberships and policies, then aws iam delete-user --user-name <user>."
    ),
    references=(DOC_IDC, DOC_BEST),
    requires=("iam:user",),
    baseline=True,
)
def user_outside_identity(snap: Snapshot) -> Iterator[Result]:
    if is_identity_account(snap):
        yield account_result(snap, Status.NOT_APPLICABLE, "This is an identity account")
        return
    found = users(snap)
    evidence = {
        "environment": snap.account.environment,
        "environment_guessed": snap.account.environment_guessed,
        "users": [
            {"user": u.name, "arn": u.arn, "console_password": has_console(u), "active_keys": len(keys(u))}
            for u in found
        ],
    }
    if found and not identity_designated(snap):
        # which account people should live in is the security team's decision, not a name's
        yield account_result(
            snap,
            Status.UNKNOWN,
            f"No identity account is designated: {plural(len(found), 'IAM user')} here cannot be judged "
            "until the security team designates one",
            {**evidence, "reason": "no identity account is designated"},
        )
    elif found:
        yield account_result(
            snap,
            Status.FAIL,
            f"{plural(len(found), 'IAM user')} outside the identity account: {join_limited(u.name for u in found)}",
            evidence,
        )
    else:
        yield account_result(snap, Status.PASS, "No IAM users", evidence)

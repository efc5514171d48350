"""Role trust policies: who outside the account may assume a role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, join_limited, label, org_accounts, org_known, resource_result
from iam_audit.policy.conditions import (
    ORG_KEYS,
    condition_values,
    limiting_conditions,
    requires_external_id,
    requires_mfa,
)
from iam_audit.policy.grants import public_grant
from iam_audit.policy.model import Statement, statements

DOC_TRUST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html"
DOC_EXTERNAL_ID = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html"
DOC_CONFUSED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
DOC_OIDC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html"
DOC_OIDC_PROVIDER = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html"
_GITHUB_SUB = re.compile(r"^repo:[^*?/:]+/")
# identity providers whose tokens are told apart by audience, not subject
_AUD_PROVIDERS = ("cognito-identity.amazonaws.com", "accounts.google.com")


def _roles(snap: Snapshot) -> list[Item]:
    return sorted(snap.of("iam:role"), key=lambda i: i.arn)


def _trust(role: Item) -> list[Statement]:
    return statements(as_dict(role.data).get("AssumeRolePolicyDocument"))


def anyone_grants(role: Item) -> list[dict[str, Any]]:
    """The trust statements that let anyone assume ``role`` (no condition narrows who)."""
    grants = []
    for s in _trust(role):
        grant = public_grant(s)
        if grant is None:
            continue
        if requires_external_id(s):
            grant["note"] = "sts:ExternalId is required, but anyone who learns it can assume the role"
        grants.append(grant)
    return grants


def outside_trusts(
    role: Item, inside: frozenset[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(unguarded, guarded, unresolved): ``sts:AssumeRole`` statements naming accounts not in
    ``inside``, split by whether ExternalId, MFA or aws:PrincipalOrgID guards them (each entry is
    the statement's evidence plus ``accounts`` and ``guarded_by``), and the AWS principals whose
    account cannot be read."""
    unguarded: list[dict[str, Any]] = []
    guarded: list[dict[str, Any]] = []
    unresolved: list[str] = []
    for s in _trust(role):
        if not s.is_allow or s.principal is None or not s.matches_action("sts:AssumeRole"):
            continue
        unresolved += s.principal.unresolved()
        outside = sorted(a for a in s.principal.accounts() if a not in inside)
        if not outside:
            continue
        guard = [
            name
            for name, ok in (
                ("sts:ExternalId", requires_external_id(s)),
                ("MFA", requires_mfa(s)),
                ("aws:PrincipalOrgID", bool(limiting_conditions(s, ORG_KEYS))),
            )
            if ok
        ]
        entry = {**s.evidence(), "accounts": outside, "guarded_by": guard}
        (guarded if guard else unguarded).append(entry)
    return unguarded, guarded, unresolved


@check(
    id="iam.trust_anyone",
    title="No role trusts everyone",
    service="IAM",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A role's trust policy allows Principal '*' (or uses NotPrincipal) without a condition that "
    "narrows who may assume it (aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceAccount, "
    "aws:SourceArn, source IP/VPC). An ExternalId alone is a shared string, not an identity check.",
    risk="Any AWS principal in any account in the world can assume the role and act with its permissions.",
    remediation=(
        "1. Replace Principal '*' with the exact account or role ARNs, or add \"StringEquals\": "
        '{"aws:PrincipalOrgID": "o-xxxx"}.\n'
        "2. aws iam update-assume-role-policy --role-name <role> --policy-document file://trust.json\n"
        "Console: IAM > Roles > <role> > Trust relationships > Edit trust policy."
    ),
    references=(DOC_TRUST, DOC_CONFUSED),
    requires=("iam:role",),
)
def trust_anyone(snap: Snapshot) -> Iterator[Result]:
    for role in _roles(snap):
        grants = anyone_grants(role)
        if grants:
            yield resource_result(
                role,
                Status.FAIL,
                f"Role {label(role)} can be assumed by anyone",
                {"statements": grants},
                Exposure.PUBLIC,
            )
        else:
            yield resource_result(role, Status.PASS, f"Role {label(role)} does not trust everyone")


@check(
    id="iam.trust_outside_org",
    title="Roles trust outside accounts only with ExternalId or MFA",
    service="IAM",
    scope="resource",
    severity=Severity.HIGH,
    description="A role trusts an AWS account outside the organisation (compared with the organisation's "
    "member list) without requiring sts:ExternalId, MFA or aws:PrincipalOrgID. When the organisation is not "
    "known the result is UNKNOWN, with the trusted accounts in evidence.",
    risk="A third party (or a stranger's account id typed by mistake) can assume the role; without an "
    "ExternalId a vendor can be tricked into doing it on someone else's behalf (confused deputy).",
    remediation=(
        "1. Confirm the external account is expected (a vendor, a partner).\n"
        '2. Add "Condition": {"StringEquals": {"sts:ExternalId": "<unique id from the vendor>"}} '
        "(or require aws:MultiFactorAuthPresent for people).\n"
        "3. aws iam update-assume-role-policy --role-name <role> --policy-document file://trust.json\n"
        "Console: IAM > Roles > <role> > Trust relationships."
    ),
    references=(DOC_EXTERNAL_ID, DOC_CONFUSED),
    requires=("iam:role",),
)
def trust_outside_org(snap: Snapshot) -> Iterator[Result]:
    inside = org_accounts(snap)
    known = org_known(snap)
    for role in _roles(snap):
        unguarded, guarded, unresolved = outside_trusts(role, inside)
        evidence: dict[str, Any] = {"organisation_known": known, "unguarded": unguarded, "guarded": guarded}
        if unresolved:
            evidence["unresolved_principals"] = unresolved  # unique ids of deleted principals, usually
        accounts = sorted({a for e in unguarded for a in e["accounts"]})
        if unguarded and not known:
            evidence["note"] = (
                "organisation membership unknown: cannot tell whether these accounts are inside it"
            )
            yield resource_result(
                role,
                Status.UNKNOWN,
                f"Role {label(role)} trusts {join_limited(accounts)} (organisation unknown)",
                evidence,
            )
        elif unguarded:
            yield resource_result(
                role,
                Status.FAIL,
                f"Role {label(role)} trusts outside account {join_limited(accounts)} without ExternalId/MFA",
                evidence,
                Exposure.EXTERNAL,
            )
        else:
            yield resource_result(
                role, Status.PASS, f"Role {label(role)} trusts no outside account without a guard", evidence
            )


def _provider_host(federated: str) -> str:
    """``token.actions.githubusercontent.com`` from an OIDC provider ARN or a bare provider name."""
    return federated.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in federated else federated


def _scoped(s: Statement, host: str) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the web-identity statement pins the token's subject (or audience for aud providers)."""
    key = f"{host}:{'aud' if host in _AUD_PROVIDERS else 'sub'}".lower()
    conds = [c for c in condition_values(s, key) if not c.negated and not c.if_exists and c.op != "null"]
    shown = [c.as_dict() for c in conds]
    if not conds:
        return False, shown
    for c in conds:
        values = [v.strip() for v in c.values]
        if not values or any(not v.replace("*", "").replace("?", "") or v.startswith("*") for v in values):
            return False, shown
        if host == "token.actions.githubusercontent.com" and not all(_GITHUB_SUB.match(v) for v in values):
            return False, shown
    return True, shown


@check(
    id="iam.trust_oidc_unscoped",
    title="Web-identity roles pin the token subject",
    service="IAM",
    scope="resource",
    severity=Severity.HIGH,
    description="A role trusting an OIDC identity provider (GitHub Actions, EKS, Cognito, Google...) for "
    "sts:AssumeRoleWithWebIdentity does not require a specific subject (':sub', e.g. 'repo:org/repo:*') or, "
    "for Cognito and Google, audience (':aud').",
    risk="Any token the provider issues — for example any GitHub repository's workflow, anyone's — can assume the role.",
    remediation=(
        '1. Add a condition on the subject: "StringLike": {"token.actions.githubusercontent.com:sub": '
        '"repo:<org>/<repo>:ref:refs/heads/main"} (EKS: system:serviceaccount:<ns>:<sa>).\n'
        "2. aws iam update-assume-role-policy --role-name <role> --policy-document file://trust.json\n"
        "Console: IAM > Roles > <role> > Trust relationships."
    ),
    references=(DOC_OIDC, DOC_OIDC_PROVIDER),
    requires=("iam:role",),
)
def trust_oidc_unscoped(snap: Snapshot) -> Iterator[Result]:
    for role in _roles(snap):
        federated = [
            s
            for s in _trust(role)
            if s.is_allow
            and s.principal is not None
            and s.principal.federated
            and s.matches_action("sts:AssumeRoleWithWebIdentity")
        ]
        if not federated:
            continue  # not a web-identity role: not a subject of this check
        loose = []
        for s in federated:
            for provider in s.principal.federated if s.principal else ():
                if ":saml-provider/" in provider:
                    continue
                ok, shown = _scoped(s, _provider_host(provider))
                if not ok:
                    loose.append({**s.evidence(), "provider": provider, "subject_conditions": shown})
        if loose:
            providers = join_limited(sorted({str(x["provider"]).rsplit("/", 1)[-1] for x in loose}))
            yield resource_result(
                role,
                Status.FAIL,
                f"Role {label(role)} accepts any {providers} token",
                {"statements": loose},
                Exposure.PUBLIC,
            )
        else:
            yield resource_result(role, Status.PASS, f"Role {label(role)} pins the web-identity subject")

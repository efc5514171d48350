"""The ways in the checks already decide, as exposure records for the "Exposed" page, the map and
``manage.py export_exposure``. No Django here.

:mod:`inventory.exposure.vectors` is the registry (inventory cannot import the checks above it);
``iam_audit``'s ``AppConfig.ready()`` registers :data:`FINDER`. Every decision is the checks' own,
so a resource is exposed here exactly when its check fails:

- resource policy: :func:`~iam_audit.policy.public_grants` (Principal ``*`` / ``{"AWS": "*"}``
  / NotPrincipal without a condition narrowing who: aws:PrincipalOrgID, a source VPC / endpoint, a
  specific source account or ARN, an IP range narrower than the internet), for buckets after Block
  Public Access (:func:`~iam_audit.checks.s3.public_ways`);
- ACL grant: a bucket ACL granting AllUsers / AuthenticatedUsers, unless ACLs are disabled or
  ignored (:func:`~iam_audit.checks.s3.public_ways`);
- sharing: an EBS snapshot's createVolumePermission or an AMI's launchPermission for the group
  "all", an RDS snapshot's restore attribute "all" (the ``ec2`` / ``rds`` check helpers);
- trust: a role whose trust policy lets anyone assume it, or names an account outside the
  organisation (ExternalId / MFA guards are shown in the evidence, not hidden: a guarded trust is
  still a way in for that account).

Function URLs with AuthType NONE are found by the network analysis (they receive traffic).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from iam_audit.checks.common import as_dict, text, truthy, unavailable
from iam_audit.checks.ec2 import public_permissions
from iam_audit.checks.iam_trust import anyone_grants, outside_trusts
from iam_audit.checks.rds import restore_attribute
from iam_audit.checks.resource_policies import POLICY_KEYS
from iam_audit.checks.s3 import bpa_flags, public_ways
from iam_audit.policy.grants import public_grants
from inventory.exposure.results import ACL, RESOURCE_POLICY, SHARING, TRUST, Exposure
from inventory.exposure.vectors import Context, Finder

BUCKET = "s3:bucket"
ACCOUNT_BPA = "s3:account-public-access-block"
SNAPSHOT_TYPES = ("ec2:snapshot", "ec2:image", "rds:db-snapshot", "rds:db-cluster-snapshot")
TYPES: tuple[str, ...] = (BUCKET, ACCOUNT_BPA, *POLICY_KEYS, *SNAPSHOT_TYPES, "iam:role")


def _exposure(item: Any, vector: str, evidence: list[dict[str, Any]]) -> Exposure:
    return Exposure(
        arn=item.arn,
        resource_id=item.resource_id,
        type=item.type,
        region=item.region,
        name=item.name or "",
        vector=vector,
        evidence=tuple(evidence),
    )


def _where(grant: Mapping[str, Any]) -> str:
    sid = text(grant.get("sid"), 80)
    return f'statement "{sid}"' if sid else f"statement #{grant.get('index', '?')}"


def _actions(statement: Mapping[str, Any]) -> str:
    if "NotAction" in statement:
        return "every action except " + text(statement.get("NotAction"), 160)
    action = statement.get("Action")
    return text(", ".join(map(str, action)) if isinstance(action, list) else action, 160) or "nothing"


def _statement_evidence(grant: Mapping[str, Any], policy: str, who: str) -> dict[str, Any]:
    """One public statement: where it is, what it allows, and the statement as written."""
    raw = as_dict(grant.get("statement"))
    summary = f"{policy} {_where(grant)} allows {who}: {_actions(raw)}"
    if grant.get("note"):
        summary += f" ({grant['note']})"
    return {"summary": summary, "policy": policy, **dict(grant)}


# ---------------------------------------------------------------------- per vector
def _buckets(items: Sequence[Any]) -> Iterator[Exposure]:
    account_item = next((i for i in items if i.type == ACCOUNT_BPA), None)
    account = bpa_flags(account_item) if account_item is not None else None
    for bucket in items:
        if bucket.type != BUCKET:
            continue
        acl_public, policy_public, found = public_ways(bucket, account)
        # what the check could not read it answers "unknown" about: never claimed exposed here
        if acl_public and not unavailable(bucket, ("Acl", "OwnershipControls", "PublicAccessBlock")):
            yield _exposure(
                bucket,
                ACL,
                [
                    {"summary": f"ACL grants {text(g.get('permission'), 40)} to {g['grantee']}", **g}
                    for g in found["public_acl_grants"]
                ],
            )
        if policy_public and not unavailable(bucket, ("Policy", "PolicyStatus", "PublicAccessBlock")):
            evidence = [
                _statement_evidence(g, "bucket policy", "anyone") for g in found["public_policy_statements"]
            ]
            if not evidence:
                evidence = [
                    {
                        "summary": "S3 reports the bucket policy as public (PolicyStatus IsPublic)",
                        "IsPublic": True,
                    }
                ]
            yield _exposure(bucket, RESOURCE_POLICY, evidence)


def _policies(items: Sequence[Any]) -> Iterator[Exposure]:
    for item in items:
        key = POLICY_KEYS.get(item.type)
        if key is None or unavailable(item, (key,)):
            continue
        grants = public_grants(as_dict(item.data).get(key))
        if grants:
            noun = item.type.split(":", 1)[1].replace("-", " ")
            yield _exposure(
                item, RESOURCE_POLICY, [_statement_evidence(g, f"{noun} policy", "anyone") for g in grants]
            )


def _sharing(items: Sequence[Any]) -> Iterator[Exposure]:
    for item in items:
        data = as_dict(item.data)
        evidence: list[dict[str, Any]] = []
        if item.type == "ec2:snapshot" and not unavailable(item, ("CreateVolumePermissions",)):
            evidence = [
                {
                    "summary": 'createVolumePermission for group "all"',
                    "attribute": "createVolumePermission",
                    **p,
                }
                for p in public_permissions(data.get("CreateVolumePermissions"))
            ]
        elif item.type == "ec2:image" and not unavailable(item, ("LaunchPermissions",)):
            evidence = [
                {"summary": 'launchPermission for group "all"', "attribute": "launchPermission", **p}
                for p in public_permissions(data.get("LaunchPermissions"))
            ]
            if not evidence and truthy(data.get("Public")):
                evidence = [{"summary": "the image is public (Public: true)", "attribute": "Public"}]
        elif item.type in ("rds:db-snapshot", "rds:db-cluster-snapshot") and not unavailable(
            item, ("Attributes",)
        ):
            restore = restore_attribute(data)
            if "all" in restore:
                evidence = [
                    {"summary": 'restore attribute includes "all"', "attribute": "restore", "values": restore}
                ]
        if evidence:
            yield _exposure(item, SHARING, evidence)


def _trusts(items: Sequence[Any], context: Context) -> Iterator[Exposure]:
    inside = frozenset(context.organisation | {context.account_id})
    for role in items:
        if role.type != "iam:role" or unavailable(role, ("AssumeRolePolicyDocument",)):
            continue
        evidence = [
            _statement_evidence(g, "trust policy", "anyone to assume the role") for g in anyone_grants(role)
        ]
        unguarded, guarded, _unresolved = outside_trusts(role, inside)
        for entry in unguarded + guarded:
            accounts = ", ".join(entry["accounts"][:10])
            guard = entry["guarded_by"]
            evidence.append(
                {
                    "summary": f"trust policy {_where(entry)} trusts account(s) outside the organisation: "
                    f"{accounts}"
                    + (f" (guarded by {', '.join(guard)})" if guard else " (no ExternalId or MFA)"),
                    "policy": "trust policy",
                    **entry,
                }
            )
        if evidence:
            yield _exposure(role, TRUST, evidence)


def find(items: Sequence[Any], context: Context) -> Iterator[Exposure]:
    """Every non-network way into the account's ``items`` (see the module docstring)."""
    yield from _buckets(items)
    yield from _policies(items)
    yield from _sharing(items)
    yield from _trusts(items, context)


FINDER = Finder(name="iam_audit.policies", types=TYPES, find=find)

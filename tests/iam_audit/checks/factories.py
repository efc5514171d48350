"""Small builders for check tests: items shaped as inventory/resource_types.py documents them,
snapshots with full coverage by default, and a runner that goes through ``evaluate`` (so the UNKNOWN
gate is always exercised)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.checks.base import (
    REGISTRY,
    AccountFacts,
    Item,
    OrgContext,
    Result,
    Snapshot,
    Status,
    all_checks,
    evaluate,
)
from inventory.records import GLOBAL_REGION, Coverage
from inventory.resource_types import RESOURCE_TYPES

ACCOUNT = "111122223333"
MEMBER = "444455556666"  # another account of the organisation
MANAGEMENT = "777788889999"
OUTSIDER = "999900001111"  # not in the organisation
ORG_ID = "o-abc123def4"
REGIONS = ("us-east-1", "eu-west-1")
NOW = "2026-11-29T00:00:00+00:00"
READ_ROLE = "SkyledgerRead"


def make_item(
    type_: str,
    data: Mapping[str, Any] | None = None,
    *,
    arn: str | None = None,
    resource_id: str = "",
    name: str = "",
    region: str | None = None,
    tags: Mapping[str, str] | None = None,
    account: str = ACCOUNT,
) -> Item:
    """An item of a catalogued type; region defaults to global or the first test region."""
    rt = RESOURCE_TYPES[type_]
    if region is None:
        region = GLOBAL_REGION if rt.scope == "global" and type_ != "s3:bucket" else REGIONS[0]
    rid = resource_id or name or type_.split(":")[1]
    if arn is None:
        if rt.arn:
            arn = rt.arn.replace("{a}", account).replace("{r}", region)
        else:
            where = "" if region == GLOBAL_REGION else region
            arn = f"arn:aws:{rt.service}:{where}:{account}:{type_.split(':')[1]}/{rid}"
    return Item(type_, arn, rid, name or rid, region, dict(tags or {}), dict(data or {}))


def full_coverage(
    regions: Sequence[str] = REGIONS, types: Iterable[str] | None = None
) -> dict[tuple[str, str], Coverage]:
    """OK coverage for every catalogued type: global types once, regional ones per region."""
    out: dict[tuple[str, str], Coverage] = {}
    for t in types or RESOURCE_TYPES:
        if RESOURCE_TYPES[t].scope == "global":
            out[(t, GLOBAL_REGION)] = Coverage.OK
        else:
            for r in regions:
                out[(t, r)] = Coverage.OK
    return out


def make_org(
    *,
    members: Iterable[str] = (ACCOUNT, MEMBER, MANAGEMENT),
    management: str = MANAGEMENT,
    org_id: str = ORG_ID,
    identity: Iterable[str] = (),
    org_trails: Sequence[Item] = (),
    guardduty_regions: Iterable[str] = (),
    scps: Sequence[tuple[str, str, Mapping[str, Any]]] = (),
    parent_path: Sequence[str] | None = ("Root", "Workloads"),
) -> OrgContext:
    """A known organisation containing the test account."""
    return OrgContext(
        org_id=org_id,
        management_account_id=management,
        member_account_ids=frozenset(members),
        identity_account_ids=frozenset(identity),
        org_trails=tuple(org_trails),
        org_guardduty_regions=frozenset(guardduty_regions),
        scps=tuple(scps),
        parent_path=tuple(parent_path) if parent_path is not None else None,
    )


def make_snapshot(
    items: Iterable[Item] = (),
    *,
    account: str = ACCOUNT,
    environment: str = "prod",
    environment_guessed: bool = False,
    status: str = "active",
    allowed_regions: Sequence[str] = (),
    read_role_name: str = READ_ROLE,
    org: OrgContext | None = None,
    regions: Sequence[str] = REGIONS,
    facts: Mapping[str, Any] | None = None,
    missing: Iterable[str] = (),
    coverage: Mapping[tuple[str, str], Coverage] | None = None,
) -> Snapshot:
    """A snapshot with full OK coverage, minus the ``missing`` types (marked FAILED)."""
    cov = dict(coverage if coverage is not None else full_coverage(regions))
    for t in missing:
        for key in [k for k in cov if k[0] == t]:
            cov[key] = Coverage.FAILED
    return Snapshot(
        account=AccountFacts(
            account_id=account,
            name="test",
            environment=environment,
            environment_guessed=environment_guessed,
            status=status,
            allowed_regions=tuple(allowed_regions),
            read_role_name=read_role_name,
        ),
        org=org if org is not None else make_org(),
        items=list(items),
        coverage=cov,
        regions=tuple(regions),
        facts={"now": NOW, "unused_days": 90, **(facts or {})},
    )


def run(check_id: str, snap: Snapshot) -> list[Result]:
    """Evaluate one registered check (through the UNKNOWN gate)."""
    all_checks()
    return list(evaluate(REGISTRY[check_id], snap))


def statuses(results: Iterable[Result]) -> list[Status]:
    return [r.status for r in results]


def by_subject(results: Iterable[Result]) -> dict[str, Result]:
    return {r.subject: r for r in results}


def only(results: Sequence[Result]) -> Result:
    """The single result of an account-scope check."""
    assert len(results) == 1, results
    return results[0]


# ----------------------------------------------------------------------------------- domain builders
def policy_doc(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ADMIN_DOC = policy_doc({"Effect": "Allow", "Action": "*", "Resource": "*"})


def user(
    name: str,
    *,
    console: bool = False,
    mfa: bool = False,
    keys: Sequence[Mapping[str, Any]] = (),
    groups: Sequence[str] = (),
    attached: Sequence[str] = (),
    inline: Mapping[str, Any] | None = None,
    created: str = "2026-01-01T00:00:00+00:00",
    password_last_used: str | None = None,
    boundary: str | None = None,
    account: str = ACCOUNT,
) -> Item:
    data = {
        "UserName": name,
        "UserId": f"AIDA{name.upper()}",
        "Arn": f"arn:aws:iam::{account}:user/{name}",
        "Path": "/",
        "CreateDate": created,
        "GroupList": list(groups),
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
        "UserPolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        if boundary
        else None,
        "Tags": [],
        "MFADevices": [{"SerialNumber": f"arn:aws:iam::{account}:mfa/{name}", "EnableDate": created}]
        if mfa
        else [],
        "AccessKeys": [dict(k) for k in keys],
        "LoginProfile": {"CreateDate": created} if console else None,
        "PasswordLastUsed": password_last_used,
        "CredentialReport": None,
    }
    return make_item("iam:user", data, arn=data["Arn"], resource_id=name, name=name, account=account)


def key(
    key_id: str = "AKIAEXAMPLE1",
    *,
    status: str = "Active",
    created: str = "2026-11-01T00:00:00+00:00",
    last_used: str | None = None,
) -> dict[str, Any]:
    return {
        "AccessKeyId": key_id,
        "Status": status,
        "CreateDate": created,
        "LastUsedDate": last_used,
        "LastUsedService": None,
        "LastUsedRegion": None,
    }


def role(
    name: str,
    *,
    trust: Mapping[str, Any] | Any = None,
    attached: Sequence[str] = (),
    inline: Mapping[str, Any] | None = None,
    path: str = "/",
    boundary: str | None = None,
    account: str = ACCOUNT,
) -> Item:
    if trust is None:
        trust = policy_doc(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        )
    data = {
        "RoleName": name,
        "RoleId": f"AROA{name.upper()}",
        "Arn": f"arn:aws:iam::{account}:role{path}{name}",
        "Path": path,
        "AssumeRolePolicyDocument": trust,
        "RolePolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
        "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        if boundary
        else None,
        "RoleLastUsed": {},
        "InstanceProfileList": [],
        "Tags": [],
        "MaxSessionDuration": 3600,
    }
    return make_item("iam:role", data, arn=data["Arn"], resource_id=name, name=name, account=account)


def group(
    name: str,
    *,
    attached: Sequence[str] = (),
    inline: Mapping[str, Any] | None = None,
    members: Sequence[str] = (),
) -> Item:
    data = {
        "GroupName": name,
        "GroupId": f"AGPA{name.upper()}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}",
        "Path": "/",
        "GroupPolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in (inline or {}).items()],
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached],
        "Members": list(members),
    }
    return make_item("iam:group", data, arn=data["Arn"], resource_id=name, name=name)


def managed_policy(arn: str, document: Any, *, aws_managed: bool | None = None) -> Item:
    name = arn.rsplit("/", 1)[-1]
    managed = ":iam::aws:policy/" in arn if aws_managed is None else aws_managed
    data = {
        "PolicyName": name,
        "PolicyId": f"ANPA{name.upper()}",
        "Arn": arn,
        "Path": "/",
        "DefaultVersionId": "v1",
        "AttachmentCount": 1,
        "IsAttachable": True,
        "Document": document,
        "AwsManaged": managed,
    }
    return make_item("iam:policy", data, arn=arn, resource_id=name, name=name)


def aws_policy(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}"


def customer_policy(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"


def bucket(name: str, *, region: str = "us-east-1", **data: Any) -> Item:
    base: dict[str, Any] = {
        "Name": name,
        "CreationDate": "2026-01-01T00:00:00+00:00",
        "Region": region,
        "Acl": {
            "Owner": {"ID": "owner-canonical"},
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": "owner-canonical"}, "Permission": "FULL_CONTROL"}
            ],
        },
        "Policy": None,
        "PolicyStatus": None,
        "PublicAccessBlock": None,
        "Encryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "Versioning": {},
        "Logging": None,
        "OwnershipControls": None,
    }
    base.update(data)
    return make_item(
        "s3:bucket", base, arn=f"arn:aws:s3:::{name}", resource_id=name, name=name, region=region
    )


def security_group(
    group_id: str,
    *,
    name: str = "web",
    ingress: Sequence[Mapping[str, Any]] = (),
    egress: Sequence[Mapping[str, Any]] = (),
    region: str = "us-east-1",
) -> Item:
    data = {
        "GroupId": group_id,
        "GroupName": name,
        "VpcId": "vpc-1",
        "IpPermissions": list(ingress),
        "IpPermissionsEgress": list(egress),
        "Description": name,
    }
    return make_item(
        "ec2:security-group",
        data,
        arn=f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group_id}",
        resource_id=group_id,
        name=name,
        region=region,
    )


def perm(
    protocol: str,
    from_port: int | None = None,
    to_port: int | None = None,
    *,
    cidrs: Sequence[str] = (),
    v6: Sequence[str] = (),
    prefix_lists: Sequence[str] = (),
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "IpProtocol": protocol,
        "IpRanges": [{"CidrIp": c} for c in cidrs],
        "Ipv6Ranges": [{"CidrIpv6": c} for c in v6],
        "PrefixListIds": [{"PrefixListId": x} for x in prefix_lists],
        "UserIdGroupPairs": [],
    }
    if from_port is not None:
        p["FromPort"], p["ToPort"] = from_port, to_port if to_port is not None else from_port
    return p


def nacl_entry(
    number: int,
    action: str,
    *,
    protocol: str = "6",
    ports: tuple[int, int] | None = None,
    cidr: str = "0.0.0.0/0",
    egress: bool = False,
) -> dict[str, Any]:
    e: dict[str, Any] = {"RuleNumber": number, "RuleAction": action, "Protocol": protocol, "Egress": egress}
    e["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports is not None:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    return e


def network_acl(
    acl_id: str, entries: Sequence[Mapping[str, Any]], *, associated: bool = True, default: bool = False
) -> Item:
    data = {
        "NetworkAclId": acl_id,
        "VpcId": "vpc-1",
        "IsDefault": default,
        "Entries": list(entries),
        "Associations": [{"NetworkAclAssociationId": "aclassoc-1", "SubnetId": "subnet-1"}]
        if associated
        else [],
    }
    return make_item(
        "ec2:network-acl",
        data,
        arn=f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-acl/{acl_id}",
        resource_id=acl_id,
    )


def trail(
    name: str,
    *,
    multi: bool = True,
    logging: bool = True,
    validation: bool = True,
    kms: str | None = "arn:aws:kms:us-east-1:111122223333:key/k",
    bucket_name: str = "trail-logs",
    org_trail: bool = False,
    account: str = ACCOUNT,
    selectors: Any = None,
    log_group: str | None = None,
) -> Item:
    data = {
        "Name": name,
        "TrailARN": f"arn:aws:cloudtrail:us-east-1:{account}:trail/{name}",
        "HomeRegion": "us-east-1",
        "IsMultiRegionTrail": multi,
        "IsOrganizationTrail": org_trail,
        "LogFileValidationEnabled": validation,
        "KmsKeyId": kms,
        "S3BucketName": bucket_name,
        "Status": {"IsLogging": logging},
        "EventSelectors": selectors
        if selectors is not None
        else {"EventSelectors": [], "AdvancedEventSelectors": []},
        "CloudWatchLogsLogGroupArn": f"arn:aws:logs:us-east-1:{account}:log-group:{log_group}:*"
        if log_group
        else None,
    }
    return make_item(
        "cloudtrail:trail", data, arn=data["TrailARN"], resource_id=name, name=name, account=account
    )


def account_settings(region: str, *, ebs: bool | None = True, imds: Mapping[str, Any] | None = None) -> Item:
    data = {
        "EbsEncryptionByDefault": ebs,
        "InstanceMetadataDefaults": dict(imds) if imds is not None else None,
    }
    return make_item("ec2:account-settings", data, region=region, resource_id=f"account-settings-{region}")


def results_for(check_id: str, snap: Snapshot, status: Status) -> list[Result]:
    return [r for r in run(check_id, snap) if r.status == status]

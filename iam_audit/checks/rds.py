"""RDS checks: public instances, storage encryption, public snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, dicts, label, resource_result, truthy, unread_result

DOC_PUBLIC = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html"
)
DOC_ENC = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html"
DOC_SHARE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ShareSnapshot.html"


def _sorted(snap: Snapshot, *types: str) -> list[Item]:
    return sorted((i for t in types for i in snap.of(t)), key=lambda i: i.arn)


@check(
    id="rds.public_instance",
    title="No RDS instance is publicly accessible",
    service="RDS",
    scope="resource",
    severity=Severity.CRITICAL,
    description="An RDS DB instance has PubliclyAccessible set: its endpoint resolves to a public address.",
    risk="The database listens on the internet; only its security group and password stand in the way.",
    remediation=(
        "1. aws rds modify-db-instance --db-instance-identifier <db> --no-publicly-accessible --apply-immediately\n"
        "2. Reach it through a bastion, VPN or Session Manager port forwarding instead.\n"
        "Console: RDS > Databases > <db> > Modify > Connectivity > Public access: Not publicly accessible."
    ),
    references=("CIS 2.2.3", DOC_PUBLIC),
    requires=("rds:db-instance",),
)
def public_instance(snap: Snapshot) -> Iterator[Result]:
    for db in _sorted(snap, "rds:db-instance"):
        data = as_dict(db.data)
        evidence = {
            "PubliclyAccessible": data.get("PubliclyAccessible"),
            "Endpoint": data.get("Endpoint"),
            "VpcSecurityGroups": data.get("VpcSecurityGroups"),
        }
        if truthy(data.get("PubliclyAccessible")):
            yield resource_result(
                db,
                Status.FAIL,
                f"RDS instance {label(db)} is publicly accessible",
                evidence,
                Exposure.INTERNET,
            )
        else:
            yield resource_result(db, Status.PASS, f"RDS instance {label(db)} is private", evidence)


@check(
    id="rds.encryption",
    title="RDS storage is encrypted",
    service="RDS",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An RDS DB instance or Aurora/Multi-AZ cluster has StorageEncrypted off.",
    risk="Data, automated backups, replicas and snapshots are stored unencrypted; encryption cannot be switched on in place.",
    remediation=(
        "1. Snapshot: aws rds create-db-snapshot --db-instance-identifier <db> --db-snapshot-identifier <s>\n"
        "2. Copy encrypted: aws rds copy-db-snapshot --source-db-snapshot-identifier <s> --target-db-snapshot-identifier <s-enc> --kms-key-id <key>\n"
        "3. Restore from the copy and switch the application over. Console: RDS > Snapshots > Actions > Copy snapshot > Enable encryption."
    ),
    references=("CIS 2.2.1", DOC_ENC),
    requires=("rds:db-instance", "rds:db-cluster"),
)
def encryption(snap: Snapshot) -> Iterator[Result]:
    for db in _sorted(snap, "rds:db-instance", "rds:db-cluster"):
        data = as_dict(db.data)
        kind = "cluster" if db.type == "rds:db-cluster" else "instance"
        evidence = {"StorageEncrypted": data.get("StorageEncrypted"), "KmsKeyId": data.get("KmsKeyId")}
        if truthy(data.get("StorageEncrypted")):
            yield resource_result(db, Status.PASS, f"RDS {kind} {label(db)} is encrypted", evidence)
        else:
            yield resource_result(
                db, Status.FAIL, f"RDS {kind} {label(db)} storage is not encrypted", evidence
            )


def restore_attribute(data: dict[str, Any] | Any) -> list[str]:
    """The accounts a manual snapshot's ``restore`` attribute shares it with ("all": everyone)."""
    for attr in dicts(as_dict(data).get("Attributes")):
        if attr.get("AttributeName") == "restore":
            return [str(v) for v in attr.get("AttributeValues") or [] if isinstance(v, str | int)]
    return []


@check(
    id="rds.public_snapshot",
    title="No RDS snapshot is public",
    service="RDS",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A manual RDS DB or cluster snapshot has 'all' in its restore attribute.",
    risk="Any AWS account can restore the snapshot and read the whole database.",
    remediation=(
        "1. aws rds modify-db-snapshot-attribute --db-snapshot-identifier <s> --attribute-name restore --values-to-remove all\n"
        "   (clusters: aws rds modify-db-cluster-snapshot-attribute --db-cluster-snapshot-identifier <s> ...)\n"
        "Console: RDS > Snapshots > <s> > Actions > Share snapshot > Private."
    ),
    references=(DOC_SHARE,),
    requires=("rds:db-snapshot", "rds:db-cluster-snapshot"),
)
def public_snapshot(snap: Snapshot) -> Iterator[Result]:
    for s in _sorted(snap, "rds:db-snapshot", "rds:db-cluster-snapshot"):
        if (unread := unread_result(s, ("Attributes",))) is not None:
            yield unread
            continue
        restore = restore_attribute(s.data)
        evidence = {
            "restore": restore,
            "Encrypted": as_dict(s.data).get("Encrypted", as_dict(s.data).get("StorageEncrypted")),
        }
        if "all" in restore:
            yield resource_result(
                s, Status.FAIL, f"RDS snapshot {label(s)} is public", evidence, Exposure.PUBLIC
            )
        else:
            yield resource_result(s, Status.PASS, f"RDS snapshot {label(s)} is not public", evidence)

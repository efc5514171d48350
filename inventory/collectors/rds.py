"""RDS: instances, clusters and manual snapshots with their sharing attributes (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "rds",
    "DescribeDBClusterSnapshotAttributes",
    "DescribeDBClusterSnapshots",
    "DescribeDBClusters",
    "DescribeDBInstances",
    "DescribeDBSnapshotAttributes",
    "DescribeDBSnapshots",
)


@register
class RdsCollector:
    """RDS (and Aurora) instances, clusters, and manual snapshots of both."""

    service: ClassVar[str] = "rds"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = (
        "rds:db-instance",
        "rds:db-cluster",
        "rds:db-snapshot",
        "rds:db-cluster-snapshot",
    )

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every RDS record of ``ctx.region``."""
        g = Guard(ctx, self.service)
        rds = g.client()
        with g.listing("rds:db-instance", "DescribeDBInstances"):
            for item in g.items(rds, "describe_db_instances", "DBInstances"):
                ident = item.get("DBInstanceIdentifier", "")
                yield record(
                    ctx,
                    "rds:db-instance",
                    item.get("DBInstanceArn") or arn(ctx, "rds", f"db:{ident}"),
                    ident,
                    item,
                    name=ident,
                    tags=item.get("TagList"),
                )
        with g.listing("rds:db-cluster", "DescribeDBClusters"):
            for item in g.items(rds, "describe_db_clusters", "DBClusters"):
                ident = item.get("DBClusterIdentifier", "")
                yield record(
                    ctx,
                    "rds:db-cluster",
                    item.get("DBClusterArn") or arn(ctx, "rds", f"cluster:{ident}"),
                    ident,
                    item,
                    name=ident,
                    tags=item.get("TagList"),
                )
        with g.listing("rds:db-snapshot", "DescribeDBSnapshots"):
            for item in g.items(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"):
                ident = item.get("DBSnapshotIdentifier", "")
                unavailable: dict[str, str] = {}
                attributes = g.extra(
                    "rds:db-snapshot",
                    unavailable,
                    "Attributes",
                    lambda i=ident: _attributes(
                        g.call(rds, "describe_db_snapshot_attributes", DBSnapshotIdentifier=i),
                        "DBSnapshotAttributesResult",
                        "DBSnapshotAttributes",
                    ),
                    resource=ident,
                    operation="DescribeDBSnapshotAttributes",
                )
                yield record(
                    ctx,
                    "rds:db-snapshot",
                    item.get("DBSnapshotArn") or arn(ctx, "rds", f"snapshot:{ident}"),
                    ident,
                    with_unavailable({**item, "Attributes": attributes}, unavailable),
                    name=ident,
                    tags=item.get("TagList"),
                )
        with g.listing("rds:db-cluster-snapshot", "DescribeDBClusterSnapshots"):
            for item in g.items(
                rds, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual"
            ):
                ident = item.get("DBClusterSnapshotIdentifier", "")
                unavailable = {}
                attributes = g.extra(
                    "rds:db-cluster-snapshot",
                    unavailable,
                    "Attributes",
                    lambda i=ident: _attributes(
                        g.call(rds, "describe_db_cluster_snapshot_attributes", DBClusterSnapshotIdentifier=i),
                        "DBClusterSnapshotAttributesResult",
                        "DBClusterSnapshotAttributes",
                    ),
                    resource=ident,
                    operation="DescribeDBClusterSnapshotAttributes",
                )
                yield record(
                    ctx,
                    "rds:db-cluster-snapshot",
                    item.get("DBClusterSnapshotArn") or arn(ctx, "rds", f"cluster-snapshot:{ident}"),
                    ident,
                    with_unavailable({**item, "Attributes": attributes}, unavailable),
                    name=ident,
                    tags=item.get("TagList"),
                )


def _attributes(answer: dict[str, Any], result_key: str, list_key: str) -> list[dict[str, Any]]:
    return list((answer.get(result_key) or {}).get(list_key) or [])

"""EKS clusters (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "eks", "DescribeCluster", "ListClusters")


@register
class EksCollector:
    """Clusters with their describe_cluster answer (endpoint access, VPC config, logging...)."""

    service: ClassVar[str] = "eks"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("eks:cluster",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every EKS cluster of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "eks:cluster"
        with g.listing(type_, "ListClusters"):
            for name in g.items(client, "list_clusters", "clusters"):
                unavailable: dict[str, str] = {}
                cluster = g.extra(
                    type_,
                    unavailable,
                    "cluster",
                    lambda n=name: g.call(client, "describe_cluster", name=n).get("cluster") or {},
                    resource=name,
                    operation="DescribeCluster",
                )
                if cluster is None and not unavailable:
                    continue  # deleted between the listing and the describe
                cluster = cluster or {"name": name}
                yield record(
                    ctx,
                    type_,
                    cluster.get("arn") or arn(ctx, "eks", f"cluster/{name}"),
                    name,
                    with_unavailable(dict(cluster), unavailable),
                    name=name,
                    tags=cluster.get("tags"),
                )

"""Classic load balancers (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, chunks, record
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "elb", "DescribeLoadBalancers", "DescribeTags")

_TAG_BATCH = 20  # describe_tags accepts at most 20 names per call


@register
class ElbCollector:
    """Classic ELBs with their listeners, security groups, subnets and instances."""

    service: ClassVar[str] = "elb"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("elb:load-balancer",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every classic load balancer of ``ctx.region``."""
        g = Guard(ctx, self.service)
        elb = g.client()
        type_ = "elb:load-balancer"
        with g.listing(type_, "DescribeLoadBalancers"):
            items = list(g.items(elb, "describe_load_balancers", "LoadBalancerDescriptions"))
            tags: dict[str, list[dict[str, str]]] = {}
            tags_problem = ""
            try:
                for batch in chunks([i.get("LoadBalancerName", "") for i in items], _TAG_BATCH):
                    for entry in (
                        g.call(elb, "describe_tags", LoadBalancerNames=batch).get("TagDescriptions") or []
                    ):
                        tags[entry.get("LoadBalancerName", "")] = entry.get("Tags") or []
            except Exception as exc:
                tags_problem = g.note(type_, exc, "DescribeTags")
            for item in items:
                name = item.get("LoadBalancerName", "")
                data = {**item, "Tags": tags.get(name, [])}
                if tags_problem:
                    data["Unavailable"] = {"Tags": tags_problem}
                yield record(
                    ctx,
                    type_,
                    arn(ctx, "elasticloadbalancing", f"loadbalancer/{name}"),
                    name,
                    data,
                    name=name,
                    tags=tags.get(name),
                )

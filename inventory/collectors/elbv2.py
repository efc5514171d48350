"""Application, network and gateway load balancers with listeners and targets (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, chunks, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "elbv2",
    "DescribeListeners",
    "DescribeLoadBalancers",
    "DescribeTags",
    "DescribeTargetGroups",
    "DescribeTargetHealth",
)

_TAG_BATCH = 20  # describe_tags accepts at most 20 ARNs per call


@register
class Elbv2Collector:
    """ALB/NLB/GWLB load balancers; each record carries its listeners and target groups."""

    service: ClassVar[str] = "elbv2"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("elbv2:load-balancer",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every ELBv2 load balancer of ``ctx.region``."""
        g = Guard(ctx, self.service)
        elb = g.client()
        type_ = "elbv2:load-balancer"
        with g.listing(type_, "DescribeLoadBalancers"):
            items = list(g.items(elb, "describe_load_balancers", "LoadBalancers"))
            tags: dict[str, list[dict[str, str]]] = {}
            tags_problem = ""
            try:
                for batch in chunks([i.get("LoadBalancerArn", "") for i in items], _TAG_BATCH):
                    for entry in (
                        g.call(elb, "describe_tags", ResourceArns=batch).get("TagDescriptions") or []
                    ):
                        tags[entry.get("ResourceArn", "")] = entry.get("Tags") or []
            except Exception as exc:
                tags_problem = g.note(type_, exc, "DescribeTags")
            for item in items:
                lb_arn = item.get("LoadBalancerArn", "")
                name = item.get("LoadBalancerName", "")
                unavailable: dict[str, str] = {"Tags": tags_problem} if tags_problem else {}
                listeners = g.extra(
                    type_,
                    unavailable,
                    "Listeners",
                    lambda a=lb_arn: list(g.items(elb, "describe_listeners", "Listeners", LoadBalancerArn=a)),
                    resource=name,
                    operation="DescribeListeners",
                )
                groups = g.extra(
                    type_,
                    unavailable,
                    "TargetGroups",
                    lambda a=lb_arn: self._target_groups(g, elb, a),
                    resource=name,
                    operation="DescribeTargetGroups",
                )
                data = {
                    **item,
                    "Listeners": listeners if listeners is not None or "Listeners" in unavailable else [],
                    "TargetGroups": groups if groups is not None or "TargetGroups" in unavailable else [],
                    "Tags": tags.get(lb_arn, []),
                }
                yield record(
                    ctx,
                    type_,
                    lb_arn,
                    name,
                    with_unavailable(data, unavailable),
                    name=name,
                    tags=tags.get(lb_arn),
                )

    def _target_groups(self, g: Guard, elb: Any, lb_arn: str) -> list[dict[str, Any]]:
        groups = []
        for group in g.items(elb, "describe_target_groups", "TargetGroups", LoadBalancerArn=lb_arn):
            group_arn = group.get("TargetGroupArn", "")
            health = (
                g.call(elb, "describe_target_health", TargetGroupArn=group_arn).get(
                    "TargetHealthDescriptions"
                )
                or []
            )
            groups.append(
                {
                    "TargetGroupArn": group_arn,
                    "TargetGroupName": group.get("TargetGroupName"),
                    "Port": group.get("Port"),
                    "Protocol": group.get("Protocol"),
                    "TargetType": group.get("TargetType"),
                    "Targets": [
                        (h.get("Target") or {}).get("Id") for h in health if (h.get("Target") or {}).get("Id")
                    ],
                }
            )
        return groups

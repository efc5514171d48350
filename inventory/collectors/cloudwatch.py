"""CloudWatch metric alarms (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "cloudwatch", "DescribeAlarms")


@register
class CloudWatchCollector:
    """Metric alarms (the CIS monitoring checks pair them with log metric filters)."""

    service: ClassVar[str] = "cloudwatch"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("cloudwatch:alarm",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every metric alarm of ``ctx.region`` (tags are not fetched: one call per alarm)."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "cloudwatch:alarm"
        with g.listing(type_, "DescribeAlarms"):
            for item in g.items(client, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"]):
                name = item.get("AlarmName", "")
                yield record(
                    ctx,
                    type_,
                    item.get("AlarmArn") or arn(ctx, "cloudwatch", f"alarm:{name}"),
                    name,
                    item,
                    name=name,
                )

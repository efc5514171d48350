"""CloudWatch Logs metric filters (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "logs", "DescribeMetricFilters")


@register
class LogsCollector:
    """Metric filters of every log group (CIS 4.x alarms are built on them)."""

    service: ClassVar[str] = "logs"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("logs:metric-filter",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every metric filter of ``ctx.region``.

        Metric filters have no ARN: the pseudo-ARN is the log group's ARN + ``:metric-filter:<name>``.
        """
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "logs:metric-filter"
        with g.listing(type_, "DescribeMetricFilters"):
            for item in g.items(client, "describe_metric_filters", "metricFilters"):
                group = item.get("logGroupName", "")
                name = item.get("filterName", "")
                yield record(
                    ctx,
                    type_,
                    arn(ctx, "logs", f"log-group:{group}:metric-filter:{name}"),
                    f"{group}/{name}",
                    item,
                    name=name,
                )

"""AWS Config recorders with their status (regional). No Django here.

Not called ``config`` to avoid confusion with the project's ``config`` package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "config", "DescribeConfigurationRecorderStatus", "DescribeConfigurationRecorders")


@register
class ConfigCollector:
    """Configuration recorders of the region, each with its recording status."""

    service: ClassVar[str] = "config"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("config:recorder",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield each recorder with ``Status`` (its describe_configuration_recorder_status item or None)."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "config:recorder"
        with g.listing(type_, "DescribeConfigurationRecorders"):
            recorders = g.call(client, "describe_configuration_recorders").get("ConfigurationRecorders") or []
            unavailable: dict[str, str] = {}
            statuses: dict[str, Any] = {}
            if recorders:
                answer = g.extra(
                    type_,
                    unavailable,
                    "Status",
                    lambda: (
                        g.call(client, "describe_configuration_recorder_status").get(
                            "ConfigurationRecordersStatus"
                        )
                        or []
                    ),
                    operation="DescribeConfigurationRecorderStatus",
                )
                statuses = {s.get("name", ""): s for s in answer or []}
            for item in recorders:
                name = item.get("name", "")
                data = {**item, "Status": statuses.get(name)}
                yield record(
                    ctx,
                    type_,
                    item.get("arn") or arn(ctx, "config", f"config-recorder/{name}"),
                    name,
                    with_unavailable(data, unavailable),
                    name=name,
                )

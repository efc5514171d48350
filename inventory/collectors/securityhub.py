"""Security Hub subscription (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "securityhub", "DescribeHub")


@register
class SecurityHubCollector:
    """The hub, when the account is subscribed in the region; nothing (and complete) when it is not."""

    service: ClassVar[str] = "securityhub"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("securityhub:hub",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield the describe_hub answer; "not subscribed" is a complete answer with no record."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "securityhub:hub"
        # InvalidAccessException ("not subscribed") classifies as not-enabled: coverage OK, no record
        with g.listing(type_, "DescribeHub"):
            hub = {k: v for k, v in g.call(client, "describe_hub").items() if k != "ResponseMetadata"}
            hub_arn = hub.get("HubArn") or arn(ctx, "securityhub", "hub/default")
            yield record(
                ctx, type_, hub_arn, hub_arn.rsplit("/", 1)[-1], hub, name=f"Security Hub {ctx.region}"
            )

"""CloudTrail trails with status and event selectors (regional; each trail in its home region). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "cloudtrail", "DescribeTrails", "GetEventSelectors", "GetTrailStatus", "ListTags")


@register
class CloudTrailCollector:
    """Trails whose home region is this pass's region (a multi-region trail is recorded once)."""

    service: ClassVar[str] = "cloudtrail"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("cloudtrail:trail",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield the trails homed in ``ctx.region`` with Status and EventSelectors."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "cloudtrail:trail"
        with g.listing(type_, "DescribeTrails"):
            for item in g.call(client, "describe_trails", includeShadowTrails=False).get("trailList") or []:
                # an organisation trail or a multi-region one may still be listed elsewhere
                if item.get("HomeRegion") not in (None, ctx.region):
                    continue
                trail_arn = item.get("TrailARN", "")
                name = item.get("Name", "")
                unavailable: dict[str, str] = {}
                status = g.extra(
                    type_,
                    unavailable,
                    "Status",
                    lambda a=trail_arn: {
                        k: v
                        for k, v in g.call(client, "get_trail_status", Name=a).items()
                        if k != "ResponseMetadata"
                    },
                    resource=name,
                    operation="GetTrailStatus",
                )
                selectors = g.extra(
                    type_,
                    unavailable,
                    "EventSelectors",
                    lambda a=trail_arn: _selectors(g.call(client, "get_event_selectors", TrailName=a)),
                    resource=name,
                    operation="GetEventSelectors",
                )
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda a=trail_arn: [
                        tag
                        for entry in g.call(client, "list_tags", ResourceIdList=[a]).get("ResourceTagList")
                        or []
                        for tag in entry.get("TagsList") or []
                    ],
                    resource=name,
                    operation="ListTags",
                )
                data = {**item, "Status": status, "EventSelectors": selectors, "Tags": tags or []}
                yield record(
                    ctx, type_, trail_arn, name, with_unavailable(data, unavailable), name=name, tags=tags
                )


def _selectors(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventSelectors": answer.get("EventSelectors") or [],
        "AdvancedEventSelectors": answer.get("AdvancedEventSelectors") or [],
    }

"""SNS topics with attributes and parsed access policy (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "sns", "GetTopicAttributes", "ListTagsForResource", "ListTopics")


@register
class SnsCollector:
    """Topics: get_topic_attributes + parsed Policy + tags."""

    service: ClassVar[str] = "sns"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("sns:topic",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every SNS topic of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "sns:topic"
        with g.listing(type_, "ListTopics"):
            for topic in g.items(client, "list_topics", "Topics"):
                topic_arn = topic.get("TopicArn", "")
                name = topic_arn.rsplit(":", 1)[-1]
                unavailable: dict[str, str] = {}
                attributes = g.extra(
                    type_,
                    unavailable,
                    "Attributes",
                    lambda a=topic_arn: (
                        g.call(client, "get_topic_attributes", TopicArn=a).get("Attributes") or {}
                    ),
                    resource=name,
                    operation="GetTopicAttributes",
                )
                if attributes is None:
                    unavailable["Policy"] = unavailable["Attributes"]
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda a=topic_arn: (
                        g.call(client, "list_tags_for_resource", ResourceArn=a).get("Tags") or []
                    ),
                    resource=name,
                    operation="ListTagsForResource",
                )
                data = {
                    "TopicArn": topic_arn,
                    **(attributes or {}),
                    "Policy": parse_policy((attributes or {}).get("Policy")),
                    "Tags": tags or [],
                }
                yield record(
                    ctx,
                    type_,
                    topic_arn,
                    name,
                    with_unavailable(data, unavailable),
                    name=(attributes or {}).get("DisplayName") or name,
                    tags=tags,
                )

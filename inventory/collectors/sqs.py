"""SQS queues with attributes and parsed access policy (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "sqs", "GetQueueAttributes", "ListQueueTags", "ListQueues")


@register
class SqsCollector:
    """Queues: get_queue_attributes(All) + QueueUrl + parsed Policy + tags."""

    service: ClassVar[str] = "sqs"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("sqs:queue",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every SQS queue of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "sqs:queue"
        with g.listing(type_, "ListQueues"):
            # without MaxResults SQS answers at most 1,000 URLs and no token to continue
            for url in g.items(client, "list_queues", "QueueUrls", page_size=1000):
                name = url.rstrip("/").rsplit("/", 1)[-1]
                unavailable: dict[str, str] = {}
                attributes = g.extra(
                    type_,
                    unavailable,
                    "Attributes",
                    lambda u=url: (
                        g.call(client, "get_queue_attributes", QueueUrl=u, AttributeNames=["All"]).get(
                            "Attributes"
                        )
                        or {}
                    ),
                    resource=name,
                    operation="GetQueueAttributes",
                )
                if attributes is None:
                    unavailable["Policy"] = unavailable["Attributes"]
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda u=url: g.call(client, "list_queue_tags", QueueUrl=u).get("Tags") or {},
                    resource=name,
                    operation="ListQueueTags",
                )
                attributes = attributes or {}
                data = {
                    **attributes,
                    "QueueUrl": url,
                    "Policy": parse_policy(attributes.get("Policy")),
                    "Tags": tags or {},
                }
                yield record(
                    ctx,
                    type_,
                    attributes.get("QueueArn") or arn(ctx, "sqs", name),
                    name,
                    with_unavailable(data, unavailable),
                    name=name,
                    tags=tags,
                )

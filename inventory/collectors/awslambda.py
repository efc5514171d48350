"""Lambda functions with their resource policy and function URL (regional). No Django here.

The module is not called ``lambda`` because that is a Python keyword.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "lambda", "GetFunctionUrlConfig", "GetPolicy", "ListFunctions", "ListTags")


@register
class LambdaCollector:
    """Functions (latest version) with their resource policy, function URL and tags."""

    service: ClassVar[str] = "lambda"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("lambda:function",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every Lambda function of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "lambda:function"
        with g.listing(type_, "ListFunctions"):
            for item in g.items(client, "list_functions", "Functions"):
                name = item.get("FunctionName", "")
                function_arn = item.get("FunctionArn", "")
                unavailable: dict[str, str] = {}
                policy = g.extra(
                    type_,
                    unavailable,
                    "Policy",
                    lambda n=name: parse_policy(g.call(client, "get_policy", FunctionName=n).get("Policy")),
                    resource=name,
                    operation="GetPolicy",
                )
                url = g.extra(
                    type_,
                    unavailable,
                    "FunctionUrl",
                    lambda n=name: {
                        k: v
                        for k, v in g.call(client, "get_function_url_config", FunctionName=n).items()
                        if k != "ResponseMetadata"
                    },
                    resource=name,
                    operation="GetFunctionUrlConfig",
                )
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda a=function_arn: g.call(client, "list_tags", Resource=a).get("Tags") or {},
                    resource=name,
                    operation="ListTags",
                )
                data = {**item, "Policy": policy, "FunctionUrl": url, "Tags": tags or {}}
                yield record(
                    ctx, type_, function_arn, name, with_unavailable(data, unavailable), name=name, tags=tags
                )

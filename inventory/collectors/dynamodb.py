"""DynamoDB tables with continuous-backup settings (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__, "dynamodb", "DescribeContinuousBackups", "DescribeTable", "ListTables", "ListTagsOfResource"
)


@register
class DynamoDbCollector:
    """Tables: describe_table + ContinuousBackups + tags."""

    service: ClassVar[str] = "dynamodb"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("dynamodb:table",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every DynamoDB table of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "dynamodb:table"
        with g.listing(type_, "ListTables"):
            for name in g.items(client, "list_tables", "TableNames"):
                unavailable: dict[str, str] = {}
                table = g.extra(
                    type_,
                    unavailable,
                    "Table",
                    lambda n=name: g.call(client, "describe_table", TableName=n).get("Table") or {},
                    resource=name,
                    operation="DescribeTable",
                )
                if table is None and not unavailable:
                    continue  # deleted between the listing and the describe
                table = table or {"TableName": name}
                table_arn = table.get("TableArn") or arn(ctx, "dynamodb", f"table/{name}")
                backups = g.extra(
                    type_,
                    unavailable,
                    "ContinuousBackups",
                    lambda n=name: g.call(client, "describe_continuous_backups", TableName=n).get(
                        "ContinuousBackupsDescription"
                    ),
                    resource=name,
                    operation="DescribeContinuousBackups",
                )
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda a=table_arn: list(g.items(client, "list_tags_of_resource", "Tags", ResourceArn=a)),
                    resource=name,
                    operation="ListTagsOfResource",
                )
                data = {**table, "ContinuousBackups": backups, "Tags": tags or []}
                yield record(
                    ctx, type_, table_arn, name, with_unavailable(data, unavailable), name=name, tags=tags
                )

"""IAM Access Analyzer analyzers (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, record
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "accessanalyzer", "ListAnalyzers")


@register
class AccessAnalyzerCollector:
    """Analyzers of the region (account or organisation zone of trust)."""

    service: ClassVar[str] = "accessanalyzer"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("accessanalyzer:analyzer",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every analyzer of ``ctx.region``."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "accessanalyzer:analyzer"
        with g.listing(type_, "ListAnalyzers"):
            for item in g.items(client, "list_analyzers", "analyzers"):
                name = item.get("name", "")
                yield record(ctx, type_, item.get("arn", ""), name, item, name=name, tags=item.get("tags"))

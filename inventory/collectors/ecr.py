"""ECR repositories with their repository policy (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "ecr", "DescribeRepositories", "GetRepositoryPolicy", "ListTagsForResource")


@register
class EcrCollector:
    """Private repositories of the region."""

    service: ClassVar[str] = "ecr"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("ecr:repository",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield each repository with its parsed Policy (None when it has none)."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "ecr:repository"
        with g.listing(type_, "DescribeRepositories"):
            for item in g.items(client, "describe_repositories", "repositories"):
                name = item.get("repositoryName", "")
                repo_arn = item.get("repositoryArn", "")
                unavailable: dict[str, str] = {}
                policy = g.extra(
                    type_,
                    unavailable,
                    "Policy",
                    lambda n=name: parse_policy(
                        g.call(client, "get_repository_policy", repositoryName=n).get("policyText")
                    ),
                    resource=name,
                    operation="GetRepositoryPolicy",
                )
                tags = g.extra(
                    type_,
                    unavailable,
                    "Tags",
                    lambda a=repo_arn: (
                        g.call(client, "list_tags_for_resource", resourceArn=a).get("tags") or []
                    ),
                    resource=name,
                    operation="ListTagsForResource",
                )
                data = {**item, "Policy": policy, "Tags": tags or []}
                yield record(
                    ctx, type_, repo_arn, name, with_unavailable(data, unavailable), name=name, tags=tags
                )

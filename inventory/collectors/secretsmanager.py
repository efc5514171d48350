"""Secrets Manager secrets' metadata and resource policy — never a secret value (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "secretsmanager", "GetResourcePolicy", "ListSecrets")


@register
class SecretsManagerCollector:
    """Secrets as list_secrets describes them, plus their resource policy.

    Only list_secrets and get_resource_policy are called: nothing here can read a secret's value.
    """

    service: ClassVar[str] = "secretsmanager"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("secretsmanager:secret",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every secret of ``ctx.region`` with ResourcePolicy (dict or None)."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "secretsmanager:secret"
        with g.listing(type_, "ListSecrets"):
            for item in g.items(client, "list_secrets", "SecretList"):
                secret_arn = item.get("ARN", "")
                name = item.get("Name", "")
                unavailable: dict[str, str] = {}
                policy = g.extra(
                    type_,
                    unavailable,
                    "ResourcePolicy",
                    lambda a=secret_arn: parse_policy(
                        g.call(client, "get_resource_policy", SecretId=a).get("ResourcePolicy")
                    ),
                    resource=name,
                    operation="GetResourcePolicy",
                )
                data = {**item, "ResourcePolicy": policy}
                yield record(
                    ctx,
                    type_,
                    secret_arn,
                    name,
                    with_unavailable(data, unavailable),
                    name=name,
                    tags=item.get("Tags"),
                )

"""KMS keys with rotation status, key policy and aliases (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "kms",
    "DescribeKey",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "ListAliases",
    "ListKeys",
    "ListResourceTags",
)

# States in which AWS answers rotation / policy questions about a key
_LIVE_STATES = {"Enabled", "Disabled"}


def _rotation_applies(meta: dict[str, Any]) -> bool:
    # automatic rotation exists only for customer-managed symmetric keys with AWS-generated material
    return (
        meta.get("KeyManager") == "CUSTOMER"
        and meta.get("KeySpec", meta.get("CustomerMasterKeySpec")) == "SYMMETRIC_DEFAULT"
        and meta.get("Origin", "AWS_KMS") == "AWS_KMS"
        and meta.get("KeyState") in _LIVE_STATES
    )


@register
class KmsCollector:
    """Every key of the region (customer and AWS managed)."""

    service: ClassVar[str] = "kms"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("kms:key",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield each key: KeyMetadata + RotationEnabled, Policy, Aliases."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "kms:key"
        with g.listing(type_, "ListKeys"):
            keys = list(g.items(client, "list_keys", "Keys"))
            aliases: dict[str, list[str]] = {}
            aliases_problem = ""
            try:
                for alias in g.items(client, "list_aliases", "Aliases"):
                    if alias.get("TargetKeyId"):
                        aliases.setdefault(alias["TargetKeyId"], []).append(alias.get("AliasName", ""))
            except Exception as exc:
                aliases_problem = g.note(type_, exc, "ListAliases")
            for key in keys:
                yield self._key(ctx, g, client, key, aliases, aliases_problem)

    def _key(
        self,
        ctx: CollectContext,
        g: Guard,
        client: Any,
        key: dict[str, Any],
        aliases: dict[str, list[str]],
        aliases_problem: str,
    ) -> Record:
        type_ = "kms:key"
        key_id = key.get("KeyId", "")
        unavailable: dict[str, str] = {"Aliases": aliases_problem} if aliases_problem else {}
        meta = g.extra(
            type_,
            unavailable,
            "KeyMetadata",
            lambda: g.call(client, "describe_key", KeyId=key_id).get("KeyMetadata") or {},
            resource=key_id,
            operation="DescribeKey",
        ) or {"KeyId": key_id, "Arn": key.get("KeyArn")}
        rotation = None
        if _rotation_applies(meta):
            rotation = g.extra(
                type_,
                unavailable,
                "RotationEnabled",
                lambda: g.call(client, "get_key_rotation_status", KeyId=key_id).get("KeyRotationEnabled"),
                resource=key_id,
                operation="GetKeyRotationStatus",
            )
        policy = None
        if meta.get("KeyState", "Enabled") != "PendingDeletion":
            policy = g.extra(
                type_,
                unavailable,
                "Policy",
                lambda: parse_policy(
                    g.call(client, "get_key_policy", KeyId=key_id, PolicyName="default").get("Policy")
                ),
                resource=key_id,
                operation="GetKeyPolicy",
            )
        tags = None
        if meta.get("KeyManager") == "CUSTOMER":
            tags = g.extra(
                type_,
                unavailable,
                "Tags",
                lambda: list(g.items(client, "list_resource_tags", "Tags", KeyId=key_id)),
                resource=key_id,
                operation="ListResourceTags",
            )
        data = {
            **meta,
            "RotationEnabled": rotation,
            "Policy": policy,
            "Aliases": sorted(aliases.get(key_id, [])) if not aliases_problem else None,
            "Tags": tags or [],
        }
        alias_names = aliases.get(key_id) or []
        return record(
            ctx,
            type_,
            meta.get("Arn") or key.get("KeyArn", ""),
            key_id,
            with_unavailable(data, unavailable),
            name=sorted(alias_names)[0] if alias_names else key_id,
            tags=tags,
        )

"""Which regions to collect in. No Django here."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from inventory.aws.permissions import declare
from inventory.aws.session import AccountSession

CALLS = declare(__name__, "ec2", "DescribeRegions")

# Regions of the other partitions answer only to that partition's credentials and endpoints.
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
)
USABLE_OPT_IN = {"opt-in-not-required", "opted-in"}
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$")


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to ("aws", "aws-cn", "aws-us-gov"...)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def filter_regions(
    described: Iterable[Mapping[str, Any]], allowed: Sequence[str] = (), partition: str = "aws"
) -> list[str]:
    """Region names from ``describe_regions`` items that are enabled, in ``partition`` and allowed.

    ``allowed`` empty means every region. An item without ``OptInStatus`` (older answers listed only
    enabled regions) counts as enabled.
    """
    wanted = {name.strip().lower() for name in allowed if name and name.strip()}
    names = set()
    for item in described:
        if not isinstance(item, Mapping):
            continue
        name = item.get("RegionName")
        if not isinstance(name, str) or not _REGION_NAME.match(name):
            continue
        if item.get("OptInStatus", "opt-in-not-required") not in USABLE_OPT_IN:
            continue
        if partition_of(name) != partition or (wanted and name not in wanted):
            continue
        names.add(name)
    return sorted(names)


def not_enabled_names(described: Iterable[Mapping[str, Any]], partition: str = "aws") -> list[str]:
    """Region names from ``describe_regions`` items that the account has not opted in to, sorted.

    These cannot be collected (AWS refuses every call there); pages name them as not looked at.
    """
    names = set()
    for item in described:
        if not isinstance(item, Mapping):
            continue
        name = item.get("RegionName")
        if not isinstance(name, str) or not _REGION_NAME.match(name) or partition_of(name) != partition:
            continue
        if item.get("OptInStatus", "opt-in-not-required") not in USABLE_OPT_IN:
            names.add(name)
    return sorted(names)


def _describe(session: AccountSession) -> list[dict[str, Any]]:
    answer = session.client("ec2", session.home_region).describe_regions(AllRegions=True)
    regions = answer.get("Regions")
    return list(regions) if isinstance(regions, list) else []


def enabled_regions(session: AccountSession, allowed: Sequence[str] = ()) -> list[str]:
    """The account's enabled regions in its partition, intersected with ``allowed``, sorted.

    Asks ``ec2:DescribeRegions`` once per account session; errors propagate (classify them).
    """
    described = session.cached(("ec2", "DescribeRegions"), lambda: _describe(session))
    return filter_regions(described, allowed, session.partition)


def not_enabled_regions(session: AccountSession) -> list[str]:
    """The regions of the account's partition it has not opted in to (the same one DescribeRegions)."""
    described = session.cached(("ec2", "DescribeRegions"), lambda: _describe(session))
    return not_enabled_names(described, session.partition)

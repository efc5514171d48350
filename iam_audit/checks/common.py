"""Helpers every check module shares: safe reads of odd data, times, regions, results. No Django.

Item ``data`` is what AWS answered, and AWS answers (or a half-broken collector) can miss keys, hold
``None`` where a list was expected, or carry attacker-chosen names. Checks read through these helpers
so that an odd record yields an honest result instead of an exception.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Snapshot, Status
from inventory.records import GLOBAL_REGION

DEFAULT_UNUSED_DAYS = 90
CIS_UNUSED_DAYS = 45  # CIS AWS Foundations 1.11 asks for 45; the estate's threshold is configurable
MAX_EVIDENCE_ITEMS = 50
MAX_EVIDENCE_STRING = 2000
_NO_TIME = {"", "n/a", "no_information", "not_supported", "none", "null", "false"}


# ----------------------------------------------------------------------------------- safe reads
def as_dict(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """A list view of ``value``: lists/tuples as is, ``None`` as empty, anything else as one element."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mapping elements of a list-ish value (non-mappings are dropped)."""
    return [v for v in as_list(value) if isinstance(v, Mapping)]


def text(value: Any, limit: int = 200) -> str:
    """A one-line, bounded string for summaries (names may hold anything, newlines included)."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def truthy(value: Any) -> bool:
    """True for ``True``, ``"true"``, ``"TRUE"``, ``1``; False for everything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return False


def to_int(value: Any, default: int | None = None) -> int | None:
    """An int from an int / numeric string, else ``default`` (bools are not numbers here)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def compact(value: Any, depth: int = 8) -> Any:
    """A JSON-safe, bounded copy of ``value`` for evidence (huge policies must not bloat findings)."""
    if depth <= 0:
        return "…"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_EVIDENCE_STRING else value[:MAX_EVIDENCE_STRING] + "…"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_EVIDENCE_ITEMS:
                out["…"] = f"{len(value) - MAX_EVIDENCE_ITEMS} more keys"
                break
            out[text(k, 200) if not isinstance(k, str) else k[:200]] = compact(v, depth - 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        items = [compact(v, depth - 1) for v in seq[:MAX_EVIDENCE_ITEMS]]
        if len(seq) > MAX_EVIDENCE_ITEMS:
            items.append(f"… {len(seq) - MAX_EVIDENCE_ITEMS} more")
        return items
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return text(value, MAX_EVIDENCE_STRING)


# ----------------------------------------------------------------------------------- time
def parse_time(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from an ISO-8601 string / datetime; None for "N/A"-style or bad input."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or value.strip().lower() in _NO_TIME:
        return None
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def now(snap: Snapshot) -> dt.datetime:
    """The evaluation time: ``facts["now"]`` when given (tests, re-evaluation), else the UTC clock."""
    return parse_time(snap.facts.get("now")) or dt.datetime.now(dt.UTC)


def days_since(when: dt.datetime | None, at: dt.datetime) -> int | None:
    """Whole days from ``when`` to ``at`` (never negative), None when ``when`` is unknown."""
    if when is None:
        return None
    return max(0, (at - when).days)


def positive_int_fact(snap: Snapshot, key: str, default: int) -> int:
    """A positive integer fact (a threshold), falling back to ``default`` on anything odd."""
    value = to_int(snap.facts.get(key), None)
    return value if value is not None and value > 0 else default


def unused_days(snap: Snapshot) -> int:
    """The estate's "unused credential" threshold (``facts["unused_days"]``, default 90)."""
    return positive_int_fact(snap, "unused_days", DEFAULT_UNUSED_DAYS)


# ----------------------------------------------------------------------------------- account context
def org_known(snap: Snapshot) -> bool:
    """True when the organisation (and so its member list) is known to the engine."""
    return bool(snap.org.org_id or snap.org.member_account_ids)


def is_management(snap: Snapshot) -> bool:
    """The account is its organisation's management account."""
    acct = snap.account.account_id
    return snap.account.is_management or (
        bool(snap.org.management_account_id) and acct == snap.org.management_account_id
    )


def is_member(snap: Snapshot) -> bool:
    """The account belongs to an organisation and is not its management account."""
    if is_management(snap) or snap.account.status == "not-in-organisation":
        return False
    if snap.org.member_account_ids:
        return snap.account.account_id in snap.org.member_account_ids
    return bool(snap.org.org_id)


def org_accounts(snap: Snapshot) -> frozenset[str]:
    """Account ids inside the organisation (members, management and this account)."""
    ids = set(snap.org.member_account_ids)
    if snap.org.management_account_id:
        ids.add(snap.org.management_account_id)
    ids.add(snap.account.account_id)
    return frozenset(ids)


def collected_regions(snap: Snapshot, type_: str | None = None) -> list[str]:
    """Regions the account was collected in (from ``snap.regions``, else from coverage keys)."""
    regions = [r for r in snap.regions if r and r != GLOBAL_REGION]
    if not regions:
        regions = sorted(
            {r for (t, r) in snap.coverage if r != GLOBAL_REGION and (type_ is None or t == type_)}
        )
    return sorted(set(regions))


def expected_regions(snap: Snapshot, type_: str | None = None) -> list[str]:
    """Regions a regional control must be on in: collected regions within the allowed list.

    Regions outside ``allowed_regions`` are usually blocked by an SCP, so nothing can be enabled
    there; resources in them are reported by ``inventory.unexpected_region`` instead.
    """
    regions = collected_regions(snap, type_)
    allowed = set(snap.account.allowed_regions)
    return [r for r in regions if not allowed or r in allowed]


# ----------------------------------------------------------------------------------- unread extras
# Collectors list under this key the extras they could not read for one item (extra name -> error
# kind, e.g. {"Policy": "access-denied"}); the extra itself is then None, which must not be taken
# for "there is none".
UNAVAILABLE = "Unavailable"


def unavailable(item: Item, keys: Iterable[str]) -> dict[str, str]:
    """Of ``keys``, those the collector could not read for ``item``, with the reason."""
    notes = as_dict(as_dict(item.data).get(UNAVAILABLE))
    return {k: text(notes[k], 60) for k in keys if k in notes}


# ----------------------------------------------------------------------------------- results
def label(item: Item) -> str:
    """The name a person knows the item by, for summaries."""
    return text(item.name or item.resource_id or item.arn.rsplit("/", 1)[-1] or item.arn, 120)


def resource_result(
    item: Item,
    status: Status,
    summary: str,
    evidence: Mapping[str, Any] | None = None,
    exposure: Exposure = Exposure.NONE,
) -> Result:
    """A result for one resource (subject = its ARN)."""
    return Result(
        subject=item.arn,
        status=status,
        evidence=compact(dict(evidence or {})),
        region=item.region or GLOBAL_REGION,
        resource_type=item.type,
        summary=text(summary, 300),
        exposure=exposure if status == Status.FAIL else Exposure.NONE,
    )


def account_result(
    snap: Snapshot,
    status: Status,
    summary: str,
    evidence: Mapping[str, Any] | None = None,
    exposure: Exposure = Exposure.NONE,
) -> Result:
    """A result for the account as a whole (subject = the account's root ARN)."""
    return Result(
        subject=snap.account_arn,
        status=status,
        evidence=compact(dict(evidence or {})),
        region=GLOBAL_REGION,
        resource_type="",
        summary=text(summary, 300),
        exposure=exposure if status == Status.FAIL else Exposure.NONE,
    )


def plural(n: int, word: str) -> str:
    """``"1 user"`` / ``"3 users"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def join_limited(values: Iterable[str], limit: int = 5) -> str:
    """``"a, b, c and 4 more"`` for summaries."""
    vals = [text(v, 80) for v in values]
    if len(vals) <= limit:
        return ", ".join(vals)
    return ", ".join(vals[:limit]) + f" and {len(vals) - limit} more"


def unread_result(item: Item, keys: Iterable[str]) -> Result | None:
    """An UNKNOWN result for ``item`` when any of ``keys`` (data the check reads) was not read."""
    missing = unavailable(item, keys)
    if not missing:
        return None
    reasons = ", ".join(f"{k} ({v})" for k, v in missing.items())
    return resource_result(
        item, Status.UNKNOWN, f"{label(item)}: could not read {reasons}", {"unavailable": missing}
    )

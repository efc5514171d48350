"""Batch upserts of collected records: the only bridge between plain records and the ORM.

One *pass* is what one collector saw for its resource types in one region (``"global"`` for global
collectors). Records are streamed in chunks (never a whole account in memory); each chunk costs a
constant number of queries whatever its size:

- one SELECT of (id, arn, hash, deleted_at) for the chunk's ARNs,
- one bulk UPDATE of ``last_seen`` for unchanged resources,
- one SELECT of the previous values of changed resources (for their revisions),
- one INSERT ... ON CONFLICT (account, arn) DO UPDATE for new, changed and reappearing ones,
- one INSERT of revision rows.

When the pass ends, every declared type whose coverage is OK is swept: a live resource of that type
(in that region; any region for a global pass) whose ``last_seen`` predates the pass was not seen,
so it is marked deleted (kept, with a revision). A type that did not end OK deletes nothing.
Running a pass twice with the same data changes nothing the second time except ``last_seen``.

A part of a resource that could not be read this time (a per-resource call that failed: the
collector lists it in ``data["Unavailable"]`` and holds ``None`` for it) keeps its last known value:
the stored record is merged in before comparing (:func:`merge_unread`), the part stays listed as
unread with the error and the time it was first missed (``data["StaleSince"]``), and neither note
counts as a change, so a failed read never makes a revision nor replaces what was known (a bucket's
region, its tags, ACL, policy...).

Some fields change while nothing about the resource does: when a role was last used, the latest
restorable time of a database, a trail's latest delivery (:data:`VOLATILE_FIELDS`). They are
stored with their latest value, but neither count as a change nor make a revision: the hash is
two parts (:func:`prepare`), the content without them and the whole, and a resource whose content
part is unchanged is rewritten without a revision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import queue
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson
from django.db import IntegrityError, InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone

from inventory.collectors.common import UNAVAILABLE
from inventory.models import CollectionRun, CoverageRecord, Resource, ResourceRevision, RevisionKind
from inventory.records import GLOBAL_REGION, CollectError, Coverage, Record

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000
MAX_CHANGES = 100  # diff entries kept per revision
MAX_CHANGE_VALUE = 2000  # characters of JSON kept per old/new value in a diff entry
SWEEP_CHUNK = 1000

_FIELD_LIMITS = {
    field: model_field.max_length
    for field in ("region", "service", "type", "arn", "resource_id", "name")
    if isinstance(model_field := Resource._meta.get_field(field), models.CharField) and model_field.max_length
}
# Database errors that mean "the database is unreachable": they propagate (the task retries);
# anything else in a chunk is a problem with that data and only spoils its own pass.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


# Fields of a type's data that change without any change to the resource (usage times, counters,
# the moving end of a backup window), as dotted paths; "[]" walks every element of a list. Found by
# collecting an unchanged (simulated) estate twice and reading what made revisions, then completed
# from the AWS API references for the same kind of value on the types we collect.
VOLATILE_FIELDS: dict[str, tuple[str, ...]] = {
    "iam:role": ("RoleLastUsed",),
    "iam:user": (
        "PasswordLastUsed",
        "AccessKeys[].LastUsedDate",
        "AccessKeys[].LastUsedService",
        "AccessKeys[].LastUsedRegion",
        "CredentialReport.password_last_used",
        *(
            f"CredentialReport.access_key_{n}_last_used_{what}"
            for n in (1, 2)
            for what in ("date", "region", "service")
        ),
    ),
    "rds:db-instance": ("LatestRestorableTime",),
    "rds:db-cluster": ("LatestRestorableTime", "EarliestRestorableTime"),
    "cloudtrail:trail": tuple(
        f"Status.{field}"
        for field in (
            "LatestDeliveryTime",
            "LatestDeliveryAttemptTime",
            "LatestDeliveryAttemptSucceeded",
            "LatestNotificationTime",
            "LatestNotificationAttemptTime",
            "LatestNotificationAttemptSucceeded",
            "LatestDigestDeliveryTime",
            "LatestCloudWatchLogsDeliveryTime",
        )
    ),
    "config:recorder": ("Status.lastStatus", "Status.lastStatusChangeTime"),
    "dynamodb:table": (
        "ItemCount",
        "TableSizeBytes",
        "GlobalSecondaryIndexes[].ItemCount",
        "GlobalSecondaryIndexes[].IndexSizeBytes",
        "LocalSecondaryIndexes[].ItemCount",
        "LocalSecondaryIndexes[].IndexSizeBytes",
        "ContinuousBackups.PointInTimeRecoveryDescription.EarliestRestorableDateTime",
        "ContinuousBackups.PointInTimeRecoveryDescription.LatestRestorableDateTime",
    ),
    "sqs:queue": (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ),
    "secretsmanager:secret": ("LastAccessedDate",),
    "cloudwatch:alarm": (
        "StateValue",
        "StateReason",
        "StateReasonData",
        "StateUpdatedTimestamp",
        "StateTransitionedTimestamp",
    ),
    "accessanalyzer:analyzer": ("lastResourceAnalyzed", "lastResourceAnalyzedAt"),
}
_VOLATILE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    type_: tuple(tuple(p.replace("[]", ".[]").split(".")) for p in paths)
    for type_, paths in VOLATILE_FIELDS.items()
}
# data_hash = the first CONTENT_HASH characters of the hash without the volatile fields, then the
# start of the hash of everything (64 in all, the column's size): equal content parts mean "no
# change", a different tail means "store the new volatile values"
CONTENT_HASH = 48


def _without(value: Any, path: tuple[str, ...]) -> Any:
    """``value`` without the field at ``path`` (copied along the path only; the input is not changed)."""
    key, rest = path[0], path[1:]
    if key == "[]":
        if not isinstance(value, list | tuple) or not rest:
            return value
        return [_without(v, rest) for v in value]
    if not isinstance(value, Mapping) or key not in value:
        return value
    out = dict(value)
    if rest:
        out[key] = _without(value[key], rest)
    else:
        del out[key]
    return out


# Notes about the read, not about the resource, on any type: which parts could not be read (and
# since when). They are stored, but their coming and going is not a change of the resource.
STALE_SINCE = "StaleSince"
READ_NOTES = (UNAVAILABLE, STALE_SINCE)


def stable_data(type_: str, data: Any) -> Any:
    """``data`` without the type's volatile fields (:data:`VOLATILE_FIELDS`) and the read notes
    (:data:`READ_NOTES`); ``data`` itself when it has none."""
    if isinstance(data, Mapping) and any(note in data for note in READ_NOTES):
        data = {k: v for k, v in data.items() if k not in READ_NOTES}
    for path in _VOLATILE_PATHS.get(type_, ()):
        data = _without(data, path)
    return data


def same_content(old_hash: str, new_hash: str) -> bool:
    """Do two data hashes say the same content (volatile fields aside)?"""
    return old_hash[:CONTENT_HASH] == new_hash[:CONTENT_HASH]


# ----------------------------------------------------------------------------- canonical JSON


def _plain(value: Any, depth: int = 0) -> Any:
    """Only JSON types: datetimes as ISO strings, sets as sorted lists, NaN/inf as null."""
    if depth > 200:  # a cycle or absurd nesting: keep a marker instead of recursing forever
        return "…"
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v, depth + 1) for v in value), key=repr)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _strip_nul(value: Any) -> Any:
    # PostgreSQL text and jsonb refuse U+0000; AWS never needs it, attackers might send it
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept: the canonical text (orjson is ~5x the stdlib here)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of anything a collector may put in ``data``.

    Only JSON types (datetimes as ISO strings, sets as sorted lists, NaN as null, no NUL
    characters, no lone surrogates); sorted keys and no spaces, so equal content hashes the same.
    """
    try:
        text = _dumps(value)
    except (TypeError, ValueError):  # sets, bytes, Decimal, non-str keys, >64-bit ints, surrogates...
        plain = _plain(value)
        try:
            text = _dumps(plain)
        except (TypeError, ValueError):  # what orjson refuses even then: huge ints, lone surrogates
            text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if "\\u0000" in text:
        text = _dumps(_strip_nul(json.loads(text)))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no database can store them
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def to_json(value: Any) -> tuple[Any, str]:
    """``(clean value, canonical text)``: parsing the text back gives plain dicts and lists (no
    tuples, enums or mapping proxies), equal to what the database returns, so later comparisons
    and diffs see only real changes."""
    text = canonical_json(value)
    return orjson.loads(text), text


def _clean_str(value: Any) -> str:
    """``value`` as text a database stores: no NUL, no lone surrogates."""
    text = "" if value is None else str(value)
    if text.isascii():  # the common case, checked in C
        return text.replace("\x00", "") if "\x00" in text else text
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _text(value: Any, field: str) -> str:
    text = _clean_str(value)
    limit = _FIELD_LIMITS[field]
    if len(text) <= limit:
        return text
    if field == "arn":
        # keep ARNs distinct even when absurdly long: prefix + digest of the whole
        digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
        return f"{text[: limit - 65]}#{digest}"
    return text[: limit - 1] + "…"


def _tags(value: Any) -> tuple[dict[str, str], str]:
    """Tags as a clean ``{key: value}`` dict (also from AWS's ``[{Key, Value}]`` form) and its JSON."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):  # AWS's [{"Key": k, "Value": v}] form
        items = [
            (t.get("Key", t.get("key")), t.get("Value", t.get("value", "")))
            for t in value
            if isinstance(t, Mapping) and t.get("Key", t.get("key")) is not None
        ]
    else:
        items = []
    tags = {_clean_str(k): _clean_str(v) for k, v in items}
    return tags, _dumps(tags)


@dataclasses.dataclass(slots=True)
class Prepared:
    """A record made safe for storage, with the hash of what will be stored.

    ``data`` is kept as canonical JSON text and parsed only when needed (a changed resource's
    diff, the non-PostgreSQL insert): most records of a pass are unchanged, and parsing costs as
    much as serialising.
    """

    arn: str
    type: str
    service: str
    region: str
    resource_id: str
    name: str
    tags: dict[str, str]
    tags_text: str
    data_text: str
    data_hash: str
    json_row: str  # the row as one JSON object (canonical tags/data inside), for PostgreSQL
    # the parts the collector could not read (data["Unavailable"]): merged from the stored record
    unread: tuple[str, ...] = ()

    @property
    def data(self) -> Any:
        return orjson.loads(self.data_text)


def _hash(head: str, tags_text: str, data_text: str) -> str:
    return hashlib.sha256(
        "\x1f".join((head, tags_text, data_text)).encode("utf-8", "surrogatepass")
    ).hexdigest()


def prepare(record: Record, default_region: str) -> Prepared | None:
    """Clean one record; ``None`` when it cannot be stored (no ARN, no type)."""
    arn = _text(getattr(record, "arn", ""), "arn").strip()
    type_ = _text(getattr(record, "type", ""), "type").strip()
    if not arn or not type_:
        return None
    region = _text(getattr(record, "region", "") or default_region, "region")
    tags, tags_text = _tags(getattr(record, "tags", None))
    raw_data = getattr(record, "data", None) or {}
    data_text = canonical_json(raw_data)
    name = _text(getattr(record, "name", ""), "name")
    resource_id = _text(getattr(record, "resource_id", ""), "resource_id")
    service = _text(type_.split(":", 1)[0], "service")
    head = json.dumps(
        {
            "region": region,
            "service": service,
            "type": type_,
            "arn": arn,
            "resource_id": resource_id,
            "name": name,
        },
        ensure_ascii=False,
    )
    data_hash = _hash(head, tags_text, data_text)
    notes = isinstance(raw_data, Mapping) and any(note in raw_data for note in READ_NOTES)
    if type_ in _VOLATILE_PATHS or notes:
        stable = stable_data(type_, raw_data)
        content_text = data_text if stable is raw_data else canonical_json(stable)
        data_hash = _hash(head, tags_text, content_text)[:CONTENT_HASH] + data_hash[: 64 - CONTENT_HASH]
    return Prepared(
        arn=arn,
        type=type_,
        service=service,
        region=region,
        resource_id=resource_id,
        name=name,
        tags=tags,
        tags_text=tags_text,
        data_text=data_text,
        data_hash=data_hash,
        json_row=f'{head[:-1]},"data_hash":"{data_hash}","tags":{tags_text},"data":{data_text}}}',
        unread=_unread_parts(raw_data) if notes else (),
    )


def _unread_parts(data: Mapping[str, Any]) -> tuple[str, ...]:
    notes = data.get(UNAVAILABLE)
    return tuple(sorted(str(k) for k in notes)) if isinstance(notes, Mapping) else ()


def merge_unread(
    item: Prepared, region: str, name: str, tags: Any, data: Any, seen_at: dt.datetime
) -> Prepared:
    """``item`` with the parts it could not read taken from the stored record (its last known values).

    A part is a key of ``data``; ``Tags`` is also the record's tags (and the name, which may come
    from the ``Name`` tag), ``Region`` also the record's region. A part the collector left out of
    ``data`` altogether (DynamoDB's ``Table``: the whole description) keeps every stored key the
    new answer does not carry. ``StaleSince`` says since when each part has gone unread.
    """
    new = item.data
    if not isinstance(new, dict) or not isinstance(data, Mapping):
        return item
    stored = dict(data)
    merged = {**stored, **new} if any(part not in new for part in item.unread) else dict(new)
    for part in item.unread:
        if part in stored:
            merged[part] = stored[part]
    earlier = stored.get(STALE_SINCE)
    before: Mapping[str, Any] = earlier if isinstance(earlier, Mapping) else {}
    merged[STALE_SINCE] = {part: before.get(part) or seen_at.isoformat() for part in item.unread}
    merged[UNAVAILABLE] = new.get(UNAVAILABLE)
    keep_tags = "Tags" in item.unread
    # a region not read this time: the stored one (known, or UNKNOWN_REGION if it never was)
    item_region = region if "Region" in item.unread and region else item.region
    return (
        prepare(
            Record(
                type=item.type,
                arn=item.arn,
                resource_id=item.resource_id,
                name=name if keep_tags else item.name,
                region=item_region,
                tags=tags if keep_tags and isinstance(tags, Mapping) else item.tags,
                data=merged,
            ),
            item_region,
        )
        or item
    )


# ----------------------------------------------------------------------------- diffs


def _clip(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) <= MAX_CHANGE_VALUE:
        return value
    return f"{text[:MAX_CHANGE_VALUE]}… ({len(text):,} characters)"


def diff(old: Any, new: Any, path: str = "", out: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Leaf differences between two JSON values as ``[{"path", "old", "new"}]`` (capped)."""
    out = [] if out is None else out
    if len(out) >= MAX_CHANGES:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append({"path": sub, "old": None, "new": _clip(new[key])})
            elif key not in new:
                out.append({"path": sub, "old": _clip(old[key]), "new": None})
            elif old[key] != new[key]:
                diff(old[key], new[key], sub, out)
            if len(out) >= MAX_CHANGES:
                out.append({"path": "…", "old": None, "new": "more changes not shown"})
                break
        return out
    if old != new:
        out.append({"path": path or "(value)", "old": _clip(old), "new": _clip(new)})
    return out


# ----------------------------------------------------------------------------- PostgreSQL

# On PostgreSQL a chunk travels as ONE parameter (a JSON array, or an array of ids) instead of
# thousands: the driver's per-parameter work, not the database, was the bottleneck of bulk_create.

_TABLE = Resource._meta.db_table
_ACCOUNT_COLUMN = Resource._meta.get_field("account").column
_TEXT_COLUMNS = ("region", "service", "type", "arn", "resource_id", "name", "data_hash")
_UPDATED_COLUMNS = ("region", "service", "type", "resource_id", "name", "tags", "data", "data_hash")
_UPSERT_SQL = (
    f"INSERT INTO {_TABLE} ({_ACCOUNT_COLUMN}, {', '.join(_TEXT_COLUMNS)}, tags, data, first_seen, last_seen, deleted_at) "
    f"SELECT %s, {', '.join('r.' + c for c in _TEXT_COLUMNS)}, r.tags, r.data, %s, %s, NULL "
    f"FROM jsonb_to_recordset(%s::jsonb) AS r({', '.join(c + ' text' for c in _TEXT_COLUMNS)}, tags jsonb, data jsonb) "
    f"ON CONFLICT ({_ACCOUNT_COLUMN}, arn) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_COLUMNS)
    + ", last_seen = EXCLUDED.last_seen, deleted_at = NULL"
)


# A chunk is a thousand keys in a table that may hold millions: probing the unique (account, arn)
# index, or the primary key, once per key is always the right plan, and nothing may depend on the
# planner seeing that. Its statistics are often wrong here: right after a big first pass (before
# autovacuum's ANALYZE) it believed the account had a few hundred rows and hashed all of them for
# every chunk (170 ms per chunk at 100k); with statistics taken while the table was empty it put
# the table on the outer side of the join and compared every row with every key (13 s per chunk).
# Either makes a pass quadratic in the account's size. So:
# - the ARNs are the outer side by construction (LATERAL), and each probe is LIMIT 1 (the index is
#   unique, so no answer changes) so that the subquery is not flattened back into a join;
# - no other index contains the account (migration 0007): when the statistics made the account
#   look empty, the planner took any index containing it as just as cheap, and the smaller won,
#   a scan of all the account's entries for each ARN;
# - ids are matched with = ANY(array), an index condition on the primary key, with no join at all;
# - each chunk's transaction disables sequential scans (see _pg_chunk_settings).
_EXISTING_SQL = (
    f"SELECT r.id, r.arn, r.data_hash, r.deleted_at FROM unnest(%(arns)s::text[]) AS wanted(arn) "
    f"CROSS JOIN LATERAL (SELECT x.id, x.arn, x.data_hash, x.deleted_at FROM {_TABLE} x "
    f"WHERE x.{_ACCOUNT_COLUMN} = %(account)s AND x.arn = wanted.arn LIMIT 1) AS r"
)
_TOUCH_SQL = f"UPDATE {_TABLE} SET last_seen = %s WHERE id = ANY(%s::bigint[])"


def _pg_existing(account_id: int, arns: list[str]) -> dict[str, tuple[int, str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_EXISTING_SQL, {"arns": arns, "account": account_id})
        return {arn: (pk, data_hash, deleted_at) for pk, arn, data_hash, deleted_at in cursor.fetchall()}


def _pg_touch(ids: list[int], seen_at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TOUCH_SQL, [seen_at, ids])


def _pg_chunk_settings() -> None:
    """Settings for the rest of this chunk's transaction (PostgreSQL).

    - Key lookups by the unique index, never by scanning the table or another index (see
      ``_EXISTING_SQL``).
    - COMMIT does not wait for the WAL to reach the disk. A chunk is re-collectable data and
      PostgreSQL keeps commits in order: a crash can lose the last fraction of a second of chunks
      (whose run then never ends "done": the run's own synchronous end flushes every chunk before
      it), never corrupt anything. Waiting for the flush of each chunk cost a tenth of a pass.
    - Memory for the trigram (GIN) search index's pending list: when it fills, the inserting
      transaction merges it into the index, in batches of ``work_mem`` (4 MB by default). With
      64 MB, for this transaction only, a pass of new resources took 12-18 % less database CPU
      while the whole ARN was indexed, 2-4 % since migration 0008 indexes only its resource part
      (``bench/ingest``, 100k on PostgreSQL 15; why the ARN's head is not indexed: ``inventory.search``).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '64MB'"
        )


_COPY_COLUMNS = (_ACCOUNT_COLUMN, *_TEXT_COLUMNS, "tags", "data", "first_seen", "last_seen")
_COPY_SQL = f"COPY {_TABLE} ({', '.join(_COPY_COLUMNS)}) FROM STDIN"


def _pg_insert_new(account_id: int, items: list[Prepared], seen_at: dt.datetime) -> None:
    """Insert resources the chunk's lookup did not find, through COPY.

    COPY parses each value once; the JSON-array upsert parses the whole array and then takes it
    apart again, which was a third of the database's work for new resources. COPY has no ON
    CONFLICT: a row that appeared since the lookup (another writer, which the per-account run
    lock should make impossible) fails the chunk's transaction, and the chunk is written again by
    upsert.
    """
    # the raw driver cursor has COPY; wrap_database_errors gives its errors Django's classes
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(_COPY_SQL) as copy,
    ):
        for i in items:
            copy.write_row(
                (
                    account_id,
                    i.region,
                    i.service,
                    i.type,
                    i.arn,
                    i.resource_id,
                    i.name,
                    i.data_hash,
                    i.tags_text,
                    i.data_text,
                    seen_at,
                    seen_at,
                )
            )


def _pg_upsert(account_id: int, items: list[Prepared], seen_at: dt.datetime) -> None:
    payload = "[" + ",".join(item.json_row for item in items) + "]"
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_SQL, [account_id, seen_at, seen_at, payload])


# ----------------------------------------------------------------------------- the pass


@dataclasses.dataclass
class IngestStats:
    """What one pass (or a sum of passes) did to storage."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    restored: int = 0
    deleted: int = 0
    invalid: int = 0

    def add(self, other: IngestStats) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


@dataclasses.dataclass(frozen=True, slots=True)
class PassResult:
    """The outcome of a finished pass: storage counts and the final coverage per type."""

    stats: IngestStats
    coverage: dict[str, Coverage]
    errors: list[CollectError]
    # the coverage rows, when the caller writes them itself (``finish(record_coverage=False)``)
    coverage_rows: tuple[CoverageRecord, ...] = ()


def _account_pk(account: Any) -> int:
    """The registry row's primary key, from an AwsAccount or the key itself."""
    return account.pk if hasattr(account, "pk") else int(account)


def save_coverage(rows: Sequence[CoverageRecord]) -> None:
    """Upsert coverage rows, one per (account, type, region), in one statement."""
    if rows:
        CoverageRecord.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["account", "type", "region"],
            update_fields=["coverage", "collected_at", "run", "error_code", "message"],
        )


def live_pairs(account: Any) -> set[tuple[str, str]]:
    """The (type, region) pairs under which ``account`` has live resources (one indexed query).

    Taken when a run starts, it tells which passes have anything to sweep: a pass whose types had
    no live resource in its region then can only have stored resources seen by itself.
    """
    return set(
        Resource.objects.filter(account_id=_account_pk(account), deleted_at__isnull=True)
        .order_by()
        .values_list("type", "region")
        .distinct()
    )


@dataclasses.dataclass
class _ChunkPlan:
    """What a chunk's write does to each record, by what is stored for its ARN."""

    counts: IngestStats
    new: list[Prepared] = dataclasses.field(default_factory=list)  # inserted by COPY
    upserts: list[Prepared] = dataclasses.field(default_factory=list)
    unchanged: list[int] = dataclasses.field(default_factory=list)  # only last_seen moves
    changed: dict[int, Prepared] = dataclasses.field(default_factory=dict)
    restored: list[int] = dataclasses.field(default_factory=list)  # deleted before, seen again


def _sort_chunk(
    by_arn: Mapping[str, Prepared], existing: Mapping[str, tuple[int, str, Any]], copy: bool
) -> _ChunkPlan:
    """Sort a chunk's records into new, restored, changed, refreshed and unchanged (no database here)."""
    plan = _ChunkPlan(IngestStats(seen=len(by_arn)))
    for arn, item in by_arn.items():
        row = existing.get(arn)
        if row is None:
            (plan.new if copy else plan.upserts).append(item)
            plan.counts.new += 1
            continue
        pk, data_hash, deleted_at = row
        if deleted_at is not None:
            plan.restored.append(pk)
            plan.upserts.append(item)
            plan.counts.restored += 1
            if not same_content(data_hash, item.data_hash):
                plan.changed[pk] = item
                plan.counts.changed += 1
        elif not same_content(data_hash, item.data_hash):
            plan.changed[pk] = item
            plan.upserts.append(item)
            plan.counts.changed += 1
        elif data_hash != item.data_hash:
            # only volatile fields moved: their latest values are stored, nothing changed
            plan.upserts.append(item)
            plan.counts.unchanged += 1
        else:
            plan.unchanged.append(pk)
            plan.counts.unchanged += 1
    return plan


class IngestPass:
    """Stream one (collector, region) pass into storage; call :meth:`add` then :meth:`finish`.

    ``seen_at`` stamps ``last_seen`` of every resource seen; the deletion sweep relies on it, so
    one pass uses one timestamp. A chunk that fails to write (bad data the database refuses) spoils
    only this pass: its other chunks stay written and nothing is deleted for it.
    """

    def __init__(
        self,
        account: Any,
        region: str,
        types: Iterable[str],
        run: CollectionRun | None = None,
        *,
        seen_at: dt.datetime | None = None,
        chunk_size: int = CHUNK_SIZE,
        live: Collection[tuple[str, str]] | None = None,
    ) -> None:
        self.account_id = _account_pk(account)
        self.region = region
        self.types = tuple(dict.fromkeys(types))
        self.run_id = run.pk if run is not None else None
        self.seen_at = seen_at or timezone.now()
        self.chunk_size = max(1, int(chunk_size))
        # (type, region) pairs that had live resources before the run (see live_pairs); None: unknown
        self.live = live
        self.stats = IngestStats()
        self.write_errors: list[CollectError] = []
        self._buffer: list[Prepared] = []
        self._finished = False

    @property
    def broken(self) -> bool:
        return bool(self.write_errors)

    def add(self, records: Iterable[Record]) -> None:
        """Prepare and queue records; full chunks are written at once."""
        for items, invalid in prepare_chunks(records, self.region, self.chunk_size):
            self.add_prepared(items, invalid)

    def add_prepared(self, items: Sequence[Prepared], invalid: int = 0) -> None:
        """Queue records already made safe by :func:`prepare` (e.g. in a collector's thread)."""
        self.stats.invalid += invalid
        self._buffer.extend(items)
        while len(self._buffer) >= self.chunk_size:
            self._flush(self.chunk_size)

    def flush(self) -> None:
        """Write what is buffered."""
        self._flush(len(self._buffer))

    def _flush(self, size: int) -> None:
        if not self._buffer or size <= 0:
            return
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        try:
            self._write(chunk)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001  (bad data must not lose the rest of the run)
            log.exception("inventory: could not store a chunk of %s in %s", ",".join(self.types), self.region)
            self.write_errors.append(
                CollectError(
                    service=self.types[0].split(":", 1)[0] if self.types else "",
                    region=self.region,
                    code="storage-error",
                    message=f"Could not store {len(chunk)} resources: {type(exc).__name__}: {str(exc)[:300]}",
                )
            )

    def _write(self, chunk: list[Prepared]) -> None:
        by_arn: dict[str, Prepared] = {}
        for item in chunk:  # one statement may not touch a row twice: the last sighting wins
            by_arn[item.arn] = item
        fast = connection.vendor == "postgresql"
        try:
            with transaction.atomic():
                self._write_chunk(by_arn, fast, copy=fast)
        except IntegrityError:
            if not fast:
                raise
            # a new resource appeared between the lookup and COPY (another writer, which the
            # per-account run lock should make impossible): the same chunk again, all by upsert
            with transaction.atomic():
                self._write_chunk(by_arn, fast, copy=False)

    def _merge_unread(
        self, by_arn: dict[str, Prepared], existing: Mapping[str, tuple[int, str, Any]]
    ) -> None:
        """Give the records with unread parts their stored values (one query, only when some have)."""
        pks = {existing[arn][0]: arn for arn, item in by_arn.items() if item.unread and arn in existing}
        if not pks:
            return
        rows = (
            Resource.objects.filter(pk__in=list(pks))
            .order_by()
            .values_list("pk", "region", "name", "tags", "data")
        )
        for pk, region, name, tags, data in rows:
            arn = pks[pk]
            by_arn[arn] = merge_unread(by_arn[arn], region, name, tags, data, self.seen_at)

    def _write_chunk(self, by_arn: dict[str, Prepared], fast: bool, *, copy: bool) -> None:
        existing = self._existing(by_arn, fast)
        self._merge_unread(by_arn, existing)
        plan = _sort_chunk(by_arn, existing, copy)
        if plan.unchanged:
            if fast:
                _pg_touch(plan.unchanged, self.seen_at)
            else:
                Resource.objects.filter(pk__in=plan.unchanged).update(last_seen=self.seen_at)
        previous: dict[int, dict[str, Any]] = {}
        if plan.changed:
            previous = {
                pk: {"name": name, "tags": tags, "data": data}
                for pk, name, tags, data in Resource.objects.filter(pk__in=list(plan.changed))
                .order_by()
                .values_list("pk", "name", "tags", "data")
            }
        if plan.new:
            _pg_insert_new(self.account_id, plan.new, self.seen_at)
        if plan.upserts and fast:
            _pg_upsert(self.account_id, plan.upserts, self.seen_at)
        elif plan.upserts:
            self._upsert(plan.upserts)
        revisions = self._revisions(plan, previous)
        if revisions:
            ResourceRevision.objects.bulk_create(revisions)
        self.stats.add(plan.counts)  # counted once stored: a refused chunk adds nothing

    def _existing(self, by_arn: Mapping[str, Prepared], fast: bool) -> dict[str, tuple[int, str, Any]]:
        """The stored rows of the chunk's ARNs: arn -> (pk, data_hash, deleted_at)."""
        if fast:
            _pg_chunk_settings()
            return _pg_existing(self.account_id, list(by_arn))
        return {
            arn: (pk, data_hash, deleted_at)
            for pk, arn, data_hash, deleted_at in Resource.objects.filter(
                account_id=self.account_id, arn__in=list(by_arn)
            ).values_list("pk", "arn", "data_hash", "deleted_at")
        }

    def _upsert(self, items: Sequence[Prepared]) -> None:
        """Insert or update ``items`` by (account, ARN): the portable path (PostgreSQL uses ``_pg_upsert``)."""
        Resource.objects.bulk_create(
            [
                Resource(
                    account_id=self.account_id,
                    region=i.region,
                    service=i.service,
                    type=i.type,
                    arn=i.arn,
                    resource_id=i.resource_id,
                    name=i.name,
                    tags=i.tags,
                    data=i.data,
                    data_hash=i.data_hash,
                    first_seen=self.seen_at,
                    last_seen=self.seen_at,
                    deleted_at=None,
                )
                for i in items
            ],
            update_conflicts=True,
            unique_fields=["account", "arn"],
            update_fields=[
                "region",
                "service",
                "type",
                "resource_id",
                "name",
                "tags",
                "data",
                "data_hash",
                "last_seen",
                "deleted_at",
            ],
        )

    def _revisions(self, plan: _ChunkPlan, previous: Mapping[int, dict[str, Any]]) -> list[ResourceRevision]:
        """A revision per restored resource and per real change; a change that is none is recounted."""
        revisions = [
            ResourceRevision(
                resource_id=pk, run_id=self.run_id, collected_at=self.seen_at, kind=RevisionKind.RESTORED
            )
            for pk in plan.restored
        ]
        restored_ids = set(plan.restored)
        for pk, item in plan.changed.items():
            before = previous.get(pk)
            if before is None:
                continue
            changes = diff(
                {**before, "data": stable_data(item.type, before.get("data"))},
                {"name": item.name, "tags": item.tags, "data": stable_data(item.type, item.data)},
            )
            if not changes:
                # the same content written differently (a number's spelling after an upgrade of
                # the serialiser, a hash stored before volatile fields were set apart), or only
                # volatile fields moved: the new hash is stored, but nothing changed worth a revision
                plan.counts.changed -= 1
                if pk not in restored_ids:
                    plan.counts.unchanged += 1
                continue
            revisions.append(
                ResourceRevision(
                    resource_id=pk,
                    run_id=self.run_id,
                    collected_at=self.seen_at,
                    kind=RevisionKind.CHANGED,
                    previous=before,
                    changes=changes,
                )
            )
        return revisions

    def finish(
        self,
        coverage: Mapping[str, Coverage | str],
        errors: Sequence[CollectError] = (),
        *,
        record_coverage: bool = True,
    ) -> PassResult:
        """Write the rest, sweep deletions for types collected completely, record coverage.

        ``coverage`` is read now, after the records were consumed (collectors mark types as they
        go). A declared type missing from it counts as not collected. ``record_coverage=False``:
        the coverage rows come back in the result for the caller to write with others
        (:func:`save_coverage`), one statement for many passes.
        """
        if self._finished:
            raise RuntimeError("this pass is already finished")
        self.flush()
        self._finished = True
        final: dict[str, Coverage] = {}
        for type_ in self.types:
            try:
                value = Coverage(coverage.get(type_, Coverage.NOT_COLLECTED))
            except ValueError:
                value = Coverage.FAILED
            if self.broken and value is Coverage.OK:
                value = Coverage.FAILED  # part of what was seen is not stored: do not sweep
            final[type_] = value
        all_errors = list(errors) + self.write_errors
        ok_types = [t for t, c in final.items() if c is Coverage.OK and self._may_have_live(t)]
        if ok_types:
            self.stats.deleted += self._sweep(ok_types)
        rows = self._coverage_rows(final, all_errors)
        if record_coverage:
            save_coverage(rows)
            rows = []
        return PassResult(stats=self.stats, coverage=final, errors=all_errors, coverage_rows=tuple(rows))

    def _may_have_live(self, type_: str) -> bool:
        if self.live is None:
            return True
        if self.region == GLOBAL_REGION:  # a global pass sweeps its types in every region
            return any(t == type_ for t, _ in self.live)
        return (type_, self.region) in self.live

    def _sweep(self, types: list[str]) -> int:
        stale = Resource.objects.filter(
            account_id=self.account_id, type__in=types, deleted_at__isnull=True, last_seen__lt=self.seen_at
        )
        if self.region != GLOBAL_REGION:
            stale = stale.filter(region=self.region)
        deleted = 0
        now = timezone.now()
        while True:
            # mark in slices: a region that vanished must not become one huge statement
            ids = list(stale.order_by().values_list("pk", flat=True)[:SWEEP_CHUNK])
            if not ids:
                return deleted
            with transaction.atomic():
                deleted += Resource.objects.filter(pk__in=ids, deleted_at__isnull=True).update(deleted_at=now)
                ResourceRevision.objects.bulk_create(
                    [
                        ResourceRevision(
                            resource_id=pk, run_id=self.run_id, collected_at=now, kind=RevisionKind.DELETED
                        )
                        for pk in ids
                    ]
                )

    def _coverage_rows(
        self, final: Mapping[str, Coverage], errors: Sequence[CollectError]
    ) -> list[CoverageRecord]:
        by_type: dict[str, CollectError] = {}
        general: CollectError | None = None
        for error in errors:
            if error.resource_type:
                by_type.setdefault(error.resource_type, error)
            elif general is None:
                general = error
        rows = []
        for type_, value in final.items():
            cause = by_type.get(type_) or (general if value is not Coverage.OK else None)
            rows.append(
                CoverageRecord(
                    account_id=self.account_id,
                    type=type_,
                    region=self.region,
                    coverage=value.value,
                    collected_at=self.seen_at,
                    run_id=self.run_id,
                    error_code=(cause.code if cause else "")[:60],
                    message=(cause.message if cause else "")[:1000],
                )
            )
        return rows


def prepare_chunks(
    records: Iterable[Record], default_region: str, size: int = CHUNK_SIZE
) -> Iterator[tuple[list[Prepared], int]]:
    """``(prepared records, number refused)`` per ``size`` records taken from ``records``."""
    chunk: list[Prepared] = []
    invalid = 0
    for record in records:
        prepared = prepare(record, default_region)
        if prepared is None:
            invalid += 1
            continue
        chunk.append(prepared)
        if len(chunk) >= size:
            yield chunk, invalid
            chunk, invalid = [], 0
    if chunk or invalid:
        yield chunk, invalid


def _prefetched(
    chunks: Iterator[tuple[list[Prepared], int]], depth: int = 2
) -> Iterator[tuple[list[Prepared], int]]:
    """Run ``chunks`` in a helper thread, at most ``depth`` chunks ahead of the consumer.

    Preparing a chunk is Python work and writing one is mostly waiting for the database, which
    releases the GIL: overlapping them makes a pass cost about the larger of the two, not the sum.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, raised there)
            q.put(exc)

    thread = threading.Thread(target=produce, name="ingest-prepare", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def ingest(
    account: Any,
    region: str,
    collector_types: Iterable[str],
    records: Iterable[Record],
    coverage: Mapping[str, Coverage | str],
    run: CollectionRun | None = None,
    *,
    errors: Sequence[CollectError] = (),
    seen_at: dt.datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    prefetch: bool = False,
) -> PassResult:
    """Store one (collector, region) pass: upsert ``records`` in chunks, then sweep and record coverage.

    ``records`` may be a generator (it is consumed in chunks of ``chunk_size``); ``coverage`` is
    read after it is exhausted, so a collector's live ``ctx.coverage`` may be passed.
    ``prefetch``: consume and prepare ``records`` in a helper thread (two chunks ahead) while this
    thread writes, as the orchestrator does with its collector threads; ``records`` must then not
    touch the database.
    """
    one_pass = IngestPass(account, region, collector_types, run, seen_at=seen_at, chunk_size=chunk_size)
    chunks = prepare_chunks(records, region, chunk_size)
    for items, invalid in _prefetched(chunks) if prefetch else chunks:
        one_pass.add_prepared(items, invalid)
    return one_pass.finish(coverage, errors)

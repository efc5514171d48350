"""Batch upserts: what a pass does to stored resources, revisions and coverage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from accounts.models import AwsAccount
from inventory.models import CoverageRecord, Resource, ResourceRevision, RevisionKind
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services.ingest import CONTENT_HASH, IngestPass, ingest, prepare, stable_data, to_json

pytestmark = pytest.mark.django_db

TYPES = ("ec2:instance", "ec2:vpc")
OK = {"ec2:instance": Coverage.OK, "ec2:vpc": Coverage.OK}


@pytest.fixture
def account() -> AwsAccount:
    return AwsAccount.objects.create(account_id="111122223333", name="prod")


def instance(n: int, region: str = "eu-west-1", state: str = "running", **extra: object) -> Record:
    return Record(
        type="ec2:instance",
        arn=f"arn:aws:ec2:{region}:111122223333:instance/i-{n:08x}",
        resource_id=f"i-{n:08x}",
        name=f"web-{n}",
        region=region,
        tags={"Name": f"web-{n}", "team": "a"},
        data={"InstanceId": f"i-{n:08x}", "State": {"Name": state}, **extra},
    )


def later(seconds: int = 1) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_new_records_are_stored_with_first_and_last_seen(account: AwsAccount) -> None:
    result = ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)
    assert (result.stats.new, result.stats.changed, result.stats.deleted) == (2, 0, 0)
    row = Resource.objects.get(arn__endswith="i-00000001")
    assert (row.type, row.service, row.region, row.name) == ("ec2:instance", "ec2", "eu-west-1", "web-1")
    assert row.tags == {"Name": "web-1", "team": "a"}
    assert row.data["State"] == {"Name": "running"}
    assert row.first_seen == row.last_seen and row.deleted_at is None
    assert len(row.data_hash) == 64


def test_unchanged_resources_only_move_last_seen(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1)], OK)
    before = Resource.objects.get()
    result = ingest(account, "eu-west-1", TYPES, [instance(1)], OK, seen_at=later())
    after = Resource.objects.get()
    assert (result.stats.unchanged, result.stats.changed, result.stats.new) == (1, 0, 0)
    assert after.last_seen > before.last_seen
    assert (after.first_seen, after.data, after.data_hash) == (
        before.first_seen,
        before.data,
        before.data_hash,
    )
    assert not ResourceRevision.objects.exists()


def test_changed_resource_is_updated_and_gets_a_revision_with_the_diff(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1)], OK)
    first_seen = Resource.objects.get().first_seen
    result = ingest(account, "eu-west-1", TYPES, [instance(1, state="stopped")], OK, seen_at=later())
    assert result.stats.changed == 1
    row = Resource.objects.get()
    assert row.data["State"] == {"Name": "stopped"} and row.first_seen == first_seen
    revision = ResourceRevision.objects.get()
    assert revision.kind == RevisionKind.CHANGED
    assert revision.previous["data"]["State"] == {"Name": "running"}
    assert {"path": "data.State.Name", "old": "running", "new": "stopped"} in revision.changes


def test_missing_resource_is_marked_deleted_after_an_ok_pass(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)
    result = ingest(account, "eu-west-1", TYPES, [instance(1)], OK, seen_at=later())
    assert result.stats.deleted == 1
    gone = Resource.objects.get(arn__endswith="i-00000002")
    assert gone.deleted_at is not None  # kept, marked
    assert Resource.objects.get(arn__endswith="i-00000001").deleted_at is None
    assert ResourceRevision.objects.get(resource=gone).kind == RevisionKind.DELETED


@pytest.mark.parametrize(
    "coverage", [Coverage.FAILED, Coverage.DENIED, Coverage.UNSUPPORTED, Coverage.NOT_COLLECTED]
)
def test_failed_pass_keeps_previous_resources(account: AwsAccount, coverage: Coverage) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)
    result = ingest(
        account, "eu-west-1", TYPES, [], {"ec2:instance": coverage, "ec2:vpc": Coverage.OK}, seen_at=later()
    )
    assert result.stats.deleted == 0
    assert Resource.objects.filter(deleted_at__isnull=True).count() == 2
    assert CoverageRecord.objects.get(type="ec2:instance").coverage == coverage.value
    assert CoverageRecord.objects.get(type="ec2:vpc").coverage == "ok"


def test_type_not_marked_counts_as_not_collected_and_deletes_nothing(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1)], OK)
    ingest(account, "eu-west-1", TYPES, [], {}, seen_at=later())
    assert Resource.objects.get().deleted_at is None
    assert CoverageRecord.objects.get(type="ec2:instance").coverage == Coverage.NOT_COLLECTED.value


def test_deletion_is_limited_to_the_pass_region_and_types(account: AwsAccount) -> None:
    vpc = Record("ec2:vpc", "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-1", "vpc-1", "", "eu-west-1")
    ingest(account, "eu-west-1", TYPES, [instance(1), vpc], OK)
    ingest(account, "us-east-1", TYPES, [instance(2, region="us-east-1")], OK)
    # an OK instance-only pass in us-east-1 that sees nothing deletes only us-east-1 instances
    ingest(account, "us-east-1", ("ec2:instance",), [], {"ec2:instance": Coverage.OK}, seen_at=later())
    live = set(Resource.objects.filter(deleted_at__isnull=True).values_list("resource_id", flat=True))
    assert live == {"i-00000001", "vpc-1"}


def test_global_pass_sweeps_its_types_in_every_region(account: AwsAccount) -> None:
    # S3 buckets come from a global collector but carry the bucket's region
    buckets = [
        Record("s3:bucket", f"arn:aws:s3:::b{n}", f"b{n}", f"b{n}", region)
        for n, region in enumerate(["eu-west-1", "us-east-1"])
    ]
    ingest(account, GLOBAL_REGION, ("s3:bucket",), buckets, {"s3:bucket": Coverage.OK})
    result = ingest(
        account, GLOBAL_REGION, ("s3:bucket",), buckets[:1], {"s3:bucket": Coverage.OK}, seen_at=later()
    )
    assert result.stats.deleted == 1
    assert Resource.objects.get(deleted_at__isnull=False).region == "us-east-1"
    assert CoverageRecord.objects.get().region == GLOBAL_REGION


def test_reappearing_resource_is_undeleted_and_keeps_first_seen(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1)], OK)
    first_seen = Resource.objects.get().first_seen
    ingest(account, "eu-west-1", TYPES, [], OK, seen_at=later(1))
    assert Resource.objects.get().deleted_at is not None
    result = ingest(account, "eu-west-1", TYPES, [instance(1)], OK, seen_at=later(2))
    row = Resource.objects.get()
    assert result.stats.restored == 1 and row.deleted_at is None and row.first_seen == first_seen
    kinds = list(ResourceRevision.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == [RevisionKind.DELETED, RevisionKind.RESTORED]


def test_second_identical_pass_changes_nothing_but_last_seen(account: AwsAccount) -> None:
    records = [instance(n) for n in range(50)]
    ingest(account, "eu-west-1", TYPES, records, OK)
    snapshot = list(
        Resource.objects.order_by("pk").values("arn", "data", "tags", "data_hash", "first_seen", "deleted_at")
    )
    result = ingest(account, "eu-west-1", TYPES, records, OK, seen_at=later())
    assert (result.stats.new, result.stats.changed, result.stats.deleted, result.stats.unchanged) == (
        0,
        0,
        0,
        50,
    )
    assert (
        list(
            Resource.objects.order_by("pk").values(
                "arn", "data", "tags", "data_hash", "first_seen", "deleted_at"
            )
        )
        == snapshot
    )
    assert not ResourceRevision.objects.exists()


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_outcome_does_not_depend_on_chunk_size(account: AwsAccount, chunk_size: int) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(n) for n in range(30)], OK, chunk_size=chunk_size)
    changed = [instance(n, state="stopped") if n % 3 == 0 else instance(n) for n in range(10, 40)]
    result = ingest(account, "eu-west-1", TYPES, changed, OK, seen_at=later(), chunk_size=chunk_size)
    # 10..29 seen again (12, 15, ... 27 changed: 6), 30..39 new, 0..9 deleted
    assert (result.stats.new, result.stats.changed, result.stats.unchanged, result.stats.deleted) == (
        10,
        6,
        14,
        10,
    )
    assert Resource.objects.count() == 40
    assert ResourceRevision.objects.filter(kind=RevisionKind.CHANGED).count() == 6


def test_duplicate_arns_in_one_chunk_are_stored_once(account: AwsAccount) -> None:
    result = ingest(account, "eu-west-1", TYPES, [instance(1), instance(1, state="stopped")], OK)
    assert result.stats.seen == 1
    assert Resource.objects.get().data["State"]["Name"] == "stopped"


def test_query_count_is_bounded_for_2000_records(account: AwsAccount, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    records = [instance(n) for n in range(2000)]
    # SQLite splits bulk inserts into ~80-row statements (999-variable limit): that is the bound's bulk
    with django_assert_max_num_queries(45):
        ingest(account, "eu-west-1", TYPES, records, OK)
    changed = [instance(n, state="stopped") if n % 2 else instance(n) for n in range(2000)]
    with django_assert_max_num_queries(45):
        ingest(account, "eu-west-1", TYPES, changed, OK, seen_at=later())
    with django_assert_max_num_queries(12):
        ingest(account, "eu-west-1", TYPES, changed, OK, seen_at=later(2))
    assert ResourceRevision.objects.count() == 1000


def test_records_are_consumed_lazily_in_chunks(account: AwsAccount) -> None:
    written_when_yielding: list[int] = []

    def generate() -> Iterator[Record]:
        for n in range(25):
            written_when_yielding.append(Resource.objects.count())
            yield instance(n)

    ingest(account, "eu-west-1", TYPES, generate(), OK, chunk_size=10)
    # the 21st record was asked for after two chunks of 10 were written: nothing held back
    assert written_when_yielding[20] == 20
    assert Resource.objects.count() == 25


def test_hostile_values_are_stored_safely(account: AwsAccount) -> None:
    weird = Record(
        type="ec2:instance",
        arn="arn:aws:ec2:eu-west-1:111122223333:instance/" + "x" * 5000,
        resource_id="i-\x00evil",
        name="<script>alert(1)</script> \ud800 ünï",
        region="eu-west-1",
        tags=[{"Key": "=cmd|' /C calc'!A0", "Value": None}, {"Key": "ok", "Value": 3}],  # type: ignore[arg-type]
        data={
            "When": dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            "Nested": {"set": {3, 1}, "nan": float("nan"), "bytes": b"\xff", "nul": "a\x00b"},
            "Big": "y" * 200_000,
        },
    )
    ingest(account, "eu-west-1", TYPES, [weird, Record("ec2:instance", "", "", "", "eu-west-1")], OK)
    row = Resource.objects.get()
    assert len(row.arn) <= 2048 and row.resource_id == "i-evil"
    assert row.tags == {"=cmd|' /C calc'!A0": "", "ok": "3"}
    assert row.data["When"] == "2024-01-02T00:00:00+00:00"
    assert row.data["Nested"] == {"set": [1, 3], "nan": None, "bytes": "\ufffd", "nul": "ab"}
    # the same hostile record again is recognised as unchanged
    result = ingest(account, "eu-west-1", TYPES, [weird], OK, seen_at=later())
    assert result.stats.unchanged == 1


def test_long_distinct_arns_stay_distinct(account: AwsAccount) -> None:
    a = prepare(Record("ec2:instance", "arn:" + "a" * 3000 + "1", "1", "", "eu-west-1"), "eu-west-1")
    b = prepare(Record("ec2:instance", "arn:" + "a" * 3000 + "2", "1", "", "eu-west-1"), "eu-west-1")
    assert a is not None and b is not None and a.arn != b.arn


def test_canonical_json_ignores_key_order() -> None:
    assert (
        to_json({"b": 1, "a": [1, {"y": 2, "x": 1}]})[1] == to_json({"a": [1, {"x": 1, "y": 2}], "b": 1})[1]
    )


def test_chunk_the_database_refuses_spoils_only_its_own_pass(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)
    one_pass = IngestPass(account, "eu-west-1", TYPES, seen_at=later(), chunk_size=1)

    original = IngestPass._write
    calls = {"n": 0}

    def flaky(self: IngestPass, chunk: list) -> None:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("refused")
        original(self, chunk)

    monkeypatch.setattr(IngestPass, "_write", flaky)
    one_pass.add([instance(3), instance(1)])
    result = one_pass.finish(OK)
    # instance 3 was refused, 1 stored; 2 was not seen but nothing is deleted: the pass is spoilt
    assert result.stats.deleted == 0
    assert result.coverage["ec2:instance"] is Coverage.FAILED
    assert [e.code for e in result.errors] == ["storage-error"]
    assert Resource.objects.filter(deleted_at__isnull=True).count() == 2


def test_prefetching_stores_the_same_and_stays_a_bounded_distance_ahead(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulled = {"n": 0}
    ahead: list[int] = []
    original = IngestPass._write

    def counting_write(self: IngestPass, chunk: list) -> None:  # type: ignore[type-arg]
        ahead.append(pulled["n"] - self.stats.seen)
        original(self, chunk)

    def generate() -> Iterator[Record]:
        for n in range(100):
            pulled["n"] += 1
            yield instance(n)

    monkeypatch.setattr(IngestPass, "_write", counting_write)
    result = ingest(account, "eu-west-1", TYPES, generate(), OK, chunk_size=10, prefetch=True)
    assert (result.stats.new, Resource.objects.count()) == (100, 100)
    # the helper thread holds at most: the chunk being written + 2 queued + 1 being prepared
    assert max(ahead) <= 10 * 4


def test_prefetching_hands_a_collector_error_to_the_caller(account: AwsAccount) -> None:
    ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)

    def broken() -> Iterator[Record]:
        yield instance(1)
        raise RuntimeError("collector blew up")

    with pytest.raises(RuntimeError, match="blew up"):
        ingest(account, "eu-west-1", TYPES, broken(), OK, seen_at=later(), chunk_size=1, prefetch=True)
    assert Resource.objects.filter(deleted_at__isnull=True).count() == 2  # no sweep after a failure


def test_the_same_content_spelt_differently_stores_the_new_hash_without_a_revision(
    account: AwsAccount,
) -> None:
    """A serialiser upgrade may spell a number differently (1e-07 / 1e-7): no change to show."""
    ingest(account, "eu-west-1", TYPES, [instance(1, Ratio=1e-7)], OK, seen_at=later(1))
    row = Resource.objects.get()
    Resource.objects.filter(pk=row.pk).update(data_hash="0" * 64)  # as an older serialiser hashed it

    result = ingest(account, "eu-west-1", TYPES, [instance(1, Ratio=1e-7)], OK, seen_at=later(2))

    assert (result.stats.changed, result.stats.unchanged) == (0, 1)
    assert Resource.objects.get().data_hash == row.data_hash
    assert not ResourceRevision.objects.filter(kind=RevisionKind.CHANGED).exists()


@pytest.mark.postgres
def test_resource_rows_leave_room_for_in_place_updates_on_postgresql() -> None:
    """Migrations 0005/0006: metadata out of line and half of each page free (HOT last_seen updates)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'inventory_resource'")
        (options,) = cursor.fetchone()
    assert "fillfactor=50" in options and "toast_tuple_target=128" in options


@pytest.mark.postgres
@pytest.mark.parametrize("others", [0, 3000], ids=["analysed-empty", "analysed-with-other-accounts"])
def test_existing_rows_are_found_by_index_whatever_the_statistics_say(
    account: AwsAccount, others: int
) -> None:
    """Statistics taken while the table was empty, or while this account had nothing, once made the
    planner scan or hash the account's whole table for each chunk of ARNs: a pass quadratic in the
    account's size. A chunk's transaction must probe the unique index per ARN."""
    from django.db import connection, transaction

    from inventory.services.ingest import _EXISTING_SQL, _TOUCH_SQL, _pg_chunk_settings

    if others:
        other = AwsAccount.objects.create(account_id="999988887777", name="other")
        ingest(other, "eu-west-1", TYPES, [instance(n) for n in range(others)], OK)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_resource")  # this account has nothing: the worst statistics
    ingest(account, "eu-west-1", TYPES, [instance(n) for n in range(3000)], OK, seen_at=later(1))
    arns = [instance(n).arn for n in range(1000, 2000)]
    ids = list(Resource.objects.filter(arn__in=arns).values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        _pg_chunk_settings()
        cursor.execute("EXPLAIN " + _EXISTING_SQL, {"arns": arns, "account": account.pk})
        lookup = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + _TOUCH_SQL, [later(2), ids])
        touch = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(_EXISTING_SQL, {"arns": arns, "account": account.pk})
        found = sorted(row[1] for row in cursor.fetchall())
    for plan in (lookup, touch):
        assert "Seq Scan on inventory_resource" not in plan, plan
        assert "Hash Join" not in plan and "Merge Join" not in plan, plan
    # the ARNs drive the loop and each probes the unique index; the ids are an index condition
    assert "inv_resource_account_arn" in lookup, lookup
    assert lookup.index("Function Scan on unnest") < lookup.index("inv_resource_account_arn"), lookup
    assert "Join" not in touch and "inventory_resource_pkey" in touch, touch
    assert found == sorted(arns)  # and it answers: every ARN asked for, once


@pytest.mark.postgres
def test_a_resource_that_appears_between_lookup_and_copy_is_upserted_not_lost(
    account: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New resources go in by COPY, which has no ON CONFLICT: if one appeared since the chunk's
    lookup (another writer), the chunk is written again by upsert instead of failing."""
    import importlib

    ingest_module = importlib.import_module("inventory.services.ingest")  # the package exports ingest()
    ingest(account, "eu-west-1", TYPES, [instance(1)], OK, seen_at=later(1))
    real = ingest_module._pg_existing
    calls = []

    def blind_once(account_id: int, arns: list[str]) -> dict:
        calls.append(arns)
        return {} if len(calls) == 1 else real(account_id, arns)  # the first lookup misses it

    monkeypatch.setattr(ingest_module, "_pg_existing", blind_once)
    result = ingest(
        account, "eu-west-1", TYPES, [instance(1, state="stopped"), instance(2)], OK, seen_at=later(2)
    )

    assert len(calls) == 2 and not result.errors
    assert (result.stats.new, result.stats.changed) == (1, 1)
    assert Resource.objects.get(resource_id=f"i-{1:08x}").data["State"] == {"Name": "stopped"}
    assert Resource.objects.filter(deleted_at__isnull=True).count() == 2


def _pass(account: AwsAccount, region: str, types: tuple[str, ...], records: list[Record], **kw: object):  # type: ignore[no-untyped-def]
    one = IngestPass(account, region, types, seen_at=later(5), **kw)  # type: ignore[arg-type]
    one.add(records)
    return one.finish({t: Coverage.OK for t in types})


def test_the_sweep_is_skipped_only_where_the_run_started_with_nothing_live(
    account: AwsAccount, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    """``live`` (the (type, region) pairs an account held when the run began) spares the empty
    regions their sweep query, and never a deletion."""
    from inventory.services.ingest import live_pairs

    ingest(account, "eu-west-1", TYPES, [instance(1), instance(2)], OK)
    bucket = Record("s3:bucket", "arn:aws:s3:::b", "b", "b", "us-east-1")
    ingest(account, GLOBAL_REGION, ("s3:bucket",), [bucket], {"s3:bucket": Coverage.OK})
    live = live_pairs(account)
    assert live == {("ec2:instance", "eu-west-1"), ("s3:bucket", "us-east-1")}

    with django_assert_num_queries(1):  # the coverage upsert alone: no sweep, nothing to write
        _pass(account, "ap-south-1", TYPES, [], live=live)
    # a region with live instances is swept; a global pass sweeps a type live in any region
    assert _pass(account, "eu-west-1", TYPES, [instance(1)], live=live).stats.deleted == 1
    assert _pass(account, GLOBAL_REGION, ("s3:bucket",), [], live=live).stats.deleted == 1
    # what a pass stores where nothing was live is its own, and stays
    assert _pass(account, "us-west-2", TYPES, [instance(9, region="us-west-2")], live=live).stats.new == 1
    assert Resource.objects.get(resource_id=f"i-{9:08x}").deleted_at is None


def test_coverage_can_be_left_to_the_caller_and_written_in_one_statement(
    account: AwsAccount, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    from inventory.services.ingest import save_coverage

    rows = []
    for region in ("eu-west-1", "us-east-1", "ap-south-1"):
        one = IngestPass(account, region, TYPES, live=set())
        rows += one.finish(OK, record_coverage=False).coverage_rows
    assert not CoverageRecord.objects.exists() and len(rows) == 6
    with django_assert_num_queries(1):
        save_coverage(rows)
    assert CoverageRecord.objects.filter(coverage="ok").count() == 6


# ----------------------------------------------------------------------------- volatile fields
def role(last_used: dt.datetime, **extra: object) -> Record:
    return Record(
        type="iam:role",
        arn="arn:aws:iam::111122223333:role/SkyledgerReadOnly",
        resource_id="AROAEXAMPLE",
        name="SkyledgerReadOnly",
        region=GLOBAL_REGION,
        data={
            "RoleName": "SkyledgerReadOnly",
            "RoleLastUsed": {"LastUsedDate": last_used, "Region": "us-east-1"},
            **extra,
        },
    )


def user(key_last_used: dt.datetime, status: str = "Active") -> Record:
    key = {"AccessKeyId": "AKIAEXAMPLE", "Status": status, "LastUsedDate": key_last_used.isoformat()}
    return Record(
        type="iam:user",
        arn="arn:aws:iam::111122223333:user/ci",
        resource_id="AIDAEXAMPLE",
        name="ci",
        region=GLOBAL_REGION,
        data={"UserName": "ci", "AccessKeys": [key], "PasswordLastUsed": key_last_used.isoformat()},
    )


IAM = {"iam:role": Coverage.OK, "iam:user": Coverage.OK}


def test_a_volatile_field_keeps_its_latest_value_without_a_change_or_a_revision(account: AwsAccount) -> None:
    """Collecting uses the read role: its RoleLastUsed moves at every collection, nothing else does."""
    used = timezone.now() - dt.timedelta(hours=6)
    ingest(account, GLOBAL_REGION, tuple(IAM), [role(used)], IAM, seen_at=later(1))
    before = Resource.objects.get()
    result = ingest(
        account, GLOBAL_REGION, tuple(IAM), [role(used + dt.timedelta(hours=6))], IAM, seen_at=later(2)
    )
    after = Resource.objects.get()
    assert (result.stats.changed, result.stats.unchanged, result.stats.new) == (0, 1, 0)
    assert not ResourceRevision.objects.exists()
    # the latest value is what is stored
    assert after.data["RoleLastUsed"]["LastUsedDate"] == (used + dt.timedelta(hours=6)).isoformat()
    assert after.data_hash != before.data_hash and after.last_seen > before.last_seen


def test_a_real_change_beside_a_volatile_one_shows_only_the_real_change(account: AwsAccount) -> None:
    used = timezone.now() - dt.timedelta(days=1)
    ingest(account, GLOBAL_REGION, tuple(IAM), [role(used, MaxSessionDuration=3600)], IAM, seen_at=later(1))
    result = ingest(
        account,
        GLOBAL_REGION,
        tuple(IAM),
        [role(used + dt.timedelta(hours=1), MaxSessionDuration=43200)],
        IAM,
        seen_at=later(2),
    )
    assert result.stats.changed == 1
    [revision] = ResourceRevision.objects.all()
    assert revision.changes == [{"path": "data.MaxSessionDuration", "old": 3600, "new": 43200}]
    assert Resource.objects.get().data["MaxSessionDuration"] == 43200


def test_volatile_fields_inside_lists_are_set_apart_too(account: AwsAccount) -> None:
    used = timezone.now() - dt.timedelta(days=2)
    ingest(account, GLOBAL_REGION, tuple(IAM), [user(used)], IAM, seen_at=later(1))
    moved = ingest(
        account, GLOBAL_REGION, tuple(IAM), [user(used + dt.timedelta(days=1))], IAM, seen_at=later(2)
    )
    assert (moved.stats.changed, moved.stats.unchanged) == (0, 1)
    assert (
        Resource.objects.get().data["AccessKeys"][0]["LastUsedDate"]
        == (used + dt.timedelta(days=1)).isoformat()
    )
    # deactivating the key is a change, with its revision
    off = ingest(
        account,
        GLOBAL_REGION,
        tuple(IAM),
        [user(used + dt.timedelta(days=1), "Inactive")],
        IAM,
        seen_at=later(3),
    )
    assert off.stats.changed == 1
    [revision] = ResourceRevision.objects.all()
    assert [c["path"] for c in revision.changes] == ["data.AccessKeys"]


def test_a_hash_stored_before_volatile_fields_were_set_apart_makes_no_revision(account: AwsAccount) -> None:
    used = timezone.now() - dt.timedelta(days=3)
    ingest(account, GLOBAL_REGION, tuple(IAM), [role(used)], IAM, seen_at=later(1))
    row = Resource.objects.get()
    Resource.objects.filter(pk=row.pk).update(data_hash="f" * 64)  # a whole-data hash of an older version
    result = ingest(
        account, GLOBAL_REGION, tuple(IAM), [role(used + dt.timedelta(hours=1))], IAM, seen_at=later(2)
    )
    assert (result.stats.changed, result.stats.unchanged) == (0, 1)
    assert not ResourceRevision.objects.exists()
    assert Resource.objects.get().data_hash[:CONTENT_HASH] == row.data_hash[:CONTENT_HASH]


def test_stable_data_leaves_its_input_alone() -> None:
    data = {"RoleName": "r", "RoleLastUsed": {"LastUsedDate": "x"}, "Tags": []}
    assert stable_data("iam:role", data) == {"RoleName": "r", "Tags": []}
    assert data["RoleLastUsed"] == {"LastUsedDate": "x"}
    keys = {"AccessKeys": [{"AccessKeyId": "A", "LastUsedDate": "x", "LastUsedRegion": "r"}], "UserName": "u"}
    assert stable_data("iam:user", keys) == {"AccessKeys": [{"AccessKeyId": "A"}], "UserName": "u"}
    assert keys["AccessKeys"][0]["LastUsedDate"] == "x"
    assert stable_data("ec2:instance", data) is data

"""How a chunk's write sorts its records by what is stored for them (ingest._sort_chunk, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.services.ingest import CONTENT_HASH, Prepared, _sort_chunk

CONTENT = "c" * CONTENT_HASH
VOLATILE = "v" * (64 - CONTENT_HASH)
SAME = CONTENT + VOLATILE
VOLATILE_MOVED = CONTENT + "w" * (64 - CONTENT_HASH)  # only volatile fields differ
CONTENT_CHANGED = "d" * CONTENT_HASH + VOLATILE
GONE = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)


def item(arn: str, data_hash: str) -> Prepared:
    return Prepared(
        arn=arn,
        type="ec2:instance",
        service="ec2",
        region="eu-west-1",
        resource_id=arn.rsplit("/", 1)[-1],
        name="",
        tags={},
        tags_text="{}",
        data_text="{}",
        data_hash=data_hash,
        json_row="{}",
    )


# stored row (pk, data_hash, deleted_at) or None, incoming hash -> where it goes, and how it counts
CASES = [
    ("new, by COPY", None, SAME, True, {"new"}, {"new": 1}),
    ("new, by upsert", None, SAME, False, {"upserts"}, {"new": 1}),
    ("the same: only last_seen moves", (7, SAME, None), SAME, True, {"unchanged"}, {"unchanged": 1}),
    ("volatile fields moved: stored, counted unchanged", (7, SAME, None), VOLATILE_MOVED, True,
     {"upserts"}, {"unchanged": 1}),
    ("content changed", (7, SAME, None), CONTENT_CHANGED, True, {"upserts", "changed"}, {"changed": 1}),
    ("deleted and back as it was", (7, SAME, GONE), SAME, True, {"upserts", "restored"}, {"restored": 1}),
    ("deleted and back changed", (7, SAME, GONE), CONTENT_CHANGED, True, {"upserts", "restored", "changed"},
     {"restored": 1, "changed": 1}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "incoming", "copy", "lists", "counted"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_record_goes_where_its_stored_row_says(
    stored: tuple[int, str, dt.datetime | None] | None,
    incoming: str,
    copy: bool,
    lists: set[str],
    counted: dict[str, int],
) -> None:
    arn = "arn:aws:ec2:eu-west-1:111111111111:instance/i-1"
    record = item(arn, incoming)
    plan = _sort_chunk({arn: record}, {arn: stored} if stored else {}, copy)
    placed = {name for name in ("new", "upserts", "unchanged", "changed", "restored") if getattr(plan, name)}
    assert placed == lists
    if "changed" in lists:
        assert plan.changed == {7: record}
    assert plan.unchanged == ([7] if "unchanged" in lists else [])
    assert plan.restored == ([7] if "restored" in lists else [])
    counts = {k: getattr(plan.counts, k) for k in ("new", "changed", "unchanged", "restored")}
    assert counts == {"new": 0, "changed": 0, "unchanged": 0, "restored": 0, **counted}
    assert plan.counts.seen == 1


def test_a_chunk_keeps_its_order_within_each_list() -> None:
    arns = [f"arn:aws:ec2:eu-west-1:111111111111:instance/i-{n}" for n in range(4)]
    by_arn = {arn: item(arn, SAME) for arn in arns}
    stored = {arns[1]: (11, SAME, None), arns[3]: (13, CONTENT_CHANGED, None)}
    plan = _sort_chunk(by_arn, stored, copy=False)
    assert [i.arn for i in plan.upserts] == [arns[0], arns[2], arns[3]]
    assert plan.unchanged == [11]
    assert list(plan.changed) == [13]
    assert (plan.counts.seen, plan.counts.new, plan.counts.changed, plan.counts.unchanged) == (4, 2, 1, 1)

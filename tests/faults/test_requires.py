"""Every check lists what it reads: a type read but not in ``requires`` is judged on stale or missing
data without the check ever answering UNKNOWN for it (issue 23, section 5).

Each check runs on the catalogue's own pass and fail snapshots through a snapshot that writes down
every resource type the check asks for (``of``, ``one``, ``covered``); whatever it asked for must be
among its ``requires``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from iam_audit.checks.base import REGISTRY, Item, Snapshot, all_checks
from tests.iam_audit.checks.test_catalogue import CASES

# Checks that scan the whole inventory (every type, ``snap.items``) and judge its coverage themselves
# (region by region: what was not collected completely makes them UNKNOWN, see their code)
WHOLE_INVENTORY = {"inventory.unexpected_region"}
# Checks that read more types than they require and judge those types' coverage themselves: a failure
# on what was found stands, a pass needs every one of them collected completely (see their code).
# Each undeclared type they read must be one they ask ``covered()`` about.
SELF_COVERED = {"org.root_has_resources"}


class RecordingSnapshot(Snapshot):
    """A snapshot that notes every type looked up, and whether all items were read at once."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.read: set[str] = set()
        self.asked: set[str] = set()
        self.all_items = False

    def of(self, type_: str, region: str | None = None) -> list[Item]:
        self.read.add(type_)
        return super().of(type_, region)

    def one(self, type_: str, region: str | None = None) -> Item | None:
        self.read.add(type_)
        return super().one(type_, region)

    def covered(self, type_: str, region: str | None = None) -> bool:
        self.read.add(type_)
        self.asked.add(type_)
        return super().covered(type_, region)

    def __getattribute__(self, name: str) -> Any:
        if name == "items":
            object.__setattr__(self, "all_items", True)
        return super().__getattribute__(name)


def _recording(snap: Snapshot) -> RecordingSnapshot:
    fields = {f.name: getattr(snap, f.name) for f in dataclasses.fields(snap)}
    recording = RecordingSnapshot(**fields)
    recording.all_items = False  # building the index read them, the check has not yet
    return recording


def _reads(check_id: str) -> tuple[set[str], set[str], bool]:
    """(types read, types whose coverage it asked about, read every item) over both cases."""
    chk = REGISTRY[check_id]
    read: set[str] = set()
    asked: set[str] = set()
    whole = False
    for build in CASES[check_id]:
        snap = _recording(build())
        list(chk.fn(snap))
        read |= snap.read
        asked |= snap.asked
        whole = whole or snap.all_items
    return read, asked, whole


@pytest.mark.parametrize("check_id", sorted(c.id for c in all_checks()))
def test_every_type_a_check_reads_is_in_its_requires(check_id: str) -> None:
    read, asked, whole = _reads(check_id)
    chk = REGISTRY[check_id]
    undeclared = read - set(chk.requires)
    if check_id in SELF_COVERED:
        assert undeclared and undeclared <= asked, f"{check_id} reads {sorted(undeclared - asked)} unjudged"
        return
    assert not undeclared, f"{check_id} reads {sorted(undeclared)} undeclared"
    assert not whole or check_id in WHOLE_INVENTORY, f"{check_id} reads every item: list what it needs"


def test_the_recorder_sees_what_a_check_reads() -> None:
    """The recorder itself: a check reading an undeclared type is caught (the test above can fail)."""
    snap = _recording(CASES["s3.public_acl"][1]())
    snap.of("ec2:managed-prefix-list")
    snap.one("s3:account-public-access-block")
    assert snap.read == {"ec2:managed-prefix-list", "s3:account-public-access-block"}
    assert not snap.asked and not snap.all_items
    len(snap.items)
    assert snap.all_items

"""Checks: pure functions over an account snapshot, joined to a registry by a decorator. No Django.

A check declares its metadata and the resource types it reads (``requires``). The engine (Django
side) builds a :class:`Snapshot` per account from stored resources, calls :func:`evaluate` and
stores findings. If a required type was not collected completely at all (its global pass, or every
region), the check reports UNKNOWN for the account instead of running, so missing data is never a
"pass". If only some regions could not be read, the check runs and keeps its per-region results:
a failure in a region that was read stays a failure, and what rests on an unreadable region is
UNKNOWN (see :func:`evaluate`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from inventory.records import GLOBAL_REGION, Coverage


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def weight(self) -> int:
        return {"critical": 100, "high": 70, "medium": 40, "low": 15, "informational": 5}[self.value]


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"


class Exposure(enum.StrEnum):
    """What makes a failure more urgent (used by the priority score)."""

    NONE = ""
    INTERNET = "internet"  # reachable from the internet
    PUBLIC = "public"  # shared with everyone (public bucket, snapshot, AMI, trust '*')
    EXTERNAL = "external"  # shared with / reachable from outside the organisation


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """A stored resource as checks see it (mirrors inventory.records.Record)."""

    type: str
    arn: str
    resource_id: str
    name: str
    region: str
    tags: Mapping[str, str]
    data: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class OrgContext:
    """What is known about the organisation the account belongs to (may be empty)."""

    org_id: str = ""
    management_account_id: str = ""
    member_account_ids: frozenset[str] = frozenset()
    # accounts the security team designated as identity accounts (a guess from a name does not count);
    # empty: none is designated, and which users are "outside" it cannot be said
    identity_account_ids: frozenset[str] = frozenset()
    # organisation trails that are logging, as Items from the management account
    org_trails: tuple[Item, ...] = ()
    # GuardDuty organisation-wide: the regions where a delegated admin auto-enables members
    org_guardduty_regions: frozenset[str] = frozenset()
    # SCPs that apply to this account: (policy id, name, document)
    scps: tuple[tuple[str, str, Mapping[str, Any]], ...] = ()
    # where the account sits: the names of the root and each OU down to its parent ("Root",
    # "Workloads", "Prod"); None when not known
    parent_path: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AccountFacts:
    account_id: str
    name: str = ""
    environment: str = "other"  # accounts.choices.Environment values
    environment_guessed: bool = False  # guessed from the account / OU name, not set by a person
    status: str = "active"
    allowed_regions: tuple[str, ...] = ()  # empty = all
    partition: str = "aws"
    read_role_name: str = ""

    @property
    def is_management(self) -> bool:
        return self.environment == "org-root"


@dataclasses.dataclass
class Snapshot:
    """One account's stored resources (not deleted), its collection coverage and context."""

    account: AccountFacts
    org: OrgContext = dataclasses.field(default_factory=OrgContext)
    items: Sequence[Item] = ()
    # (type, region) -> Coverage; regions the account was collected in
    coverage: Mapping[tuple[str, str], Coverage] = dataclasses.field(default_factory=dict)
    regions: tuple[str, ...] = ()
    # e.g. {"access_check_ok": True, "now": "2026-11-29T00:00:00+00:00", "unused_days": 90}
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        by_type: dict[str, list[Item]] = defaultdict(list)
        for item in self.items:
            by_type[item.type].append(item)
        self._by_type = dict(by_type)

    def of(self, type_: str, region: str | None = None) -> list[Item]:
        found = self._by_type.get(type_, [])
        return found if region is None else [i for i in found if i.region == region]

    def one(self, type_: str, region: str | None = None) -> Item | None:
        found = self.of(type_, region)
        return found[0] if found else None

    def covered(self, type_: str, region: str | None = None) -> bool:
        """True when ``type_`` was collected completely (in ``region``, or everywhere it applies)."""
        if region is not None:
            return self.coverage.get((type_, region)) == Coverage.OK
        keys = [k for k in self.coverage if k[0] == type_]
        return bool(keys) and all(self.coverage[k] == Coverage.OK for k in keys)

    @property
    def account_arn(self) -> str:
        return f"arn:{self.account.partition}:iam::{self.account.account_id}:root"


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one check for one subject."""

    subject: str  # ARN (or pseudo-ARN) of what was evaluated; the account ARN for account scope
    status: Status
    evidence: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    region: str = GLOBAL_REGION
    resource_type: str = ""  # empty for account scope
    summary: str = ""  # one line for the list: "sg-123 allows 0.0.0.0/0 on 22"
    exposure: Exposure = Exposure.NONE

    @classmethod
    def fail(cls, subject: str, summary: str, evidence: Mapping[str, Any] | None = None, **kw: Any) -> Result:
        return cls(subject=subject, status=Status.FAIL, summary=summary, evidence=evidence or {}, **kw)

    @classmethod
    def ok(
        cls, subject: str, summary: str = "", evidence: Mapping[str, Any] | None = None, **kw: Any
    ) -> Result:
        return cls(subject=subject, status=Status.PASS, summary=summary, evidence=evidence or {}, **kw)


@dataclasses.dataclass(frozen=True)
class Check:
    id: str  # stable: people suppress and script against it
    title: str
    service: str
    scope: str  # "account" | "resource"
    severity: Severity
    description: str
    risk: str
    remediation: str  # steps, and the CLI/console action
    references: tuple[str, ...] = ()  # "CIS 1.4", "https://docs.aws.amazon.com/..."
    requires: tuple[str, ...] = ()  # resource types read
    baseline: bool = False
    # types a member account's result reads from the management account (through ``snap.org``):
    # until they are collected there, the engine turns the check's failures into UNKNOWN
    org_requires: tuple[str, ...] = ()
    fn: Callable[[Snapshot], Iterable[Result]] = dataclasses.field(default=lambda s: (), repr=False)

    @property
    def cis(self) -> tuple[str, ...]:
        return tuple(r for r in self.references if r.startswith("CIS "))


REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,
    title: str,
    service: str,
    scope: str,
    severity: Severity | str,
    description: str,
    risk: str,
    remediation: str,
    references: Sequence[str] = (),
    requires: Sequence[str] = (),
    baseline: bool = False,
    org_requires: Sequence[str] = (),
) -> Callable[[Callable[[Snapshot], Iterable[Result]]], Callable[[Snapshot], Iterable[Result]]]:
    """Register a check function under ``id`` with its metadata."""

    def decorate(fn: Callable[[Snapshot], Iterable[Result]]) -> Callable[[Snapshot], Iterable[Result]]:
        if id in REGISTRY:
            raise ValueError(f"duplicate check id {id}")
        REGISTRY[id] = Check(
            id=id,
            title=title,
            service=service,
            scope=scope,
            severity=Severity(severity),
            description=description,
            risk=risk,
            remediation=remediation,
            references=tuple(references),
            requires=tuple(requires),
            baseline=baseline,
            org_requires=tuple(org_requires),
            fn=fn,
        )
        return fn

    return decorate


def all_checks() -> list[Check]:
    from iam_audit import checks as _package  # noqa: F401  (import registers every module)

    return sorted(REGISTRY.values(), key=lambda c: c.id)


def evaluate(chk: Check, snap: Snapshot) -> Iterator[Result]:
    """Run one check; UNKNOWN (for the account) when a required type is not collected at all.

    When a required type was collected completely somewhere but not in some regions, the check is
    run twice, on the whole snapshot (the last known state of the unreadable regions included) and
    on the snapshot without those regions (:func:`_per_region`): a result stands when both agree
    and it does not rest on an unreadable region; anything else is UNKNOWN for its subject.
    """
    missing = [t for t in chk.requires if not snap.covered(t)]
    if not missing:
        yield from chk.fn(snap)
        return
    hopeless = [t for t in missing if not _partly_covered(snap, t)]
    if hopeless:
        yield Result(
            subject=snap.account_arn,
            status=Status.UNKNOWN,
            summary="Not evaluated: data not collected for " + ", ".join(hopeless),
            evidence={
                "missing": hopeless,
                "coverage": {
                    f"{t}@{r}": str(c)
                    for (t, r), c in snap.coverage.items()
                    if t in missing and c != Coverage.OK
                },
            },
        )
        return
    unreadable: dict[str, list[str]] = defaultdict(list)
    for (t, r), c in sorted(snap.coverage.items()):
        if t in chk.requires and c != Coverage.OK and r != GLOBAL_REGION:
            unreadable[r].append(f"{t} {c}")
    yield from _per_region(
        snap, list(chk.fn(snap)), list(chk.fn(_without(snap, set(unreadable)))), unreadable
    )


def _partly_covered(snap: Snapshot, type_: str) -> bool:
    """``type_`` was collected completely in its global pass (if any) and in at least one region."""
    keys = {r: c for (t, r), c in snap.coverage.items() if t == type_}
    if GLOBAL_REGION in keys:
        return keys[GLOBAL_REGION] == Coverage.OK
    return any(c == Coverage.OK for c in keys.values())


def _without(snap: Snapshot, regions: set[str]) -> Snapshot:
    """``snap`` as if ``regions`` did not exist: their items, coverage and names left out."""
    return Snapshot(
        account=snap.account,
        org=snap.org,
        items=[i for i in snap.items if i.region not in regions],
        coverage={k: c for k, c in snap.coverage.items() if k[1] not in regions},
        regions=tuple(r for r in snap.regions if r not in regions),
        facts=snap.facts,
    )


def _per_region(
    snap: Snapshot, full: list[Result], partial: list[Result], unreadable: Mapping[str, list[str]]
) -> Iterator[Result]:
    """Merge the results on the whole snapshot (``full``) and without the unreadable regions.

    - a result in an unreadable region: UNKNOWN (its data is the last known state);
    - a failure that is also one without those regions: FAIL, noting the unreadable regions;
    - a pass of a subject in a region that was read, also a pass without the others: PASS;
    - a pass of the account as a whole: UNKNOWN (it cannot speak for the regions not read);
    - anything the two runs disagree on: UNKNOWN;
    and one UNKNOWN per unreadable region, so that nothing there is ever taken for a pass.
    """
    note = "; ".join(f"{r}: {', '.join(why)}" for r, why in sorted(unreadable.items()))
    regions = sorted(unreadable)
    seen: dict[str, set[Status]] = defaultdict(set)
    for r in partial:
        seen[r.subject].add(r.status)

    def unknown(r: Result, why: str) -> Result:
        return dataclasses.replace(
            r,
            status=Status.UNKNOWN,
            summary=f"{r.summary} (not evaluated: {why})" if r.summary else f"Not evaluated: {why}",
            evidence={**r.evidence, "unreadable_regions": dict(unreadable)},
            exposure=Exposure.NONE,
        )

    for r in full:
        if r.status == Status.UNKNOWN:
            yield r
        elif r.region in unreadable:
            yield unknown(r, f"{r.region} could not be read ({', '.join(unreadable[r.region])})")
        elif r.status not in seen.get(r.subject, set()):
            yield unknown(r, f"it rests on data of {', '.join(regions)}, which could not be read")
        elif r.status == Status.FAIL:
            yield dataclasses.replace(
                r,
                summary=f"{r.summary} (not evaluated in {', '.join(regions)}: could not be read)",
                evidence={**r.evidence, "unreadable_regions": dict(unreadable)},
            )
        elif r.subject == snap.account_arn and r.status == Status.PASS:
            yield unknown(r, f"{', '.join(regions)} could not be read")
        else:
            yield r
    for region in regions:
        yield Result(
            subject=f"{snap.account_arn}/region/{region}",
            status=Status.UNKNOWN,
            region=region,
            summary=f"Not evaluated in {region}: {', '.join(unreadable[region])}",
            evidence={"unreadable_regions": {region: unreadable[region]}, "all": note},
        )

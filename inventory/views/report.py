"""The inventory report (what CloudMapper's report gave people), and the counts behind it.

Everything comes from ONE grouped query over live resources -- ``GROUP BY account, region,
service`` -- so the page costs the same few queries whatever the estate's size; the sums per
account, per region and per service are then taken over those groups (hundreds or thousands of
rows), never over resources. "Unexpected" regions compare each account's regions in use with
:meth:`accounts.models.AwsAccount.effective_allowed_regions` (empty: every region is allowed;
``global`` is never unexpected).

Cost at scale: on PostgreSQL the grouped query is one parallel sequential scan of the live rows
(about a second for a million resources on a busy two-core test machine with the default 128 MB
of shared buffers; it is also what the home page runs). Should that become too slow, per-(account,
region, type) counts kept up to date by ingest could feed :class:`EstateCounts` without changing
the pages.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import AwsAccount
from core.ui import url_or_none
from inventory import charts
from inventory.models import CollectionRun, CoverageRecord, CoverageState, Resource, SkippedReason
from inventory.records import GLOBAL_REGION
from inventory.services.runs import STORED_STATES, last_collection, last_collections
from inventory.tables import type_title


@dataclasses.dataclass(frozen=True)
class Group:
    """Live resources of one (account, region, service)."""

    account_id: int
    region: str
    service: str
    count: int


@dataclasses.dataclass
class EstateCounts:
    """The grouped live counts and the sums the pages show."""

    groups: list[Group]
    total: int = 0
    by_account: Counter[int] = dataclasses.field(default_factory=Counter)
    by_region: Counter[str] = dataclasses.field(default_factory=Counter)
    by_service: Counter[str] = dataclasses.field(default_factory=Counter)
    by_account_region: Counter[tuple[int, str]] = dataclasses.field(default_factory=Counter)
    by_region_service: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)

    def __post_init__(self) -> None:
        for g in self.groups:
            self.total += g.count
            self.by_account[g.account_id] += g.count
            self.by_region[g.region] += g.count
            self.by_service[g.service] += g.count
            self.by_account_region[(g.account_id, g.region)] += g.count
            self.by_region_service[(g.region, g.service)] += g.count


def live_groups(**filters: Any) -> list[Group]:
    """Live resources counted per (account, region, service) in the database (one query)."""
    rows = (
        Resource.objects.filter(deleted_at__isnull=True, **filters)
        .order_by()
        .values_list("account_id", "region", "service")
        .annotate(n=Count("pk"))
    )
    return [Group(account_id=a, region=r, service=s, count=n) for a, r, s, n in rows]


def estate_counts(**filters: Any) -> EstateCounts:
    """:func:`live_groups` with their sums."""
    return EstateCounts(groups=live_groups(**filters))


def resources_url(**params: Any) -> str:
    """The resource list filtered by ``params`` (empty values left out)."""
    base = url_or_none("inventory:resource_list") or ""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


def region_sort_key(region: str) -> tuple[int, str]:
    """``global`` first, then regions by name."""
    return (0 if region == GLOBAL_REGION else 1, region)


def is_unexpected(region: str, allowed: set[str]) -> bool:
    """A region outside a non-empty allow-list (``global`` is where global services live: never)."""
    return bool(allowed) and region != GLOBAL_REGION and region not in allowed


@dataclasses.dataclass(frozen=True)
class RegionUse:
    region: str
    count: int
    unexpected: bool
    url: str


@dataclasses.dataclass(frozen=True)
class AccountRow:
    account: AwsAccount
    total: int
    cells: list[tuple[int, str]]  # (count, url) per region column; count 0 means none
    regions: list[RegionUse]
    allowed: list[str]
    url: str

    @property
    def unexpected(self) -> list[RegionUse]:
        return [use for use in self.regions if use.unexpected]


@dataclasses.dataclass(frozen=True)
class NotLookedAt:
    """What one account's latest collection did not look at (or that it was never collected)."""

    account: AwsAccount
    collected: bool  # False: not collected yet, nothing about it is known
    run: CollectionRun | None
    groups: list[tuple[str, str, list[str]]]  # (reason, label, regions), in SkippedReason order

    @property
    def regions(self) -> int:
        return sum(len(regions) for _, _, regions in self.groups)

    @property
    def worth_saying(self) -> bool:
        """Not collected, or a region other than an opt-in one left out (AWS's default for every account)."""
        return not self.collected or any(reason != SkippedReason.NOT_ENABLED for reason, _, _ in self.groups)


def not_looked_at(account: AwsAccount, run: CollectionRun | None) -> NotLookedAt:
    """The regions ``run`` (the account's latest stored collection) left out, grouped by reason.

    Before the first collection the security team's exclusions are all that is known.
    """
    labels = dict(SkippedReason.choices)
    by_reason: dict[str, list[str]] = defaultdict(list)
    if run is not None:
        for entry in run.skipped_regions:
            by_reason[entry.get("reason", "")].append(entry.get("region", ""))
    else:
        for region in account.collection_exclusions():
            by_reason[SkippedReason.EXCLUDED.value].append(region)
    groups = [
        (reason, str(labels.get(reason, reason)), sorted(by_reason[reason]))
        for reason in [*SkippedReason.values, *sorted(set(by_reason) - set(SkippedReason.values))]
        if by_reason.get(reason)
    ]
    return NotLookedAt(account=account, collected=run is not None, run=run, groups=groups)


def estate_not_looked_at() -> list[NotLookedAt]:
    """:func:`not_looked_at` of every account with collection on (two queries), by name."""
    accounts = list(AwsAccount.objects.filter(collection_enabled=True).order_by("name", "account_id"))
    runs = last_collections(accounts)
    return [not_looked_at(account, runs.get(account.pk)) for account in accounts]


def report_context(counts: EstateCounts) -> dict[str, Any]:
    """Tables, heat map and unexpected regions from grouped counts (plus one query for accounts)."""
    accounts = {a.pk: a for a in AwsAccount.objects.filter(pk__in=list(counts.by_account))}
    columns = sorted(counts.by_region, key=region_sort_key)
    regions_of: defaultdict[int, list[str]] = defaultdict(list)
    for account_pk, region in counts.by_account_region:
        regions_of[account_pk].append(region)
    rows: list[AccountRow] = []
    for account_pk, total in counts.by_account.items():
        account = accounts.get(account_pk)
        if account is None:  # deleted between the two queries
            continue
        allowed = set(account.effective_allowed_regions())
        in_use = sorted(regions_of[account_pk], key=region_sort_key)
        uses = [
            RegionUse(
                region=region,
                count=counts.by_account_region[(account_pk, region)],
                unexpected=is_unexpected(region, allowed),
                url=resources_url(account_id=account_pk, region=region),
            )
            for region in in_use
        ]
        rows.append(
            AccountRow(
                account=account,
                total=total,
                cells=[
                    (
                        counts.by_account_region.get((account_pk, region), 0),
                        resources_url(account_id=account_pk, region=region),
                    )
                    for region in columns
                ],
                regions=uses,
                allowed=sorted(allowed),
                url=resources_url(account_id=account_pk),
            )
        )
    rows.sort(key=lambda row: (row.account.name.lower(), row.account.account_id))
    unexpected = [(row, use) for row in rows for use in row.unexpected]
    heat_links = {pair: resources_url(region=pair[0], service=pair[1]) for pair in counts.by_region_service}
    return {
        "total": counts.total,
        "account_rows": rows,
        "region_columns": [
            (region, counts.by_region[region], resources_url(region=region)) for region in columns
        ],
        "service_count": len(counts.by_service),
        "unexpected": unexpected,
        "unexpected_total": sum(use.count for _, use in unexpected),
        "heatmap": charts.heatmap(counts.by_region_service, heat_links),
    }


def report(request: HttpRequest) -> HttpResponse:
    """Resources per account and region, the region × service heat map, regions in use, surprises."""
    context = report_context(estate_counts())
    context["resource_list_url"] = url_or_none("inventory:resource_list")
    context["not_looked_at"] = [row for row in estate_not_looked_at() if row.worth_saying]
    return render(request, "inventory/report.html", context)


# --- the account page's panel --------------------------------------------------------------------

COVERAGE_SHOWN = 200


@dataclasses.dataclass(frozen=True)
class CoverageProblem:
    """One resource type that was not collected completely, and where."""

    type: str
    title: str
    places: list[CoverageRecord]


def account_panel(request: HttpRequest | None, account: AwsAccount) -> dict[str, Any]:
    """The inventory panel of an account page: counts, the latest run, the regions not looked at,
    collection gaps (at most 5 queries)."""
    counts = estate_counts(account=account)
    allowed = set(account.effective_allowed_regions())
    regions = [
        RegionUse(
            region=region,
            count=n,
            unexpected=is_unexpected(region, allowed),
            url=resources_url(account_id=account.pk, region=region),
        )
        for region, n in sorted(counts.by_region.items(), key=lambda item: region_sort_key(item[0]))
    ]
    services = [
        (service, n, resources_url(account_id=account.pk, service=service))
        for service, n in counts.by_service.most_common()
    ]
    last_run = CollectionRun.objects.filter(account=account).order_by("-created", "-pk").first()
    if last_run is None or last_run.state in STORED_STATES:
        stored = last_run  # no query: none at all, or the latest is the one
    else:
        stored = last_collection(account)
    skipped = not_looked_at(account, stored)
    # a region denied as a whole is said once, under "not looked at", not once per resource type
    denied = next((regions for reason, _, regions in skipped.groups if reason == SkippedReason.DENIED), [])
    gaps = list(
        CoverageRecord.objects.filter(account=account)
        .exclude(coverage=CoverageState.OK)
        .exclude(region__in=denied)
        .order_by("type", "region")[: COVERAGE_SHOWN + 1]
    )
    by_type: dict[str, list[CoverageRecord]] = defaultdict(list)
    for record in gaps[:COVERAGE_SHOWN]:
        by_type[record.type].append(record)
    problems = [CoverageProblem(type=t, title=type_title(t), places=places) for t, places in by_type.items()]
    return {
        "total": counts.total,
        "services": services,
        "regions": regions,
        "unexpected": [use for use in regions if use.unexpected],
        "last_run": last_run,
        "not_looked_at": skipped,
        "allowed": sorted(allowed),
        "allowed_is_default": account.allowed_regions_are_default,
        "coverage_problems": problems,
        "more_coverage_problems": len(gaps) > COVERAGE_SHOWN,
        "resources_url": resources_url(account_id=account.pk),
        "report_url": url_or_none("inventory:report"),
    }

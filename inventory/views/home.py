"""The inventory part of the home page: totals, charts, refresh times, recent failures.

``config.views.home`` calls :func:`home_context` and the page includes
``inventory/includes/home_inventory.html``; everything sits under the one ``inventory`` key so it
cannot collide with what other apps add. A constant handful of queries: the grouped live counts,
the top accounts' names, the latest finished run, the active-run count, the schedule and the
recent failures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import AwsAccount
from accounts.permissions import is_security
from core.ui import url_or_none
from inventory import charts
from inventory.models import ACTIVE_STATES, CollectionRun, RunState
from inventory.services.workers import StalledQueue, stalled_queue
from inventory.views.report import estate_counts, estate_not_looked_at, resources_url

log = logging.getLogger(__name__)

REFRESH_TASK_NAME = "Refresh all accounts"  # the beat schedule created by migration 0003
TOP_ACCOUNTS = 15
FAILED_WINDOW = dt.timedelta(days=7)
FAILED_SHOWN = 8


@dataclasses.dataclass(frozen=True)
class RefreshSchedule:
    """The beat schedule as people read it."""

    enabled: bool
    every: str  # "every 6 hours", or a crontab line
    last_run_at: dt.datetime | None
    next_at: dt.datetime | None  # None: disabled, or not run by the scheduler yet

    @property
    def overdue(self) -> bool:
        # a schedule that should have fired a while ago: usually celery beat is not running
        return (
            self.enabled
            and self.next_at is not None
            and self.next_at < timezone.now() - dt.timedelta(minutes=5)
        )


def refresh_schedule() -> RefreshSchedule | None:
    """The "Refresh all accounts" periodic task, or None when it was removed."""
    task = (
        PeriodicTask.objects.select_related("interval", "crontab", "solar", "clocked")
        .filter(name=REFRESH_TASK_NAME)
        .first()
    )
    if task is None:
        return None
    try:
        every = str(task.scheduler)
    except Exception:  # noqa: BLE001  (a schedule row without a schedule: admin allows odd states)
        every = "no schedule"
    base = task.last_run_at or task.start_time
    next_at = None
    if task.enabled and base is not None:
        try:
            next_at = timezone.now() + task.schedule.remaining_estimate(base)
        except Exception:  # noqa: BLE001  (solar/clocked edge cases: show no estimate rather than fail)
            log.warning("could not estimate the next run of %r", task.name, exc_info=True)
    return RefreshSchedule(enabled=task.enabled, every=every, last_run_at=task.last_run_at, next_at=next_at)


@dataclasses.dataclass(frozen=True)
class HomeInventory:
    total: int
    account_count: int
    region_count: int
    service_count: int
    top_accounts: list[tuple[AwsAccount, int, str]]
    by_service_chart: str
    by_region_chart: str
    by_account_chart: str
    last_run: CollectionRun | None
    active_runs: int
    schedule: RefreshSchedule | None
    failed_runs: list[CollectionRun]
    stalled_queue: StalledQueue | None
    resource_list_url: str | None
    report_url: str | None
    run_list_url: str | None
    refresh_all_url: str | None
    not_collected: int = 0  # accounts with collection on that were never collected
    regions_left_out: int = 0  # accounts whose latest collection left out regions (not opt-in ones)


def home_context(request: HttpRequest) -> dict[str, Any]:
    """``{"inventory": HomeInventory}`` for ``inventory/includes/home_inventory.html``."""
    counts = estate_counts()
    top = counts.by_account.most_common(TOP_ACCOUNTS)
    names = {a.pk: a for a in AwsAccount.objects.filter(pk__in=[pk for pk, _ in top])}
    top_accounts = [(names[pk], n, resources_url(account_id=pk)) for pk, n in top if pk in names]
    services = counts.by_service.most_common()
    regions = counts.by_region.most_common()
    last_run = (
        CollectionRun.objects.filter(state__in=[RunState.DONE, RunState.PARTIAL, RunState.FAILED])
        .select_related("account")
        .order_by("-created", "-pk")
        .first()
    )
    failed = list(
        CollectionRun.objects.filter(
            state__in=[RunState.FAILED, RunState.PARTIAL], created__gte=timezone.now() - FAILED_WINDOW
        )
        .select_related("account")
        .order_by("-created", "-pk")[:FAILED_SHOWN]
    )
    left_out = estate_not_looked_at()
    inventory = HomeInventory(
        not_collected=sum(1 for row in left_out if not row.collected),
        regions_left_out=sum(1 for row in left_out if row.collected and row.worth_saying),
        total=counts.total,
        account_count=len(counts.by_account),
        region_count=len(counts.by_region),
        service_count=len(counts.by_service),
        top_accounts=top_accounts,
        by_service_chart=charts.bar(services, links=[resources_url(service=s) for s, _ in services]),
        by_region_chart=charts.bar(regions, links=[resources_url(region=r) for r, _ in regions]),
        by_account_chart=charts.bar(
            [(account.name, n) for account, n, _ in top_accounts],
            links=[url for _, _, url in top_accounts],
            horizontal=True,
        ),
        last_run=last_run,
        active_runs=CollectionRun.objects.filter(state__in=ACTIVE_STATES).count(),
        schedule=refresh_schedule(),
        failed_runs=failed,
        stalled_queue=stalled_queue(),
        resource_list_url=url_or_none("inventory:resource_list"),
        report_url=url_or_none("inventory:report"),
        run_list_url=url_or_none("inventory:run_list"),
        refresh_all_url=url_or_none("inventory:refresh_all") if is_security(request.user) else None,
    )
    return {"inventory": inventory}

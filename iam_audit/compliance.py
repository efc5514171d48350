"""The compliance baseline: accounts × baseline items, what applies where, and compliance percentages.

A baseline item (:data:`iam_audit.checks.BASELINE_ITEMS`) is an account-scope check. Its cell for one
account is read from the stored :class:`~iam_audit.models.CheckResult`:

- *not applicable* when the item is switched off for the account's environment (the code default in
  :data:`~iam_audit.checks.BASELINE_OFF_BY_DEFAULT`, overridden by :class:`BaselineSetting` rows), or
  when the check itself answered not-applicable;
- *unknown* when there is no result yet, the data was not collected, or the item was switched on
  after the last evaluation;
- otherwise *pass* or *fail* (linked to its finding).

Compliance = passed / applicable items (unknown counts as applicable: missing data is not a pass).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from typing import Any

from django.db.models import (
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from accounts.choices import Environment
from accounts.models import AwsAccount
from iam_audit.checks import BASELINE_ITEMS, BASELINE_OFF_BY_DEFAULT
from iam_audit.choices import CheckState, FindingStatus
from iam_audit.models import BaselineSetting, CheckResult, Finding

# The engine's not-applicable answer for an item switched off (see engine.run_checks).
SWITCHED_OFF_PREFIX = "Baseline item switched off"
NOT_EVALUATED = "Not evaluated yet: no check run has covered this account."
SWITCHED_ON_LATE = "Switched on after the last evaluation: the next check run evaluates it."

SHORT = {
    CheckState.PASS: "pass",
    CheckState.FAIL: "fail",
    CheckState.UNKNOWN: "unknown",
    CheckState.NOT_APPLICABLE: "n/a",
}


def item_ids() -> list[str]:
    """The baseline check ids in display order."""
    return [check_id for _, check_id in BASELINE_ITEMS]


def default_off(environment: str) -> frozenset[str]:
    return frozenset(BASELINE_OFF_BY_DEFAULT.get(environment, frozenset()))


def switched_off() -> dict[str, frozenset[str]]:
    """Environment -> baseline items switched off there (code defaults, then the settings). One query."""
    off = {env.value: set(default_off(env.value)) for env in Environment}
    for check_id, environment, enabled in BaselineSetting.objects.values_list(
        "check_id", "environment", "enabled"
    ):
        bucket = off.setdefault(environment, set())
        if enabled:
            bucket.discard(check_id)
        else:
            bucket.add(check_id)
    return {env: frozenset(ids) for env, ids in off.items()}


def save_settings(wanted: Mapping[tuple[str, str], bool], user: Any) -> int:
    """Store which items are on per environment: ``{(check_id, environment): enabled}``.

    A cell equal to the code default keeps no row (so a later change of the default applies);
    returns the number of cells whose effective value changed.
    """
    current = switched_off()
    changed = 0
    for (check_id, environment), enabled in wanted.items():
        if check_id not in item_ids() or environment not in Environment.values:
            continue
        was_enabled = check_id not in current.get(environment, frozenset())
        if was_enabled != enabled:
            changed += 1
        default_enabled = check_id not in default_off(environment)
        if enabled == default_enabled:
            BaselineSetting.objects.filter(check_id=check_id, environment=environment).delete()
        else:
            BaselineSetting.objects.update_or_create(
                check_id=check_id,
                environment=environment,
                defaults={"enabled": enabled, "updated_by": user if getattr(user, "pk", None) else None},
            )
    return changed


@dataclasses.dataclass(frozen=True)
class Cell:
    """One account × item: its state, the reason to show, and the finding to open when it fails."""

    check_id: str
    label: str
    state: str
    reason: str = ""
    finding_id: int | None = None
    # a failure found where the data was read, while some of it (a region) could not be: say so
    note: str = ""

    @property
    def short(self) -> str:
        return SHORT.get(self.state, self.state)  # type: ignore[call-overload]


@dataclasses.dataclass
class Row:
    """One account's line of the matrix."""

    account: AwsAccount
    cells: list[Cell]
    evaluated: bool = True  # False when no check run has stored a result for the account yet

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cells if c.state == CheckState.PASS)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cells if c.state == CheckState.FAIL)

    @property
    def unknown(self) -> int:
        return sum(1 for c in self.cells if c.state == CheckState.UNKNOWN)

    @property
    def applicable(self) -> int:
        return sum(1 for c in self.cells if c.state != CheckState.NOT_APPLICABLE)

    @property
    def percent(self) -> float | None:
        """Passed / applicable in percent; None when nothing applies or nothing was evaluated yet."""
        if not self.applicable or not self.evaluated:
            return None
        return 100.0 * self.passed / self.applicable


def cell_for(
    check_id: str,
    label: str,
    environment_label: str,
    off: bool,
    result: CheckResult | None,
    finding_id: int | None,
) -> Cell:
    """The cell of one item for one account (pure: the inputs are already loaded)."""
    if off:
        return Cell(check_id, label, CheckState.NOT_APPLICABLE, f"Switched off for {environment_label}.")
    if result is None:
        return Cell(check_id, label, CheckState.UNKNOWN, NOT_EVALUATED)
    state, detail = result.state, result.detail
    if state == CheckState.NOT_APPLICABLE and detail.startswith(SWITCHED_OFF_PREFIX):
        return Cell(check_id, label, CheckState.UNKNOWN, SWITCHED_ON_LATE)
    if state == CheckState.FAIL:
        note = f"{result.unknown} not evaluated" if result.unknown else ""
        return Cell(check_id, label, state, detail or "Fails.", finding_id, note)
    if state == CheckState.PASS:
        return Cell(check_id, label, state, detail)
    return Cell(
        check_id, label, state, detail or ("Not applicable." if state == CheckState.NOT_APPLICABLE else "")
    )


def matrix(accounts: Iterable[AwsAccount]) -> list[Row]:
    """The baseline matrix for ``accounts`` in their order: two queries, whatever the size."""
    accounts = list(accounts)
    ids = item_ids()
    off = switched_off()
    pks = [a.pk for a in accounts]
    # one query: the results, each with the most urgent unresolved finding of its (account, check)
    finding = (
        Finding.objects.filter(account_id=OuterRef("account_id"), check_id=OuterRef("check_id"))
        .exclude(status=FindingStatus.RESOLVED)
        .order_by("-priority", "pk")
        .values("pk")[:1]
    )
    results: dict[tuple[int, str], CheckResult] = {}
    findings: dict[tuple[int, str], int] = {}
    for result in (
        CheckResult.objects.filter(account_id__in=pks, check_id__in=ids)
        .only("account_id", "check_id", "state", "detail", "unknown")
        .annotate(finding_id=Subquery(finding, output_field=IntegerField()))
    ):
        results[(result.account_id, result.check_id)] = result
        if result.finding_id is not None:
            findings[(result.account_id, result.check_id)] = result.finding_id
    rows = []
    for account in accounts:
        env_off = off.get(account.environment, frozenset())
        env_label = account.get_environment_display()
        cells = [
            cell_for(
                check_id,
                label,
                env_label,
                check_id in env_off,
                results.get((account.pk, check_id)),
                findings.get((account.pk, check_id)),
            )
            for label, check_id in BASELINE_ITEMS
        ]
        evaluated = any((account.pk, check_id) in results for check_id in ids)
        rows.append(Row(account, cells, evaluated))
    return rows


def sort_rows(rows: list[Row], key: str) -> list[Row]:
    """Sort by ``compliance`` / ``-compliance`` (unevaluated last either way) or by account ``name``."""
    if key in ("compliance", "-compliance"):
        reverse = key.startswith("-")
        known = sorted(
            (r for r in rows if r.percent is not None),
            key=lambda r: (r.percent, r.account.name.casefold()),
            reverse=reverse,
        )
        return known + [r for r in rows if r.percent is None]
    if key == "-name":
        return sorted(rows, key=lambda r: r.account.name.casefold(), reverse=True)
    return sorted(rows, key=lambda r: r.account.name.casefold())


def export_rows(rows: Sequence[Row]) -> Iterable[list[Any]]:
    """A header, then one line per account: id, name, environment, compliance, then each item's state."""
    yield ["Account ID", "Account", "Environment", "Compliance %", "Passed", "Applicable"] + [
        label for label, _ in BASELINE_ITEMS
    ]
    for row in rows:
        percent = row.percent
        yield [
            row.account.account_id,
            row.account.name,
            row.account.get_environment_display(),
            "" if percent is None else round(percent, 1),
            row.passed,
            row.applicable,
            *[_export_cell(cell) for cell in row.cells],
        ]


def _export_cell(cell: Cell) -> str:
    if cell.state in (CheckState.PASS, CheckState.FAIL) or not cell.reason:
        return cell.short
    return f"{cell.short}: {cell.reason}"


# --- the accounts list column: the same numbers in SQL (sortable, no query per row) ---------------


def _count(condition: Q) -> Coalesce:
    rows = (
        CheckResult.objects.filter(account=OuterRef("pk"))
        .filter(condition)
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def annotate_compliance(queryset: QuerySet[AwsAccount]) -> QuerySet[AwsAccount]:
    """Add ``baseline_passed``, ``baseline_applicable`` and ``baseline_compliance`` (percent or NULL).

    Mirrors :func:`matrix`: items switched off for the account's environment do not count, nor do
    not-applicable answers; a missing result counts as unknown (applicable, not passed).
    """
    ids = item_ids()
    off = switched_off()
    enabled = {env.value: [i for i in ids if i not in off.get(env.value, frozenset())] for env in Environment}
    in_scope = reduce(
        operator.or_,
        [Q(account__environment=env, check_id__in=items) for env, items in enabled.items() if items],
        Q(pk__in=[]),
    )
    na = Q(state=CheckState.NOT_APPLICABLE) & ~Q(detail__startswith=SWITCHED_OFF_PREFIX)
    n_enabled = Case(
        *[When(environment=env, then=Value(len(items))) for env, items in enabled.items()],
        default=Value(len(ids)),
        output_field=IntegerField(),
    )
    return queryset.annotate(
        baseline_passed=_count(in_scope & Q(state=CheckState.PASS)),
        baseline_evaluated=_count(in_scope),
        baseline_applicable=ExpressionWrapper(n_enabled - _count(in_scope & na), output_field=IntegerField()),
    ).annotate(
        baseline_compliance=Case(
            When(
                Q(baseline_applicable__gt=0) & Q(baseline_evaluated__gt=0),
                then=ExpressionWrapper(
                    Cast(F("baseline_passed"), FloatField())
                    * Value(100.0)
                    / Cast(F("baseline_applicable"), FloatField()),
                    output_field=FloatField(),
                ),
            ),
            default=Value(None),
            output_field=FloatField(),
        )
    )

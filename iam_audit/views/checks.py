"""The checks catalogue: every check with its metadata and how it fares across the estate.

Readable by every logged-in user; nothing here changes data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.exporting import EXPORT_FORMATS, csv_response, xlsx_response
from core.ui import selected_columns, table_rows
from iam_audit import engine
from iam_audit.choices import ACTIVE_STATUSES, SEVERITY_ORDER, CheckState, FindingStatus
from iam_audit.filtersets import CheckFilterForm
from iam_audit.models import CheckResult, Finding
from iam_audit.tables import CheckTable
from iam_audit.views.findings import reference_links, remediation_blocks

CATALOGUE_PER_PAGE = 200


def export_query(params: QueryDict, fmt: str) -> str:
    """The current query string with ``export=fmt`` (and no page)."""
    query = params.copy()
    query.pop("page", None)
    query["export"] = fmt
    return "?" + query.urlencode()


def estate_counts() -> dict[str, dict[str, int]]:
    """Per check id: subjects failing / passing / unknown and accounts failing / unknown (one query)."""
    rows = CheckResult.objects.values("check_id").annotate(
        failing=Sum("failed"),
        passing=Sum("passed"),
        unknown=Sum("unknown"),
        accounts_failing=Count("pk", filter=Q(state=CheckState.FAIL)),
        accounts_unknown=Count("pk", filter=Q(state=CheckState.UNKNOWN)),
        accounts_passing=Count("pk", filter=Q(state=CheckState.PASS)),
        accounts_na=Count("pk", filter=Q(state=CheckState.NOT_APPLICABLE)),
    )
    # The rows are plain dicts at run time; each is consumed (its check_id popped) as it is read.
    return {
        row.pop("check_id"): {k: int(v or 0) for k, v in row.items()}
        for row in cast("list[dict[str, Any]]", rows)
    }


def open_counts() -> dict[str, int]:
    """Active (open or reopened) findings per check id (one query)."""
    return dict(
        Finding.objects.filter(status__in=ACTIVE_STATUSES)
        .values("check_id")
        .annotate(n=Count("pk"))
        .values_list("check_id", "n")
    )


def catalogue_rows() -> list[dict[str, Any]]:
    """One dict per check: metadata and estate counts (two queries, whatever the estate's size)."""
    counts = estate_counts()
    active = open_counts()
    rows = []
    for check in engine.catalogue().values():
        found = counts.get(check.id, {})
        rows.append(
            {
                "id": check.id,
                "title": check.title,
                "service": check.service,
                "scope": check.scope,
                "severity": str(check.severity),
                "severity_rank": SEVERITY_ORDER.get(str(check.severity), 9),
                "baseline": check.baseline,
                "cis": list(check.cis),
                "description": check.description,
                "failing": found.get("failing", 0),
                "passing": found.get("passing", 0),
                "unknown": found.get("unknown", 0),
                "accounts_failing": found.get("accounts_failing", 0),
                "accounts_unknown": found.get("accounts_unknown", 0),
                "open_findings": active.get(check.id, 0),
            }
        )
    return rows


def check_list(request: HttpRequest) -> HttpResponseBase:
    """Every check with its metadata and estate counts; filterable, sortable, exportable."""
    params = request.GET
    form = CheckFilterForm(params or None)
    rows = catalogue_rows()
    filters_active = bool(params) and any(params.getlist(k) for k in form.fields)
    if form.is_bound:
        rows = [r for r in rows if form.keep(r)] if form.is_valid() else []
    columns, user_picked = selected_columns(CheckTable, params)
    table = CheckTable(rows, request=request)  # ordered from the request's validated ?sort=

    export = params.get("export", "")
    if export in EXPORT_FORMATS:
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        export_rows = table_rows(table, columns if user_picked else CheckTable.column_names())
        if export == "csv":
            return csv_response(f"checks-{stamp}", export_rows)
        return xlsx_response(f"checks-{stamp}", export_rows, sheet_title="Checks")

    for name in table.columns.names():
        if name not in columns:
            table.columns.hide(name)
    table.paginate(page=1, per_page=CATALOGUE_PER_PAGE)
    context = {
        "title": "Checks",
        "table": table,
        "filter_form": form,
        "filters_active": filters_active,
        "column_choices": [
            (name, str(table.columns[name].header), name in columns) for name in CheckTable.column_names()
        ],
        "export_links": [(fmt.upper(), export_query(params, fmt)) for fmt in EXPORT_FORMATS],
        "total": len(rows),
    }
    return render(request, "iam_audit/check_list.html", context)


def check_detail(request: HttpRequest, check_id: str) -> HttpResponse:
    """One check: what it looks for, why it matters, how to fix it, and where it fails or is unknown."""
    check = engine.catalogue().get(check_id)
    if check is None:
        raise Http404("No such check.")
    results = list(
        CheckResult.objects.filter(check_id=check.id)
        .exclude(state__in=[CheckState.PASS, CheckState.NOT_APPLICABLE])
        .select_related("account")
        .order_by("state", "account__name")
    )
    by_state: dict[str, list[CheckResult]] = defaultdict(list)
    for result in results:
        by_state[result.state].append(result)
    totals = dict(
        CheckResult.objects.filter(check_id=check.id)
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    findings_by_status = dict(
        Finding.objects.filter(check_id=check.id)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    open_url = f"{reverse('iam_audit:finding_list')}?check={check.id}"
    context = {
        "check": check,
        "failing": by_state.get(CheckState.FAIL, []),
        "unknown": by_state.get(CheckState.UNKNOWN, []),
        "totals": [(state.label, totals.get(state.value, 0)) for state in CheckState],
        "findings_by_status": [(s.label, findings_by_status.get(s.value, 0)) for s in FindingStatus],
        "remediation": remediation_blocks(check.remediation),
        "references": reference_links(check.references),
        "open_findings_url": open_url,
        "requires": check.requires,
    }
    return render(request, "iam_audit/check_detail.html", context)

"""The compliance baseline: the accounts × items matrix, its export, and the settings grid.

=======================  ========  =====  ======  ==========
action                   security  owner  viewer  anonymous
=======================  ========  =====  ======  ==========
matrix, export           yes       yes    yes     login page
settings (view, save)    yes       403    403     login page
=======================  ========  =====  ======  ==========
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount
from accounts.permissions import is_security, require
from core.exporting import EXPORT_FORMATS, csv_response, xlsx_response
from core.filtersets import SEARCH_MAX_LENGTH
from core.params import choice_param, text_param
from iam_audit import compliance
from iam_audit.checks import BASELINE_ITEMS, BASELINE_OFF_BY_DEFAULT
from iam_audit.engine import catalogue
from iam_audit.forms import BaselineSettingsForm
from iam_audit.views.checks import export_query

SORTS = {"name", "-name", "compliance", "-compliance"}


def _accounts(params: Any) -> tuple[QuerySet[AwsAccount], dict[str, Any]]:
    queryset = AwsAccount.objects.exclude(status=AccountStatus.CLOSED).order_by("name")
    environments = [e for e in params.getlist("environment") if e in Environment.values]
    if environments:
        queryset = queryset.filter(environment__in=environments)
    q = text_param(params.get("q"), SEARCH_MAX_LENGTH)  # too long or with a NUL: no search
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(account_id__icontains=q))
    return queryset, {"environments": environments, "q": q}


def baseline(request: HttpRequest) -> HttpResponseBase:
    """Accounts × baseline items: pass / fail / unknown / not applicable, sortable by compliance."""
    params = request.GET
    queryset, chosen = _accounts(params)
    sort = choice_param(params.get("sort"), SORTS, "name")
    rows = compliance.sort_rows(compliance.matrix(queryset), sort)

    export = params.get("export", "")
    if export in EXPORT_FORMATS:
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        lines = compliance.export_rows(rows)
        if export == "csv":
            return csv_response(f"baseline-{stamp}", lines)
        return xlsx_response(f"baseline-{stamp}", lines, sheet_title="Baseline")

    checks = catalogue()
    items = [(label, check_id, checks.get(check_id)) for label, check_id in BASELINE_ITEMS]
    evaluated = [r for r in rows if r.percent is not None]
    context = {
        "rows": rows,
        "items": items,
        "sort": sort,
        "environment_choices": Environment.choices,
        "chosen": chosen,
        "export_links": [(fmt.upper(), export_query(params, fmt)) for fmt in EXPORT_FORMATS],
        "can_configure": is_security(request.user),
        "average": (sum(r.percent for r in evaluated) / len(evaluated)) if evaluated else None,  # type: ignore[misc]
        "fully_compliant": sum(1 for r in evaluated if r.percent == 100.0),
    }
    return render(request, "iam_audit/baseline.html", context)


@require_http_methods(["GET", "POST"])
def baseline_settings(request: HttpRequest) -> HttpResponse:
    """Which baseline items each environment must meet (security team only)."""
    require(is_security(request.user))
    off = compliance.switched_off()
    form = BaselineSettingsForm(request.POST if request.method == "POST" else None, switched_off=off)
    if request.method == "POST" and form.is_valid():
        changed = compliance.save_settings(form.wanted(), request.user)
        if changed:
            messages.success(
                request,
                f"Saved: {changed} item{'s' if changed != 1 else ''} changed. The matrix applies it now; "
                "an item switched on is evaluated at the next check run.",
            )
        else:
            messages.info(request, "Nothing changed.")
        return redirect("iam_audit:baseline")
    context = {
        "form": form,
        "environments": Environment.choices,
        "defaults": {env: sorted(ids) for env, ids in BASELINE_OFF_BY_DEFAULT.items()},
    }
    return render(request, "iam_audit/baseline_settings.html", context)

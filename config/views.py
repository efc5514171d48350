"""Site-wide pages. The home page composes what the apps provide."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.models import AwsAccount, Team
from accounts.panels import notices
from iam_audit.views.home import home_findings_context
from inventory.views.home import home_context as inventory_home_context


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "account_count": AwsAccount.objects.count(),
        "team_count": Team.objects.count(),
        "notices": notices(request),
    }
    context.update(inventory_home_context(request))
    context.update(home_findings_context())
    return render(request, "home.html", context)


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the container health check: says "ok" when the database answers, nothing else."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")

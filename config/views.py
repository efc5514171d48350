"""Site-wide pages. The home page composes what the apps provide."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

from accounts.models import AwsAccount, Team
from core.panels import notices
from iam_audit.views.home import home_findings_context
from inventory.views.home import home_context as inventory_home_context

logger = logging.getLogger(__name__)

# What the 500 handler answers when even the layout cannot be rendered.
PLAIN_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Server error · Skyledger</title>'
    "</head><body><h1>Something went wrong on our side</h1><p>The error has been logged. Try again in a "
    'moment.</p><p><a href="/">Back to the home page</a></p></body></html>'
)


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


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the layout's 500 page, rendered without the request (no context processor, no
    database: either may be what failed); a fixed page if even that cannot be rendered."""
    try:
        body = loader.get_template("500.html").render({})
    except Exception:  # the error page must not fail: anything here falls back to plain HTML
        logger.exception("The 500 page could not be rendered; answered with the plain page")
        body = PLAIN_500
    return HttpResponseServerError(body)

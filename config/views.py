"""Site-wide pages. The home page composes what the apps provide."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import AwsAccount, Team


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "account_count": AwsAccount.objects.count(),
        "team_count": Team.objects.count(),
    }
    return render(request, "home.html", context)

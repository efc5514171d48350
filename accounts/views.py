"""Placeholder views; the registry pages are being built (issue 2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import AwsAccount, Team


def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/awsaccount_list.html", {"accounts": AwsAccount.objects.all()})


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "accounts/awsaccount_detail.html", {"account": get_object_or_404(AwsAccount, pk=pk)})


def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "accounts/team_detail.html", {"team": get_object_or_404(Team, pk=pk)})

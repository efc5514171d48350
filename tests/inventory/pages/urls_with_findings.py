"""The site's URLs with a stand-in findings list, for pages that link to it only when it exists."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config.urls import urlpatterns as site_urlpatterns


def findings_stand_in(request: HttpRequest) -> HttpResponse:
    return HttpResponse("findings")


audit = ([path("findings/", findings_stand_in, name="finding_list")], "iam_audit")

urlpatterns = [p for p in site_urlpatterns if getattr(p, "app_name", None) != "iam_audit"] + [
    path("audit/", include(audit)),
]

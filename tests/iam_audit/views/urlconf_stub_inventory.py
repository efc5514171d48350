"""The site's URLs with a stand-in inventory resource page (so finding pages can link to it)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from config.urls import urlpatterns as site


def resource_page(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"resource {pk}")


urlpatterns = [p for p in site if getattr(p, "namespace", None) != "inventory"] + [
    path(
        "inventory/",
        include(([path("resources/<int:pk>/", resource_page, name="resource_detail")], "inventory")),
    )
]

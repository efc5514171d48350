"""The site's URLs without the inventory pages (a resource has no page to link to)."""

from __future__ import annotations

from config.urls import urlpatterns as site

urlpatterns = [p for p in site if getattr(p, "namespace", None) != "inventory"]

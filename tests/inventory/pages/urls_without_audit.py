"""The site's URLs without the audit app's pages (as before they existed)."""

from __future__ import annotations

from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [p for p in site_urlpatterns if getattr(p, "app_name", None) != "iam_audit"]

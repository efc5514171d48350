from __future__ import annotations

from django.urls import path  # noqa: F401  (features add their routes here)

from inventory.views import exposed as exposed_views
from inventory.views import maps as map_views
from inventory.views import report as report_views
from inventory.views import resources as resource_views

app_name = "inventory"

urlpatterns: list = []

# resources, the report, "Refresh now"
urlpatterns += [
    path("resources/", resource_views.resource_list, name="resource_list"),
    path("resources/<int:pk>/", resource_views.resource_detail, name="resource_detail"),
    path("report/", report_views.report, name="report"),
    path("refresh/", resource_views.refresh_all, name="refresh_all"),
    path("refresh/<int:pk>/", resource_views.refresh_account, name="refresh_account"),
]

# the network map, the estate overview (the map page without an account) and internet exposure
urlpatterns += [
    path("map/", map_views.map_view, name="map"),
    path("map/data/", map_views.map_data, name="map_data"),
    path("exposed/", exposed_views.exposed, name="exposed"),
]

# registry actions for the security team: Organizations discovery, "Test access" (POST only)
from inventory.views import account_actions  # noqa: E402

urlpatterns += [
    path("accounts/discover/", account_actions.discover_accounts_view, name="discover_accounts"),
    path(
        "accounts/<int:pk>/check-access/",
        account_actions.check_account_access_view,
        name="check_account_access",
    ),
]

# onboarding: the accounts Skyledger cannot read yet, and what to deploy (security team only)
from inventory.views import onboarding as onboarding_views  # noqa: E402

urlpatterns += [path("accounts/onboarding/", onboarding_views.onboarding, name="onboarding")]

# collection runs: list, one run with live progress, and its progress as JSON (polled)
from inventory.views import runs as run_views  # noqa: E402

urlpatterns += [
    path("runs/", run_views.run_list, name="run_list"),
    path("runs/<int:pk>/", run_views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", run_views.run_progress, name="run_progress"),
]

from __future__ import annotations

from django.urls import path

from iam_audit import views
from iam_audit.views import iam

app_name = "iam_audit"

urlpatterns = [
    # findings
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/triage/", views.finding_triage, name="finding_triage"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    # the checks catalogue (check ids contain dots: iam.root_mfa)
    path("checks/", views.check_list, name="check_list"),
    path("checks/<str:check_id>/", views.check_detail, name="check_detail"),
    # the compliance baseline
    path("baseline/", views.baseline, name="baseline"),
    path("baseline/settings/", views.baseline_settings, name="baseline_settings"),
    # IAM: principals, who can reach an account and how, the trust graph, access paths export
    path("iam/", iam.principal_list, name="principal_list"),
    path("iam/principals/<int:pk>/", iam.principal_detail, name="principal_detail"),
    path("iam/accounts/<int:pk>/", iam.account_access, name="account_access"),
    path("iam/trust/", iam.trust_graph, name="trust_graph"),
    path("iam/paths/export/", iam.access_paths_export, name="access_paths_export"),
]

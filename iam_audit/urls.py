from __future__ import annotations

from django.urls import path

from iam_audit import views

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
]

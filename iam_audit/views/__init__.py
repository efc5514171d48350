"""Pages of the audit: findings, the checks catalogue, the baseline, and the home-page / account panels.

Who may do what is checked in each view on the server; templates only hide the buttons.
"""

from __future__ import annotations

from iam_audit.views.baseline import baseline, baseline_settings
from iam_audit.views.checks import check_detail, check_list
from iam_audit.views.findings import finding_detail, finding_list, finding_triage
from iam_audit.views.home import baseline_panel_context, findings_panel_context, home_findings_context

__all__ = [
    "baseline",
    "baseline_panel_context",
    "baseline_settings",
    "check_detail",
    "check_list",
    "finding_detail",
    "finding_list",
    "finding_triage",
    "findings_panel_context",
    "home_findings_context",
]

"""Forms of the audit pages: triage (suppress / lift), the baseline settings grid, and the filters of
the account access page and the trust graph."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils import timezone

from accounts.choices import Environment
from accounts.forms import BoundedTextMixin
from accounts.limits import JUSTIFICATION_MAX
from core.filtersets import (
    SEARCH_MAX_LENGTH,
)
from core.params import BoundedModelMultipleChoiceField
from iam_audit.checks import BASELINE_ITEMS
from iam_audit.choices import SuppressionReason
from iam_audit.models import PRIVILEGE_RANK, Finding, PrivilegeLevel

MAX_TRIAGE = 1000  # findings per bulk action (the list shows 50 a page)


class TriageForm(BoundedTextMixin, forms.Form):
    """Suppress (accepted risk / false positive, with a justification and an optional end date) or lift."""

    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"

    action = forms.ChoiceField(choices=[(SUPPRESS, "Suppress"), (UNSUPPRESS, "Lift suppression")])
    ids = BoundedModelMultipleChoiceField(
        queryset=Finding.objects.all(),
        widget=forms.MultipleHiddenInput,
        error_messages={"required": "Select at least one finding."},
    )
    reason = forms.ChoiceField(
        required=False, choices=[("", "—"), *SuppressionReason.choices], label="Reason"
    )
    justification = forms.CharField(
        required=False,
        max_length=JUSTIFICATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Justification",
        help_text="Why this is acceptable or wrong; kept in the finding's history.",
    )
    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Suppressed until",
        help_text="Optional: the finding comes back on this date (00:00 UTC).",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def clean_ids(self) -> Any:
        ids = self.cleaned_data["ids"]
        if len(ids) > MAX_TRIAGE:
            raise forms.ValidationError(f"Select at most {MAX_TRIAGE} findings at once.")
        return ids

    def clean_until(self) -> dt.datetime | None:
        day = self.cleaned_data.get("until")
        if day is None:
            return None
        if day <= timezone.now().date():
            raise forms.ValidationError("Choose a date after today.")
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("action") == self.SUPPRESS:
            if not data.get("reason"):
                self.add_error("reason", "Say why: accepted risk or false positive.")
            if "justification" not in self.errors and not (data.get("justification") or "").strip():
                self.add_error("justification", "A justification is required to suppress.")
        return data


def setting_field(check_id: str, environment: str) -> str:
    return f"on__{check_id}__{environment}"


class BaselineSettingsForm(forms.Form):
    """One checkbox per baseline item × environment: is the item required there?"""

    def __init__(self, *args: Any, switched_off: dict[str, frozenset[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for label, check_id in BASELINE_ITEMS:
            for env in Environment:
                self.fields[setting_field(check_id, env.value)] = forms.BooleanField(
                    required=False,
                    initial=check_id not in switched_off.get(env.value, frozenset()),
                    label=f"{label} in {env.label}",
                )

    def grid(self) -> list[tuple[str, str, list[Any]]]:
        """Rows for the template: (label, check id, [bound field per environment])."""
        return [
            (label, check_id, [self[setting_field(check_id, env.value)] for env in Environment])
            for label, check_id in BASELINE_ITEMS
        ]

    def wanted(self) -> dict[tuple[str, str], bool]:
        return {
            (check_id, env.value): bool(self.cleaned_data.get(setting_field(check_id, env.value)))
            for _, check_id in BASELINE_ITEMS
            for env in Environment
        }


ACCOUNT_ID = re.compile(r"[0-9]{12}")  # fullmatch: "\d" and "$" would let other digits and "\n" in


class AccessFilterForm(forms.Form):
    """Filters of the account access page (applied in Python to the cached paths)."""

    privilege = forms.ChoiceField(
        choices=[("", "Any")] + [(c.value, f"at least {c.label.lower()}") for c in PrivilegeLevel][:-1],
        required=False,
        label="Privilege",
    )
    mfa = forms.ChoiceField(
        choices=[("", "Any"), ("without", "Without MFA"), ("required", "MFA required")],
        required=False,
        label="MFA",
    )
    source = forms.ChoiceField(
        choices=[
            ("", "Any"),
            ("user", "Users"),
            ("role", "Roles"),
            ("account", "Whole accounts (trust in an account root)"),
            ("outside", "Outside the organisation"),
            ("federated", "Identity providers"),
        ],
        required=False,
        label="From",
    )
    q = forms.CharField(required=False, max_length=SEARCH_MAX_LENGTH, label="Search")

    def keep(self, row: Mapping[str, Any]) -> bool:
        data = self.cleaned_data
        if data.get("privilege") and row["privilege_rank"] < PRIVILEGE_RANK.get(data["privilege"], 0):
            return False
        if data.get("mfa") == "without" and row["mfa_required"]:
            return False
        if data.get("mfa") == "required" and not row["mfa_required"]:
            return False
        source = data.get("source")
        if source == "outside" and not row["outside_org"]:
            return False
        if source in ("user", "role", "federated") and row["source_kind"] != source:
            return False
        if source == "account" and not row["whole_account"]:
            return False
        q = (data.get("q") or "").strip().lower()
        return not q or q in row["describe"].lower() or q in row["source_arn"].lower()


class TrustFilterForm(forms.Form):
    """What the trust graph shows: a minimum privilege, outside parties only, one account's neighbours."""

    privilege = forms.ChoiceField(
        choices=[("", "Any")] + [(c.value, f"at least {c.label.lower()}") for c in PrivilegeLevel][:-1],
        required=False,
        label="Privilege",
    )
    outside = forms.BooleanField(required=False, label="Only from outside the organisation")
    account = forms.CharField(required=False, max_length=12, label="Around account (ID)")

    def clean_account(self) -> str:
        value = (self.cleaned_data.get("account") or "").strip()
        if value and not ACCOUNT_ID.fullmatch(value):
            raise forms.ValidationError("Enter a 12-digit account ID.")
        return value

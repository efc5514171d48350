"""Findings: the prioritised list (filters, exports, bulk triage) and the finding page.

=======================  ========  =====================  =======  ==========
action                   security  owner                  viewer   anonymous
=======================  ========  =====================  =======  ==========
list, view, export       yes       yes                    yes      login page
suppress / lift          yes       403                    403      login page
=======================  ========  =====================  =======  ==========

Exports show exactly what the list shows, so every logged-in user may take them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.permissions import is_security, require
from core.exporting import json_response
from core.secrets import everyone
from core.ui import ObjectListView, url_or_none
from iam_audit import engine, priority
from iam_audit.exports import finding_records
from iam_audit.filtersets import FindingFilterSet
from iam_audit.forms import TriageForm
from iam_audit.models import Finding
from iam_audit.tables import TRIAGE_FORM_ID, FindingTable, ViewerFindingTable

CLI_PREFIXES = ("CLI:", "cli:")
AWS_COMMAND = re.compile(r"(aws [a-z0-9-]+ [a-z0-9-]+[^;\n]*)")
STEP = re.compile(r"^\s*(\d+)[.)]\s+")


def findings_queryset() -> QuerySet[Finding]:
    """Findings with what the list shows per row (no query per row)."""
    return Finding.objects.select_related("account", "resource")


class FindingListView(ObjectListView):
    """The prioritised findings list: open and reopened first by default, highest priority first."""

    queryset = findings_queryset()
    filterset_class = FindingFilterSet
    table_class = FindingTable
    template_name = "iam_audit/finding_list.html"
    title = "Findings"
    export_name = "findings"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.security = is_security(request.user)
        if not self.security:
            self.table_class = ViewerFindingTable
        if request.GET.get("export") == "json":
            return json_export(request)
        return super().get(request, *args, **kwargs)

    def get_extra_context(self) -> dict[str, Any]:
        query = self.request.GET.copy()
        query.pop("page", None)
        query["export"] = "json"
        context: dict[str, Any] = {
            "json_export_url": "?" + query.urlencode(),
            "can_triage": self.security,
            "triage_form_id": TRIAGE_FORM_ID,
        }
        if self.security:
            context["triage_form"] = TriageForm(initial={"next": self.request.get_full_path()})
        return context


finding_list = FindingListView.as_view()


def json_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered findings as a JSON array of objects (streamed; same filters as the list), each with
    its evidence, remediation and the resources it names (:mod:`iam_audit.exports`)."""
    filterset = FindingFilterSet(request.GET, queryset=Finding.objects.all(), request=request)
    queryset = filterset.qs if filterset.is_valid() else Finding.objects.none()

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return json_response(f"findings-{stamp}", finding_records(queryset.order_by("-priority", "pk")))


# --- the finding page ----------------------------------------------------------------------------


def humanise(key: str) -> str:
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else "—"


def evidence_blocks(evidence: Any) -> list[dict[str, Any]]:
    """The evidence as labelled blocks: short values as text, statements and rules as pretty JSON.

    The template escapes everything (policy documents and names come from AWS).
    """
    if not isinstance(evidence, Mapping):
        if evidence in (None, "", [], {}):
            return []
        return [{"label": "Evidence", "kind": "json", "text": json.dumps(evidence, indent=2, default=str)}]
    blocks = []
    for key, value in evidence.items():
        if isinstance(value, dict | list):
            if (
                value
                and all(isinstance(v, str | int | float | bool) for v in value)
                and isinstance(value, list)
            ):
                text = ", ".join(str(v) for v in value)
                blocks.append(
                    {"label": humanise(key), "kind": "text" if len(text) <= 300 else "pre", "text": text}
                )
            else:
                text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
                blocks.append({"label": humanise(key), "kind": "json", "text": text})
        elif isinstance(value, str) and ("\n" in value or len(value) > 300):
            blocks.append({"label": humanise(key), "kind": "pre", "text": value})
        else:
            text = "—" if value is None or value == "" else str(value)
            if isinstance(value, bool):
                text = "yes" if value else "no"
            blocks.append({"label": humanise(key), "kind": "text", "text": text})
    return blocks


def _segments(line: str) -> list[tuple[bool, str]]:
    """Split a step into (is_code, text) pieces: ``aws ...`` commands become code."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in AWS_COMMAND.finditer(line):
        if match.start() > position:
            parts.append((False, line[position : match.start()]))
        parts.append((True, match.group(1).strip()))
        position = match.end()
    if position < len(line):
        parts.append((False, line[position:]))
    return parts


def remediation_blocks(text: str) -> list[dict[str, Any]]:
    """The remediation text as steps, console hints and CLI commands (code shown as code)."""
    blocks: list[dict[str, Any]] = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(CLI_PREFIXES):
            blocks.append({"kind": "cli", "text": line.split(":", 1)[1].strip()})
            continue
        if line.lower().startswith("console:"):
            blocks.append({"kind": "console", "parts": _segments(line.split(":", 1)[1].strip())})
            continue
        step = STEP.match(line)
        body = line[step.end() :] if step else line
        blocks.append({"kind": "step", "number": step.group(1) if step else "", "parts": _segments(body)})
    return blocks


def reference_links(references: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """CIS ids, links (http/https only) and anything else, for display."""
    cis, links, other = [], [], []
    for ref in references:
        ref = str(ref)
        if ref.startswith("CIS "):
            cis.append(ref)
        elif ref.startswith(("https://", "http://")):
            links.append(ref)
        else:
            other.append(ref)
    return {"cis": cis, "links": links, "other": other}


def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(
        Finding.objects.select_related("account", "account__owner", "resource", "suppressed_by"), pk=pk
    )
    check = engine.catalogue().get(finding.check_id)
    security = is_security(request.user)
    # nobody reads an ExternalId in evidence (the engine masks it; older findings may predate that)
    redactor = everyone()
    finding.summary = redactor.text(finding.summary)
    events = list(finding.events.select_related("user").order_by("-at", "-pk"))
    for event in events:
        event.note = redactor.text(event.note)
    context: dict[str, Any] = {
        "finding": finding,
        "check": check,
        "evidence": evidence_blocks(redactor.data(finding.evidence)),
        "remediation": remediation_blocks(check.remediation) if check else [],
        "references": reference_links(check.references) if check else {},
        "resource_url": url_or_none("inventory:resource_detail", finding.resource_id)
        if finding.resource_id
        else None,
        "priority_sentence": priority.explain(finding.priority_explanation, finding.priority),
        "events": events,
        "can_triage": security,
        "findings_url": reverse("iam_audit:finding_list"),
    }
    if security:
        context["triage_form"] = TriageForm(
            initial={"next": finding.get_absolute_url(), "reason": finding.suppression_reason}
        )
    return render(request, "iam_audit/finding_detail.html", context)


@require_POST
def finding_triage(request: HttpRequest) -> HttpResponse:
    """Suppress or lift findings (one from its page, or many from the list): security team only."""
    require(is_security(request.user))
    form = TriageForm(request.POST)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("iam_audit:finding_list")
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else str(error))
        return HttpResponseRedirect(target)
    findings = list(form.cleaned_data["ids"])
    if form.cleaned_data["action"] == TriageForm.SUPPRESS:
        changed = engine.suppress(
            findings,
            user=request.user,
            reason=form.cleaned_data["reason"],
            justification=form.cleaned_data["justification"].strip(),
            until=form.cleaned_data["until"],
        )
        skipped = len(findings) - changed
        message = f"Suppressed {changed} finding{'s' if changed != 1 else ''}."
        if skipped:
            message += f" {skipped} resolved finding{'s were' if skipped != 1 else ' was'} left as is."
    else:
        changed = engine.unsuppress(
            findings, user=request.user, note=form.cleaned_data["justification"].strip()
        )
        skipped = len(findings) - changed
        message = f"Lifted the suppression of {changed} finding{'s' if changed != 1 else ''}."
        if skipped:
            message += f" {skipped} {'were' if skipped != 1 else 'was'} not suppressed."
    messages.success(request, message)
    return HttpResponseRedirect(target)


__all__ = ["finding_detail", "finding_list", "finding_triage", "json_export"]

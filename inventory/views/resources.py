"""Resource pages: the filterable inventory, one resource's page, and the "Refresh now" buttons.

=========================  ========  =======  =======  ==========
action                     security  owner    viewer   anonymous
=========================  ========  =======  =======  ==========
list, export, resource     yes       yes      yes      login page
refresh one / all (POST)   yes       403      403      login page
=========================  ========  =======  =======  ==========

The list runs a constant number of queries whatever the row count: one capped count (see
:mod:`inventory.tables`), one page of rows joined to their accounts, and the account choices of
the filter form. Metadata (``data``) is not read for the list; exports stream in chunks.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import AwsAccount
from accounts.permissions import is_security, require
from core.filtersets import SEARCH_MAX_LENGTH
from core.secrets import redactor_for
from core.ui import ObjectListView, url_or_none
from inventory.filtersets import ResourceFilterSet
from inventory.models import CollectionRun, Resource, RevisionKind
from inventory.records import GLOBAL_REGION
from inventory.services import refresh, runs
from inventory.tables import LIST_ORDER, ResourceTable, tag_items, type_title

log = logging.getLogger(__name__)

REVISIONS_SHOWN = 50
JSON_SHOWN = 200_000  # characters of pretty-printed metadata per block; the rest is cut with a note
PREVIEW_LENGTH = 80


# --- the list ------------------------------------------------------------------------------------


class ResourceListView(ObjectListView):
    """Every resource the collection has seen, filtered, sorted, paged, exportable."""

    # type, region, name: the order of the (type, region, name) index (migration 0009), so the
    # first page of the whole list, of a type or of a type and region is an index walk
    queryset = Resource.objects.select_related("account").defer("data", "data_hash").order_by(*LIST_ORDER)
    filterset_class = ResourceFilterSet
    table_class = ResourceTable
    template_name = "inventory/resource_list.html"
    title = "Resources"
    export_name = "resources"

    def get_extra_context(self) -> dict[str, Any]:
        security = is_security(self.request.user)
        return {
            "refresh_all_url": url_or_none("inventory:refresh_all") if security else None,
            "report_url": url_or_none("inventory:report"),
        }


resource_list = ResourceListView.as_view()


# --- one resource ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MetadataEntry:
    """One top-level key of a resource's metadata, ready to show."""

    key: str
    text: str  # the value itself for scalars, pretty-printed JSON for objects and lists
    nested: bool
    summary: str  # "3 keys", "12 items" or a short preview of a scalar
    truncated: bool = False


@dataclasses.dataclass(frozen=True)
class ChangeRow:
    path: str
    old: str
    new: str
    old_absent: bool
    new_absent: bool


@dataclasses.dataclass(frozen=True)
class RevisionEntry:
    pk: int
    kind: str
    kind_label: str
    collected_at: Any
    run_id: int | None
    changes: list[ChangeRow]


def pretty_json(value: Any, limit: int = JSON_SHOWN) -> tuple[str, bool]:
    """``value`` as indented JSON (keys sorted, unicode kept), cut at ``limit`` characters."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n… ({len(text) - limit:,} more characters not shown)", True


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def metadata_entries(data: Any) -> list[MetadataEntry]:
    """The top-level keys of ``data`` (sorted), scalars inline and objects/lists as JSON blocks."""
    if not isinstance(data, dict):
        text, cut = pretty_json(data)
        return [
            MetadataEntry(key="(value)", text=text, nested=True, summary=type(data).__name__, truncated=cut)
        ]
    entries = []
    for key in sorted(data, key=str):
        value = data[key]
        if isinstance(value, dict | list):
            text, cut = pretty_json(value)
            size = _plural(len(value), "key") if isinstance(value, dict) else _plural(len(value), "item")
            entries.append(MetadataEntry(key=str(key), text=text, nested=True, summary=size, truncated=cut))
        else:
            text = "null" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
            short = text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"
            entries.append(MetadataEntry(key=str(key), text=text, nested=False, summary=short))
    return entries


def _change_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def change_rows(changes: Any) -> list[ChangeRow]:
    """A revision's ``[{path, old, new}]`` as display rows; odd entries are shown, not dropped."""
    if not isinstance(changes, list):
        return []
    rows = []
    for change in changes:
        if not isinstance(change, dict):
            rows.append(
                ChangeRow(
                    path="(change)", old="", new=_change_text(change), old_absent=True, new_absent=False
                )
            )
            continue
        old, new = change.get("old"), change.get("new")
        rows.append(
            ChangeRow(
                path=str(change.get("path", "")),
                old="" if old is None else _change_text(old),
                new="" if new is None else _change_text(new),
                old_absent=old is None,
                new_absent=new is None,
            )
        )
    return rows


def revision_entries(revisions: Iterable[Any]) -> list[RevisionEntry]:
    labels = dict(RevisionKind.choices)
    return [
        RevisionEntry(
            pk=rev.pk,
            kind=rev.kind,
            kind_label=str(labels.get(rev.kind, rev.kind)),
            collected_at=rev.collected_at,
            run_id=rev.run_id,
            changes=change_rows(rev.changes),
        )
        for rev in revisions
    ]


def findings_query(resource: Resource) -> str:
    """The findings list's filters for one resource: its account, and its ARN in the search box
    (a finding's subject is the ARN of what failed; the box takes 200 characters, and a prefix of
    an ARN still finds it)."""
    return urlencode({"account": resource.account_id, "q": resource.arn[:SEARCH_MAX_LENGTH]})


def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One resource: where it lives, its tags, its metadata, and what changed when.

    Anyone but the security team gets the metadata, tags and changes with ExternalIds masked (a
    role's trust policy carries one in its ``sts:ExternalId`` condition).
    """
    resource = get_object_or_404(Resource.objects.select_related("account"), pk=pk)
    revisions = list(
        resource.revisions.defer("previous").order_by("-collected_at", "-pk")[: REVISIONS_SHOWN + 1]
    )
    redactor = redactor_for(request.user)
    data = redactor.data(resource.data)
    for revision in revisions:
        revision.changes = redactor.data(revision.changes)
    findings_url = url_or_none("iam_audit:finding_list")
    raw_json, raw_truncated = pretty_json(data)
    context = {
        "resource": resource,
        "account": resource.account,
        "type_title": type_title(resource.type),
        "is_global": resource.region == GLOBAL_REGION,
        "tags": redactor.data(tag_items(resource.tags)),
        "metadata": metadata_entries(data),
        "raw_json": raw_json,
        "raw_truncated": raw_truncated,
        "revisions": revision_entries(revisions[:REVISIONS_SHOWN]),
        "more_revisions": len(revisions) > REVISIONS_SHOWN,
        "findings_url": f"{findings_url}?{findings_query(resource)}" if findings_url else None,
        "resource_list_url": url_or_none("inventory:resource_list"),
    }
    return render(request, "inventory/resource_detail.html", context)


# --- Refresh now ---------------------------------------------------------------------------------


def _next_url(request: HttpRequest, fallback: str) -> str:
    """The page the button was on (``next``), when it is a path of ours; otherwise ``fallback``.

    Only a path (``/...``): ``redirect()`` would read any other text as a view name and fail.
    """
    target = request.POST.get("next", "")
    if (
        target.startswith("/")
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback


def queue_refresh(request: HttpRequest, accounts: Sequence[AwsAccount]) -> list[CollectionRun]:
    """Queue runs for ``accounts`` (:func:`inventory.services.refresh.queue_refresh`) and say in
    messages what became of them."""
    outcome = refresh.queue_refresh(accounts, request.user)
    for notice in outcome.notices:
        getattr(messages, notice.level)(request, notice.text)
    return outcome.runs


@require_POST
def refresh_account(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a refresh of one account (security team)."""
    require(is_security(request.user))
    account = get_object_or_404(AwsAccount, pk=pk)
    queue_refresh(request, [account])
    return redirect(_next_url(request, account.get_absolute_url()))


@require_POST
def refresh_all(request: HttpRequest) -> HttpResponse:
    """Queue a refresh of every account whose collection is on (security team)."""
    require(is_security(request.user))
    accounts = list(runs.collectable_accounts())
    if not accounts:
        messages.info(request, "No account has collection on: nothing to refresh.")
    else:
        queue_refresh(request, accounts)
    fallback = url_or_none("inventory:run_list") or url_or_none("accounts:account_list") or "/"
    return redirect(_next_url(request, fallback))

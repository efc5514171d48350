"""Registry pages: accounts, their history, teams, and spreadsheet import/export.

Who may do what is checked here, on the server, for every request (templates only hide buttons):

=========================  ========  =====================  =======  ==========
action                     security  owner (own account)    viewer   anonymous
=========================  ========  =====================  =======  ==========
list, view, history        yes       yes                    yes      login page
export CSV/XLSX            yes       yes                    yes      login page
edit account               all       descriptive fields     403      login page
create / delete account    yes       403                    403      login page
import                     yes       403                    403      login page
create / edit teams        yes       403                    403      login page
=========================  ========  =====================  =======  ==========

An owner's POST that would change a field only the security team edits (allowed regions, regions
not collected, owner, read role...) gets 403 and changes nothing, rather than being half applied.

Export is open to every logged-in user because it shows exactly what the list shows them.
History is readable by everyone logged in for the same reason: it is the record of the fields the
account page already displays, and seeing who changed what is the point of keeping it. The
ExternalId is the exception on both pages: only the security team sees its values; everyone else
reads that it changed (``core.secrets``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError, transaction
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import imports, uploads
from accounts.choices import Environment
from accounts.filtersets import AwsAccountFilterSet, TeamFilterSet
from accounts.forms import (
    SECURITY_ONLY_FIELDS,
    AwsAccountForm,
    ImportConfirmForm,
    ImportUploadForm,
    OwnerAccountForm,
    TeamForm,
)
from accounts.limits import PREVIEW_VALUE_SHOWN
from accounts.models import AwsAccount, Team
from accounts.permissions import can_edit_account, is_security, require
from accounts.services import history_entries, team_history_entries
from accounts.tables import AwsAccountTable, TeamTable
from core.panels import notices, panels
from core.params import page_param
from core.secrets import Redactor, redactor_for
from core.ui import ObjectListView, url_or_none

logger = logging.getLogger(__name__)

IMPORT_SESSION_KEY = "accounts_import"
HISTORY_PER_PAGE = 50
PREVIEW_LIMIT = 500


# --- accounts ----------------------------------------------------------------------------------


class AccountListView(ObjectListView):
    """The registry: filters, table, CSV/XLSX export, and the security team's buttons."""

    queryset = AwsAccount.objects.select_related("owner")
    filterset_class = AwsAccountFilterSet
    table_class = AwsAccountTable
    template_name = "accounts/awsaccount_list.html"
    title = "Accounts"
    export_name = "accounts"

    def get_extra_context(self) -> dict[str, Any]:
        security = is_security(self.request.user)
        return {
            "can_create": security,
            "can_import": security,
            "discover_url": url_or_none("inventory:discover_accounts") if security else None,
            "notices": notices(self.request),
        }


account_list = AccountListView.as_view()


def _data(request: HttpRequest) -> Any:
    """POST data for a bound form (even an empty POST, so its errors show), None on GET."""
    return request.POST if request.method == "POST" else None


def _recent_history(account: AwsAccount, redactor: Redactor, limit: int = 5) -> tuple[list[Any], bool]:
    records = list(
        account.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )
    shown = records[:limit]
    previous = records[limit] if len(records) > limit else None
    return history_entries(shown, previous, redactor), previous is not None


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(AwsAccount.objects.select_related("owner"), pk=pk)
    security = is_security(request.user)
    history, more_history = _recent_history(account, redactor_for(request.user))
    context = {
        "account": account,
        "can_edit": can_edit_account(request.user, account),
        "can_delete": security,
        "test_access_url": url_or_none("inventory:check_account_access", account.pk) if security else None,
        "panels": panels(),
        "history": history,
        "more_history": more_history,
    }
    return render(request, "accounts/awsaccount_detail.html", context)


def _save_with_reason(form: Any, reason: str) -> Any:
    instance = form.save(commit=False)
    instance._change_reason = (form.cleaned_data.get("change_reason") or reason)[:100]
    with transaction.atomic():
        instance.save()
        form.save_m2m()
    return instance


@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    require(is_security(request.user))
    form = AwsAccountForm(_data(request))
    if request.method == "POST" and form.is_valid():
        account = _save_with_reason(form, "Added in the registry")
        messages.success(request, f"Added {account}.")
        return redirect(account)
    return render(request, "accounts/awsaccount_form.html", {"form": form, "account": None})


def _forged_security_changes(request: HttpRequest, account: AwsAccount) -> list[str]:
    """Security-only fields an owner's POST carries with a value other than the account's.

    Compared through the security team's form, so "eu-west-1" and ["eu-west-1"] are the same value
    and a field posted unchanged (a form saved from an older page) is not a change.
    """
    posted = [f for f in SECURITY_ONLY_FIELDS if f in request.POST]
    if not posted:
        return []
    full = AwsAccountForm(request.POST, instance=account)
    return [f for f in posted if f in full.changed_data]


@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(AwsAccount, pk=pk)
    require(can_edit_account(request.user, account))
    # Owners get a form that only has their fields; a POST that would change any other is forged.
    form_class = AwsAccountForm if is_security(request.user) else OwnerAccountForm
    if request.method == "POST" and form_class is OwnerAccountForm:
        require(not _forged_security_changes(request, account))
    form = form_class(_data(request), instance=account)
    if request.method == "POST" and form.is_valid():
        if form.has_changed() and [f for f in form.changed_data if f != "change_reason"]:
            _save_with_reason(form, "Edited in the registry")
            messages.success(request, f"Saved {account}.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect(account)
    return render(
        request,
        "accounts/awsaccount_form.html",
        {"form": form, "account": account, "owner_form": form_class is OwnerAccountForm},
    )


@require_POST
def designate_identity(request: HttpRequest, pk: int) -> HttpResponse:
    """The security team makes this account the identity account (one click from the prompt).

    Sets the environment to "identity" as a person's decision (not a guess), with a history record.
    """
    require(is_security(request.user))
    account = get_object_or_404(AwsAccount, pk=pk)
    if account.is_designated_identity:
        messages.info(request, f"{account} is already the identity account.")
    else:
        account.environment = Environment.IDENTITY
        account.environment_guessed = False
        account._change_reason = "Designated as the identity account"  # type: ignore[attr-defined]
        account.save(update_fields=["environment", "environment_guessed", "updated"])
        messages.success(request, f"{account} is now the identity account.")
    return redirect(account)


@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(AwsAccount, pk=pk)
    require(is_security(request.user))
    if request.method == "POST":
        label = str(account)
        account._change_reason = "Deleted from the registry"  # type: ignore[attr-defined]
        account.delete()
        messages.success(request, f"Deleted {label}. Its history is kept.")
        return redirect("accounts:account_list")
    return render(request, "accounts/awsaccount_confirm_delete.html", {"account": account})


def _history(
    request: HttpRequest,
    model: type[AwsAccount] | type[Team],
    pk: int,
    entries_of: Callable[[list[Any], Any, Redactor], list[Any]],
    noun: str,
) -> HttpResponse:
    """A history page: every change to one record, newest first, 50 a page; still readable after
    the record was deleted (404 when there never was one)."""
    current = model.objects.filter(pk=pk).first()
    records = (
        model.history.filter(id=pk).select_related("history_user").order_by("-history_date", "-history_id")
    )
    paginator = Paginator(records, HISTORY_PER_PAGE)
    if current is None and not paginator.count:
        raise Http404("No such record.")
    page = paginator.get_page(page_param(request.GET))
    # One record past the page, so the page's oldest entry can still show what it changed.
    window = list(records[page.start_index() - 1 : page.end_index() + 1]) if paginator.count else []
    shown = window[: page.end_index() - page.start_index() + 1]
    previous = window[len(shown)] if len(window) > len(shown) else None
    latest = current or (shown[0] if shown else None)
    context = {
        "current": current,
        "noun": noun,
        "latest": latest,
        "entries": entries_of(shown, previous, redactor_for(request.user)),
        "page": page,
        "deleted": current is None,
    }
    return render(request, "accounts/history.html", context)


def account_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change to one account."""
    return _history(request, AwsAccount, pk, history_entries, "account")


# --- teams -------------------------------------------------------------------------------------


class TeamListView(ObjectListView):
    queryset = Team.objects.annotate(
        account_count=Count("accounts", distinct=True), member_count=Count("members", distinct=True)
    )
    filterset_class = TeamFilterSet
    template_name = "accounts/team_list.html"
    title = "Teams"
    export_name = "teams"

    table_class = TeamTable

    def get_extra_context(self) -> dict[str, Any]:
        return {"can_create": is_security(self.request.user)}


team_list = TeamListView.as_view()


def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    accounts: QuerySet[AwsAccount] = team.accounts.select_related("owner")
    table = AwsAccountTable(accounts, request=request, exclude=("owner",))
    for name in table.columns.names():
        if name not in AwsAccountTable.default_columns:
            table.columns.hide(name)
    table.paginate(per_page=50, page=1)  # ordered from the request's validated ?sort= when built
    table.page = table.paginator.get_page(page_param(request.GET, table.prefixed_page_field))
    context = {
        "team": team,
        "members": team.members.order_by("username"),
        "table": table,
        "can_edit": is_security(request.user),
    }
    return render(request, "accounts/team_detail.html", context)


def team_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every change to one team: its fields and its members."""
    return _history(request, Team, pk, team_history_entries, "team")


@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    require(is_security(request.user))
    form = TeamForm(_data(request))
    if request.method == "POST" and form.is_valid():
        team = _save_with_reason(form, "Added in the registry")
        messages.success(request, f"Added team {team}.")
        return redirect(team)
    return render(request, "accounts/team_form.html", {"form": form, "team": None})


@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    require(is_security(request.user))
    form = TeamForm(_data(request), instance=team)
    if request.method == "POST" and form.is_valid():
        _save_with_reason(form, "Edited in the registry")
        messages.success(request, f"Saved team {team}.")
        return redirect(team)
    return render(request, "accounts/team_form.html", {"form": form, "team": team})


@require_http_methods(["GET", "POST"])
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    require(is_security(request.user))
    if request.method == "POST":
        name = team.name
        team._change_reason = "Deleted from the registry"  # type: ignore[attr-defined]
        with transaction.atomic():
            # Record the loss of ownership in each account's history before the FK is nulled.
            for account in team.accounts.all():
                account.owner = None
                account._change_reason = f"Owner team {name} deleted"  # type: ignore[attr-defined]
                account.save()
            team.delete()
        messages.success(request, f"Deleted team {name}; its accounts now have no owner.")
        return redirect("accounts:team_list")
    return render(
        request, "accounts/team_confirm_delete.html", {"team": team, "account_count": team.accounts.count()}
    )


# --- spreadsheet import ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: upload a file; it is read and kept in the session, then the preview shows."""
    require(is_security(request.user))
    if request.method == "POST":
        form = ImportUploadForm(
            request.POST,
            request.FILES,
            refused="file" in uploads.refused_fields(request),
            refused_size=uploads.declared_size(request),
        )
    else:
        form = ImportUploadForm()
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            # The upload's own file (in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, else a temporary
            # file): read row by row, never copied into one bytes object.
            sheet = imports.read_spreadsheet(upload.name or "upload", upload.file)
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            request.session[IMPORT_SESSION_KEY] = {
                "token": secrets.token_urlsafe(24),
                "sheet": sheet.dumps(),
                "fingerprint": "",
            }
            return redirect("accounts:import_preview")
    return render(request, "accounts/import_upload.html", {"form": form, "columns": imports.COLUMNS})


def _stored_import(request: HttpRequest) -> tuple[dict[str, Any], imports.Sheet] | None:
    stored = request.session.get(IMPORT_SESSION_KEY)
    if not isinstance(stored, dict) or "sheet" not in stored:
        return None
    try:
        return stored, imports.Sheet.loads(stored["sheet"])
    except (ValueError, KeyError, TypeError):
        return None


def _render_preview(
    request: HttpRequest,
    stored: dict[str, Any],
    plan: imports.ImportPlan,
    form: ImportConfirmForm | None = None,
) -> HttpResponse:
    stored["fingerprint"] = plan.fingerprint()
    request.session[IMPORT_SESSION_KEY] = stored
    form = form or ImportConfirmForm(initial={"token": stored["token"]})
    context = {
        "plan": plan,
        "form": form,
        "limit": PREVIEW_LIMIT,
        "shown": PREVIEW_VALUE_SHOWN,
        "creates": plan.creates[:PREVIEW_LIMIT],
        "updates": plan.updates[:PREVIEW_LIMIT],
        "rejected": plan.rejected[:PREVIEW_LIMIT],
        "sheet": plan.sheet,
    }
    return render(request, "accounts/import_preview.html", context)


def import_preview(request: HttpRequest) -> HttpResponse:
    """Step 2: what the import would do, computed against the registry as it is now."""
    require(is_security(request.user))
    found = _stored_import(request)
    if found is None:
        messages.info(request, "Upload a spreadsheet to import.")
        return redirect("accounts:import_upload")
    stored, sheet = found
    return _render_preview(request, stored, imports.build_plan(sheet))


@require_POST
def import_confirm(request: HttpRequest) -> HttpResponse:
    """Step 3: plan again from the kept file, check it is what was previewed, commit all or nothing."""
    require(is_security(request.user))
    found = _stored_import(request)
    form = ImportConfirmForm(request.POST)
    if (
        found is None
        or not form.is_valid()
        or not secrets.compare_digest(form.cleaned_data["token"], found[0]["token"])
    ):
        messages.error(
            request,
            "This import is no longer open (it was confirmed, cancelled or replaced). Upload the file again.",
        )
        return redirect("accounts:import_upload")
    stored, sheet = found
    plan = imports.build_plan(sheet)
    if plan.fingerprint() != stored.get("fingerprint"):
        messages.warning(
            request, "The registry changed since the preview. Check the new preview and confirm again."
        )
        return _render_preview(request, stored, plan)
    if plan.rejected and not form.cleaned_data["skip_rejected"]:
        form.add_error(
            "skip_rejected",
            "Some rows are rejected: fix the file and upload it again, or tick this box to import the rest.",
        )
        return _render_preview(request, stored, plan, form)
    if not plan.has_work:
        messages.info(request, "Nothing to import: every valid row already matches the registry.")
        request.session.pop(IMPORT_SESSION_KEY, None)
        return redirect("accounts:account_list")
    try:
        result = imports.commit_plan(plan, request.user, create_teams=form.cleaned_data["create_teams"])
    except DatabaseError as exc:
        logger.exception("spreadsheet import failed; rolled back")
        messages.error(
            request,
            f"Nothing was imported: the database refused the change ({type(exc).__name__}). Try again; if it keeps failing, tell an administrator.",
        )
        return _render_preview(request, stored, imports.build_plan(sheet))
    request.session.pop(IMPORT_SESSION_KEY, None)
    parts = [f"{result.created} account(s) added", f"{result.updated} updated"]
    if result.teams_created:
        parts.append(f"teams created: {', '.join(result.teams_created)}")
    if result.skipped:
        parts.append(f"{result.skipped} rejected row(s) skipped")
    messages.success(request, "Import done: " + "; ".join(parts) + ".")
    return redirect("accounts:account_list")


@require_POST
def import_cancel(request: HttpRequest) -> HttpResponseRedirect:
    require(is_security(request.user))
    request.session.pop(IMPORT_SESSION_KEY, None)
    messages.info(request, "Import cancelled; nothing was changed.")
    return redirect(reverse("accounts:account_list"))

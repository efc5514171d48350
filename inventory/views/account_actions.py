"""Page actions for the security team: discover the organisation's accounts, test one account's access.

POST only (they call AWS and change the registry), security team only (403 for anyone else; the
login-required middleware sends anonymous visitors to the login page first). Both answer with a
message and a redirect; the buttons live on the accounts pages (see
``templates/inventory/access/*.html``).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.models import AwsAccount
from accounts.permissions import is_security, require
from inventory.discovery import DiscoveryError, access_error_text, check_account_access, discover_accounts


@require_POST
def discover_accounts_view(request: HttpRequest) -> HttpResponse:
    """Run Organizations discovery now; its summary (or why it failed) becomes a message."""
    require(is_security(request.user))
    try:
        summary = discover_accounts()
    except DiscoveryError as exc:
        messages.error(request, f"Discovery failed: {exc.classified.message}")
    else:
        messages.success(request, f"Discovery done. {summary.text()}")
    return redirect("accounts:account_list")


@require_POST
def check_account_access_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Assume the account's read role now; the outcome is stored on the account and messaged."""
    require(is_security(request.user))  # before the lookup: others learn nothing, not even existence
    account = get_object_or_404(AwsAccount, pk=pk)
    result = check_account_access(account)
    if result.ok:
        regions = ", ".join(result.regions) or "no regions"
        messages.success(request, f"Access OK: {result.identity_arn} (regions: {regions}).")
    else:
        messages.error(request, f"Access failed — {access_error_text(result.error)}")
    return redirect(account.get_absolute_url())

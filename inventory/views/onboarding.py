"""The Onboarding page (security team only): the organisation's accounts Skyledger cannot read yet,
why, what to do, and what to deploy (the read role as code under ``deploy/aws/``, made by
``manage.py role_policy``; docs/aws-setup.md walks through it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.choices import AccessStatus, AccountStatus
from accounts.models import AwsAccount
from accounts.permissions import is_security, require
from inventory.aws import rolepolicy
from inventory.aws.access_check import FIX_POLICY, FIX_TRUST, SETUP_GUIDE
from inventory.aws.permissions import HUB, READ, declared_actions

# What to do, by the kind of failure recorded on the account (inventory.aws.errors.ErrorKind values).
_FIXES = {
    "role-missing": "Deploy the read role in this account (the StackSet reaches every account of the "
    "organisation but the management account: deploy the single-account template there). " + FIX_TRUST,
    "external-id-mismatch": "The ExternalId Skyledger sends does not match the role's trust policy. "
    + FIX_TRUST,
    "access-denied": "The read role exists but lacks permissions (the reason names them). " + FIX_POLICY,
    "invalid-credentials": "Skyledger's own credentials (the hub) are missing or invalid: check the instance "
    "or task role, or the keys in the environment (the standard boto3 chain). See " + SETUP_GUIDE + ".",
    "network": "Skyledger could not reach AWS: check the network path (proxy, VPC endpoints, firewall).",
    "throttled": "AWS throttled the check: test the account's access again in a few minutes.",
}
_NEVER_CHECKED = (
    "Never checked: deploy the read role (below), then press Test access on the account page or run "
    "`manage.py check_access --account {id}`."
)


def _fix(account: AwsAccount) -> str:
    if account.access_status != AccessStatus.FAILED:
        return _NEVER_CHECKED.format(id=account.account_id)
    return _FIXES.get(account.access_error_code, "See the reason; " + FIX_POLICY)


def onboarding(request: HttpRequest) -> HttpResponse:
    """Accounts Skyledger cannot read yet (never checked, or the last check failed)."""
    require(is_security(request.user))
    pending = (
        AwsAccount.objects.exclude(status=AccountStatus.CLOSED)
        .filter(Q(access_status=AccessStatus.UNKNOWN) | Q(access_status=AccessStatus.FAILED))
        .order_by("access_status", "name", "account_id")
    )
    rows: list[dict[str, Any]] = [{"account": account, "fix": _fix(account)} for account in pending]
    read_actions = declared_actions(READ)
    context = {
        "rows": rows,
        "readable": AwsAccount.objects.filter(access_status=AccessStatus.OK).count(),
        "total": AwsAccount.objects.count(),
        "read_role": settings.SKYLEDGER_READ_ROLE,
        "external_id_set": bool(settings.SKYLEDGER_EXTERNAL_ID),
        "read_action_count": len(read_actions),
        "read_services": sorted({a.split(":", 1)[0] for a in read_actions}),
        "hub_policy": rolepolicy.to_json(rolepolicy.hub_policy(settings.SKYLEDGER_READ_ROLE)),
        "hub_actions": declared_actions(HUB),
        "deploy_dir": rolepolicy.DEPLOY_DIR,
        "files": {
            "policy": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.POLICY_FILE}",
            "trust": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.TRUST_FILE}",
            "hub": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.HUB_POLICY_FILE}",
            "cfn": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.CFN_FILE}",
            "stackset": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.STACKSET_FILE}",
            "terraform": f"{rolepolicy.DEPLOY_DIR}/{rolepolicy.TF_DIR}",
        },
        "guide": SETUP_GUIDE,
    }
    return render(request, "inventory/onboarding.html", context)

"""Celery tasks of the audit: thin wrappers that load ids and call :mod:`iam_audit.engine`.

``iam_audit.run_checks`` re-evaluates one account from stored data (collection runs the same thing
inline after each refresh, see ``IamAuditConfig.ready``); ``iam_audit.expire_suppressions`` runs
daily from the beat schedule (data migration ``0002``). Only transient database errors are retried;
an ``IntegrityError`` means another evaluation of the same account stored the same new finding at
the same moment, and a retry simply sees it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from accounts.models import AwsAccount
from iam_audit import engine

log = logging.getLogger(__name__)

MAX_RETRIES = 3


@shared_task(
    name="iam_audit.run_checks",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, IntegrityError),
    retry_backoff=10,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def run_checks(account_pk: int) -> dict[str, Any] | None:
    """Evaluate every check of one account (by primary key) with the estate-wide context."""
    account = AwsAccount.objects.filter(pk=account_pk).first()
    if account is None:
        log.warning("run_checks: account %s no longer exists", account_pk)
        return None
    summary = engine.run_account(account)
    log.info("run_checks: %s", summary.line())
    return {
        "account": account.account_id,
        "opened": summary.opened,
        "reopened": summary.reopened,
        "resolved": summary.resolved,
        "unknown_checks": summary.unknown_checks,
        "errors": summary.errors,
    }


@shared_task(
    name="iam_audit.expire_suppressions",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=MAX_RETRIES,
)
def expire_suppressions() -> int:
    """End the suppressions whose date has come: those findings are active again."""
    expired = engine.expire_suppressions()
    log.info("expire_suppressions: %d suppression(s) ended", expired)
    return expired

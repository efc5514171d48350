from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import AwsAccount
    from inventory.models import CollectionRun


class CheckRunErrors(Exception):
    """Some checks could not be evaluated after a collection (the others were stored)."""


def run_checks_after_collection(account: AwsAccount, run: CollectionRun) -> None:
    """The after-collection hook: evaluate the account's checks over what was just stored.

    The organisation context and the IAM graph are estate-wide (see ``engine.run_account``). The
    graph (seconds to build at a hundred accounts, ``bench/iam``) is evaluated once per batch of
    runs (the schedule's, a "refresh all"): by its last run to finish, for every account of the
    batch; the earlier runs leave the graph's findings as they are until then. A run outside a
    batch (one account's refresh, ``manage.py collect``) evaluates it at once. Checks that broke
    are raised as one error, which the collection run records; the rest are stored.
    """
    from iam_audit import engine
    from inventory.services import runs

    if runs.batch_collecting(run):
        summaries = [engine.run_account(account, graph=False)]
    else:
        summaries = engine.run_batch_end(account, runs.batch_accounts(run))
    errors = [error for summary in summaries for error in summary.errors]
    if errors:
        raise CheckRunErrors("; ".join(dict.fromkeys(errors))[:1000])


def _baseline_panel(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    from iam_audit.views.home import baseline_panel_context

    return baseline_panel_context(request, account)


def _findings_panel(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    from iam_audit.views.home import findings_panel_context

    return findings_panel_context(request, account)


def _identity_notice(request: HttpRequest) -> dict[str, Any] | None:
    from iam_audit.identity import prompt_context

    return prompt_context(request)


def _iam_panel(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    from iam_audit.views.iam import iam_panel_context

    return iam_panel_context(request, account)


class IamAuditConfig(AppConfig):
    name = "iam_audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from accounts.tables import register_account_column
        from core.panels import Notice, Panel, register_notice, register_panel
        from iam_audit.checks.exposure import FINDER
        from iam_audit.compliance import annotate_compliance
        from iam_audit.tables import ComplianceColumn
        from inventory.exposure import vectors
        from inventory.hooks import on_after_collection

        on_after_collection(run_checks_after_collection)
        # the ways in that policies and attributes open, decided by the checks' own helpers
        vectors.register(FINDER)
        register_panel(
            Panel(
                key="findings",
                title="Open findings",
                template="iam_audit/includes/findings_panel.html",
                context=_findings_panel,
                order=20,
            )
        )
        register_panel(
            Panel(
                key="baseline",
                title="Baseline",
                template="iam_audit/includes/baseline_panel.html",
                context=_baseline_panel,
                order=30,
            )
        )
        register_panel(
            Panel(
                key="iam",
                title="IAM",
                template="iam_audit/includes/iam_panel.html",
                context=_iam_panel,
                order=40,
            )
        )
        register_notice(
            Notice(
                key="identity", template="iam_audit/includes/identity_prompt.html", context=_identity_notice
            )
        )
        register_account_column("baseline_compliance", ComplianceColumn(), annotate=annotate_compliance)

"""What runs after an account's collection: a tiny registry the upper apps join.

``inventory`` knows nothing of the checks engine above it; ``iam_audit`` registers a receiver in its
``AppConfig.ready()``::

    from inventory.hooks import on_after_collection

    @on_after_collection
    def run_checks(account, run): ...

Receivers run in registration order in the worker that collected, after the resources are stored.
A receiver that raises does not undo the collection: its error is logged and added to the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accounts.models import AwsAccount
    from inventory.models import CollectionRun

log = logging.getLogger(__name__)

Receiver = Callable[["AwsAccount", "CollectionRun"], Any]
_RECEIVERS: list[Receiver] = []


def on_after_collection(receiver: Receiver) -> Receiver:
    """Register ``receiver(account, run)`` (idempotent; usable as a decorator)."""
    if receiver not in _RECEIVERS:
        _RECEIVERS.append(receiver)
    return receiver


def disconnect(receiver: Receiver) -> None:
    """Forget ``receiver`` (tests)."""
    if receiver in _RECEIVERS:
        _RECEIVERS.remove(receiver)


def receivers() -> list[Receiver]:
    return list(_RECEIVERS)


def after_collection(account: AwsAccount, run: CollectionRun) -> list[dict[str, str]]:
    """Call every receiver; return the errors of those that raised (as run error entries)."""
    errors: list[dict[str, str]] = []
    for receiver in list(_RECEIVERS):
        try:
            receiver(account, run)
        except Exception as exc:  # noqa: BLE001  (a broken receiver must not fail the collection)
            name = getattr(receiver, "__qualname__", repr(receiver))
            log.exception("after-collection receiver %s failed for run %s", name, run.pk)
            errors.append(
                {
                    "account": account.account_id,
                    "region": "",
                    "service": "post-collection",
                    "resource_type": "",
                    "code": "hook-failed",
                    "message": f"{name} failed after collection: {type(exc).__name__}: {str(exc)[:300]}",
                }
            )
    return errors

"""Can Skyledger read this account? Used by a management command and a page button. No Django."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from inventory.aws.errors import Classified, ErrorKind, classify, without_secret
from inventory.aws.regions import enabled_regions
from inventory.aws.session import Hub, Target


@dataclasses.dataclass(frozen=True)
class AccessResult:
    """The outcome of one access check; ``error`` is set exactly when ``ok`` is False."""

    ok: bool
    identity_arn: str
    regions: list[str]
    error: Classified | None
    checked_at: dt.datetime


def check_access(hub: Hub, target: Target, allowed_regions: Sequence[str] = ()) -> AccessResult:
    """Assume the read role, ask who we are, list the regions it will collect in. Never raises.

    Also fails when the role answers from another account than the registry says (a wrong role ARN
    would otherwise file one account's resources under another).
    """
    checked_at = dt.datetime.now(dt.UTC)
    identity_arn = ""
    try:
        session = hub.assume(target)
        identity = session.caller_identity()
        identity_arn = identity["Arn"]
        if identity["Account"] != target.account_id:
            message = (
                f"The read role answers from account {identity['Account'] or 'unknown'}, "
                f"not {target.account_id}: check the role ARN in the registry."
            )
            error = Classified(ErrorKind.OTHER, "AccountMismatch", message, "GetCallerIdentity")
            return AccessResult(False, identity_arn, [], error, checked_at)
        regions = enabled_regions(session, allowed_regions)
    except Exception as exc:  # noqa: BLE001 (the point is to report any failure, classified)
        error = without_secret(classify(exc), target.external_id)  # AWS may echo it back
        return AccessResult(False, identity_arn, [], error, checked_at)
    return AccessResult(True, identity_arn, regions, None, checked_at)

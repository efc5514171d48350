"""The registry and AWS: Organizations discovery, and access checks of the read role.

**Discovery** reads the organisation from its management account and brings the registry in line:
accounts new to the registry are created (environment guessed from the name or OU when obvious and
recorded as a guess, "org-root" for the management account); existing ones get only their AWS-owned fields updated
(name, AWS email, OU, status, SCPs, joined date; ``discovered_at`` the first time); accounts that
are no longer in the organisation are marked "not in organisation", never deleted. What people
wrote (description, owner, environment, notes, read role, ExternalId...) is never touched. Every
change is a history record with no user and the reason "Organizations discovery". A second run
with nothing new in AWS changes nothing and writes no history.

Which account is the management account: ``SKYLEDGER_DISCOVERY_ROLE_ARN`` when set (a role in it),
else ``describe_organization`` with Skyledger's own credentials names it, and Skyledger assumes its
read role there (the registry's role and ExternalId for that account when it has it, else the
estate defaults).

**Access checks** assume an account's read role and record the outcome on the account (status,
time, classified error) without a history record: a check is not an edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.choices import AccessStatus, AccountStatus, Environment
from accounts.models import ACCOUNT_ID_RE, AwsAccount
from accounts.services import guess_environment
from inventory.aws.access_check import AccessResult, check_access
from inventory.aws.errors import AwsError, Classified, ErrorKind, classify, without_secret
from inventory.aws.organizations import OrgAccount, Organization, describe_organization, read_organization

log = logging.getLogger(__name__)

CHANGE_REASON = "Organizations discovery"
AWS_OWNED_FIELDS = ("name", "email", "org_unit", "status", "scps", "joined_at")
ROLE_ACCOUNT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/.+$")
_STATUS = {
    "ACTIVE": AccountStatus.ACTIVE,
    "SUSPENDED": AccountStatus.SUSPENDED,
    "PENDING_CLOSURE": AccountStatus.CLOSED,
    "CLOSED": AccountStatus.CLOSED,
}
ACCESS_WORKERS = 8


class DiscoveryError(Exception):
    """Discovery could not read the organisation; ``classified`` says why, for people."""

    def __init__(self, classified: Classified) -> None:
        super().__init__(classified.message)
        self.classified = classified


@dataclasses.dataclass
class DiscoverySummary:
    """What one discovery run did. ``updated`` maps account ids to the fields that changed."""

    organization_id: str = ""
    management_account_id: str = ""
    created: list[str] = dataclasses.field(default_factory=list)
    updated: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    left: list[str] = dataclasses.field(default_factory=list)  # marked not-in-organisation now
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.left)

    def text(self) -> str:
        """One sentence for a page message or a terminal."""
        parts = [
            f"{len(self.created)} new",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.left:
            parts.append(f"{len(self.left)} no longer in the organisation")
        sentence = f"Organization {self.organization_id or '?'}: " + ", ".join(parts) + "."
        return " ".join([sentence, *self.warnings])

    def lines(self) -> list[str]:
        """A detailed report, one line per account that changed."""
        lines = [self.text()]
        lines += [f"  + {account_id} created" for account_id in self.created]
        lines += [f"  ~ {account_id}: {', '.join(fields)}" for account_id, fields in self.updated.items()]
        lines += [f"  - {account_id} no longer in the organisation" for account_id in self.left]
        return lines


def _hub() -> Any:
    from inventory.services.collect import default_access

    return default_access(region_workers=1).hub


def _target(account_id: str, role_arn: str, external_id: str, purpose: str) -> Any:
    from inventory.aws.session import Target

    return Target(
        account_id=account_id, role_arn=role_arn, external_id=external_id or None, session_name=purpose
    )


def _management_target(hub: Any, read_role: str, external_id: str, discovery_role_arn: str) -> Any:
    if discovery_role_arn:
        match = ROLE_ACCOUNT_RE.match(discovery_role_arn)
        if not match:
            raise DiscoveryError(
                Classified(
                    ErrorKind.OTHER, "BadDiscoveryRole",
                    f"SKYLEDGER_DISCOVERY_ROLE_ARN is not a role ARN: {discovery_role_arn[:200]!r}.",
                )
            )  # fmt: skip
        account_id = match.group(1)
        known = AwsAccount.objects.filter(account_id=account_id).first()
        external = (known.external_id if known else "") or external_id
        return _target(account_id, discovery_role_arn, external, "skyledger-discovery")
    try:
        organization = describe_organization(hub.client("organizations"))
    except Exception as exc:  # noqa: BLE001 (classified for people below)
        raise DiscoveryError(classify(exc, "DescribeOrganization")) from exc
    account_id = str(organization.get("MasterAccountId") or "")
    if not re.fullmatch(r"\d{12}", account_id):
        raise DiscoveryError(
            Classified(
                ErrorKind.OTHER,
                "NoManagementAccount",
                "AWS did not say which account manages the organisation.",
            )
        )
    known = AwsAccount.objects.filter(account_id=account_id).first()
    if known is not None:
        return _target(
            account_id, known.role_arn(read_role), known.external_id or external_id, "skyledger-discovery"
        )
    role_arn = read_role if read_role.startswith("arn:") else f"arn:aws:iam::{account_id}:role/{read_role}"
    return _target(account_id, role_arn, external_id, "skyledger-discovery")


def read_from_aws(
    hub: Any = None, *, read_role: str | None = None, external_id: str | None = None,
    discovery_role_arn: str | None = None,
) -> Organization:  # fmt: skip
    """The organisation as its management account sees it. Raises :class:`DiscoveryError`."""
    hub = hub or _hub()
    read_role = read_role if read_role is not None else settings.SKYLEDGER_READ_ROLE
    external_id = external_id if external_id is not None else settings.SKYLEDGER_EXTERNAL_ID
    role_arn = discovery_role_arn if discovery_role_arn is not None else settings.SKYLEDGER_DISCOVERY_ROLE_ARN
    target = _management_target(hub, read_role, external_id, role_arn)
    try:
        session = hub.assume(target)
    except Exception as exc:  # noqa: BLE001
        classified = classify(exc, "AssumeRole", assuming_role=True, external_id=bool(target.external_id))
        raise DiscoveryError(without_secret(classified, target.external_id)) from exc
    try:
        return read_organization(session.client("organizations"))
    except Exception as exc:  # noqa: BLE001
        raise DiscoveryError(classify(exc)) from exc


def _clip(value: str, field: str) -> str:
    model_field = AwsAccount._meta.get_field(field)
    limit = (model_field.max_length if isinstance(model_field, models.Field) else None) or len(value)
    return value[:limit]


def _aws_values(account: OrgAccount, current_status: str | None) -> dict[str, Any]:
    """The registry's AWS-owned fields for one organisation account."""
    status: str | None = _STATUS.get(account.status)
    if status is None:  # a status this code does not know yet: keep what the registry says
        status = current_status or AccountStatus.ACTIVE
    return {
        "name": _clip(account.name.strip() or account.id, "name"),
        "email": _clip(account.email.strip(), "email"),
        "org_unit": _clip(account.ou_path, "org_unit"),
        "status": str(status),
        "scps": [ref.as_dict() for ref in account.scps],
        "joined_at": account.joined_at,
    }


def _save(account: AwsAccount, fields: Iterable[str]) -> None:
    account._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
    account._history_user = None  # type: ignore[attr-defined]  # not the request's user: AWS did it
    account.save(update_fields=[*fields, "updated"])


def apply_organization(organization: Organization, now: dt.datetime | None = None) -> DiscoverySummary:
    """Bring the registry in line with ``organization`` (one transaction). See the module docstring."""
    now = now or timezone.now()
    summary = DiscoverySummary(organization.id, organization.management_account_id)
    if not organization.scps_known and organization.scp_problem is not None:
        summary.warnings.append(f"SCPs were not updated: {organization.scp_problem.message}")
    in_org = {account.id for account in organization.accounts}
    with transaction.atomic():
        registry = {a.account_id: a for a in AwsAccount.objects.select_for_update().all()}
        for org_account in organization.accounts:
            if not ACCOUNT_ID_RE.match(org_account.id):
                summary.warnings.append(f"Skipped an account with an invalid id: {org_account.id[:40]!r}.")
                continue
            existing = registry.get(org_account.id)
            values = _aws_values(org_account, existing.status if existing else None)
            if not organization.scps_known:
                values.pop("scps")
            if existing is None:
                management = org_account.id == organization.management_account_id
                environment = (
                    Environment.ORG_ROOT
                    if management
                    else guess_environment(values["name"], values["org_unit"])
                )
                created = AwsAccount(
                    account_id=org_account.id,
                    environment=environment,
                    # a name says what an account is for only as a guess: the security team decides
                    # (the management account is AWS's fact, not a guess)
                    environment_guessed=not management,
                    discovered_at=now,
                    **values,
                )
                try:
                    # AWS's email is what it is: the registry shows it, it does not send to it
                    created.full_clean(validate_unique=False, exclude=["email"])
                except ValidationError as exc:
                    summary.warnings.append(
                        f"Skipped account {org_account.id}: {'; '.join(exc.messages)[:300]}"
                    )
                    continue
                created._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
                created._history_user = None  # type: ignore[attr-defined]
                created.save()
                summary.created.append(org_account.id)
                continue
            changed = [field for field, value in values.items() if getattr(existing, field) != value]
            if existing.discovered_at is None:
                values["discovered_at"] = now
                changed.append("discovered_at")
            if changed:
                for field in changed:
                    setattr(existing, field, values[field])
                _save(existing, changed)
                summary.updated[org_account.id] = changed
            else:
                summary.unchanged.append(org_account.id)
        for account_id, account in registry.items():
            if account_id not in in_org and account.status != AccountStatus.NOT_IN_ORG:
                account.status = AccountStatus.NOT_IN_ORG
                _save(account, ["status"])
                summary.left.append(account_id)
    summary.created.sort()
    summary.left.sort()
    return summary


def discover_accounts(
    hub: Any = None, *, read_role: str | None = None, external_id: str | None = None,
    discovery_role_arn: str | None = None, now: dt.datetime | None = None,
) -> DiscoverySummary:  # fmt: skip
    """Read the organisation and bring the registry in line. Raises :class:`DiscoveryError`.

    ``read_role``, ``external_id`` and ``discovery_role_arn`` default to the settings.
    """
    organization = read_from_aws(
        hub, read_role=read_role, external_id=external_id, discovery_role_arn=discovery_role_arn
    )
    summary = apply_organization(organization, now)
    log.info("discovery: %s", summary.text())
    return summary


# --------------------------------------------------------------------------------- access checks
def access_target(account: AwsAccount, purpose: str = "skyledger-access-check") -> Any:
    """The read role to assume in ``account`` (its own role/ExternalId, else the estate defaults)."""
    return _target(account.account_id, account.role_arn(), account.effective_external_id(), purpose)


def record_access(account: AwsAccount, result: AccessResult) -> None:
    """Store ``result`` on the account (a single UPDATE: no history record, no ``updated`` bump)."""
    error = result.error
    values = {
        "access_status": AccessStatus.OK if result.ok else AccessStatus.FAILED,
        "access_checked_at": result.checked_at,
        "access_error_code": "" if error is None else _clip(str(error.kind.value), "access_error_code"),
        "access_message": "" if error is None else error.message,
    }
    AwsAccount.objects.filter(pk=account.pk).update(**values)
    for field, value in values.items():
        setattr(account, field, value)


def _check(hub: Any, account: AwsAccount) -> AccessResult:
    """:func:`check_access` listing the regions a collection will read: every enabled one but the
    security team's exclusions (the allowed regions only classify, they limit nothing)."""
    result = check_access(hub, access_target(account))
    excluded = account.collection_exclusions()
    if not excluded:
        return result
    return dataclasses.replace(result, regions=[r for r in result.regions if r not in excluded])


def check_account_access(account: AwsAccount, hub: Any = None) -> AccessResult:
    """Check that Skyledger can assume ``account``'s read role, and record the outcome."""
    hub = hub or _hub()
    try:
        result = _check(hub, account)
    except Exception as exc:  # noqa: BLE001 (check_access never raises; this is a last resort)
        result = AccessResult(False, "", [], classify(exc), timezone.now())
    record_access(account, result)
    return result


def check_accounts_access(
    accounts: Sequence[AwsAccount], hub: Any = None, workers: int = ACCESS_WORKERS
) -> list[tuple[AwsAccount, AccessResult]]:
    """Check several accounts, a few at a time (AWS calls in threads, database writes here)."""
    hub = hub or _hub()

    def check(account: AwsAccount) -> AccessResult:
        try:
            return _check(hub, account)
        except Exception as exc:  # noqa: BLE001
            return AccessResult(False, "", [], classify(exc), timezone.now())

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(accounts) or 1))) as pool:
        results = list(pool.map(check, accounts))
    for account, result in zip(accounts, results, strict=True):
        record_access(account, result)
    return list(zip(accounts, results, strict=True))


def access_error_text(error: Classified | AwsError | None) -> str:
    """A classified failure as one line for people ("role-missing: The read role could not...")."""
    if error is None:
        return ""
    classified = error.classified if isinstance(error, AwsError) else error
    return f"{classified.kind.value}: {classified.message}"

"""Registry services: environment guessing and the readable change history of accounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.text import capfirst

from accounts.choices import ENVIRONMENT_HINTS, AccountStatus, Environment
from accounts.limits import HISTORY_VALUE_SHOWN, shorten
from accounts.models import AwsAccount, Team
from core.secrets import PASS_THROUGH, Redactor

HISTORY_TYPES = {"+": "Created", "~": "Changed", "-": "Deleted"}
# fields whose values only the security team sees: other users read "changed", never the value
SECRET_FIELDS = frozenset({"external_id"})


@cache
def _hint_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [
        (re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])"), env) for word, env in ENVIRONMENT_HINTS
    ]


def guess_environment(*texts: str) -> str:
    """The environment an account name or OU path makes obvious ("payments-prod" → prod), else other.

    Words match whole (so "devtools" is not dev); the first hint in ENVIRONMENT_HINTS order wins.
    """
    for text in texts:
        lowered = (text or "").lower()
        for pattern, env in _hint_patterns():
            if pattern.search(lowered):
                return str(env)
    return str(Environment.OTHER)


# --- history -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """One field of one history entry: its label, and the old and new values as display text.

    ``hidden``: a secret field (an ExternalId) shown to someone who may not see it: ``old`` and
    ``new`` are empty and the page says only that it changed.
    """

    field: str
    label: str
    old: str
    new: str
    hidden: bool = False


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One historical record of an account or a team, with what changed relative to the one before it."""

    history_id: int
    when: dt.datetime
    user: str
    kind: str
    reason: str
    changes: list[FieldChange]


def tracked_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The concrete fields the history of ``model`` records (minus ids and bookkeeping)."""
    history_model = model.history.model  # type: ignore[attr-defined]
    recorded = {f.name for f in history_model._meta.concrete_fields}
    return [
        f
        for f in model._meta.concrete_fields
        if f.name in recorded and f.name not in {"id", "created", "updated"} and not f.primary_key
    ]


def display_value(field: models.Field[Any, Any], value: Any, team_names: dict[int, str]) -> str:
    """A stored value as people read it: choice labels, team names, lists joined, yes/no."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(field, models.ForeignKey):
        name = team_names.get(value)
        return name if name is not None else f"(deleted team #{value})"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def history_entries(
    records: Sequence[Any], previous: Any | None = None, redactor: Redactor = PASS_THROUGH
) -> list[HistoryEntry]:
    """Turn historical AwsAccount records (newest first) into entries with per-field changes.

    ``previous`` is the record just older than the last one given (for a paginated slice), so its
    first change can still be diffed. Runs one query, for the names of teams the records mention.
    With an active ``redactor`` (anyone but the security team) the ExternalId's changes carry no
    values, and known ExternalIds are masked in every other value and reason.
    """
    chain = [*records, previous] if previous is not None else list(records)
    team_ids = {r.owner_id for r in chain if getattr(r, "owner_id", None)}
    team_names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name")) if team_ids else {}
    return _entries(AwsAccount, records, chain, team_names, redactor=redactor)


def team_history_entries(
    records: Sequence[Any], previous: Any | None = None, redactor: Redactor = PASS_THROUGH
) -> list[HistoryEntry]:
    """Like :func:`history_entries`, for historical Team records; the members are compared too.

    Two queries: the membership rows recorded with these records, and the usernames (a member
    whose user was since deleted shows as such).
    """
    chain = [*records, previous] if previous is not None else list(records)
    member_ids: dict[int, list[int]] = {r.history_id: [] for r in chain}
    if chain:
        recorded = chain[0].members.model  # the history of the membership table
        rows = recorded.objects.filter(history_id__in=member_ids).values_list("history_id", "user_id")
        for history_id, user_id in rows:
            member_ids[history_id].append(user_id)
    wanted = {uid for ids in member_ids.values() for uid in ids}
    names = (
        dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username")) if wanted else {}
    )
    members = {
        history_id: sorted(names.get(uid, f"(deleted user #{uid})") for uid in ids)
        for history_id, ids in member_ids.items()
    }
    return _entries(Team, records, chain, {}, members, redactor=redactor)


def _entries(
    model: type[models.Model],
    records: Sequence[Any],
    chain: Sequence[Any],
    team_names: dict[int, str],
    members: dict[int, list[str]] | None = None,
    redactor: Redactor = PASS_THROUGH,
) -> list[HistoryEntry]:
    """Entries for ``records``; ``chain`` is them plus the record just older, if any.
    ``members``: usernames by history id (teams). ``redactor``: see :func:`history_entries`."""
    fields = tracked_fields(model)
    entries = []
    for index, record in enumerate(records):
        older = chain[index + 1] if index + 1 < len(chain) else None
        changes = []
        for field in fields if record.history_type != "-" else ():
            new = getattr(record, field.attname)
            old = getattr(older, field.attname) if older is not None else None
            if older is None and new in (None, "", []):
                continue  # the first record lists the values it set, not every empty field
            if older is not None and old == new:
                continue
            if redactor and field.name in SECRET_FIELDS:
                changes.append(
                    FieldChange(
                        field=field.name, label=capfirst(str(field.verbose_name)), old="", new="", hidden=True
                    )
                )
                continue
            changes.append(
                FieldChange(
                    field=field.name,
                    label=capfirst(str(field.verbose_name)),
                    old=shorten(redactor.text(display_value(field, old, team_names)), HISTORY_VALUE_SHOWN)
                    if older is not None
                    else "—",
                    new=shorten(redactor.text(display_value(field, new, team_names)), HISTORY_VALUE_SHOWN),
                )
            )
        if members is not None and record.history_type != "-":
            now, before = members[record.history_id], (members[older.history_id] if older is not None else [])
            if now != before and (now or older is not None):
                changes.append(
                    FieldChange(
                        field="members",
                        label="Members",
                        old=shorten(", ".join(before) or "—", HISTORY_VALUE_SHOWN)
                        if older is not None
                        else "—",
                        new=shorten(", ".join(now) or "—", HISTORY_VALUE_SHOWN),
                    )
                )
        user = record.history_user
        entries.append(
            HistoryEntry(
                history_id=record.history_id,
                when=record.history_date,
                user=user.get_username() if user is not None else "system",
                kind=HISTORY_TYPES.get(record.history_type, record.history_type),
                reason=redactor.text(record.history_change_reason or ""),
                changes=changes,
            )
        )
    return entries


# Spellings people use in spreadsheets that are neither our value nor our label.
ENVIRONMENT_ALIASES = {
    "develop": Environment.DEV,
    "stage": Environment.STAGING,
    "management": Environment.ORG_ROOT,
    "master": Environment.ORG_ROOT,
    "root": Environment.ORG_ROOT,
    "log archive": Environment.OPERATIONS,
    "log-archive": Environment.OPERATIONS,
    "logarchive": Environment.OPERATIONS,
    "audit": Environment.SECURITY,
}


def choice_value(choices: type[models.TextChoices], text: str) -> str | None:
    """A choice from its value or label, case-insensitively ("Production", "prod"); None if unknown."""
    wanted = " ".join((text or "").split()).lower()
    for value, label in choices.choices:
        if wanted in {str(value).lower(), str(label).lower()}:
            return str(value)
    return ENVIRONMENT_ALIASES.get(wanted) if choices is Environment else None


def environment_choices_text() -> str:
    return ", ".join(str(value) for value in Environment.values)


def status_choices_text() -> str:
    return ", ".join(str(value) for value in AccountStatus.values)


def unique_in_order(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)

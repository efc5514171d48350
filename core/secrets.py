"""ExternalIds are secrets: the one place that masks them.

An ExternalId (the estate-wide ``SKYLEDGER_EXTERNAL_ID`` and every account's own
``AwsAccount.external_id``) is what stops anyone who knows a read role's ARN from assuming it on
our behalf (the confused deputy). Only the security team sees one; everyone else gets
:data:`MASK` in its place, on every page, export and JSON endpoint; logs, stored error messages
and findings' evidence carry the mask for everyone.

Two tools, both pure (no Django import at module level, so ``inventory.aws`` may use them):

* :func:`redact_policy` walks a JSON-ish value (a policy document, resource metadata, a finding's
  evidence, an access path row, a revision's changes) and replaces the values of every
  ``sts:ExternalId`` condition key (any case, under any operator: ``StringEquals``, ``StringLike``,
  ``ForAnyValue:StringEquals``...; a scalar or a list) with the mask. It also knows the shapes
  Skyledger derives from conditions (``{"key": "sts:ExternalId", "values": [...]}``, a change at
  path ``...sts:ExternalId``) and policy documents kept as JSON text.
* :class:`TextRedactor` replaces known ExternalId values inside any text (longest first; only
  values of :data:`MIN_SECRET_LENGTH` characters or more, so a careless short value cannot
  mangle ordinary words).

:class:`Redactor` combines the two; :func:`redactor_for` gives the one a user's request needs
(a no-op for the security team) and :func:`everyone` the one for logs and evidence.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

MASK = "••••(redacted)"
MIN_SECRET_LENGTH = 6
# values found in a condition are masked where the condition is; elsewhere in the same value (a
# statement's text) only from this length, so a wildcard "*" does not take every "*" with it
FOUND_MIN_LENGTH = 4
CONDITION_KEY = "sts:externalid"
# fields that hold the values of a condition key named in a sibling field (Requirement.as_dict,
# Condition.as_dict, a revision change {path, old, new}, a generic {key, value})
_VALUE_FIELDS = ("values", "value", "old", "new", "Values", "Value")
_NAME_FIELDS = ("key", "Key", "path", "condition_key")
_JSON_START = re.compile(r"^\s*[\[{]")


def _names_external_id(name: Any) -> bool:
    return isinstance(name, str) and CONDITION_KEY in name.lower()


def _mask_like(value: Any) -> Any:
    """The mask in the value's shape: a list of masks for a list, else one mask (None stays None)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [MASK for _ in value]
    return MASK


def _condition_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


class TextRedactor:
    """Replaces known secret values inside text with :data:`MASK` (longest first, exact case)."""

    def __init__(self, secrets: Iterable[str | None] = (), min_length: int = MIN_SECRET_LENGTH) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= min_length}
        self.values = sorted(values, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(re.escape(v) for v in self.values)) if self.values else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def extended(self, more: Iterable[str]) -> TextRedactor:
        return TextRedactor([*self.values, *more])


def redact_policy(value: Any, text: Callable[[str], str] | None = None) -> Any:
    """``value`` with every ExternalId condition value masked (a new value; the input is untouched).

    ``text``, when given, is applied to every string left (e.g. a :class:`TextRedactor`). Values
    found in conditions are also masked wherever else the same value shows (a policy's text, a
    description "not (StringNotEquals sts:ExternalId abc123)") within the same value.
    """
    found: list[str] = []
    _collect(value, found)
    redactor = TextRedactor(found, min_length=FOUND_MIN_LENGTH)
    outer = text

    def apply(s: str) -> str:
        s = redactor(s)
        return outer(s) if outer is not None else s

    return _walk(value, apply)


def _collect(value: Any, found: list[str]) -> None:
    """Every string given as an ExternalId condition value anywhere in ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            named = any(_names_external_id(item.get(f)) for f in _NAME_FIELDS)
            for key, inner in item.items():
                if _names_external_id(key) or (named and key in _VALUE_FIELDS):
                    found.extend(_condition_values(inner))
                stack.append(inner)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, str) and CONDITION_KEY in item.lower():
            parsed = _parse_document(item)
            if parsed is not None:
                stack.append(parsed)


def _parse_document(text: str) -> Any | None:
    """A policy kept as JSON text (or URL-encoded JSON, as IAM returns it), else None."""
    candidate = text
    if not _JSON_START.match(candidate) and candidate.lstrip()[:3].upper() == "%7B":
        candidate = unquote(candidate)
    if not _JSON_START.match(candidate):
        return None
    try:
        return json.loads(candidate)
    except ValueError:
        return None


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, Mapping):
        named = any(_names_external_id(value.get(f)) for f in _NAME_FIELDS)
        out = {}
        for key, inner in value.items():
            if _names_external_id(key) or (named and key in _VALUE_FIELDS):
                out[key] = _mask_like(inner)
            else:
                out[key] = _walk(inner, text)
        return out
    if isinstance(value, list):
        return [_walk(v, text) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, text) for v in value)
    if isinstance(value, str):
        if CONDITION_KEY in value.lower():
            parsed = _parse_document(value)
            if parsed is not None:
                indent = 2 if "\n" in value else None
                return json.dumps(_walk(parsed, text), indent=indent, ensure_ascii=False, default=str)
        return text(value)
    return value


class Redactor:
    """What one audience may see: ``data()`` for JSON-ish values, ``text()`` for strings.

    ``active`` False (the security team) passes everything through unchanged.
    """

    def __init__(self, secrets: Iterable[str | None] = (), *, active: bool = True) -> None:
        self.active = active
        self._text = TextRedactor(secrets if active else ())

    def text(self, value: str) -> str:
        return self._text(value) if self.active and isinstance(value, str) else value

    def data(self, value: Any) -> Any:
        return redact_policy(value, self._text) if self.active else value

    def __bool__(self) -> bool:
        return self.active


PASS_THROUGH = Redactor(active=False)


# --- logs: every ExternalId this process has used is masked in every line it writes --------------

_SEEN: set[str] = set()
_SEEN_LOCK = threading.Lock()
_seen_redactor = TextRedactor()


def remember(secret: str | None) -> None:
    """Note an ExternalId this process sends (``inventory.aws`` calls it for every role it assumes),
    so :class:`RedactingFormatter` masks it in any log line, traceback included."""
    global _seen_redactor
    if not secret or secret in _SEEN:
        return
    with _SEEN_LOCK:
        _SEEN.add(secret)
        _seen_redactor = TextRedactor(_SEEN, min_length=2)


def mask_seen(text: str) -> str:
    """``text`` with every remembered ExternalId masked."""
    return _seen_redactor(text)


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks every ExternalId the process has used (message and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_seen(super().format(record))


# --- with Django: the known values and who sees them ---------------------------------------------


def known_external_ids() -> list[str]:
    """The estate-wide ExternalId and every account's own (one query)."""
    from django.conf import settings

    from accounts.models import AwsAccount

    values = set(AwsAccount.objects.exclude(external_id="").values_list("external_id", flat=True))
    values.add(str(getattr(settings, "SKYLEDGER_EXTERNAL_ID", "") or ""))
    values.discard("")
    return sorted(values)


def everyone() -> Redactor:
    """The redactor for what nobody needs to see (logs, stored errors, findings' evidence)."""
    return Redactor(known_external_ids())


def redactor_for(user: Any) -> Redactor:
    """The security team sees ExternalIds; everyone else gets them masked."""
    from accounts.permissions import is_security

    if is_security(user):
        return PASS_THROUGH
    return everyone()


def shows_secrets(user: Any) -> bool:
    from accounts.permissions import is_security

    return is_security(user)

"""IAM policy documents as plain objects: forgiving parsing into :class:`PolicyDoc` / :class:`Statement`.

Parsing never raises. A document may be a dict, a JSON string (URL-encoded as some AWS answers give
it), bytes, a bare statement list, a lone statement, ``None`` or garbage; ``Statement`` may be one
object or a list; any field may be a string or a list; element names are accepted in any case so
odd exports still parse. Whatever cannot be read is dropped and noted in :attr:`PolicyDoc.problems`.

Patterns are normalised once here: actions, resources and principals are stripped of surrounding
whitespace (actions keep their case for display; matching ignores it).
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from iam_audit.policy.match import action_matches, resource_matches

ALLOW = "Allow"
DENY = "Deny"
# The resource of a request that means "every resource": only statements that cover all
# resources (Resource "*", or a NotResource) apply to it.
ALL_RESOURCES = "*"
MAX_STATEMENTS = 5000  # far above IAM's size limits: guards against absurd stored documents
_ACCOUNT_ID = re.compile(r"^\d{12}$")


# ---------------------------------------------------------------------------------------------- ARNs
def account_of(arn: str) -> str:
    """The account id of an ARN (its fifth field, "" when it has none) or of a bare 12-digit id."""
    if not isinstance(arn, str):
        return ""
    text = arn.strip()
    if _ACCOUNT_ID.match(text):
        return text
    parts = text.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


def is_account_id(text: str) -> bool:
    return bool(_ACCOUNT_ID.match(text))


# ---------------------------------------------------------------------------------------------- principals
@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalRef:
    """One entry of a Principal element."""

    kind: str  # "anyone" | "aws" | "federated" | "service" | "canonical"
    value: str


@dataclasses.dataclass(frozen=True, slots=True)
class Principals:
    """A Principal (or NotPrincipal) element seen by kind. ``anyone``: ``"*"`` / ``{"AWS": "*"}``."""

    refs: tuple[PrincipalRef, ...]

    def _of(self, kind: str) -> tuple[str, ...]:
        return tuple(r.value for r in self.refs if r.kind == kind)

    @property
    def anyone(self) -> bool:
        return any(r.kind == "anyone" for r in self.refs)

    @property
    def aws(self) -> tuple[str, ...]:
        return self._of("aws")

    @property
    def service(self) -> tuple[str, ...]:
        return self._of("service")

    @property
    def federated(self) -> tuple[str, ...]:
        return self._of("federated")

    def accounts(self) -> set[str]:
        """Account ids named by the AWS principals (root, users, roles, sessions, bare ids)."""
        return {a for a in (account_of(p) for p in self.aws) if is_account_id(a)}

    def unresolved(self) -> list[str]:
        """AWS principals whose account cannot be read (unique ids of deleted principals...)."""
        return [p for p in self.aws if not is_account_id(account_of(p))]


# ---------------------------------------------------------------------------------------------- conditions
@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) triple of a Condition block; ``key`` as written."""

    operator: str  # e.g. "StringEquals", "ForAnyValue:StringLike", "BoolIfExists"
    key: str
    values: tuple[str, ...]

    @property
    def name(self) -> str:
        """The key in lower case: condition keys are case-insensitive."""
        return self.key.strip().lower()

    @property
    def op(self) -> str:
        return self.operator.strip().lower()

    @property
    def negated(self) -> bool:
        return "not" in self.op.split(":")[-1]

    @property
    def if_exists(self) -> bool:
        return self.op.endswith("ifexists")

    def as_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "key": self.key, "values": list(self.values)}


# ---------------------------------------------------------------------------------------------- statements
@dataclasses.dataclass(slots=True, eq=False)
class Statement:
    """A normalised statement. ``actions`` are the Action patterns, or the NotAction ones when
    ``not_action``; the same for resources and principals. ``raw`` is the statement as written."""

    index: int
    sid: str
    effect: str  # "Allow" | "Deny" | anything else (then it never applies)
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    resource_given: bool  # False: no Resource/NotResource element at all
    principals: tuple[PrincipalRef, ...]
    not_principal: bool
    principal_given: bool  # False: no Principal/NotPrincipal element at all
    conditions: tuple[Condition, ...]
    raw: Mapping[str, Any]
    _action_cache: dict[str, bool] = dataclasses.field(default_factory=dict, repr=False)
    _by_service: dict[str, tuple[str, ...]] | None = dataclasses.field(default=None, repr=False)

    @property
    def is_allow(self) -> bool:
        return self.effect == ALLOW

    @property
    def is_deny(self) -> bool:
        return self.effect == DENY

    @property
    def label(self) -> str:
        return self.sid or f"#{self.index}"

    @property
    def principal(self) -> Principals | None:
        """The Principal element (None when absent or when the statement uses NotPrincipal)."""
        return Principals(self.principals) if self.principal_given and not self.not_principal else None

    @property
    def has_variables(self) -> bool:
        return any("${" in r for r in self.resources)

    def ref(self) -> dict[str, Any]:
        """Where the statement is: index and Sid, for evidence."""
        return {"index": self.index, "sid": self.sid[:200]}

    def evidence(self) -> dict[str, Any]:
        """Index, Sid and the statement exactly as written."""
        return {**self.ref(), "statement": dict(self.raw)}

    # ------------------------------------------------------------------ actions
    def matches_action(self, action: str) -> bool:
        """Does Action/NotAction cover ``action`` (case-insensitive, surrounding blanks ignored)?

        ``action`` may itself be a wildcard such as ``"s3:*"``: it is then covered only as a whole
        (by ``"s3:*"`` or ``"*"``, not ``"s3:Get*"``; a NotAction excludes it when any of its
        patterns overlaps it in either direction).
        """
        key = action.strip().lower()
        hit = self._action_cache.get(key)
        if hit is None:
            if self.not_action:
                hit = not (self._listed(key) or any(action_matches(key, p) for p in self.actions))
            else:
                hit = self._listed(key)
            if len(self._action_cache) < 4096:
                self._action_cache[key] = hit
        return hit

    def _listed(self, action: str) -> bool:
        if self._by_service is None:
            # index patterns by service so a 1,000-pattern ReadOnlyAccess is not scanned whole
            groups: dict[str, list[str]] = {}
            for p in self.actions:
                service, sep, _ = p.lower().partition(":")
                key = service if sep and "*" not in service and "?" not in service else "\x00"
                groups.setdefault(key, []).append(p)
            self._by_service = {k: tuple(v) for k, v in groups.items()}
        service = action.partition(":")[0]
        for key in (service, "\x00"):
            for p in self._by_service.get(key, ()):
                if action_matches(p, action):
                    return True
        return False

    # ------------------------------------------------------------------ resources
    def resource_scope(self) -> bool | frozenset[str]:
        """Which resources the statement covers *entirely*: ``True`` for every resource of every
        service (``*``, ``arn:aws:*``, a NotResource, no Resource element), else the services whose
        resources it covers whole (``arn:aws:s3:::*`` covers S3), possibly none.

        A NotResource is counted as covering everything: it excludes a few ARNs from an otherwise
        universal grant, and erring on "broad" is the safe side for an audit.
        """
        if not self.resource_given or self.not_resource:
            return True
        services: set[str] = set()
        for r in self.resources:
            scope = _universal_scope(r)
            if scope is True:
                return True
            if scope:
                services.add(scope)
        return frozenset(services)

    def covers_all_resources(self, service: str | None = None) -> bool:
        """True when the statement applies to every resource (of ``service``, when given)."""
        scope = self.resource_scope()
        if scope is True:
            return True
        return service is not None and isinstance(scope, frozenset) and service in scope

    def matches_resource(
        self, resource: str, context: Mapping[str, str] | None = None, action: str = ""
    ) -> bool:
        """Does Resource/NotResource cover ``resource``? Case-sensitive; policy variables are
        resolved from ``context`` (see :func:`iam_audit.policy.match.substitute_variables`).

        ``resource`` may be :data:`ALL_RESOURCES`: then the statement must cover every resource of
        the ``action``'s service.
        """
        if not self.resource_given:
            return True  # trust policies and SCPs without Resource apply to their own resource
        if resource == ALL_RESOURCES:
            return self.covers_all_resources(action.partition(":")[0].lower() if action else None)
        hit = any(resource_matches(p, resource, context) for p in self.resources)
        return not hit if self.not_resource else hit


_WILD_TAIL = frozenset("*:/")


def _universal_scope(pattern: str) -> bool | str:
    """``True`` if the ARN pattern matches every ARN, a service name if every ARN of that service,
    else ``""``. ``arn:aws:s3:::*`` -> "s3"; ``arn:aws:*`` and ``*`` -> True."""
    if not pattern or set(pattern) == {"*"}:
        return bool(pattern)
    parts = pattern.split(":", 3)
    if parts[0] != "arn" or len(parts) < 2:
        return ""
    partition = parts[1]
    if not (set(partition) <= {"*"} or partition.startswith("aws")):
        return ""
    if len(parts) == 2:
        return set(partition) == {"*"}
    service = parts[2]
    tail = parts[3] if len(parts) > 3 else ""
    if set(service) == {"*"}:
        return True if (not tail or set(tail) <= _WILD_TAIL) else ""
    if tail and "*" in tail and set(tail) <= _WILD_TAIL:
        return service.lower()
    return ""


@dataclasses.dataclass(slots=True, eq=False)
class PolicyDoc:
    """A parsed policy document."""

    statements: tuple[Statement, ...]
    version: str = ""
    problems: tuple[str, ...] = ()
    raw: Any = None

    @property
    def has_variables(self) -> bool:
        return any(s.has_variables for s in self.statements)


# ---------------------------------------------------------------------------------------------- parsing
_PARSE_CACHE: dict[str, PolicyDoc] = {}
_PARSE_CACHE_MAX = 200_000


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def _strings(value: Any, problems: list[str], field: str) -> tuple[str, ...]:
    """A string-or-list field as a tuple of strings; odd members are dropped (and noted)."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        out = []
        for v in value:
            text = _scalar_text(v)
            if text is None:
                problems.append(f"{field}: ignored a non-string member")
            else:
                out.append(text)
        return tuple(out)
    text = _scalar_text(value)
    if text is None:
        problems.append(f"{field}: not a string or a list")
        return ()
    return (text,)


_PRINCIPAL_KINDS = {
    "aws": "aws",
    "federated": "federated",
    "service": "service",
    "canonicaluser": "canonical",
}


def _principals(value: Any, problems: list[str]) -> tuple[PrincipalRef, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        entry = value.strip()
        return (PrincipalRef("anyone", "*"),) if entry == "*" else (PrincipalRef("aws", entry),)
    if not isinstance(value, Mapping):
        problems.append("Principal: not a string or an object")
        return ()
    out: list[PrincipalRef] = []
    for raw_kind, entries in value.items():
        kind = _PRINCIPAL_KINDS.get(str(raw_kind).strip().lower(), "")
        if not kind:
            problems.append(f"Principal: unknown type {str(raw_kind)[:40]!r}")
            continue
        for entry in _strings(entries, problems, "Principal"):
            entry = entry.strip()
            if kind == "aws" and entry == "*":
                out.append(PrincipalRef("anyone", "*"))
            else:
                out.append(PrincipalRef(kind, entry))
    return tuple(out)


def _conditions(value: Any, problems: list[str]) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        problems.append("Condition: not an object")
        return ()
    out: list[Condition] = []
    for operator, block in value.items():
        if not isinstance(block, Mapping):
            problems.append(f"Condition {str(operator)[:40]}: not an object")
            continue
        for key, values in block.items():
            out.append(Condition(str(operator), str(key), _strings(values, problems, "Condition")))
    return tuple(out)


def _element(fields: Mapping[str, Any], name: str) -> tuple[Any, bool, bool]:
    """(value, negated, given) of an element that has a ``Not`` form (``Action``/``NotAction``...);
    the positive form wins when a statement has both."""
    if name in fields:
        return fields[name], False, True
    if "not" + name in fields:
        return fields["not" + name], True, True
    return None, False, False


def _statement(index: int, raw: Any, problems: list[str]) -> Statement | None:
    if not isinstance(raw, Mapping):
        problems.append(f"statement {index}: not an object")
        return None
    # element names are case-sensitive in AWS; we accept any case so odd exports still parse
    fields = {str(k).lower(): v for k, v in raw.items()}
    effect_text = _scalar_text(fields.get("effect")) or ""
    effect = {"allow": ALLOW, "deny": DENY}.get(effect_text.strip().lower(), effect_text)
    if effect not in (ALLOW, DENY):
        problems.append(f"statement {index}: Effect {effect_text[:20]!r} is neither Allow nor Deny")
    actions, not_action, _ = _element(fields, "action")
    resources, not_resource, resource_given = _element(fields, "resource")
    principals, not_principal, principal_given = _element(fields, "principal")
    return Statement(
        index=index,
        sid=_scalar_text(fields.get("sid")) or "",
        effect=effect,
        actions=tuple(a.strip() for a in _strings(actions, problems, "Action")),
        not_action=not_action,
        resources=tuple(r.strip() for r in _strings(resources, problems, "Resource")),
        not_resource=not_resource,
        resource_given=resource_given,
        principals=_principals(principals, problems),
        not_principal=not_principal,
        principal_given=principal_given,
        conditions=_conditions(fields.get("condition"), problems),
        raw=raw,
    )


def load_document(doc: Any) -> Any:
    """A policy document as a Python object: JSON text or bytes (even URL-encoded) is parsed, other
    objects pass through; None for text that is not JSON."""
    if isinstance(doc, bytes | bytearray):
        doc = bytes(doc).decode("utf-8", "replace")
    if isinstance(doc, str):
        text = doc.strip()
        for candidate in (text, urllib.parse.unquote(text)) if "%" in text else (text,):
            try:
                return json.loads(candidate)
            except (ValueError, RecursionError):
                continue
        return None
    return doc


def parse_policy(doc: Any) -> PolicyDoc:
    """Parse a policy document (never raises). Identical documents share one parsed object."""
    doc = load_document(doc)
    try:
        key = json.dumps(doc, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        key = None
    if key is not None:
        cached = _PARSE_CACHE.get(key)
        if cached is not None:
            return cached
    parsed = _parse(doc)
    if key is not None:
        if len(_PARSE_CACHE) >= _PARSE_CACHE_MAX:
            _PARSE_CACHE.clear()
        _PARSE_CACHE[key] = parsed
    return parsed


def statements(doc: Any) -> list[Statement]:
    """The statements of a policy document in any accepted shape (empty for a non-policy)."""
    return list(parse_policy(doc).statements)


def _raw_statements(doc: Any, problems: list[str]) -> tuple[Any, str]:
    """(the Statement element, the Version) of a loaded document."""
    if isinstance(doc, list | tuple):
        return list(doc), ""  # a bare list of statements: forgive it
    fields = {str(k).lower(): v for k, v in doc.items()}
    version = _scalar_text(fields.get("version")) or ""
    if fields.get("statement") is not None:
        return fields["statement"], version
    if "effect" in fields:
        return [doc], version  # a lone statement passed as the document
    problems.append("no Statement element")
    return [], version


def _parse(doc: Any) -> PolicyDoc:
    problems: list[str] = []
    if doc is None:
        return PolicyDoc((), problems=("no document",), raw=doc)
    if not isinstance(doc, Mapping | list | tuple):
        return PolicyDoc((), problems=("not a policy document",), raw=doc)
    raw_statements, version = _raw_statements(doc, problems)
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list | tuple):
        return PolicyDoc((), version=version, problems=(*problems, "Statement is not a list"), raw=doc)
    if len(raw_statements) > MAX_STATEMENTS:
        problems.append(f"only the first {MAX_STATEMENTS} of {len(raw_statements)} statements are read")
    parsed = (_statement(i, raw, problems) for i, raw in enumerate(raw_statements[:MAX_STATEMENTS]))
    return PolicyDoc(
        tuple(st for st in parsed if st is not None), version=version, problems=tuple(problems), raw=doc
    )

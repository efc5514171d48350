"""IAM policy documents: forgiving parsing, statement matching and condition handling.

Parsing never raises: a document may be a dict, a JSON string (URL-encoded as some AWS answers
give it), ``None`` or garbage; ``Statement`` may be one object or a list; any field may be a string
or a list; unknown shapes are dropped and listed in :attr:`PolicyDoc.problems`.

Evaluation follows AWS's documented logic for one request (action, resource):

* a statement applies when its Action/NotAction covers the action, its Resource/NotResource covers
  the resource and its conditions hold;
* an explicit Deny that applies beats any Allow;
* conditions we can decide statically (who the caller is: ``aws:PrincipalArn``,
  ``aws:PrincipalAccount``, ``aws:PrincipalOrgID`` when the org id is known, ...) are decided; the
  others (MFA, source IP, ExternalId, ...) cannot be known before the request, so they are kept and
  reported as :class:`Requirement` s on the access path: an Allow with a condition grants only when
  it holds, a Deny with a condition forbids only when it holds (the enforce-MFA pattern becomes
  "MFA required", not "no access").
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.graph.patterns import action_matches, arn_matches, substitute_variables, wildcard_match

# The resource of a request that means "every resource": only statements that cover all
# resources (Resource "*", or a NotResource) apply to it. Used to classify what a principal may
# do everywhere.
ALL_RESOURCES = "*"

ALLOW = "Allow"
DENY = "Deny"


# ---------------------------------------------------------------------------------------------- model
@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalRef:
    """One entry of a Principal element."""

    kind: str  # "anyone" | "aws" | "federated" | "service" | "canonical"
    value: str


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) triple of a Condition block."""

    operator: str
    key: str
    values: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "key": self.key, "values": list(self.values)}


@dataclasses.dataclass(slots=True, eq=False)
class Statement:
    """A normalised statement. ``raw`` is the statement exactly as written (for evidence)."""

    index: int
    sid: str
    effect: str  # "Allow" | "Deny" | anything else (then it never applies)
    actions: tuple[str, ...]  # lower-case patterns
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    resource_given: bool  # False: no Resource/NotResource element at all
    principals: tuple[PrincipalRef, ...]
    not_principal: bool
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

    def matches_action(self, action: str) -> bool:
        """Does Action/NotAction cover ``action`` (case-insensitive)?"""
        key = action.lower()
        hit = self._action_cache.get(key)
        if hit is None:
            hit = self._listed(key)
            if self.not_action:
                hit = not hit
            if len(self._action_cache) < 4096:
                self._action_cache[key] = hit
        return hit

    def _listed(self, action: str) -> bool:
        if self._by_service is None:
            # index patterns by service so a 1,000-pattern ReadOnlyAccess is not scanned whole
            groups: dict[str, list[str]] = {}
            for p in self.actions:
                service, sep, _ = p.partition(":")
                key = service if sep and "*" not in service and "?" not in service else "\x00"
                groups.setdefault(key, []).append(p)
            self._by_service = {k: tuple(v) for k, v in groups.items()}
        service = action.partition(":")[0]
        for key in (service, "\x00"):
            for p in self._by_service.get(key, ()):
                if action_matches(p, action):
                    return True
        return False

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
        """Does Resource/NotResource cover ``resource`` (case-sensitive, policy variables resolved)?

        ``resource`` may be :data:`ALL_RESOURCES`: then the statement must cover every resource of
        the ``action``'s service.
        """
        if not self.resource_given:
            return True  # trust policies and SCPs without Resource apply to their own resource
        if resource == ALL_RESOURCES:
            return self.covers_all_resources(action.partition(":")[0].lower() if action else None)
        hit = False
        for pattern in self.resources:
            resolved = substitute_variables(pattern, context or {}) if "${" in pattern else pattern
            if resolved is not None and arn_matches(resolved, resource):
                hit = True
                break
        return not hit if self.not_resource else hit

    @property
    def has_variables(self) -> bool:
        return any("${" in r for r in self.resources)


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


def _principals(value: Any, problems: list[str]) -> tuple[PrincipalRef, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (
            (PrincipalRef("anyone", "*"),) if value.strip() == "*" else (PrincipalRef("aws", value.strip()),)
        )
    if not isinstance(value, Mapping):
        problems.append("Principal: not a string or an object")
        return ()
    out: list[PrincipalRef] = []
    for raw_kind, entries in value.items():
        kind = {
            "aws": "aws",
            "federated": "federated",
            "service": "service",
            "canonicaluser": "canonical",
        }.get(str(raw_kind).lower(), "")
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
    not_action = "notaction" in fields and "action" not in fields
    actions = _strings(fields.get("notaction") if not_action else fields.get("action"), problems, "Action")
    not_resource = "notresource" in fields and "resource" not in fields
    resource_given = "resource" in fields or "notresource" in fields
    resources = _strings(
        fields.get("notresource") if not_resource else fields.get("resource"), problems, "Resource"
    )
    not_principal = "notprincipal" in fields and "principal" not in fields
    principals = _principals(
        fields.get("notprincipal") if not_principal else fields.get("principal"), problems
    )
    sid = _scalar_text(fields.get("sid")) or ""
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        actions=tuple(a.strip().lower() for a in actions),
        not_action=not_action,
        resources=tuple(r.strip() for r in resources),
        not_resource=not_resource,
        resource_given=resource_given,
        principals=principals,
        not_principal=not_principal,
        conditions=_conditions(fields.get("condition"), problems),
        raw=raw,
    )


def load_document(doc: Any) -> Any:
    """A policy document as a Python object: dicts pass through, JSON text (even URL-encoded) is parsed."""
    if isinstance(doc, str | bytes):
        text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
        for candidate in (text, urllib.parse.unquote(text)):
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


def _parse(doc: Any) -> PolicyDoc:
    problems: list[str] = []
    if doc is None:
        return PolicyDoc((), problems=("no document",), raw=doc)
    if isinstance(doc, list):
        # a bare list of statements: forgive it
        raw_statements: Any = doc
        version = ""
    elif isinstance(doc, Mapping):
        fields = {str(k).lower(): v for k, v in doc.items()}
        raw_statements = fields.get("statement")
        version = _scalar_text(fields.get("version")) or ""
        if raw_statements is None:
            problems.append("no Statement element")
            raw_statements = []
    else:
        return PolicyDoc((), problems=("not a policy document",), raw=doc)
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list | tuple):
        return PolicyDoc((), version=version, problems=(*problems, "Statement is not a list"), raw=doc)
    statements = []
    for i, raw in enumerate(raw_statements):
        st = _statement(i, raw, problems)
        if st is not None:
            statements.append(st)
    return PolicyDoc(tuple(statements), version=version, problems=tuple(problems), raw=doc)


# ---------------------------------------------------------------------------------------------- conditions
@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """A condition that must hold for access along a path, in words and as written."""

    kind: str  # "mfa" | "external-id" | "source-ip" | "source-vpc" | "org" | "principal" | "region" | "other"
    text: str  # "MFA required"
    effect: str  # the effect of the statement it comes from
    operator: str
    key: str
    values: tuple[str, ...]
    where: str = ""  # "CompanyEnforceMFA #0 (group StagingReadOnly)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "effect": self.effect,
            "operator": self.operator,
            "key": self.key,
            "values": list(self.values),
            "where": self.where,
        }


_NEGATE = {
    "stringequals": "StringNotEquals",
    "stringnotequals": "StringEquals",
    "stringequalsignorecase": "StringNotEqualsIgnoreCase",
    "stringnotequalsignorecase": "StringEqualsIgnoreCase",
    "stringlike": "StringNotLike",
    "stringnotlike": "StringLike",
    "arnequals": "ArnNotEquals",
    "arnnotequals": "ArnEquals",
    "arnlike": "ArnNotLike",
    "arnnotlike": "ArnLike",
    "ipaddress": "NotIpAddress",
    "notipaddress": "IpAddress",
    "numericequals": "NumericNotEquals",
    "numericnotequals": "NumericEquals",
    "numericlessthan": "NumericGreaterThanEquals",
    "numericgreaterthanequals": "NumericLessThan",
    "numericgreaterthan": "NumericLessThanEquals",
    "numericlessthanequals": "NumericGreaterThan",
    "datelessthan": "DateGreaterThanEquals",
    "dategreaterthanequals": "DateLessThan",
    "dategreaterthan": "DateLessThanEquals",
    "datelessthanequals": "DateGreaterThan",
}

_POSITIVE_TEXT = {
    "stringequals": "is",
    "stringequalsignorecase": "is",
    "stringlike": "is like",
    "arnequals": "is",
    "arnlike": "is like",
    "ipaddress": "in",
    "numericequals": "=",
    "numericlessthan": "<",
    "numericlessthanequals": "<=",
    "numericgreaterthan": ">",
    "numericgreaterthanequals": ">=",
    "stringnotequals": "is not",
    "stringnotequalsignorecase": "is not",
    "stringnotlike": "is not like",
    "arnnotequals": "is not",
    "arnnotlike": "is not like",
    "notipaddress": "not in",
    "numericnotequals": "!=",
    "datelessthan": "before",
    "dategreaterthan": "after",
    "datelessthanequals": "not after",
    "dategreaterthanequals": "not before",
}

_KEY_WORDS = {
    "aws:sourceip": ("source-ip", "source IP"),
    "aws:sourcevpc": ("source-vpc", "source VPC"),
    "aws:sourcevpce": ("source-vpc", "source VPC endpoint"),
    "aws:vpcsourceip": ("source-ip", "VPC source IP"),
    "aws:principalorgid": ("org", "caller's organisation"),
    "aws:principalorgpaths": ("org", "caller's organisation path"),
    "aws:principalarn": ("principal", "caller ARN"),
    "aws:principalaccount": ("principal", "caller account"),
    "aws:userid": ("principal", "caller id"),
    "aws:username": ("principal", "caller name"),
    "aws:requestedregion": ("region", "region"),
    "aws:currenttime": ("time", "time"),
    "aws:epochtime": ("time", "time"),
    "aws:securetransport": ("other", "TLS"),
    "sts:externalid": ("external-id", "ExternalId"),
    "sts:sourceidentity": ("principal", "source identity"),
    "saml:aud": ("federation", "SAML audience"),
}


def _split_operator(operator: str) -> tuple[str, str, bool]:
    """("ForAnyValue:", "StringLike", if_exists) from "ForAnyValue:StringLikeIfExists"."""
    op = operator.strip()
    qualifier = ""
    if ":" in op:
        qualifier, _, op = op.partition(":")
    if_exists = op.lower().endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    return qualifier, op, if_exists


def _truthy(values: Sequence[str]) -> bool | None:
    low = {v.strip().lower() for v in values}
    if low == {"true"}:
        return True
    if low == {"false"}:
        return False
    return None


def describe(cond: Condition, effect: str, where: str = "") -> Requirement:
    """Say what must hold for the request to pass this condition of an Allow or a Deny."""
    _, op, _ = _split_operator(cond.operator)
    op_l = op.lower()
    key_l = cond.key.lower()
    values = cond.values
    deny = effect == DENY

    def req(kind: str, text: str) -> Requirement:
        return Requirement(kind, text, effect, cond.operator, cond.key, values, where)

    # MFA: an Allow that needs MFA present / recent, or a Deny when it is absent / old
    if key_l == "aws:multifactorauthpresent":
        truth = _truthy(values)
        if op_l == "bool" and truth is not None and truth != deny:
            return req("mfa", "MFA required")
        if op_l == "null" and truth is not None and truth == deny:
            # Deny when the key is null (no MFA) / Allow when it is not null
            return req("mfa", "MFA required")
        return req("other", f"{cond.operator} {cond.key} {', '.join(values)}")
    if key_l == "aws:multifactorauthage":
        if op_l == "null":
            truth = _truthy(values)
            if truth is not None and truth == deny:
                return req("mfa", "MFA required")
        if op_l.startswith("numeric"):
            seconds = ", ".join(values)
            if (not deny and op_l in ("numericlessthan", "numericlessthanequals")) or (
                deny and op_l in ("numericgreaterthan", "numericgreaterthanequals")
            ):
                return req("mfa", f"MFA required (within {seconds} s)")
        return req("other", f"{cond.operator} {cond.key} {', '.join(values)}")
    if key_l == "sts:externalid" and not deny:
        return req("external-id", "ExternalId required")

    kind, words = _KEY_WORDS.get(key_l, ("other", cond.key))
    if op_l == "null":
        truth = _truthy(values)
        present = (truth is False) if not deny else (truth is True)
        return req(kind, f"{words} {'must be present' if present else 'must be absent'}")
    if op_l == "bool":
        truth = _truthy(values)
        if truth is not None:
            return req(kind, f"{words} must be {str(truth != deny).lower()}")
    if deny:
        negated = _NEGATE.get(op_l)
        if negated is None:
            return req(kind, f"not ({cond.operator} {cond.key} {', '.join(values)})")
        op_l = negated.lower()
    verb = _POSITIVE_TEXT.get(op_l, op)
    shown = ", ".join(values[:5]) + (f" (+{len(values) - 5})" if len(values) > 5 else "")
    return req(kind, f"{words} {verb} {shown}".strip())


def evaluate_condition(cond: Condition, context: Mapping[str, str]) -> bool | None:
    """Decide one condition from what is known before the request; ``None`` = cannot tell.

    ``context`` holds lower-case keys we know for sure (e.g. ``aws:principalarn``). Only string and
    ARN operators on known keys are decided; everything else is left to the path's requirements.
    """
    key = cond.key.lower()
    if key not in context:
        return None
    qualifier, op, _if_exists = _split_operator(cond.operator)
    if qualifier.lower() == "forallvalues":
        return None
    value = context[key]
    op_l = op.lower()
    vals = cond.values
    if op_l == "null":
        truth = _truthy(vals)
        return None if truth is None else (truth is False)  # the key is present
    if op_l in ("stringequals", "arnequals"):
        if op_l == "arnequals":
            return any(arn_matches(v, value) for v in vals)
        return value in vals
    if op_l == "stringnotequals":
        return value not in vals
    if op_l == "arnnotequals":
        return not any(arn_matches(v, value) for v in vals)
    if op_l == "stringequalsignorecase":
        return value.lower() in {v.lower() for v in vals}
    if op_l == "stringnotequalsignorecase":
        return value.lower() not in {v.lower() for v in vals}
    if op_l in ("stringlike", "arnlike"):
        return any(wildcard_match(v, value) for v in vals)
    if op_l in ("stringnotlike", "arnnotlike"):
        return not any(wildcard_match(v, value) for v in vals)
    return None


# ---------------------------------------------------------------------------------------------- evaluation
@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    """A statement that applies to a request, with the conditions still to hold (if any)."""

    source: Any  # whatever the caller attached to the statement (a policy reference)
    statement: Statement
    requirements: tuple[Requirement, ...] = ()


@dataclasses.dataclass(slots=True)
class Evaluation:
    """The statements of one policy set that apply to one request."""

    allows: list[Match] = dataclasses.field(default_factory=list)
    denies: list[Match] = dataclasses.field(default_factory=list)  # apply for sure
    conditional_denies: list[Match] = dataclasses.field(default_factory=list)

    @property
    def denied(self) -> bool:
        return bool(self.denies)

    @property
    def allowed(self) -> bool:
        return bool(self.allows) and not self.denies

    def best_allow(self) -> Match | None:
        """The allow that needs the fewest conditions (the first such, in policy order)."""
        if not self.allows:
            return None
        return min(self.allows, key=lambda m: len(m.requirements))

    def deny_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for m in self.conditional_denies for r in m.requirements)


def resolve_conditions(
    stmt: Statement, context: Mapping[str, str], where: str
) -> tuple[bool, tuple[Requirement, ...]]:
    """(can apply?, requirements left). A decided-false condition means the statement cannot apply."""
    left: list[Requirement] = []
    for cond in stmt.conditions:
        verdict = evaluate_condition(cond, context)
        if verdict is False:
            return False, ()
        if verdict is None:
            left.append(describe(cond, stmt.effect, where))
    return True, tuple(left)


def evaluate(
    entries: Iterable[tuple[Any, Statement]],
    action: str,
    resource: str,
    context: Mapping[str, str] | None = None,
    where: Any = None,
) -> Evaluation:
    """Evaluate (source, statement) pairs for one request. ``where(source, stmt)`` names a statement."""
    ctx = context or {}
    out = Evaluation()
    for source, stmt in entries:
        if stmt.effect not in (ALLOW, DENY):
            continue
        if not stmt.matches_action(action) or not stmt.matches_resource(resource, ctx, action):
            continue
        label = where(source, stmt) if where is not None else stmt.label
        applies, reqs = resolve_conditions(stmt, ctx, label)
        if not applies:
            continue
        m = Match(source, stmt, reqs)
        if stmt.is_allow:
            out.allows.append(m)
        elif reqs:
            out.conditional_denies.append(m)
        else:
            out.denies.append(m)
    return out

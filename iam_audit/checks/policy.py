"""IAM policy analysis: small, pure helpers robust to odd documents. No Django, no AWS calls.

Policy documents arrive in every shape IAM accepts (and some it does not): ``None``, a JSON string
(possibly URL-encoded), ``Statement`` as one object or a list, ``Action``/``Resource``/``Principal``
as a string or a list, ``NotAction``/``NotResource``/``NotPrincipal``, condition values as strings,
booleans or lists. :func:`statements` turns any of them into :class:`Statement` objects that the
checks (and other modules) query with :func:`allows_action`, :func:`covers_resource`,
:func:`limiting_conditions`, :func:`public_grant` and friends.

Wildcard matching follows IAM: ``*`` is any run of characters, ``?`` one character, actions match
case-insensitively, resources case-sensitively, and policy variables (``${aws:username}``) are
treated as ``*`` (so a check over-approximates what a variable may expand to). Matching is linear in
the input, so an attacker-written policy full of ``*`` cannot stall an audit.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

MAX_STATEMENTS = 5000  # far above IAM's size limits: guards against absurd stored documents
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:(?:iam|sts):[^:]*:(\d{12}):")

# Condition keys (lower case) that restrict WHO can use a statement granted to everyone.
IDENTITY_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceowner",
        "kms:calleraccount",
    }
)
# Condition keys (lower case) that restrict WHERE a request may come from.
NETWORK_KEYS = frozenset({"aws:sourceip", "aws:sourcevpc", "aws:sourcevpce"})
LIMITING_KEYS = IDENTITY_KEYS | NETWORK_KEYS
ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
MFA_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})


# ----------------------------------------------------------------------------------- documents
def load_document(doc: Any) -> dict[str, Any] | None:
    """A policy document as a dict: accepts a dict, JSON text (also URL-encoded), bytes or a
    bare statement list; returns None for anything that is not a policy."""
    if doc is None:
        return None
    if isinstance(doc, Mapping):
        return dict(doc)
    if isinstance(doc, list | tuple):
        return {"Statement": list(doc)}
    if isinstance(doc, bytes | bytearray):
        doc = bytes(doc).decode("utf-8", errors="replace")
    if not isinstance(doc, str):
        return None
    raw = doc.strip()
    if not raw:
        return None
    candidates = [raw]
    if "%" in raw:
        candidates.append(urllib.parse.unquote(raw))
    for candidate in candidates:
        try:
            parsed = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(parsed, Mapping):
            return dict(parsed)
        if isinstance(parsed, list):
            return {"Statement": parsed}
    return None


def _strings(value: Any) -> tuple[str, ...]:
    """A tuple of strings from a string / list value (non-string elements become their text)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        out = []
        for v in value:
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, int | float):
                out.append(str(v))
        return tuple(out)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, int | float):
        return (str(value),)
    return ()


# ----------------------------------------------------------------------------------- principals
@dataclasses.dataclass(frozen=True, slots=True)
class Principals:
    """A ``Principal`` element, normalised. ``anyone`` is ``"*"`` / ``{"AWS": "*"}``."""

    anyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical: tuple[str, ...] = ()

    def accounts(self) -> set[str]:
        """Account ids named by the AWS principals (root, users, roles, sessions, bare ids)."""
        return {a for a in (account_of(p) for p in self.aws) if a}

    def unresolved(self) -> list[str]:
        """AWS principals whose account cannot be read (unique ids of deleted principals...)."""
        return [p for p in self.aws if p != "*" and not account_of(p)]

    @property
    def empty(self) -> bool:
        return not (self.anyone or self.aws or self.service or self.federated or self.canonical)


def parse_principal(value: Any) -> Principals:
    """Normalise ``"*"``, ``{"AWS": "*"}``, ``{"AWS": ["arn:...:root", "123..."]}``, ``Service``,
    ``Federated`` and ``CanonicalUser`` forms (keys case-insensitively)."""
    if value is None:
        return Principals()
    if isinstance(value, str):
        return Principals(anyone=value.strip() == "*", aws=() if value.strip() == "*" else (value.strip(),))
    if not isinstance(value, Mapping):
        return Principals()
    parts: dict[str, tuple[str, ...]] = {}
    for key, raw in value.items():
        parts[str(key).strip().lower()] = tuple(s.strip() for s in _strings(raw))
    aws = parts.get("aws", ())
    anyone = "*" in aws
    return Principals(
        anyone=anyone,
        aws=tuple(a for a in aws if a != "*"),
        service=parts.get("service", ()),
        federated=parts.get("federated", ()),
        canonical=parts.get("canonicaluser", ()),
    )


def account_of(principal: str) -> str | None:
    """The account id of an AWS principal: ``"123456789012"``, ``arn:aws:iam::123456789012:root``,
    a user / role ARN or an ``sts`` session ARN. None for anything else."""
    if not isinstance(principal, str):
        return None
    p = principal.strip()
    if _ACCOUNT_ID.match(p):
        return p
    m = _ARN_ACCOUNT.match(p)
    return m.group(1) if m else None


# ----------------------------------------------------------------------------------- statements
@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator: {key: values}`` pair of a ``Condition`` block."""

    operator: str  # as written, e.g. "StringEquals", "ForAnyValue:StringLike", "BoolIfExists"
    key: str  # lower case: condition keys are case-insensitive
    values: tuple[str, ...]

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
        return {self.operator: {self.key: list(self.values)}}


@dataclasses.dataclass(frozen=True, slots=True)
class Statement:
    """A normalised statement. ``actions`` is None when the statement uses ``NotAction`` (and
    ``not_actions`` None when it uses ``Action``); the same for resources and principals."""

    index: int
    sid: str
    effect: str  # "Allow" | "Deny" | "" when invalid
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Principals | None
    not_principal: Principals | None
    conditions: tuple[Condition, ...]
    raw: Mapping[str, Any]

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    @property
    def deny(self) -> bool:
        return self.effect == "Deny"

    def ref(self) -> dict[str, Any]:
        """Where the statement is: index and Sid, for evidence."""
        return {"index": self.index, "sid": self.sid}

    def evidence(self) -> dict[str, Any]:
        """Index, Sid and the statement exactly as written."""
        return {"index": self.index, "sid": self.sid, "statement": dict(self.raw)}


def _parse_conditions(value: Any) -> tuple[Condition, ...]:
    out: list[Condition] = []
    for operator, block in value.items() if isinstance(value, Mapping) else ():
        if not isinstance(block, Mapping):
            continue
        for key, raw in block.items():
            out.append(Condition(str(operator), str(key).strip().lower(), _strings(raw)))
    return tuple(out)


def _field(raw: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    return _strings(raw[name]) if name in raw else None


def statements(doc: Any) -> list[Statement]:
    """The statements of a policy document in any accepted shape (empty for a non-policy)."""
    loaded = load_document(doc)
    if loaded is None:
        return []
    raw_statements = loaded.get("Statement", loaded.get("statement"))
    if raw_statements is None and ("Effect" in loaded or "effect" in loaded):
        raw_statements = [loaded]  # a lone statement passed as the document
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list | tuple):
        return []
    out: list[Statement] = []
    for index, raw in enumerate(raw_statements[:MAX_STATEMENTS]):
        if not isinstance(raw, Mapping):
            continue
        effect = str(raw.get("Effect", "")).strip().capitalize()
        actions = _field(raw, "Action")
        not_actions = _field(raw, "NotAction")
        out.append(
            Statement(
                index=index,
                sid=str(raw.get("Sid", "") or "")[:200],
                effect=effect if effect in ("Allow", "Deny") else "",
                actions=actions,
                not_actions=not_actions,
                resources=_field(raw, "Resource"),
                not_resources=_field(raw, "NotResource"),
                principal=parse_principal(raw["Principal"]) if "Principal" in raw else None,
                not_principal=parse_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
                conditions=_parse_conditions(raw.get("Condition")),
                raw=raw,
            )
        )
    return out


# ----------------------------------------------------------------------------------- matching
def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM glob: ``*`` any run, ``?`` one character; policy variables count as ``*``. Linear-ish
    (greedy with one backtrack point), so hostile patterns cannot blow up."""
    if not isinstance(pattern, str) or not isinstance(value, str):
        return False
    if "${" in pattern:
        pattern = _VARIABLE.sub("*", pattern)
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    p = v = 0
    star = -1
    mark = 0
    plen, vlen = len(pattern), len(value)
    while v < vlen:
        if p < plen and (pattern[p] == "?" or pattern[p] == value[v]):
            p += 1
            v += 1
        elif p < plen and pattern[p] == "*":
            star, mark = p, v
            p += 1
        elif star != -1:
            p = star + 1
            mark += 1
            v = mark
        else:
            return False
    while p < plen and pattern[p] == "*":
        p += 1
    return p == plen


def action_matches(pattern: str, action: str) -> bool:
    """``pattern`` (``"s3:*"``, ``"iam:Pass*"``, ``"*"``) matches ``action`` (case-insensitive)."""
    return (
        wildcard_match(pattern.strip(), action.strip(), case_sensitive=False)
        if isinstance(pattern, str)
        else False
    )


def allows_action(stmt: Statement, action: str) -> bool:
    """The statement's Action / NotAction covers ``action`` (the effect is not considered).

    ``action`` may itself be a wildcard such as ``"s3:*"``: it is then covered only by patterns
    that cover it as a whole (``"s3:*"`` or ``"*"``, not ``"s3:Get*"``).
    """
    if stmt.actions is not None:
        return any(action_matches(p, action) for p in stmt.actions)
    if stmt.not_actions is not None:
        return not any(action_matches(p, action) or action_matches(action, p) for p in stmt.not_actions)
    return False


def covers_resource(stmt: Statement, arn: str) -> bool:
    """The statement's Resource / NotResource covers ``arn`` (no Resource at all: covers; that
    is the shape of trust policies)."""
    if stmt.resources is not None:
        return any(p.strip() == "*" or wildcard_match(p.strip(), arn) for p in stmt.resources)
    if stmt.not_resources is not None:
        return not any(wildcard_match(p.strip(), arn) for p in stmt.not_resources)
    return True


def all_resources(stmt: Statement) -> bool:
    """Resource is ``"*"`` (or NotResource is used, which is "everything but")."""
    if stmt.resources is not None:
        return any(r.strip() == "*" for r in stmt.resources)
    return stmt.not_resources is not None


def grants_full_admin(stmt: Statement) -> bool:
    """An Allow of every action (``"*"``) on every resource (``"*"``)."""
    if not stmt.allow or stmt.actions is None:
        return False
    return any(a.strip() in ("*", "*:*") for a in stmt.actions) and any(
        r.strip() == "*" for r in (stmt.resources or ())
    )


# ----------------------------------------------------------------------------------- conditions
def condition_values(stmt: Statement, key: str) -> list[Condition]:
    """The conditions of ``stmt`` on ``key`` (case-insensitive)."""
    k = key.lower()
    return [c for c in stmt.conditions if c.key == k]


def _value_limits(key: str, value: str) -> bool:
    """Whether one condition value narrows the key to something less than "anyone"."""
    v = value.strip()
    if not v or v.replace("*", "").replace("?", "") == "":
        return False
    if key in ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner", "kms:calleraccount"):
        return bool(_ACCOUNT_ID.match(v))
    if key in ("aws:principalarn", "aws:sourcearn"):
        parts = v.split(":")
        if len(parts) < 6:
            return False
        account, service = parts[4], parts[2]
        # an S3 ARN has no account field; it names one bucket, which narrows the source
        return bool(_ACCOUNT_ID.match(account)) or (service == "s3" and "*" not in parts[5].split("/")[0])
    if key in ("aws:principalorgid", "aws:sourceorgid"):
        return "*" not in v and "?" not in v
    if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
        org = v.split("/", 1)[0]
        return org.startswith("o-") and "*" not in org and "?" not in org
    if key == "aws:sourceip":
        try:
            return ipaddress.ip_network(v, strict=False).prefixlen >= 8
        except ValueError:
            return False
    return "*" not in v  # aws:SourceVpc / aws:SourceVpce


def limiting_conditions(stmt: Statement, keys: Iterable[str] = LIMITING_KEYS) -> list[Condition]:
    """Conditions that really narrow who (or from where) may use the statement.

    A condition limits when its operator is a positive comparison (not ``...Not...``, not
    ``...IfExists`` — an absent key would then pass —, not ``ForAllValues:`` — an empty set passes —,
    not ``Null``) on one of ``keys``, and every value is narrower than "anyone".
    """
    wanted = {k.lower() for k in keys}
    out = []
    for c in stmt.conditions:
        if c.key not in wanted or c.negated or c.if_exists:
            continue
        if c.op.startswith("forallvalues:") or c.op == "null":
            continue
        if c.values and all(_value_limits(c.key, v) for v in c.values):
            out.append(c)
    return out


def requires_bool(stmt: Statement, key: str, expected: bool) -> bool:
    """The statement only applies when boolean ``key`` is ``expected`` (``Bool`` operator)."""
    want = "true" if expected else "false"
    for c in condition_values(stmt, key):
        if (
            c.op in ("bool", "stringequals", "stringequalsignorecase")
            and c.values
            and all(v.strip().lower() == want for v in c.values)
        ):
            return True
    return False


def requires_external_id(stmt: Statement) -> bool:
    """The statement needs a specific ``sts:ExternalId`` (not a wildcard)."""
    for c in condition_values(stmt, "sts:externalid"):
        if c.negated or c.if_exists or c.op == "null":
            continue
        if c.values and all(v.strip().replace("*", "") for v in c.values):
            return True
    return False


def requires_mfa(stmt: Statement) -> bool:
    """The statement applies only to MFA-authenticated sessions."""
    if requires_bool(stmt, "aws:multifactorauthpresent", True):
        return True
    return any(
        c.op.startswith("numericless") and not c.if_exists
        for c in condition_values(stmt, "aws:multifactorauthage")
    )


def mentions_mfa(stmt: Statement) -> bool:
    """The statement's effect depends on MFA (either an Allow needing it or a Deny without it)."""
    return any(c.key in MFA_KEYS for c in stmt.conditions)


def denies_insecure_transport(stmt: Statement) -> bool:
    """A Deny that applies when ``aws:SecureTransport`` is false (the "TLS only" pattern)."""
    return stmt.deny and any(
        c.op in ("bool", "boolifexists", "stringequals", "stringequalsignorecase")
        and c.values
        and all(v.strip().lower() == "false" for v in c.values)
        for c in condition_values(stmt, "aws:securetransport")
    )


# ----------------------------------------------------------------------------------- grants
def applies_to_anyone(stmt: Statement) -> bool:
    """Principal ``"*"`` / ``{"AWS": "*"}``, or ``NotPrincipal`` (everyone but a few)."""
    if stmt.not_principal is not None and not stmt.not_principal.empty:
        return True
    return stmt.principal is not None and stmt.principal.anyone


def public_grant(stmt: Statement) -> dict[str, Any] | None:
    """Evidence when ``stmt`` (a resource or trust policy statement) allows anyone without a
    limiting condition; None otherwise."""
    if not stmt.allow or not applies_to_anyone(stmt):
        return None
    if limiting_conditions(stmt):
        return None
    ev = stmt.evidence()
    if stmt.conditions:
        ev["note"] = "conditions present but none restricts who may use the statement"
    return ev


def public_grants(doc: Any) -> list[dict[str, Any]]:
    """Every statement of ``doc`` that grants access to anyone (see :func:`public_grant`)."""
    return [g for g in (public_grant(s) for s in statements(doc)) if g]


def external_accounts(stmt: Statement, inside: Iterable[str]) -> set[str]:
    """Account ids an Allow statement names that are not in ``inside``."""
    if not stmt.allow or stmt.principal is None:
        return set()
    own = set(inside)
    return {a for a in stmt.principal.accounts() if a not in own}


def grants_by_action(doc: Any, action: str) -> list[Statement]:
    """Allow statements of ``doc`` covering ``action``."""
    return [s for s in statements(doc) if s.allow and allows_action(s, action)]

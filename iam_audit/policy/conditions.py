"""Conditions: what a statement's Condition block decides, requires or limits.

Two uses, one vocabulary (:class:`~iam_audit.policy.model.Condition`):

* the evaluator (:mod:`iam_audit.policy.evaluate`) decides what can be known before the request
  (:func:`evaluate_condition`: who the caller is) and words the rest as :class:`Requirement` s on
  an access path (:func:`describe`: "MFA required", "source IP in 10.0.0.0/8");
* the checks ask whether a statement is really narrowed (:func:`limiting_conditions`: a condition
  on who or from where that an outsider cannot satisfy) or needs MFA, an ExternalId or TLS.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from iam_audit.policy.match import arn_matches, wildcard_match
from iam_audit.policy.model import DENY, Condition, Statement, is_account_id

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


# ---------------------------------------------------------------------------------------------- requirements
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
    key_l = cond.name
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
    key = cond.name
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


# ---------------------------------------------------------------------------------------------- limits
def condition_values(stmt: Statement, key: str) -> list[Condition]:
    """The conditions of ``stmt`` on ``key`` (case-insensitive)."""
    k = key.lower()
    return [c for c in stmt.conditions if c.name == k]


def _value_limits(key: str, value: str) -> bool:
    """Whether one condition value narrows the key to something less than "anyone"."""
    v = value.strip()
    if not v or v.replace("*", "").replace("?", "") == "":
        return False
    if key in ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner", "kms:calleraccount"):
        return is_account_id(v)
    if key in ("aws:principalarn", "aws:sourcearn"):
        parts = v.split(":")
        if len(parts) < 6:
            return False
        account, service = parts[4], parts[2]
        # an S3 ARN has no account field; it names one bucket, which narrows the source
        return is_account_id(account) or (service == "s3" and "*" not in parts[5].split("/")[0])
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
        if c.name not in wanted or c.negated or c.if_exists:
            continue
        if c.op.startswith("forallvalues:") or c.op == "null":
            continue
        if c.values and all(_value_limits(c.name, v) for v in c.values):
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
    return any(c.name in MFA_KEYS for c in stmt.conditions)


def denies_insecure_transport(stmt: Statement) -> bool:
    """A Deny that applies when ``aws:SecureTransport`` is false (the "TLS only" pattern)."""
    return stmt.is_deny and any(
        c.op in ("bool", "boolifexists", "stringequals", "stringequalsignorecase")
        and c.values
        and all(v.strip().lower() == "false" for v in c.values)
        for c in condition_values(stmt, "aws:securetransport")
    )

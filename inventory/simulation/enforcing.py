"""What the FaultProxy needs to enforce IAM permission policies in front of moto. No Django here.

moto checks no permissions. :class:`~inventory.simulation.proxy.FaultProxy` can be told, for an
account, the permission policy of the role assumed there (``proxy.enforce(account, policy)``);
each request signed with that role's keys is then recognised as a botocore (service, operation),
mapped to its IAM action(s) (:func:`inventory.aws.permissions.actions_for`) and refused with AWS's
own AccessDenied error when the policy does not allow it.

The policy check is identity-based only, for the policies Skyledger generates and their variants:
Allow/Deny with ``Action``/``NotAction`` wildcards; resources and conditions are not looked at
(a statement applies to every resource). That is what the tests need: "is this action granted".
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session

from inventory.aws.permissions import actions_for

# signing name (the SigV4 credential scope's service) -> botocore services that sign with it
_BY_SIGNING_NAME = {
    "s3": ("s3", "s3control"),
    "elasticloadbalancing": ("elbv2", "elb"),
    "monitoring": ("cloudwatch",),
    "access-analyzer": ("accessanalyzer",),
}
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")


@functools.lru_cache(maxsize=1)
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.lru_cache(maxsize=64)
def _model(service: str) -> Any:
    try:
        return _botocore().get_service_model(service)
    except Exception:  # noqa: BLE001 (an unknown service: no model)
        return None


@functools.lru_cache(maxsize=64)
def _routes(service: str) -> tuple[tuple[str, re.Pattern[str], tuple[str, ...], int], ...]:
    """(operation, path regex, required query keys, literal length) for a REST service's operations."""
    model = _model(service)
    if model is None:
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http.get("requestUri") or "/")
        path, _, query = uri.partition("?")
        keys = tuple(part.split("=", 1)[0] for part in query.split("&") if part and "{" not in part)
        pattern = ""
        literal = 0
        for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
            if piece.startswith("{"):
                pattern += ".+" if piece.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        routes.append((f"{http.get('method', 'GET')} {name}", re.compile(f"^{pattern}/?$"), keys, literal))
    return tuple(routes)


def services_for(signing_name: str) -> tuple[str, ...]:
    """botocore services that sign requests as ``signing_name``."""
    return _BY_SIGNING_NAME.get(signing_name, (signing_name,))


def identify(signing_name: str, operation: str, path: str) -> tuple[str, str] | None:
    """The botocore (service, operation) of a request the proxy saw, or None when unknown.

    ``operation`` is what the proxy read (``X-Amz-Target``'s or ``Action=``'s operation, else
    ``"<METHOD> <path>"`` for REST protocols); REST requests are matched against the service
    models' HTTP routes, the most specific route winning (most literal query keys, then most
    literal path characters).
    """
    candidates = services_for(signing_name)
    if " " not in operation:
        for service in candidates:
            model = _model(service)
            if model is not None and operation in model.operation_names:
                return service, operation
        return None
    method, _, _ = operation.partition(" ")
    parts = urlsplit(path)
    rpc = _RPC_V2.match(parts.path)
    if rpc:
        for service in candidates:
            model = _model(service)
            if model is not None and rpc.group(1) in model.operation_names:
                return service, rpc.group(1)
        return None
    query = set(parse_qs(parts.query, keep_blank_values=True))
    best: tuple[tuple[int, int], str, str] | None = None
    for service in candidates:
        for route, regex, keys, literal in _routes(service):
            route_method, _, name = route.partition(" ")
            if route_method != method or not regex.match(parts.path or "/"):
                continue
            if not all(key in query for key in keys):
                continue
            score = (len(keys), literal)
            if best is None or score > best[0]:
                best = (score, service, name)
    return (best[1], best[2]) if best else None


def _listed(patterns: Any) -> list[str]:
    if isinstance(patterns, str):
        return [patterns]
    return [p for p in patterns or [] if isinstance(p, str)]


def _matches(patterns: Iterable[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement") or []
    return (
        [statements] if isinstance(statements, Mapping) else [s for s in statements if isinstance(s, Mapping)]
    )


def allows(policies: Iterable[Mapping[str, Any]], action: str) -> bool:
    """Whether identity policies ``policies`` allow ``action`` (explicit deny wins)."""
    allowed = False
    for policy in policies:
        for statement in _statements(policy):
            if "Action" in statement:
                applies = _matches(_listed(statement["Action"]), action)
            else:
                applies = not _matches(_listed(statement.get("NotAction")), action)
            if not applies:
                continue
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed


def required_actions(signing_name: str, operation: str, path: str) -> tuple[str, ...]:
    """The IAM actions a request needs (empty when it cannot be recognised)."""
    found = identify(signing_name, operation, path)
    return actions_for(*found) if found else ()


def denied_message(principal: str, action: str) -> str:
    """AWS's message for an action no identity-based policy allows."""
    return (
        f"User: {principal} is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action"
    )


def denied_code(signing_name: str, protocol_json: bool) -> str:
    """The error code AWS answers an unauthorised call with, per service family."""
    if signing_name == "ec2":
        return "UnauthorizedOperation"
    if (
        signing_name in ("s3", "iam", "sts", "rds", "sns", "elasticloadbalancing", "monitoring")
        and not protocol_json
    ):
        return "AccessDenied"
    return "AccessDeniedException"


def _cbor_text(value: str) -> bytes:
    data = value.encode("utf-8")
    size = len(data)
    if size < 24:
        head = bytes([0x60 + size])
    elif size < 256:
        head = bytes([0x78, size])
    else:
        head = bytes([0x79]) + size.to_bytes(2, "big")
    return head + data


def cbor_map(values: Mapping[str, str]) -> bytes:
    """A CBOR map of text to text (the error document of the rpc-v2-cbor protocol)."""
    out = bytes([0xA0 + len(values)])
    for key, value in values.items():
        out += _cbor_text(key) + _cbor_text(value[:65535])
    return out

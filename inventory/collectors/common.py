"""Helpers shared by every collector. No Django here.

Three concerns live here so that each service module reads as a list of resource types:

- making AWS answers safe to store (:func:`json_safe`, :func:`parse_policy`, :func:`normalise_tags`);
- calling AWS with the run's bookkeeping (:class:`Guard`): pagination, the per-run memory of
  operations the endpoint does not implement, and turning exceptions into coverage + errors;
- building :class:`~inventory.records.Record` objects and standard ARNs.

Failure policy (the principle is "a failed pass never deletes what it could not see"):

- a failing *listing* marks its resource type(s) with the classified coverage (FAILED / DENIED /
  UNSUPPORTED, or OK for "not enabled" / "there is none") and records an error; records already
  yielded stay yielded, since they were seen;
- a failing *per-resource* call (a bucket's ACL, a key's rotation status...) does not change the
  type's coverage: the resource is still recorded, the extra holds ``None`` and its name is listed in
  ``data["Unavailable"]`` (extra name -> error kind), so readers can tell "AWS said there is none"
  from "we could not ask". The error is recorded once per resource.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

from botocore.exceptions import PaginationError

# A module import, not names: inventory.aws.errors imports collectors.base, which imports this
# package (and so this module) while errors.py is still half-initialised. For the same reason
# inventory.aws.calls, which takes names from errors.py, is imported when first used (_calls()).
from inventory.aws import errors as aws_errors
from inventory.collectors.base import CollectContext
from inventory.records import GLOBAL_REGION, CollectError, Coverage, Record

# Page size passed to botocore paginators; ``None`` lets each service use its default (the largest
# page it serves). Tests lower it to prove that every page is read (EC2 accepts no less than 5).
PAGE_SIZE: int | None = None

# Key under which a record lists the extras that could not be read (extra name -> ErrorKind value).
UNAVAILABLE = "Unavailable"


# ---------------------------------------------------------------------------------------------- data


def _clean_text(value: str) -> str:
    # NUL and lone surrogates cannot be stored in PostgreSQL JSON or encoded as UTF-8; attacker-chosen
    # names and tag values may contain them, so replace them rather than fail the whole batch.
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def json_safe(value: Any) -> Any:
    """Return ``value`` as plain JSON types: datetimes as ISO-8601, bytes as base64, no metadata.

    ``ResponseMetadata`` is dropped from dicts, streaming bodies are dropped (``None``), non-string
    keys become strings and anything unknown becomes its ``str()``.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {
            _clean_text(k if isinstance(k, str) else str(k)): json_safe(v)
            for k, v in value.items()
            if k != "ResponseMetadata"
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if hasattr(value, "read") and hasattr(value, "close"):  # botocore StreamingBody
        return None
    return _clean_text(str(value))


def parse_policy(value: Any) -> dict[str, Any] | None:
    """Parse a policy document that may arrive as a dict, a JSON string or a URL-encoded JSON string.

    ``None`` / empty means "no policy". A string that is not JSON in either form is kept as
    ``{"Unparsed": text}`` so that a reader sees something is there rather than "no policy".
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        return json_safe(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return {"Unparsed": json_safe(value)}
    text = value.strip()
    if not text:
        return None
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            parsed = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(parsed, dict):
            return json_safe(parsed)
        return {"Unparsed": json_safe(parsed)}
    return {"Unparsed": _clean_text(text)}


def _tag_text(value: Any) -> str:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, bytes | bytearray):
        return _clean_text(bytes(value).decode("utf-8", "replace"))
    return _clean_text(str(value))


def normalise_tags(raw: Any) -> dict[str, str]:
    """Tags as ``{key: value}`` strings, from any of AWS's spellings.

    Accepts ``[{"Key", "Value"}]`` (also ``key``/``value`` and ``TagKey``/``TagValue``) or a plain
    mapping. Keys and values stay verbatim (no escaping: pages escape); non-strings become strings,
    a missing value becomes "" and items without a key are skipped.
    """
    if not raw:
        return {}
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(raw, Mapping):
        pairs = raw.items()
    elif isinstance(raw, list | tuple):
        found = []
        for item in raw:
            if not isinstance(item, Mapping):
                continue
            key = next((item[k] for k in ("Key", "key", "TagKey") if k in item), None)
            value = next((item[k] for k in ("Value", "value", "TagValue") if k in item), None)
            found.append((key, value))
        pairs = found
    else:
        return {}
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key is None:
            continue
        tags[_tag_text(key)] = "" if value is None else _tag_text(value)
    return tags


# ---------------------------------------------------------------------------------------------- records


def client_region(ctx: CollectContext) -> str:
    """The region to build clients for: the pass's region, or the home region for global passes."""
    return ctx.home_region if ctx.region == GLOBAL_REGION else ctx.region


def arn(
    ctx: CollectContext, service: str, resource: str, region: str | None = None, account: str | None = None
) -> str:
    """A standard ARN in the context's partition (``region``/``account`` default to the pass's)."""
    region = client_region(ctx) if region is None else region
    account = ctx.account_id if account is None else account
    return f"arn:{ctx.partition}:{service}:{region}:{account}:{resource}"


def record(
    ctx: CollectContext,
    type_: str,
    arn_: str,
    resource_id: Any,
    data: Mapping[str, Any],
    *,
    name: Any = None,
    tags: Any = None,
    region: str | None = None,
) -> Record:
    """Build a record: data made JSON-safe, tags normalised, name = Name tag or the natural name."""
    tag_map = normalise_tags(tags)
    natural = "" if name is None else _tag_text(name)
    return Record(
        type=type_,
        arn=_tag_text(arn_),
        resource_id=_tag_text(resource_id) if resource_id is not None else "",
        name=tag_map.get("Name") or natural,
        region=ctx.region if region is None else region,
        tags=tag_map,
        data=json_safe(data),
    )


# ---------------------------------------------------------------------------------------------- calls


def api_name(client: Any, method: str) -> str:
    """``describe_instances`` -> ``DescribeInstances`` (the name AWS and errors use)."""
    mapping = getattr(getattr(client, "meta", None), "method_to_api_mapping", None) or {}
    return mapping.get(method) or "".join(part.title() for part in method.split("_"))


def _calls() -> ModuleType:
    from inventory.aws import calls

    return calls


def _page_config(client: Any, method: str, size: int | None) -> dict[str, Any]:
    """``PaginationConfig`` kwargs for ``size``, or none when the operation takes no page size."""
    if not size or not client.can_paginate(method):
        return {}
    try:  # builds the iterator only (no request): botocore rejects PageSize eagerly
        client.get_paginator(method).paginate(PaginationConfig={"PageSize": size})
    except PaginationError:
        return {}
    return {"PaginationConfig": {"PageSize": size}}


class Guard:
    """Calls AWS for one collector pass and keeps the run's books.

    ``call`` / ``pages`` / ``items`` go through :mod:`inventory.aws.calls`: an operation the endpoint
    already answered "not implemented" in this run raises :class:`inventory.aws.errors.Unsupported`
    at once, and a new one is remembered in ``ctx.unsupported``. ``listing`` is the context manager
    around a resource type's listing; ``extra`` wraps one per-resource call.
    """

    def __init__(self, ctx: CollectContext, service: str) -> None:
        self.ctx = ctx
        self.service = service

    # -- plumbing

    def client(self, service: str | None = None, region: str | None = None) -> Any:
        return self.ctx.client(service or self.service, region or client_region(self.ctx))

    def call(self, client: Any, method: str, **kwargs: Any) -> dict[str, Any]:
        """One API call (the answer as botocore returns it)."""
        self.ctx.check_deadline()
        return _calls().call(self.ctx, client, method, **kwargs)

    def items(
        self, client: Any, method: str, result_key: str, page_size: int | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """The items under ``result_key`` across every page.

        ``page_size``: for the few operations that only paginate when asked to (SQS list_queues
        returns at most 1,000 URLs and no token unless MaxResults is sent).
        """
        config = _page_config(client, method, PAGE_SIZE or page_size)
        self.ctx.check_deadline()
        for item in _calls().paginate(client, method, result_key, memo=self.ctx, **kwargs, **config):
            yield item
            self.ctx.check_deadline()

    def pages(self, client: Any, method: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every whole page of ``method``, for answers with several result keys (IAM details)."""
        self.ctx.check_deadline()
        api = api_name(client, method)
        key = _calls().memo_key(client, api)
        if key in self.ctx.unsupported:
            raise aws_errors.Unsupported(aws_errors.not_implemented(api))
        try:
            for page in client.get_paginator(method).paginate(
                **kwargs, **_page_config(client, method, PAGE_SIZE)
            ):
                yield page
                self.ctx.check_deadline()
        except Exception as exc:
            if aws_errors.classify(exc, api).kind is aws_errors.ErrorKind.NOT_IMPLEMENTED:
                self.ctx.unsupported.add(key)
            raise

    # -- outcomes

    def error(
        self, type_: str, classified: aws_errors.Classified, operation: str, resource: str = ""
    ) -> CollectError:
        message = classified.message if not resource else f"{resource}: {classified.message}"
        return CollectError(
            service=self.service,
            region=self.ctx.region,
            code=classified.kind.value,
            message=message,
            operation=classified.operation or operation,
            resource_type=type_,
            aws_code=classified.code,
        )

    def fail(
        self, types: str | Iterable[str], exc: BaseException, operation: str
    ) -> aws_errors.Classified | None:
        """Record the failure of a listing: every type named gets the classified coverage."""
        names = [types] if isinstance(types, str) else list(types)
        if isinstance(exc, aws_errors.Unsupported):
            # asked and answered earlier in this run: say so without repeating the error
            for type_ in names:
                self.ctx.mark(type_, Coverage.UNSUPPORTED)
            return None
        classified = aws_errors.classify(exc, operation)
        for i, type_ in enumerate(names):
            worth_reporting = classified.coverage is not Coverage.OK and i == 0
            self.ctx.mark(
                type_,
                classified.coverage,
                self.error(type_, classified, operation) if worth_reporting else None,
            )
        return classified

    @contextlib.contextmanager
    def listing(self, types: str | Iterable[str], operation: str) -> Iterator[None]:
        """Around one resource type's listing: any exception becomes that type's coverage + error."""
        try:
            yield
        except Exception as exc:
            self.fail(types, exc, operation)

    def extra(
        self,
        type_: str,
        unavailable: dict[str, str],
        key: str,
        fetch: Callable[..., Any],
        *,
        resource: str = "",
        operation: str = "",
    ) -> Any:
        """Run one per-resource call; on failure note ``key`` in ``unavailable`` and return ``None``.

        "There is none" answers (NoSuchBucketPolicy, ResourceNotFound...) are not failures: they
        return ``None`` without a note.
        """
        self.ctx.check_deadline()
        try:
            return fetch()
        except Exception as exc:
            if isinstance(exc, aws_errors.Unsupported):
                unavailable[key] = aws_errors.ErrorKind.NOT_IMPLEMENTED.value
                return None
            classified = aws_errors.classify(exc, operation)
            if classified.kind in (aws_errors.ErrorKind.ABSENT, aws_errors.ErrorKind.NOT_ENABLED):
                return None
            unavailable[key] = classified.kind.value
            self.ctx.errors.append(self.error(type_, classified, operation, resource))
            return None

    def note(self, type_: str, exc: BaseException, operation: str, resource: str = "") -> str:
        """Record an error that does not change ``type_``'s coverage; return its kind."""
        if isinstance(exc, aws_errors.Unsupported):
            return aws_errors.ErrorKind.NOT_IMPLEMENTED.value
        classified = aws_errors.classify(exc, operation)
        self.ctx.errors.append(self.error(type_, classified, operation, resource))
        return classified.kind.value


def with_unavailable(data: dict[str, Any], unavailable: Mapping[str, str]) -> dict[str, Any]:
    """Attach the ``Unavailable`` note to ``data`` when some extra could not be read."""
    if unavailable:
        data[UNAVAILABLE] = dict(unavailable)
    return data


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]

"""Helpers for making calls: pagination, "there is none" answers, "not supported here". No Django.

``operation`` arguments accept the API name (``"ListUsers"``) or the client method
(``"list_users"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import jmespath
from botocore import xform_name
from botocore.client import BaseClient
from botocore.exceptions import ClientError, PaginationError

from inventory.aws.errors import ErrorKind, Unsupported, classify, not_implemented

T = TypeVar("T")
MAX_PAGES = 10_000  # a safety net against an endpoint that never stops paging

# (output token, input parameter) for operations botocore has no paginator for.
_TOKEN_PAIRS = (
    ("NextToken", "NextToken"),
    ("nextToken", "nextToken"),
    ("NextMarker", "Marker"),
    ("Marker", "Marker"),
    ("NextPageToken", "PageToken"),
    ("nextPageToken", "pageToken"),
    ("NextContinuationToken", "ContinuationToken"),
)


class HasUnsupported(Protocol):
    """Anything holding the run's memo: ``CollectContext``, ``AccountSession``, ``UnsupportedMemo``."""

    unsupported: set[tuple[str, str, str]]


class UnsupportedMemo:
    """A standalone memo of (service, region, operation) the endpoint does not implement."""

    def __init__(self) -> None:
        self.unsupported: set[tuple[str, str, str]] = set()


def _names(client: BaseClient, operation: str) -> tuple[str, str]:
    """(client method, API operation name) for either spelling."""
    method = xform_name(operation)
    api = client.meta.method_to_api_mapping.get(method, operation)
    return method, api


def memo_key(client: BaseClient, api: str) -> tuple[str, str, str]:
    """Per region: an API may exist in one region and not yet in another."""
    return client.meta.service_model.service_name, str(client.meta.region_name or ""), api


def _remember_unsupported(
    memo: HasUnsupported | None, client: BaseClient, api: str, exc: BaseException
) -> None:
    if memo is not None and classify(exc, api).kind is ErrorKind.NOT_IMPLEMENTED:
        memo.unsupported.add(memo_key(client, api))


def _check_supported(memo: HasUnsupported | None, client: BaseClient, api: str) -> None:
    if memo is not None and memo_key(client, api) in memo.unsupported:
        raise Unsupported(not_implemented(api))


def call(memo: HasUnsupported, client: BaseClient, operation: str, **kwargs: Any) -> dict[str, Any]:
    """``client.<operation>(**kwargs)``, remembering in ``memo`` when the endpoint does not implement it.

    Once an operation answered "not implemented" in this run, later calls (other regions) raise
    :class:`~inventory.aws.errors.Unsupported` at once instead of paying the round trip again.
    """
    method, api = _names(client, operation)
    _check_supported(memo, client, api)
    try:
        return getattr(client, method)(**kwargs)
    except Exception as exc:
        _remember_unsupported(memo, client, api, exc)
        raise


def _items(page: Any, result_key: str) -> Iterator[Any]:
    if not isinstance(page, dict):
        return
    # "Reservations[].Instances[]" and "a.b" are JMESPath; a plain key is a plain key
    value = (
        jmespath.search(result_key, page) if any(c in result_key for c in ".[]|") else page.get(result_key)
    )
    if isinstance(value, list):
        yield from value
    elif value is not None:
        yield value


def _manual_pages(
    client: BaseClient, method: str, api: str, kwargs: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    model = client.meta.service_model.operation_model(api)
    inputs = model.input_shape.members if model.input_shape is not None else {}
    outputs = model.output_shape.members if model.output_shape is not None else {}
    pair = next(((out, arg) for out, arg in _TOKEN_PAIRS if out in outputs and arg in inputs), None)
    params = {key: value for key, value in kwargs.items() if key != "PaginationConfig"}
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = getattr(client, method)(**params)
        yield page
        if pair is None:  # the operation does not page
            return
        token = page.get(pair[0])
        if not token or page.get("IsTruncated") is False:
            return
        if token in seen:
            # stopping here would silently drop items; a partial list must not look complete
            raise PaginationError(message=f"{api} returned the same page token twice: {token!r}")
        seen.add(token)
        params[pair[1]] = token
    raise PaginationError(message=f"{api} still had more pages after {MAX_PAGES}")


def paginate(
    client: BaseClient, operation: str, result_key: str, *, memo: HasUnsupported | None = None, **kwargs: Any
) -> Iterator[Any]:
    """Every item under ``result_key`` across all pages of ``operation``.

    Uses botocore's paginator when there is one (``PaginationConfig`` works then), else follows
    NextToken/Marker itself. ``result_key`` may be a JMESPath expression
    (``"Reservations[].Instances[]"``). With ``memo``, behaves like :func:`call` for "not implemented".
    """
    method, api = _names(client, operation)
    _check_supported(memo, client, api)
    if client.can_paginate(method):
        pages: Iterator[Any] = iter(client.get_paginator(method).paginate(**kwargs))
    else:
        pages = _manual_pages(client, method, api, kwargs)
    try:
        for page in pages:
            yield from _items(page, result_key)
    except Exception as exc:
        _remember_unsupported(memo, client, api, exc)
        raise


def absent_ok(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None when AWS answers "there is none" as an error.

    E.g. ``absent_ok(iam.get_account_password_policy)`` is None without a password policy
    (``NoSuchEntity``); ``absent_ok(s3.get_bucket_encryption, Bucket=b)`` is None without default
    encryption. Any other error (access denied included) propagates.
    """
    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        if classify(exc).kind is ErrorKind.ABSENT:
            return None
        raise

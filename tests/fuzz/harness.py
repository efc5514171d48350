"""The fuzz tests' machinery: every URL pattern of the site, the query parameters each page reads,
hostile values, and a client that records every 5xx (and every exception a streamed body raises).

How a page's parameters are found: the page is requested once with a probe parameter (so its forms
are bound and read every field) while ``request.GET`` is a :class:`SpyQueryDict` that records each
key read, whoever reads it (a FilterSet, a form, django-tables2's RequestConfig, a view's own
``request.GET.get``). Forms and filtersets in the response's context give each field's type, so
integer-like fields get the integer attack values.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from django import forms
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_filters import FilterSet

PROBE = "_fuzz_probe"

#: Read by some page or other (the list kit, exports, tables2): tried on every page.
GENERIC_PARAMS = ("per_page", "page", "sort", "export", "_export", "format", "columns", "q", "account")
#: Parameter names that carry numbers wherever they appear.
INT_NAMES = {"per_page", "page", "account", "account_id", "port", "owner", "pk", "id"}

#: Every parameter, every role.
CORE_VALUES: tuple[str, ...] = ("", "-5", str(2**63), "\x00", "x" * 10_000, "abc")
#: Integer-like parameters, the security role.
INT_VALUES: tuple[str, ...] = (
    "0",
    "-1",
    str(2**63 - 1),
    str(2**64),
    str(-(2**63) - 1),
    "1e309",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() accepts it
)
#: Text parameters, the security role.
STR_VALUES: tuple[str, ...] = (
    "\u202egpj.exe",  # right-to-left override
    "\U0001f600\u200d",  # emoji, zero-width joiner
    "'\"<>&;",
    "%",
    "\\",
    "a\x00b",
)
#: Date parameters, the security role (and the text values).
DATE_VALUES: tuple[str, ...] = ("9999-12-31", "0001-01-01", "2024-02-30", "99999-01-01", "1-1-1")


def raw_queries(key: str) -> tuple[str, ...]:
    """Query strings the ``urlencode``-d values cannot make: raw ``%00``, bad UTF-8, repeats, no ``=``."""
    k = quote(key)
    return (f"{k}=%00", f"{k}=%ff%fe", f"{k}=-1&{k}={2**63}")


# --- URL patterns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # namespaced ("inventory:map"), "" when unnamed
    route: str  # the pattern, joined from the root
    pattern: URLPattern

    @property
    def arg_names(self) -> list[str]:
        """The path arguments by name; unnamed (positional) groups are named ``*0``, ``*1``..."""
        regex = self.pattern.pattern.regex
        named = list(regex.groupindex)
        return named + [f"*{n}" for n in range(regex.groups - len(named))]


def walk(patterns: Sequence[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URL pattern of the site, recursively through ``include()``."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield Route(namespace + p.name if p.name else "", prefix + str(p.pattern), p)


def url_for(route: Route, path_args: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The route's URL with its path arguments from ``path_args``; None when it needs unknown ones."""
    if not route.name:
        return None
    if route.arg_names:
        if route.name not in path_args:
            return None
        return reverse(route.name, kwargs=dict(path_args[route.name]))
    return reverse(route.name)


# --- the spy -----------------------------------------------------------------------------------


class SpyQueryDict(QueryDict):
    """A QueryDict that records every key read (copies record into the same set)."""

    read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        SpyQueryDict.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        SpyQueryDict.read.add(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> list[Any]:
        SpyQueryDict.read.add(key)
        return super().getlist(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            SpyQueryDict.read.add(key)
        return super().__contains__(key)


def _spy_get(self: WSGIRequest) -> QueryDict:
    if "_spy_get" not in self.__dict__:
        raw = self.environ.get("QUERY_STRING", "")
        self.__dict__["_spy_get"] = SpyQueryDict(raw.encode("iso-8859-1"), encoding=self._encoding)
    return self.__dict__["_spy_get"]


def _spy_set(self: WSGIRequest, value: QueryDict) -> None:
    self.__dict__["_spy_get"] = value


def install_spy(monkeypatch: Any) -> None:
    monkeypatch.setattr(WSGIRequest, "GET", property(_spy_get, _spy_set))


def field_kinds(context: Any) -> dict[str, str]:
    """``name -> "int" | "date" | "text"`` for every form / filterset field in a response's context."""
    kinds: dict[str, str] = {}
    if context is None:
        return kinds
    found: list[forms.BaseForm] = []
    layers = [
        layer
        for ctx in (context if isinstance(context, list) else [context])  # a ContextList per template
        for layer in getattr(ctx, "dicts", [ctx])
    ]
    for layer in layers:
        for value in layer.values() if isinstance(layer, Mapping) else []:
            if isinstance(value, FilterSet):
                found.append(value.form)
            elif isinstance(value, forms.BaseForm):
                found.append(value)
    for form in found:
        for name, f in form.fields.items():
            numeric = isinstance(
                f, forms.IntegerField | forms.ModelChoiceField | forms.FloatField | forms.DecimalField
            )
            date = isinstance(f, forms.DateField | forms.DateTimeField)
            kinds[form.add_prefix(name)] = "int" if numeric else "date" if date else "text"
    return kinds


def table_columns(context: Any) -> list[str]:
    """The column names of the page's table (every column, shown or not), for ``?sort=``."""
    if context is None:
        return []
    try:
        table = context["table"]
    except KeyError:
        return []
    return list(getattr(table, "base_columns", {}))


# --- the prober --------------------------------------------------------------------------------


@dataclass
class Failure:
    role: str
    url: str
    query: str
    what: str

    def __str__(self) -> str:
        query = self.query if len(self.query) <= 120 else self.query[:117] + "..."
        return f"[{self.role}] {self.url}?{query} -> {self.what}"


@dataclass
class Prober:
    """Sends requests as one role and keeps every server error with the exception behind it."""

    client: Client
    role: str
    failures: list[Failure] = field(default_factory=list)
    requests: int = 0
    _exc: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from django.core.signals import got_request_exception

        got_request_exception.connect(self._record, weak=False, dispatch_uid=f"fuzz-{id(self)}")

    def close(self) -> None:
        from django.core.signals import got_request_exception

        got_request_exception.disconnect(dispatch_uid=f"fuzz-{id(self)}")

    def _record(self, sender: Any = None, request: Any = None, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            self._exc.append(f"{type(exc).__name__}: {str(exc)[:160]}")

    def send(self, method: str, url: str, query: str = "", data: Any = None) -> Any:
        """One request; a 5xx, or an exception while reading a streamed body, is a failure."""
        self.requests += 1
        self._exc.clear()
        path = f"{url}?{query}" if query else url
        response = None
        try:
            with transaction.atomic():  # a database error must not poison the test's transaction
                if method == "GET":
                    response = self.client.get(path)
                else:
                    response = self.client.post(path, data or {})
                if getattr(response, "streaming", False):
                    b"".join(response.streaming_content)
        except DatabaseError as exc:
            self._exc.append(f"{type(exc).__name__}: {str(exc)[:160]}")
        except Exception as exc:  # noqa: BLE001  (a streamed body that fails is the finding)
            self._exc.append(f"{type(exc).__name__} while streaming: {str(exc)[:160]}")
        # (no response.close(): the test client has closed it, and closing again would fire
        # request_finished, whose handler drops a PostgreSQL connection found inside a transaction)
        status = response.status_code if response is not None else None
        if status is None or status >= 500 or self._exc:
            what = f"{status}" + (f" {self._exc[0]}" if self._exc else "")
            self.failures.append(Failure(self.role, url, query if method == "GET" else repr(data), what))
        return response


def encode(params: Mapping[str, Any]) -> str:
    return urlencode([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])


def report(failures: Sequence[Failure], limit: int = 400) -> str:
    unique = list(dict.fromkeys(str(f) for f in failures))
    shown = "\n".join(unique[:limit])
    more = f"\n... and {len(unique) - limit} more" if len(unique) > limit else ""
    return f"{len(unique)} requests failed:\n{shown}{more}"

"""No query parameter of any page makes a server error, for any role.

Every URL pattern of the site is walked (path arguments from the seeded estate); each page is first
probed for the parameters it reads (see :mod:`tests.fuzz.harness`), then requested with hostile
values in each of them, one at a time, over a few starting queries that reach deeper code (an
export, the map of one account). The security team gets every value on the bare page (and every
column as a sort) and the core set on the deeper queries; the owner and the viewer three values a
parameter; anonymous visitors must be sent to the login page. All failing (url, parameter, value)
tuples are reported in one assertion message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.fuzz.harness import (
    CORE_VALUES,
    DATE_VALUES,
    GENERIC_PARAMS,
    INT_NAMES,
    INT_VALUES,
    PROBE,
    STR_VALUES,
    Prober,
    Route,
    SpyQueryDict,
    encode,
    field_kinds,
    install_spy,
    raw_queries,
    report,
    table_columns,
    url_for,
    walk,
)
from tests.fuzz.seed import Estate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROLES = ["security", "owner", "viewer"]
#: Pages anyone may open.
PUBLIC = {"login", "healthz", "logout"}
#: Path arguments for the admin's generic patterns (every role here is redirected to its login).
ADMIN_ARGS = {"object_id": "1", "app_label": "accounts", "content_type_id": "1"}


@dataclass
class Page:
    name: str
    url: str
    bases: list[dict[str, Any]]
    params: dict[str, str] = field(default_factory=dict)  # name -> "int" | "date" | "text"
    read: set[str] = field(default_factory=set)  # the parameters the page was seen reading
    columns: list[str] = field(default_factory=list)
    get_allowed: bool = True


def starting_queries(name: str, estate: Estate) -> list[dict[str, Any]]:
    """The queries each parameter is fuzzed on top of: the bare page, plus ones that reach deeper."""
    deeper: dict[str, list[dict[str, Any]]] = {
        "inventory:map": [{"account": str(estate.network_account.pk)}],
        "inventory:map_data": [{"account": str(estate.network_account.pk)}],
        "iam_audit:finding_list": [{"export": "json"}],
        "iam_audit:access_paths_export": [{"format": "json"}],
        "inventory:resource_list": [{"q": "web"}],
    }
    return [{}, *deeper.get(name, [])]


def routes(estate: Estate) -> Iterator[tuple[Route, str]]:
    """Every named pattern with its URL; a pattern whose path arguments are unknown fails the test."""
    path_args = estate.path_args()
    for route in walk():
        if not route.name:
            continue  # the admin's catch-all: no name, reached by any unknown admin URL
        if route.name.startswith("admin:"):
            kwargs = {a: ADMIN_ARGS[a] for a in route.arg_names if a in ADMIN_ARGS}
            if len(kwargs) == len(route.arg_names):
                yield route, reverse(route.name, kwargs=kwargs or None)
            continue
        url = url_for(route, path_args)
        assert url is not None, f"no path arguments for {route.name} ({route.route}): add it to seed.py"
        yield route, url


def discover(client: Client, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> list[Page]:
    """Each page with the parameters it reads (probed as the security team) and its table's columns."""
    install_spy(monkeypatch)
    pages = []
    for route, url in routes(estate):
        page = Page(route.name, url, starting_queries(route.name, estate))
        for base in page.bases:
            SpyQueryDict.read = set()
            response = client.get(f"{url}?{encode({**base, PROBE: '1'})}")
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            if response.status_code == 405:
                page.get_allowed = False
            kinds = field_kinds(response.context)
            page.read |= SpyQueryDict.read - {PROBE}
            for key in SpyQueryDict.read - {PROBE}:
                page.params.setdefault(key, kinds.get(key, "int" if key in INT_NAMES else "text"))
            page.columns = page.columns or table_columns(response.context)
        for key in GENERIC_PARAMS:
            page.params.setdefault(key, "int" if key in INT_NAMES else "text")
        pages.append(page)
    monkeypatch.undo()
    return pages


def values_for(kind: str, full: bool) -> list[str]:
    """The hostile values one parameter gets: the core set, plus its type's for the full run."""
    if not full:
        return ["-5", str(2**63), "\x00"]
    extra = {"int": INT_VALUES, "date": DATE_VALUES + STR_VALUES[:2]}.get(kind, STR_VALUES)
    return [*CORE_VALUES, *extra]


def attacks(page: Page, full: bool) -> Iterator[str]:
    """Query strings for one page: each parameter alone with hostile values, on each starting query."""
    if not page.get_allowed or page.name.startswith("admin:"):
        for value in CORE_VALUES[:3]:  # the view never reads them; a few suffice
            yield encode({"page": value})
        return
    for n, base in enumerate(page.bases):
        deeper = n > 0  # past the bare page, the core values suffice
        prefix = encode(base)
        ignored = sorted(key for key in page.params if key not in page.read)
        if ignored:  # generic parameters the page does not read: confirm it ignores them, together
            for value in CORE_VALUES[1:4] if full else CORE_VALUES[2:3]:
                yield encode({**base, **{key: value for key in ignored}})
        for key, kind in sorted(page.params.items()):
            if key not in page.read:
                continue
            for value in values_for(kind, full and not deeper):
                yield encode({**base, key: value})
            for raw in raw_queries(key)[: None if full and not deeper else 1]:
                yield f"{prefix}&{raw}" if prefix else raw
        # every column as a sort, both ways, and a few that are no column
        sorts = [*page.columns, *(f"-{c}" for c in page.columns[:3])] if full and not deeper else []
        for value in [*sorts, "nope", "name,-name,nope"] if full else ["nope"]:
            yield encode({**base, "sort": value})
        yield encode({**base, "per_page": "-5", "page": "-1", "sort": "nope"})


def login(role: str, estate: Estate, security_user: Any, owner_user: Any, viewer_user: Any) -> Client:
    client = Client(raise_request_exception=False)
    user = {"security": security_user, "owner": owner_user, "viewer": viewer_user}[role]
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ROLES)
def test_no_query_parameter_makes_a_server_error(
    role: str,
    estate: Estate,
    security_user: Any,
    owner_user: Any,
    viewer_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe_client = login("security", estate, security_user, owner_user, viewer_user)
    pages = discover(probe_client, estate, monkeypatch)
    names = {p.name for p in pages}
    # the walk reached the pages the task names: lists, details, exports, JSON, the map and graph
    for expected in (
        "accounts:account_list",
        "inventory:resource_detail",
        "iam_audit:access_paths_export",
        "inventory:map_data",
        "iam_audit:trust_graph",
        "inventory:run_progress",
    ):
        assert expected in names
    finding_params = next(p.params for p in pages if p.name == "iam_audit:finding_list")
    assert {"account", "severity", "first_seen_after", "per_page", "sort"} <= set(finding_params)

    prober = Prober(login(role, estate, security_user, owner_user, viewer_user), role)
    # the 500s are reported below, not as tracebacks
    monkeypatch.setattr(logging.getLogger("django.request"), "disabled", True)
    try:
        for page in pages:
            for query in attacks(page, full=role == "security"):
                prober.send("GET", page.url, query)
    finally:
        prober.close()
    assert prober.requests > 1000
    assert not prober.failures, report(prober.failures)


def test_anonymous_visitors_get_the_login_page_whatever_the_query(estate: Estate) -> None:
    prober = Prober(Client(raise_request_exception=False), "anonymous")
    login_url = reverse("login")
    wrong = []
    try:
        for route, url in routes(estate):
            for query in ("", encode({"account": str(2**63), "per_page": "-5", "q": "\x00"}), "page=%00"):
                response = prober.send("GET", url, query)
                if route.name in PUBLIC or route.name.startswith("admin:"):
                    continue
                if response is None or response.status_code != 302:
                    wrong.append(f"{url}?{query}: {getattr(response, 'status_code', None)}")
                elif not response["Location"].startswith(login_url):
                    wrong.append(f"{url}?{query}: redirected to {response['Location']}")
    finally:
        prober.close()
    assert not prober.failures, report(prober.failures)
    assert not wrong, wrong

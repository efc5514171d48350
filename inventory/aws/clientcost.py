"""What a botocore client costs to create, cut down to what a collection can afford. No Django.

A collection makes one client per (service, region) in each account, about 310 for an account of
16 regions, and one or two calls with most of them. botocore builds every client from scratch, which
cost ~9 ms of CPU here: more than the client's calls. Under the GIL that CPU, not the network, is
what bounds a parallel collection. Measured per client (``cProfile``, 320 clients):

- 35 %: copying the session's event handlers (botocore's prefix trie of ~375 nodes is copied
  node by node for each client, whose own few handlers then go into the copy);
- 18 %: building the service's endpoint rule set into objects again;
- 12 %: ``inspect.getfullargspec`` on every handler registered, to check it takes ``**kwargs``;
- 7 %: reading every environment variable for proxy settings;
- before these, half the cost was the client class and service model (see
  :func:`install_client_caches`).

What this module shares instead, each piece keeping botocore's behaviour:

- :class:`SharingEmitter`: the session's event emitter. Its handler trie is persistent: a copy
  shares the nodes, and a registration copies only the nodes on its event name's path, so no
  client's handlers reach another client or the session (tested against botocore's own trie);
- :func:`install_client_caches`: client classes and service models per session, endpoint rule sets
  per (rule set, partitions) loaded;
- :class:`SharingAliaser`: botocore's cache of aliased event names, which every client otherwise
  fills again, call by call;
- HTTP connections: one pool per endpoint host for the clients of every sharing session, so an
  account's client reuses the connections (and TLS sessions) the previous account's opened;
- :class:`MemoConfigStore`: each configuration variable looked up once per session, not ~70
  times per client through the environment and config files;
- :func:`no_proxies_configured`: lets the Config say "no proxies" when the environment has none.

If a future botocore no longer has one of the internals patched here, clients are built the
ordinary way (:func:`install_client_caches` checks before patching).
"""

from __future__ import annotations

import copy
import functools
import os
import threading
import types
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import botocore.client
import botocore.endpoint
import botocore.loaders
import botocore.regions
import botocore.session
from botocore.configprovider import ConfigValueStore, create_botocore_default_config_mapping
from botocore.hooks import EventAliaser, HierarchicalEmitter, NodeList, _PrefixTrie
from botocore.httpsession import URLLib3Session

from inventory.aws.versions import require_tested

require_tested("botocore")

__all__ = [
    "CLASSES_SLOT",
    "MODELS_SLOT",
    "MemoConfigStore",
    "SharingAliaser",
    "SharingEmitter",
    "SharingSession",
    "install_client_caches",
    "no_proxies_configured",
    "shared_loader",
]

CLASSES_SLOT = "_skyledger_client_classes"
MODELS_SLOT = "_skyledger_service_models"

_MIDDLE = 1
Node = dict[str, Any]


def _copy_node(node: Node) -> Node:
    return {"chunk": node["chunk"], "values": node["values"], "children": dict(node["children"])}


class SharedTrie(_PrefixTrie):
    """botocore's handler trie (``botocore.hooks._PrefixTrie``) made persistent.

    ``copy.copy`` shares every node. A node, and the ``NodeList`` of handlers on it, is never
    changed once made: ``append_item`` and ``remove_item`` copy the nodes on their key's path, change
    the copies and then publish the new root in one assignment. So a copy costs nothing, a write
    costs the depth of its key (2–4 nodes), a reader (``prefix_search``) always sees one whole
    version, and no copy sees another's writes. Lookups are botocore's own, unchanged. Writers to
    one trie take its lock, so that two writes at once cannot publish over each other.
    """

    def __init__(self) -> None:
        super().__init__()
        self._write_lock = threading.Lock()

    def __copy__(self) -> SharedTrie:
        twin = self.__class__.__new__(self.__class__)
        twin._root = self._root
        twin._write_lock = threading.Lock()
        return twin

    def _copied_path(self, parts: list[str], create: bool) -> list[Node]:
        path = [_copy_node(self._root)]
        for part in parts:
            children = path[-1]["children"]
            child = children.get(part)
            if child is None:
                if not create:
                    raise ValueError(f"key is not in trie: {'.'.join(parts)}")
                child = {"chunk": part, "values": None, "children": {}}
            else:
                child = _copy_node(child)
            children[part] = child
            path.append(child)
        return path

    def append_item(self, key: str, value: Any, section: int = _MIDDLE) -> None:
        with self._write_lock:
            path = self._copied_path(key.split("."), create=True)
            leaf = path[-1]
            lists = [list(handlers) for handlers in leaf["values"]] if leaf["values"] else [[], [], []]
            lists[section].append(value)
            leaf["values"] = NodeList(*lists)
            self._root = path[0]

    def remove_item(self, key: str, value: Any) -> None:
        with self._write_lock:
            self._remove_item_locked(key, value)

    def _remove_item_locked(self, key: str, value: Any) -> None:
        parts = key.split(".")
        path = self._copied_path(parts, create=False)
        leaf = path[-1]
        if leaf["values"] is None:
            raise ValueError(f"no handlers for key: {key}")
        lists = [list(handlers) for handlers in leaf["values"]]
        for handlers in lists:  # the first occurrence, searching first, middle, last (as botocore)
            if value in handlers:
                handlers.remove(value)
                break
        leaf["values"] = NodeList(*lists)
        # drop nodes left with neither handlers nor children, from the leaf up (as botocore)
        for depth in range(len(parts), 0, -1):
            node = path[depth]
            if node["children"] or node["values"]:
                break
            del path[depth - 1]["children"][parts[depth - 1]]
        self._root = path[0]


_ACCEPTS_KWARGS: dict[Any, bool] = {}


class SharingEmitter(HierarchicalEmitter):
    """botocore's event emitter with a :class:`SharedTrie` of handlers, so that the copy each
    client takes of its session's emitter is free; and the ``**kwargs`` check of a handler made
    once per function's code instead of on every registration (botocore registers ~9 per client, each a
    fresh bound method of a fresh object)."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers = SharedTrie()

    def _verify_accept_kwargs(self, func: Callable[..., Any]) -> Any:
        # Whether a handler takes **kwargs is decided by its function's code: a bound method's
        # is its function's, and a partial keeps (or lacks) its function's **kwargs.
        function: Any = func
        while isinstance(function, functools.partial):
            function = function.func
        function = getattr(function, "__func__", function)
        if not isinstance(function, types.FunctionType) or "__signature__" in function.__dict__:
            return super()._verify_accept_kwargs(func)  # a callable object: check it each time
        code = function.__code__  # not the function: closures made per client would pile up
        if _ACCEPTS_KWARGS.get(code):
            return None
        result = super()._verify_accept_kwargs(func)  # raises when it does not accept **kwargs
        if result is None:
            _ACCEPTS_KWARGS[code] = True
        return result


class SharingAliaser(EventAliaser):
    """botocore's event-name aliaser, whose copies share its cache of aliased names.

    botocore rewrites every event name through a table of old service names, on every emit (about
    15 per call) and registration, and caches the result per aliaser. Each client gets a copy of its
    session's aliaser with an empty cache, which it fills on its first calls: all the calls most of
    a collection's clients make. The result depends only on the table, so copies with the same
    table share one cache.
    """

    def __copy__(self) -> EventAliaser:
        twin = super().__copy__()
        if twin._event_aliases == self._event_aliases:
            twin._alias_name_cache = self._alias_name_cache
        return twin


def _fresh(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


class MemoConfigStore(ConfigValueStore):
    """botocore's configuration store, looking each variable up once.

    Each of a client's ~70 configuration lookups walks a chain of providers (instance variables,
    environment, config file) and each client takes a copy of its session's store, so a session
    creating 300 clients read 20,000 environment variables. A copy shares its original's memo for
    every variable whose provider it has not replaced; botocore replaces one per client
    (``endpoint_url``), which then has a memo of its own. Values set on the store
    (``set_config_variable``) win as before, and a :class:`SharingSession` forgets the memo when its
    own values change; the environment and config files are read once per session, which lasts one
    account's collection.
    """

    def __init__(self, mapping: dict[str, Any] | None = None, shared: dict[str, Any] | None = None) -> None:
        self._shared: dict[str, Any] = {} if shared is None else shared
        self._local: dict[str, Any] = {}
        self._replaced: set[str] = set()
        super().__init__(mapping)
        self._replaced = set()  # the providers it was made with are the ones ``shared`` knows

    def __copy__(self) -> MemoConfigStore:
        twin = MemoConfigStore(copy.copy(self._mapping), shared=self._shared)
        twin._replaced = set(self._replaced)
        for logical_name, value in self._overrides.items():
            twin.set_config_variable(logical_name, value)
        return twin

    def get_config_variable(self, logical_name: str) -> Any:
        if logical_name in self._overrides or logical_name not in self._mapping:
            return super().get_config_variable(logical_name)
        memo = self._local if logical_name in self._replaced else self._shared
        try:
            value = memo[logical_name]
        except KeyError:
            value = memo[logical_name] = super().get_config_variable(logical_name)
        return _fresh(value)  # what botocore gets may be changed; what is kept may not

    def set_config_provider(self, logical_name: str, provider: Any) -> None:
        super().set_config_provider(logical_name, provider)
        self._replaced.add(logical_name)
        self._local.pop(logical_name, None)

    def forget(self) -> None:
        """Look every variable up again (the session's own values changed)."""
        self._shared.clear()
        self._local.clear()


class SharingSession(botocore.session.Session):
    """A plain botocore session whose clients share what they can (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("event_hooks", SharingEmitter())
        super().__init__(**kwargs)
        self.register_component(
            "config_store", MemoConfigStore(mapping=create_botocore_default_config_mapping(self))
        )
        events = self.get_component("event_emitter")
        if type(events) is EventAliaser:
            # botocore makes the aliaser itself, with no way to choose its class; the subclass adds
            # only a method, so the object can take it on
            events.__class__ = SharingAliaser

    def set_config_variable(self, logical_name: str, value: Any) -> None:
        super().set_config_variable(logical_name, value)
        store = self.get_component("config_store")
        if isinstance(store, MemoConfigStore):
            store.forget()


_HTTP_SESSIONS: dict[Any, URLLib3Session] = {}
_HTTP_SESSIONS_LOCK = threading.Lock()
_HTTP_SESSIONS_LIMIT = 512


def _forget_http_sessions_in_child() -> None:
    """A forked process (a Celery prefork child) must not use its parent's open connections: two
    processes reading one socket would take each other's answers. The child starts its own."""
    global _HTTP_SESSIONS_LOCK
    _HTTP_SESSIONS_LOCK = threading.Lock()  # it may have been held by another thread at the fork
    _HTTP_SESSIONS.clear()


os.register_at_fork(after_in_child=_forget_http_sessions_in_child)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _shared_http_session(endpoint_url: str, **settings: Any) -> URLLib3Session:
    """The process's HTTP session (urllib3 pool manager) for ``endpoint_url``'s scheme and host
    with these settings: made on first use, then shared by every sharing session's clients."""
    parts = urlsplit(endpoint_url)
    try:
        key = (parts.scheme, parts.netloc, _frozen(settings))
        hash(key)
    except TypeError:  # settings we cannot compare: a session of the client's own
        return URLLib3Session(**settings)
    with _HTTP_SESSIONS_LOCK:
        session = _HTTP_SESSIONS.get(key)
        if session is None:
            if len(_HTTP_SESSIONS) >= _HTTP_SESSIONS_LIMIT:  # dropped, not closed: clients use it
                _HTTP_SESSIONS.pop(next(iter(_HTTP_SESSIONS)))
            session = _HTTP_SESSIONS[key] = URLLib3Session(**settings)
        return session


def _share_http_sessions() -> None:
    """Clients of a sharing session get their HTTP connections from one pool per endpoint host.

    botocore gives every client its own urllib3 pool manager (and TLS context, ~1 ms of CPU), so
    the ec2 client of one account cannot reuse the open connection to ``ec2.eu-west-1`` that the
    previous account's left, and every client opens its own: a new TCP connection and TLS handshake
    per (account, service, region). A connection carries no credentials (each request is signed),
    so the clients of every account session share one pool per host and settings; the pool holds
    ``max_pool_connections`` connections per host. Clients of other sessions are left alone.
    """
    creator = botocore.endpoint.EndpointCreator
    original = getattr(creator, "create_endpoint", None)
    if original is None or getattr(original, "skyledger_cached", False):
        return

    @functools.wraps(original)
    def create_endpoint(
        self: Any, service_model: Any, region_name: Any, endpoint_url: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if (
            isinstance(getattr(self, "_event_emitter", None), SharingAliaser)
            and not args
            and "http_session_cls" not in kwargs
        ):
            kwargs["http_session_cls"] = functools.partial(_shared_http_session, endpoint_url)
        return original(self, service_model, region_name, endpoint_url, *args, **kwargs)

    create_endpoint.skyledger_cached = True  # type: ignore[attr-defined]
    creator.create_endpoint = create_endpoint


def no_proxies_configured() -> bool:
    """True when the environment sets no proxy (``HTTPS_PROXY``, ``NO_PROXY``...): then a client
    may be told ``proxies={}`` instead of botocore reading the whole environment for each client."""
    return not urllib.request.getproxies_environment()


def _memoise_per_session(method: str, slot: str, key: Callable[..., tuple[str, str]]) -> None:
    """Make ``botocore.client.ClientCreator.<method>`` compute once per botocore session and key.

    What is kept lives on the session's event emitter (``emitter.__dict__[slot]``), not in a
    registry: what botocore builds refers back to the emitter, so the pair is a plain cycle that the
    collector frees with the session.
    """
    creator = botocore.client.ClientCreator
    original = getattr(creator, method, None)
    if original is None or getattr(original, "skyledger_cached", False):
        return
    lock = threading.Lock()

    @functools.wraps(original)
    def memoised(self: Any, *args: Any) -> Any:
        emitter = getattr(self, "_event_emitter", None)
        if emitter is None or not hasattr(emitter, "__dict__"):
            return original(self, *args)
        k = key(*args)
        with lock:
            store = emitter.__dict__.setdefault(slot, {})
            value = store.get(k)
        if value is None:
            value = original(self, *args)
            with lock:
                value = store.setdefault(k, value)
        return value

    memoised.skyledger_cached = True  # type: ignore[attr-defined]
    setattr(creator, method, memoised)


class _SharedEndpointProviders:
    """Stands in for ``botocore.regions.EndpointProvider``: one provider per (rule set, partitions)
    data loaded, instead of one per client. A provider is immutable once built (it also caches
    the endpoints it resolves, which its clients then share); the data objects come from the
    loader's cache, so the same data is the same object. Kept: the last 256."""

    skyledger_cached = True
    LIMIT = 256

    def __init__(self, original: Callable[..., Any]) -> None:
        self.original = original
        self._providers: dict[tuple[int, int, frozenset[str]], tuple[Any, Any, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, ruleset_data: Any, partition_data: Any, excluded_params: Any = None) -> Any:
        excluded = frozenset(excluded_params or ())
        key = (id(ruleset_data), id(partition_data), excluded)
        with self._lock:
            hit = self._providers.get(key)
        if hit is not None and hit[0] is ruleset_data and hit[1] is partition_data:
            return hit[2]
        provider = self.original(
            ruleset_data=ruleset_data, partition_data=partition_data, excluded_params=excluded_params
        )
        with self._lock:
            if len(self._providers) >= self.LIMIT:
                self._providers.pop(next(iter(self._providers)))
            # the entry holds the data, so its id cannot be reused while the entry lives
            self._providers[key] = (ruleset_data, partition_data, provider)
        return provider


def install_client_caches() -> None:
    """Build each service's client class, service model and endpoint rules once, not per client.

    For every client, botocore makes a new class with a method for each of the service's operations
    (EC2 has about 650), a new service model whose shapes are then resolved again on the first
    calls, and a new endpoint rule set, and throws them away. The class depends only on the service
    model and on the session's ``creating-client-class`` handlers, and the model only on the loader:
    both are kept per session and (service, API version). A boto3 session (which adds methods) never
    shares a plain botocore session's classes; the account sessions of one Hub, set up alike, share
    theirs (see ``AccountSession``). botocore never changes a service model after loading it.
    """
    _memoise_per_session(
        "_create_client_class",
        CLASSES_SLOT,
        lambda name, model: (name, str(getattr(model, "api_version", ""))),
    )
    _memoise_per_session(
        "_load_service_model", MODELS_SLOT, lambda name, api_version=None: (name, str(api_version or ""))
    )
    original = getattr(botocore.regions, "EndpointProvider", None)
    if original is not None and not getattr(original, "skyledger_cached", False):
        botocore.regions.EndpointProvider = _SharedEndpointProviders(original)
    _share_http_sessions()


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def shared_loader() -> Any:
    """The process's botocore data loader: each service model and the endpoint data parsed once.

    botocore caches what a loader has parsed in the loader, and every session makes its own; a
    worker that collects account after account would otherwise parse the same files again each time.
    """
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
        return _LOADER

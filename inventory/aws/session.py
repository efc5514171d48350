"""The one session factory: Skyledger's own credentials, role assumption, clients. No Django here.

Every AWS call Skyledger makes goes through a client from :class:`Hub` (its own credentials, from
the standard boto3 chain) or from an :class:`AccountSession` (a read role assumed in one account).
Both share one botocore :class:`~botocore.config.Config` (retries, time-outs, pool size, user agent)
and count calls in a :class:`~inventory.aws.stats.CallStats`. A hub makes one client per (service,
region) for its own credentials, and one per (service, region) that all its account sessions share,
each call signed with the credentials of the session that makes it (:class:`_ActingClient`).

The endpoint is ``AwsSettings.endpoint_url``, else ``AWS_ENDPOINT_URL`` from the environment, else
real AWS.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import NoCredentialsError
from botocore.retries.quota import RetryQuota
from botocore.utils import parse_timestamp

from core.secrets import remember
from inventory.aws.clientcost import (
    CLASSES_SLOT,
    MODELS_SLOT,
    SharingSession,
    install_client_caches,
    no_proxies_configured,
    shared_loader,
)
from inventory.aws.errors import AccessError, Classified, ErrorKind, classify, without_secret
from inventory.aws.permissions import HUB, declare
from inventory.aws.stats import CallStats

__all__ = [
    "AccessError",
    "AccountSession",
    "AwsSettings",
    "Hub",
    "Target",
    "botocore_config",
    "role_session_name",
]

log = logging.getLogger(__name__)

USER_AGENT = "skyledger"
# Skyledger's own credentials assume the read roles; a session asks who it is (the access check)
CALLS = declare(__name__, "sts", "AssumeRole", principal=HUB) + declare(__name__, "sts", "GetCallerIdentity")
T = TypeVar("T")
Clock = Callable[[], dt.datetime]


@dataclasses.dataclass(frozen=True)
class AwsSettings:
    """How Skyledger talks to AWS. ``endpoint_url=None`` falls back to ``AWS_ENDPOINT_URL``."""

    endpoint_url: str | None = None
    home_region: str = "us-east-1"  # global services (IAM, STS, Organizations) and region discovery
    retry_mode: str = "standard"
    max_attempts: int = 5  # HTTP attempts per call, first one included
    connect_timeout: float = 5
    read_timeout: float = 30
    max_pool_connections: int = 32  # per client: size it for the number of regions run in parallel
    partition: str = "aws"

    def resolved_endpoint(self) -> str | None:
        """The endpoint clients use: explicit, else ``AWS_ENDPOINT_URL``, else None (real AWS)."""
        return self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None


@dataclasses.dataclass(frozen=True)
class Target:
    """A read role to assume in one account."""

    account_id: str
    role_arn: str
    external_id: str | None = dataclasses.field(default=None, repr=False)  # a secret: never in a repr
    session_name: str = "skyledger"  # e.g. "skyledger-run-42": shows in the account's CloudTrail
    duration_seconds: int = 3600


def botocore_config(settings: AwsSettings, **overrides: Any) -> Config:
    """The botocore Config every Skyledger client uses (``overrides`` win, e.g. fewer attempts)."""
    base = Config(
        retries={"mode": settings.retry_mode, "total_max_attempts": max(1, settings.max_attempts)},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_pool_connections=settings.max_pool_connections,
        user_agent_extra=USER_AGENT,
        # with no proxy in the environment, say so, rather than botocore reading the whole
        # environment again for each client (see inventory.aws.clientcost)
        proxies={} if no_proxies_configured() else None,
    )
    return base.merge(Config(**overrides)) if overrides else base


def role_session_name(name: str) -> str:
    """``name`` made valid for ``RoleSessionName``: 2–64 characters of ``[\\w+=,.@-]``."""
    cleaned = re.sub(r"[^A-Za-z0-9_+=,.@-]", "-", name or "")[:64]
    if len(cleaned) < 2:
        cleaned = f"skyledger-{cleaned}".rstrip("-")
    return cleaned


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _is_local_host(host: str) -> bool:
    """localhost, a ``.localhost`` name or an IP address: never an AWS endpoint's name."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_local(endpoint_url: str | None) -> bool:
    return _is_local_host(urlsplit(endpoint_url or "").hostname or "")


def _bare_html_errors(response_dict: dict[str, Any] | None = None, **_: Any) -> None:
    """Let botocore read an HTML error page (a gateway's 5xx, or a 4xx route page) by its status.

    Such a page is not an AWS error document. botocore recognises one only when the body starts
    with exactly ``<html>``; a ``<!doctype html>`` page instead raises ``ResponseParserError``,
    which is never retried. Emptying the body makes botocore report the bare status as the code
    (``"500"``, ``"501"``), so a 5xx is retried like any server error and a 501 says "not
    implemented" explicitly (see :mod:`inventory.aws.errors`).
    """
    if not response_dict or int(response_dict.get("status_code") or 0) < 400:
        return
    body = response_dict.get("body") or b""
    head = body[:200].lstrip().lower() if isinstance(body, bytes) else b""
    if head.startswith((b"<!doctype html", b"<html")):
        response_dict["body"] = b""


_ACCOUNT_PREFIX = re.compile(r"^\d{12}\.")


def local_s3control_url(url: str) -> str:
    """``url`` without the account-id prefix botocore puts before an s3control host
    (``123456789012.127.0.0.1``) when what remains is a local host, which could not resolve the
    prefixed name; unchanged otherwise (real AWS routes s3control by that prefix)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _ACCOUNT_PREFIX.match(host):
        return url
    bare = _ACCOUNT_PREFIX.sub("", host, count=1)
    if not _is_local_host(bare):
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(host, bare, 1)))


def _strip_account_host(request: Any, **_: Any) -> None:
    url = local_s3control_url(request.url)
    if url != request.url:
        request.url = url
        if "host" in request.headers:
            request.headers["host"] = urlsplit(url).netloc


def fix_s3control_for_local_endpoint(client: Any) -> Any:
    """Make an s3control client work against a local endpoint (moto); a no-op for real AWS (see
    :func:`local_s3control_url`). Registering twice is harmless (botocore de-duplicates by
    ``unique_id``). Returns the client."""
    client.meta.events.register(
        "before-send.s3-control", _strip_account_host, unique_id="skyledger-s3control-host"
    )
    return client


def _prepare(client: BaseClient, endpoint_url: str | None) -> BaseClient:
    # No retry veto of its own: a 5xx from any endpoint is retried as botocore decides (a 501 "not
    # implemented" is not retried by botocore anyway).
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"before-parse.{service_id}", _bare_html_errors, unique_id="skyledger-bare-html-errors"
    )
    if endpoint_url:
        if service_id == "s3-control" and _is_local(endpoint_url):
            fix_s3control_for_local_endpoint(client)
    return client


install_client_caches()


class _ClientCache:
    """One client per (service, region), created once even when threads ask at the same time."""

    def __init__(self, factory: Callable[[str, str], BaseClient]) -> None:
        self._factory = factory
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._lock = threading.Lock()
        self.created = 0

    def get(self, service: str, region: str, on_create: Callable[[], None] | None = None) -> BaseClient:
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        # Creation is CPU-bound (~1 ms, see clientcost) and botocore sessions are not thread-safe:
        # serialise it.
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._factory(service, region)
                self._clients[key] = client
                self.created += 1
                if on_create is not None:
                    on_create()
            return client

    def locked(self, action: Callable[[list[BaseClient]], None]) -> None:
        """``action(clients)`` while no client is being created."""
        with self._lock:
            action(list(self._clients.values()))


class _Once:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.value: Any = None


class Hub:
    """Skyledger's own credentials (the standard boto3 chain) and the role assumptions made with them.

    ``clock`` returns the current aware datetime; it decides when assumed credentials need
    refreshing (tests move it forward instead of waiting an hour).
    """

    def __init__(
        self,
        settings: AwsSettings | None = None,
        session: boto3.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings or AwsSettings()
        self.endpoint_url = self.settings.resolved_endpoint()
        self.session = session or boto3.Session()
        self.config = botocore_config(self.settings)
        self.stats = CallStats()  # calls made with Skyledger's own credentials (AssumeRole...)
        # the account clients' classes and parsed models, one per service (clientcost.install_client_caches)
        self.account_client_classes: dict[tuple[str, str], type] = {}
        self.account_service_models: dict[tuple[str, str], Any] = {}
        self.clock: Clock = clock or _utcnow
        self._clients = _ClientCache(self._new_client)
        # Parsed service models and endpoint data, shared with the account clients and, unless a
        # session was handed in, with every Hub of the process: parsing them again costs ~0.5 s of
        # CPU for each Hub.
        if session is None:
            self.loader = shared_loader()
            self.session._session.register_component("data_loader", self.loader)
        else:
            self.loader = self.session._session.get_component("data_loader")

        # The clients every account session of this hub uses (see AccountSession): one per
        # (service, region) for the life of the hub, signing with the acting session's credentials.
        self._account_botocore = SharingSession()
        self._account_botocore.register_component("data_loader", self.loader)
        # Each service's client class and model are built once, for all its regions: see
        # inventory.aws.clientcost.
        emitter = self._account_botocore.get_component("event_emitter")
        emitter.__dict__[CLASSES_SLOT] = self.account_client_classes
        emitter.__dict__[MODELS_SLOT] = self.account_service_models
        # botocore has no public setter for a session's credentials object; this is how its own
        # assume-role provider ends up wired too.
        self._account_botocore._credentials = _ActingCredentials()
        # S3 Express keeps session credentials per client, keyed by bucket alone: shared by every
        # account, it could hand one account's session to another. Plain SigV4 works on directory
        # buckets too.
        self._account_config = self.config.merge(Config(s3={"disable_s3_express_session_auth": True}))
        self._account_clients = _ClientCache(self._new_account_client)

    def _new_client(self, service: str, region: str) -> BaseClient:
        client = self.session.client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=self.config
        )
        self.stats.attach(client)
        return _prepare(client, self.endpoint_url)

    def _new_account_client(self, service: str, region: str) -> BaseClient:
        client = self._account_botocore.create_client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=self._account_config
        )
        CallStats.attach_routed(client, _acting_stats)
        _route_retry_quota(client, (service, region))
        return _prepare(client, self.endpoint_url)

    def client(self, service: str, region: str | None = None) -> BaseClient:
        """A cached client with Skyledger's own credentials (``region`` defaults to the home region)."""
        return self._clients.get(service, region or self.settings.home_region)

    def account_client(
        self, service: str, region: str, on_create: Callable[[], None] | None = None
    ) -> BaseClient:
        """The client every account session of this hub shares for (service, region). Use it
        through :meth:`AccountSession.client`: a call made with no session acting is refused."""
        return self._account_clients.get(service, region, on_create)

    def on_every_account_client(self, event: str, handler: Callable[..., Any], unique_id: str) -> None:
        """Register ``handler`` on every account client, those made so far and those to come."""

        def register(clients: list[BaseClient]) -> None:
            self._account_botocore.register(event, handler, unique_id=unique_id)
            for client in clients:
                client.meta.events.register(event, handler, unique_id=unique_id)

        self._account_clients.locked(register)

    @property
    def clients_created(self) -> int:
        """Clients made with Skyledger's own credentials."""
        return self._clients.created

    @property
    def account_clients_created(self) -> int:
        """Account clients made so far (one per service and region in use, for all accounts)."""
        return self._account_clients.created

    def assume(self, target: Target) -> AccountSession:
        """Assume ``target``'s role; the credentials re-assume it themselves before they expire.

        Raises :class:`AccessError` (carrying a :class:`Classified`) when the role cannot be assumed.
        """
        assumer = _RoleAssumer(self, target)
        first = assumer()
        duration = max(900, target.duration_seconds)
        credentials = RefreshableCredentials(
            access_key=first["access_key"],
            secret_key=first["secret_key"],
            token=first["token"],
            expiry_time=parse_timestamp(first["expiry_time"]),
            refresh_using=assumer,
            method="sts-assume-role",
            time_fetcher=self.clock,
            # botocore's defaults (refresh 15 min ahead, block 10 min ahead) would refresh on every
            # call for a 15-minute session; scale them down for short sessions.
            advisory_timeout=min(15 * 60, duration // 4),
            mandatory_timeout=min(10 * 60, duration // 6),
        )
        return AccountSession(self, target, credentials, assumer)


class _RoleAssumer:
    """Calls ``sts:AssumeRole`` for one target; botocore calls it again whenever credentials near expiry."""

    def __init__(self, hub: Hub, target: Target) -> None:
        self.hub = hub
        self.target = target
        self.session_name = role_session_name(target.session_name)
        self.count = 0
        remember(target.external_id)  # masked in every log line from now on
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        target = self.target
        params: dict[str, Any] = {
            "RoleArn": target.role_arn,
            "RoleSessionName": self.session_name,
            "DurationSeconds": max(900, target.duration_seconds),  # AWS's minimum
        }
        if target.external_id:
            params["ExternalId"] = target.external_id
        try:
            answer = self.hub.client("sts").assume_role(**params)
        except Exception as exc:
            classified = classify(exc, "AssumeRole", assuming_role=True, external_id=bool(target.external_id))
            raise AccessError(without_secret(classified, target.external_id)) from exc
        try:
            creds = answer["Credentials"]
            expiration = creds["Expiration"]
            if isinstance(expiration, str):
                expiration = parse_timestamp(expiration)
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=dt.UTC)
            metadata = {
                "access_key": str(creds["AccessKeyId"]),
                "secret_key": str(creds["SecretAccessKey"]),
                "token": str(creds["SessionToken"]),
                "expiry_time": expiration.isoformat(),
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            message = "AWS answered AssumeRole without usable credentials."
            raise AccessError(
                Classified(ErrorKind.OTHER, "InvalidAssumeRoleResponse", message, "AssumeRole")
            ) from exc
        with self._lock:
            self.count += 1
        return metadata


_ACTING: ContextVar[AccountSession | None] = ContextVar("skyledger_acting_session", default=None)


def acting_account() -> str | None:
    """The account whose session is making the current call in this thread (``None`` for the hub's
    own calls): for instrumentation registered with :meth:`Hub.on_every_account_client`."""
    session = _ACTING.get()
    return session.account_id if session is not None else None


def _acting_stats() -> CallStats | None:
    session = _ACTING.get()
    return session.stats if session is not None else None


class _ActingCredentials:
    """The credentials of the hub's shared account clients: those of the account session acting in
    the calling thread (see :class:`_ActingClient`), read afresh for each request botocore signs.
    With no session acting there are none: botocore then refuses to sign (fail closed), so a call
    can never go out under another account's credentials."""

    method = "sts-assume-role"

    def get_frozen_credentials(self) -> Any:
        session = _ACTING.get()
        if session is None:
            raise NoCredentialsError()
        return session.credentials.get_frozen_credentials()

    def get_deferred_property(self, name: str) -> Callable[[], Any]:
        # read when an endpoint is resolved (e.g. the account id of account-based endpoints)
        def value() -> Any:
            session = _ACTING.get()
            return getattr(session.credentials, name, None) if session is not None else None

        return value


class _ActingRetryQuota:
    """The retry quota of a shared account client: the acting session's own, per (service, region).

    In botocore's standard retry mode each client has a retry quota, a circuit breaker: a retry
    spends tokens (5 for throttling, 14 otherwise), a call answered first time earns one back, and
    with none left a failed call is not retried. When every account had its own clients, each had
    its own quota. Shared as it is, one account throttled for minutes would spend the quota of every
    account the process collects (their calls then fail at the first throttle), and their successes
    would keep refilling it for the throttled one. So each session keeps one per (service, region),
    as its own clients did. With no session acting (no call can be signed then), the client's own.
    """

    def __init__(self, key: tuple[str, str]) -> None:
        self._key = key
        self._own = RetryQuota()

    def _quota(self) -> RetryQuota:
        session = _ACTING.get()
        return session.retry_quota(*self._key) if session is not None else self._own

    def acquire(self, capacity_amount: int) -> bool:
        return self._quota().acquire(capacity_amount)

    def release(self, capacity_amount: int) -> None:
        self._quota().release(capacity_amount)

    @property
    def available_capacity(self) -> int:
        return self._quota().available_capacity


def _retry_quota_checker(client: BaseClient) -> Any:
    """The object holding ``client``'s standard-mode retry quota (``None`` when not found).

    botocore has no public way to reach it: the retry handler it registers under the unique id
    ``retry-config-<service>`` holds it.
    """
    service_event = client.meta.service_model.service_id.hyphenize()
    emitter = getattr(client.meta.events, "_emitter", None)
    entry = getattr(emitter, "_unique_id_handlers", {}).get(f"retry-config-{service_event}") or {}
    return getattr(getattr(entry.get("handler"), "__self__", None), "_retry_quota", None)


def _route_retry_quota(client: BaseClient, key: tuple[str, str]) -> bool:
    """Give ``client``'s retry handler an :class:`_ActingRetryQuota`; False when it has no quota
    where botocore keeps it. Should a botocore release move it, collection still works (with one
    quota per client for all accounts), this warns once per client, and the tests fail."""
    checker = _retry_quota_checker(client)
    current = getattr(checker, "_quota", None)
    if isinstance(current, _ActingRetryQuota):
        return True
    if not isinstance(current, RetryQuota):
        if client.meta.config.retries.get("mode") in ("standard", "adaptive"):
            log.warning("inventory.aws: no retry quota found on %s; it is shared by every account", key[0])
        return False
    checker._quota = _ActingRetryQuota(key)
    return True


def _acting_as(session: AccountSession, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        token = _ACTING.set(session)
        try:
            return method(*args, **kwargs)
        finally:
            _ACTING.reset(token)

    return call


class _ActingClient:
    """A shared account client as one account session sees it.

    Its operations (and the pages of its paginators) run with the session acting: botocore signs
    them with the session's credentials (:class:`_ActingCredentials`) and the hub counts them in the
    session's stats. Everything else (``meta``, ``exceptions``, ``can_paginate``...) is the shared
    client's; an event handler registered on ``meta.events`` therefore sees every session's calls,
    and a waiter (made by the shared client) is refused credentials.
    """

    def __init__(self, session: AccountSession, client: BaseClient) -> None:
        self._session = session
        self._client = client
        self._operations = client.meta.method_to_api_mapping

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if name in self._operations:
            value = _acting_as(self._session, value)
            self.__dict__[name] = value  # made once per operation
        return value

    def get_paginator(self, operation_name: str) -> Any:
        paginator = self._client.get_paginator(operation_name)
        # botocore's Paginator calls the operation it was made with, kept as ``_method``
        paginator._method = _acting_as(self._session, paginator._method)
        return paginator

    def __repr__(self) -> str:
        return f"<{type(self._client).__name__} of {self._session.account_id} in {self._client.meta.region_name}>"


class AccountSession:
    """One account, seen through its assumed read role, for one run.

    ``stats`` counts the calls made with the role's credentials; the ``AssumeRole`` calls themselves
    (first and refreshes) are made with Skyledger's own credentials and counted in ``hub.stats``
    (``assumptions`` says how many there were for this session). ``unsupported`` is the run's
    memo of (service, operation) the endpoint does not implement (see ``inventory.aws.calls``).

    Its clients are views of the hub's shared account clients (see :class:`_ActingClient`): a
    botocore client costs ~1 ms of CPU to make and its first calls pay for cold caches, so making
    300 of them per account and run cost more CPU than anything else but the calls. Each call made
    through this session's view signs with this session's credentials and counts in its stats.
    """

    def __init__(
        self, hub: Hub, target: Target, credentials: RefreshableCredentials, assumer: _RoleAssumer
    ) -> None:
        self.hub = hub
        self.target = target
        self.account_id = target.account_id
        self.settings = hub.settings
        self.endpoint_url = hub.endpoint_url
        self.credentials = credentials
        self.stats = CallStats()
        self.unsupported: set[tuple[str, str, str]] = set()
        self.clients_created = 0  # shared account clients the hub made for this session
        self._assumer = assumer
        self._views: dict[tuple[str, str], _ActingClient] = {}
        self._views_lock = threading.Lock()
        self._handlers = 0
        self._memo: dict[Any, _Once] = {}
        self._memo_lock = threading.Lock()
        self._retry_quotas: dict[tuple[str, str], RetryQuota] = {}

    @property
    def home_region(self) -> str:
        return self.settings.home_region

    @property
    def partition(self) -> str:
        return self.settings.partition

    @property
    def assumptions(self) -> int:
        """How many times the role was assumed (1 + credential refreshes)."""
        return self._assumer.count

    def _created(self) -> None:
        self.clients_created += 1  # under the hub's client-cache lock

    def on_every_client(self, event: str, handler: Callable[..., Any]) -> None:
        """Call ``handler`` for botocore ``event`` on this session's calls (tracing, the benchmark's
        record of calls). Instrumentation: the clients are shared, so the handler stays registered
        (and idle once this session is gone) for the life of the hub."""
        if event.startswith("creating-client-class"):
            raise ValueError(
                "account clients are shared by the sessions of a hub: their classes cannot differ"
            )
        me = weakref.ref(self)

        def for_this_session(**kwargs: Any) -> Any:
            session = me()
            if session is not None and _ACTING.get() is session:
                return handler(**kwargs)
            return None

        with self._views_lock:
            self._handlers += 1
            unique_id = f"skyledger-session-{id(self)}-{self._handlers}"
        self.hub.on_every_account_client(event, for_this_session, unique_id)

    def client(self, service: str, region: str | None = None) -> BaseClient:
        """This account's client for (service, region) (``region`` defaults to the home region):
        the same object for every caller; thread-safe."""
        key = (service, region or self.settings.home_region)
        view = self._views.get(key)
        if view is None:
            with self._views_lock:
                view = self._views.get(key)
                if view is None:
                    shared = self.hub.account_client(key[0], key[1], self._created)
                    view = self._views[key] = _ActingClient(self, shared)
        return view  # a view quacks as the client it shows

    def retry_quota(self, service: str, region: str) -> RetryQuota:
        """botocore's retry quota for this session's calls to (service, region) (see
        :class:`_ActingRetryQuota`); made on first use, the same object for every thread."""
        quota = self._retry_quotas.get((service, region))
        if quota is None:
            quota = self._retry_quotas.setdefault((service, region), RetryQuota())
        return quota

    def caller_identity(self) -> dict[str, str]:
        """``sts:GetCallerIdentity`` with the role's credentials: Account, Arn, UserId."""
        answer = self.client("sts").get_caller_identity()
        return {key: str(answer.get(key) or "") for key in ("Account", "Arn", "UserId")}

    def cached(self, key: Any, factory: Callable[[], T]) -> T:
        """``factory()`` once per session for ``key`` (concurrent callers wait; errors are not kept)."""
        with self._memo_lock:
            entry = self._memo.setdefault(key, _Once())
        with entry.lock:
            if not entry.done:
                entry.value = factory()
                entry.done = True
            return entry.value

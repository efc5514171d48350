"""A loopback HTTP proxy in front of the moto server: latency and AWS errors on demand. No Django.

moto checks no permissions and never throttles; AWS is tens of milliseconds away, moto is not. This
proxy stands between boto3 and moto to make both visible::

    with FaultProxy(moto_url, delay=0.05) as proxy:          # 50 ms per request, like AWS
        proxy.add_rule(service="ec2", operation="DescribeInstances", status=400,
                       code="Throttling", times=2)             # throttle twice, then pass
        client = boto3.client("ec2", endpoint_url=proxy.url, ...)

A rule answers matching requests with the error document botocore expects from that service's
protocol (query XML, EC2 XML, JSON, REST-XML, REST-JSON) instead of forwarding them. Requests are
recognised by the SigV4 credential scope (service, region, access key), ``X-Amz-Target`` (JSON
services), ``Action=`` (query services) or method and path (REST services). The proxy learns which
account an access key belongs to from the ``AssumeRole`` answers passing through, so rules can
target one account.
"""

from __future__ import annotations

import collections
import dataclasses
import http.client
import json
import re
import socket
import sys
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from inventory.simulation import enforcing

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "expect", "content-length",
}  # fmt: skip
_BODY_RECORD_LIMIT = 64 * 1024
_DEFAULT_MESSAGES = {
    "AccessDenied": "User: {principal} is not authorized to perform: {service}:{operation}",
    "AccessDeniedException": "User: {principal} is not authorized to perform: {service}:{operation}",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
    "Throttling": "Rate exceeded",
    "ThrottlingException": "Rate exceeded",
    "RequestLimitExceeded": "Request limit exceeded.",
    "InvalidClientTokenId": "The security token included in the request is invalid.",
    "OptInRequired": "You are not subscribed to this service.",
}


@dataclasses.dataclass(frozen=True)
class SeenRequest:
    """One request as the proxy saw it (body cut at 64 KiB)."""

    method: str
    path: str
    service: str
    operation: str
    region: str
    access_key: str
    account: str | None
    body: bytes
    injected: bool
    user_agent: str = ""

    @property
    def params(self) -> dict[str, str]:
        """Query-protocol parameters (form body and query string), first value of each."""
        query = urlsplit(self.path).query
        text = query + "&" + self.body.decode("utf-8", "replace")
        return {key: values[0] for key, values in parse_qs(text).items()}


@dataclasses.dataclass
class Rule:
    """Answer matching requests with an AWS error (``status`` set) or just hold them (``delay``).

    Unset match fields match anything; ``path`` is a regular expression searched in the path with
    its query string; ``times`` limits how many requests the rule takes (None: all of them).
    """

    service: str | None = None
    operation: str | None = None
    region: str | None = None
    account: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    code: str = ""
    message: str = ""
    times: int | None = None
    delay: float = 0.0
    html: bool = False  # answer with an HTML error page (no AWS error document), as a proxy would
    hits: int = 0

    def matches(self, request: SeenRequest) -> bool:
        return (
            (self.times is None or self.hits < self.times)
            and (self.service is None or self.service == request.service)
            and (self.operation is None or self.operation == request.operation)
            and (self.region is None or self.region == request.region)
            and (self.account is None or self.account == request.account)
            and (self.method is None or self.method.upper() == request.method)
            and (self.path is None or re.search(self.path, request.path) is not None)
        )


def _parse_request(
    method: str, path: str, headers: Any, body: bytes, accounts: dict[str, str]
) -> SeenRequest:
    auth = headers.get("Authorization", "") or ""
    match = _CREDENTIAL.search(auth) or _CREDENTIAL.search(
        "Credential=" + _query_value(path, "X-Amz-Credential")
    )
    access_key, region, service = match.groups() if match else ("", "", "")
    target = headers.get("X-Amz-Target", "") or ""
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        operation = _query_value(path, "Action")
        content_type = headers.get("Content-Type", "") or ""
        if not operation and "x-www-form-urlencoded" in content_type:
            operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        operation = operation or f"{method} {urlsplit(path).path}"
    return SeenRequest(
        method=method,
        path=path,
        service=service,
        operation=operation,
        region=region,
        access_key=access_key,
        account=accounts.get(access_key),
        body=body[:_BODY_RECORD_LIMIT],
        injected=False,
        user_agent=headers.get("User-Agent", "") or "",
    )


def _query_value(path: str, name: str) -> str:
    return (parse_qs(urlsplit(path).query).get(name) or [""])[0]


def error_response(
    request: SeenRequest, headers: Any, status: int, code: str, message: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """The (status, headers, body) AWS would send for ``code``, in the request's protocol."""
    request_id = str(uuid.uuid4())
    principal = f"arn:aws:sts::{request.account or '123456789012'}:assumed-role/skyledger/proxy"
    message = message or _DEFAULT_MESSAGES.get(code, code).format(
        principal=principal, service=request.service, operation=request.operation
    )
    out = {"x-amzn-RequestId": request_id}
    is_query = bool(request.params.get("Action")) and not headers.get("X-Amz-Target")
    if enforcing._RPC_V2.match(urlsplit(request.path).path):  # Smithy RPC v2 CBOR (CloudWatch)
        out["Content-Type"] = "application/cbor"
        out["smithy-protocol"] = "rpc-v2-cbor"
        body = enforcing.cbor_map({"__type": code, "message": message})
    elif headers.get("X-Amz-Target"):  # JSON protocol
        out["Content-Type"] = "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message}).encode()
    elif is_query and request.service == "ec2":
        out["Content-Type"] = "text/xml;charset=UTF-8"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
    elif is_query:
        out["Content-Type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    elif request.service == "s3":  # REST-XML
        out["Content-Type"] = "application/xml"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    else:  # REST-JSON: the code travels in a header
        out["Content-Type"] = "application/json"
        out["x-amzn-ErrorType"] = code
        body = json.dumps({"message": message}).encode()
    return status, out, body


def html_error_response(status: int) -> tuple[int, dict[str, str], bytes]:
    """An HTML error page with no AWS error document: what a load balancer or gateway in front of
    an endpoint sends for a 500/502/503, and what must never be taken for "not implemented"."""
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = f"<!doctype html>\n<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
    return status, {"Content-Type": "text/html; charset=utf-8"}, body.encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: a clean stop
    block_on_close = True
    request_queue_size = 128  # a benchmark opens dozens of pooled connections at once
    proxy: FaultProxy

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (read time-out) or a stop() closing its socket is expected here;
        # anything else is printed as usual.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake handler threads waiting on idle keep-alive connections."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like botocore's connection pool expects
    timeout = 120  # an idle client connection is dropped after this
    # The answer goes out in two writes (headers, then body): with Nagle's algorithm on, the body
    # waited for the client's delayed ACK, ~40 ms more per request than the ``delay`` asked for.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass  # quiet: tests and benchmarks read the counters instead

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._read_body()
        seen = _parse_request(self.command, self.path, self.headers, body, proxy.accounts)
        rule = proxy.take_rule(seen)
        wait = proxy.delay + (rule.delay if rule else 0.0)
        if wait > 0 and proxy.stopping.wait(wait):
            self.close_connection = True
            return
        refusal = proxy.refusal(seen) if rule is None or rule.status is None else None
        if refusal is not None:
            seen = dataclasses.replace(seen, injected=True)
            json_protocol = bool(self.headers.get("X-Amz-Target"))
            code = enforcing.denied_code(seen.service, json_protocol)
            status, headers, payload = error_response(seen, self.headers, 403, code, refusal[1])
        elif rule is not None and rule.status is not None:
            seen = dataclasses.replace(seen, injected=True)
            if rule.html:
                status, headers, payload = html_error_response(rule.status)
            else:
                status, headers, payload = error_response(
                    seen, self.headers, rule.status, rule.code, rule.message
                )
        else:
            status, headers, payload = proxy.forward(self.command, self.path, self.headers, body)
            proxy.learn(seen, status, payload)
        proxy.note(seen)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.command == "HEAD":
            if "content-length" not in {n.lower() for n in headers}:
                self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 (a free port) in front of ``upstream`` (the moto server).

    ``delay`` (seconds) is added to every request. ``requests`` keeps the last ``record`` requests
    seen; ``forwarded`` and ``injected`` count what happened to them.
    """

    def __init__(self, upstream: str, delay: float = 0.0, record: int = 1000) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"FaultProxy forwards to loopback only, not {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.delay = delay
        self.rules: list[Rule] = []
        self.requests: collections.deque[SeenRequest] = collections.deque(maxlen=record)
        self.accounts: dict[str, str] = {}  # access key -> account id, learned from AssumeRole
        self.principals: dict[str, str] = {}  # access key -> assumed-role session ARN
        # account -> the permission policies of the role assumed there (see enforce())
        self.policies: dict[str, list[dict[str, Any]]] = {}
        self.denied: list[tuple[str, str, str]] = []  # (account, operation, action) refused
        self.forwarded = 0
        self.injected = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop open connections, wait for handler threads; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ rules
    def add_rule(self, **fields: Any) -> Rule:
        """Add a :class:`Rule` (keyword arguments are its fields); earlier rules win."""
        rule = Rule(**fields)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self.rules.clear()

    def enforce(self, account: str, *policies: dict[str, Any]) -> None:
        """From now on, calls made with a role assumed in ``account`` must be allowed by
        ``policies`` (identity-based, see :mod:`inventory.simulation.enforcing`), or get AWS's
        AccessDenied. ``sts:GetCallerIdentity`` is always allowed, as in AWS."""
        with self._lock:
            self.policies[account] = [dict(p) for p in policies]

    def stop_enforcing(self, account: str | None = None) -> None:
        with self._lock:
            if account is None:
                self.policies.clear()
            else:
                self.policies.pop(account, None)

    def refusal(self, request: SeenRequest) -> tuple[str, str] | None:
        """(code, message) when an enforced policy does not allow ``request``, else None."""
        with self._lock:
            policies = self.policies.get(request.account or "")
            principal = self.principals.get(request.access_key, "")
        if policies is None or request.operation == "GetCallerIdentity":
            return None
        actions = enforcing.required_actions(request.service, request.operation, request.path)
        for action in actions:
            if not enforcing.allows(policies, action):
                principal = principal or f"arn:aws:sts::{request.account}:assumed-role/unknown/unknown"
                with self._lock:
                    self.denied.append((request.account or "", request.operation, action))
                return "", enforcing.denied_message(principal, action)
        return None

    def take_rule(self, request: SeenRequest) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(request):
                    rule.hits += 1
                    return rule
        return None

    # ------------------------------------------------------------------ bookkeeping
    def note(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if request.injected:
                self.injected += 1
            else:
                self.forwarded += 1

    def seen(self, service: str | None = None, operation: str | None = None) -> list[SeenRequest]:
        """Requests seen so far, optionally only one service / operation."""
        with self._lock:
            items = list(self.requests)
        return [
            r
            for r in items
            if (service is None or r.service == service) and (operation is None or r.operation == operation)
        ]

    def learn(self, request: SeenRequest, status: int, payload: bytes) -> None:
        """Remember which account the keys from a successful AssumeRole belong to."""
        if request.operation != "AssumeRole" or status != 200:
            return
        arn = request.params.get("RoleArn", "")
        key = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", payload)
        account = re.match(r"arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$", arn)
        if key and account:
            partition, account_id, role = account.groups()
            session = request.params.get("RoleSessionName", "")
            with self._lock:
                self.accounts[key.group(1).decode()] = account_id
                self.principals[key.group(1).decode()] = (
                    f"arn:{partition}:sts::{account_id}:assumed-role/{role}/{session}"
                )

    # ------------------------------------------------------------------ forwarding
    def forward(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send the request upstream on this thread's connection; 502 when upstream is unreachable."""
        out_headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        if body or method in ("POST", "PUT", "PATCH"):
            out_headers["Content-Length"] = str(len(body))
        for _ in range(2):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
                self._local.conn = conn
            try:
                conn.request(method, path, body=body, headers=out_headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if reused:  # the upstream closed a kept-alive connection: once more, on a new one
                    continue
                return 502, {"Content-Type": "text/plain"}, b"upstream unreachable"
            reply = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            if method == "HEAD" and response.getheader("Content-Length"):
                reply["Content-Length"] = response.getheader("Content-Length") or "0"
            if response.will_close:
                conn.close()
                self._local.conn = None
            return response.status, reply, payload
        return 502, {"Content-Type": "text/plain"}, b"upstream unreachable"

    def snapshot(self) -> dict[str, Any]:
        """Counters as plain data."""
        with self._lock:
            return {
                "forwarded": self.forwarded,
                "injected": self.injected,
                "rules": [dataclasses.asdict(rule) for rule in self.rules],
            }

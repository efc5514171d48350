"""Entry point of the simulated AWS endpoint: moto's server plus local adjustments. No Django here.

``python inventory/simulation/moto_main.py -H 127.0.0.1 -p PORT`` runs ``moto.server`` after:

1. **Account lookup without phantom partitions.** moto finds the account of every request by looking
   for its access key in each account's IAM backend of *every* partition (aws, aws-cn, aws-us-gov),
   creating the missing ones on the way. Each IAM backend loads ~1,580 AWS managed policies (about
   0.3 s and ~15 MB), so an organisation of N accounts silently grew 2N unused China/GovCloud
   backends: 8 accounts cost ~10 s and ~250 MB before a single resource existed. A key can only be
   in a backend that exists, so looking only at existing backends gives the same answer.
2. **A clock offset for seeding** (``POST /moto-api/skyledger/clock?offset_seconds=N``)
   so the simulated estate can hold *old* things AWS would have (an access key created 400 days ago
   and last used then). moto stamps creation and last-use times with ``moto.core.utils.utcnow``;
   the offset shifts that clock only. ``/moto-api/reset`` sets it back to 0.
3. **Cheaper account creation and reset.** Every account's IAM backend parses the same 3 MB of AWS
   managed policies: the parsed data is now shared (the policy objects are still per account). And
   ``/moto-api/reset`` re-initialised every IAM and EC2 backend (reloading those policies) only to
   drop it the next moment: for an estate of 10 accounts that was seconds per reset. Those two
   backend classes own no outside resources (files, threads), so their reset now does nothing
   before they are dropped.

4. **A deleted VPC takes its network ACLs with it**, as in AWS. moto keeps them (with their
   allow-all rules), so every account whose default VPC was deleted still showed an open ACL.

5. **The EBS default key (``alias/aws/ebs``) is AWS managed**, as in AWS (KeyManager "AWS",
   rotated by AWS). moto made it a customer key without rotation: a false ``kms.rotation`` finding
   in every account that ever encrypted a volume.

6. **Root MFA shows in the account summary.** AWS lets a root user turn MFA on only in the
   console; the estate stands for that with a virtual MFA device named
   ``root-account-mfa-device`` (the name AWS gives the root's device). moto's
   ``GetAccountSummary`` always said ``AccountMFAEnabled: 0``; it now says 1 when that device exists.

7. **SIGTERM/SIGINT end the process at once.** moto exits through ``sys.exit``, after which Python
   waits for request threads still holding keep-alive connections and tears down a heap of
   hundreds of megabytes: stopping a server took 7-20 s. Its state lives only in memory and is
   meant to vanish, so nothing is lost by leaving immediately.

8. **Per-request lookups made once.** For every request moto worked out which backend serves its
   host (listing its own package directory and trying ~600 URL patterns, under a lock every request
   thread takes) and which methods the response class has (``inspect.getmembers``), and logged a
   line. The first two depend only on their argument; with the log, they were a quarter of the
   server's CPU under collection, which on a small machine takes CPU from the collection being
   measured (AWS's own CPU costs us nothing). They are now looked up once per host and class;
   request lines are logged only with ``SKYLEDGER_MOTO_REQUEST_LOG=1`` (errors always are).

9. **Connections are kept alive**, as AWS keeps them. Werkzeug's development server closes every
   connection after one answer (it cannot tell where a request body ends), so every request cost a
   new TCP connection and a new server thread, and a client pool that never pooled. Here each
   request's body is read through a stream that stops at its end (``Content-Length`` or the last
   chunk), what the application left unread is read after the answer, and the connection then
   waits for the next request (with Nagle's algorithm off, or each answer's last piece would wait
   for the client's delayed acknowledgement). Werkzeug's own after-answer read (everything in the socket for
   10 ms, which on a kept-alive connection would swallow the next request) is switched off.

Apart from 4 to 6 (which make moto answer as AWS does), none of this changes what the server answers.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import os
import sys
import types
from typing import Any
from urllib.parse import parse_qs, urlparse

CLOCK_PATH = "/moto-api/skyledger/clock"

_offset = datetime.timedelta(0)


class _ShiftedDatetime(datetime.datetime):
    """``datetime.datetime`` whose ``now()`` runs ``_offset`` ahead (or behind)."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
        return datetime.datetime.now(tz) + _offset

    @classmethod
    def utcnow(cls) -> datetime.datetime:  # type: ignore[override]
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + _offset


def _clock_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET: the current offset. POST ``?offset_seconds=N``: set it (0 = real time)."""
    global _offset
    if request.method == "POST":
        values = parse_qs(urlparse(full_url).query).get("offset_seconds", [""])
        try:
            seconds = float(values[0])
        except ValueError:
            return 400, {}, json.dumps({"Error": "POST ?offset_seconds=<number>"})
        if not math.isfinite(seconds) or abs(seconds) > 100 * 365 * 86400:
            return (
                400,
                {},
                json.dumps({"Error": "offset_seconds must be a finite number of at most 100 years"}),
            )
        _offset = datetime.timedelta(seconds=seconds)
    return 200, {}, json.dumps({"offset_seconds": _offset.total_seconds()})


def _patch_account_lookup() -> None:
    import moto.iam.models as iam_models

    def get_account_id_from(access_key: str) -> str:
        # list() as upstream does: other request threads may add accounts meanwhile
        for account_id, account in list(iam_models.iam_backends.items()):
            for backend in list(account.values()):
                if access_key in backend.access_keys:
                    return account_id
        return iam_models.DEFAULT_ACCOUNT_ID

    # moto.core.responses imports it from the module at call time, so replacing it here is enough
    iam_models.get_account_id_from = get_account_id_from


def _patch_clock() -> None:
    import moto.core.utils as core_utils
    from moto.moto_api._internal import urls as api_urls

    shifted = types.ModuleType("datetime")
    shifted.__dict__.update(datetime.__dict__)
    shifted.datetime = _ShiftedDatetime  # type: ignore[attr-defined]
    core_utils.datetime = shifted
    api_urls.url_paths["{0}" + CLOCK_PATH + "$"] = _clock_response

    from moto.moto_api._internal.models import moto_api_backend

    original_reset = moto_api_backend.reset

    def reset() -> None:
        global _offset
        _offset = datetime.timedelta(0)
        original_reset()

    moto_api_backend.reset = reset  # type: ignore[method-assign]


def _patch_backends() -> None:
    import moto.iam.models as iam_models
    from moto.ec2.models import EC2Backend
    from moto.settings import load_iam_aws_managed_policies

    parsed: dict[str, Any] = {}

    def _init_aws_policies(self: Any) -> list[Any]:
        if not load_iam_aws_managed_policies():
            return []
        if not parsed:
            parsed.update(json.loads(iam_models.aws_managed_policies_data))
        return [
            iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in parsed.items()
        ]

    def discard(self: Any) -> None:
        # Called only from BackendDict.reset(), which clears every BackendDict right after.
        return None

    iam_models.IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]
    iam_models.IAMBackend.reset = discard  # type: ignore[method-assign]
    EC2Backend.reset = discard  # type: ignore[method-assign]


def _patch_delete_vpc() -> None:
    from moto.ec2.models.vpcs import VPCBackend

    original = VPCBackend.delete_vpc

    def delete_vpc(self: Any, vpc_id: str) -> Any:
        vpc = original(self, vpc_id)
        for acl_id in [acl_id for acl_id, acl in self.network_acls.items() if acl.vpc_id == vpc_id]:
            del self.network_acls[acl_id]
        return vpc

    VPCBackend.delete_vpc = delete_vpc  # type: ignore[method-assign]


def _patch_ebs_default_key() -> None:
    from moto.ec2.models.elastic_block_store import EBSBackend
    from moto.kms import kms_backends

    original = EBSBackend._create_default_encryption_key

    def create_default_encryption_key(self: Any) -> str:
        arn = original(self)
        key = kms_backends[self.account_id][self.region_name].describe_key(arn)
        key.key_manager = "AWS"
        key.key_rotation_status = True
        return arn

    EBSBackend._create_default_encryption_key = create_default_encryption_key  # type: ignore[method-assign]


ROOT_MFA_SUFFIX = ":mfa/root-account-mfa-device"


def _patch_root_mfa_summary() -> None:
    from moto.iam.models import AccountSummary

    original = AccountSummary.summary_map

    def summary_map(self: Any) -> dict[str, Any]:
        summary = dict(original.fget(self))  # type: ignore[attr-defined]
        devices = getattr(self._iam_backend, "virtual_mfa_devices", {})
        if any(str(serial).endswith(ROOT_MFA_SUFFIX) for serial in devices):
            summary["AccountMFAEnabled"] = 1
        return summary

    AccountSummary.summary_map = property(summary_map)  # type: ignore[method-assign,assignment]


def _patch_dispatch() -> None:
    import functools
    import logging

    import moto.core.responses as responses
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from werkzeug.serving import WSGIRequestHandler

    backend_for_host = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        known = self.__dict__.setdefault("_skyledger_backends", {})  # called under self.lock
        if host not in known:
            known[host] = backend_for_host(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]

    method_names = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
    responses.method_names_from_class = lambda clazz: list(method_names(clazz))

    if os.environ.get("SKYLEDGER_MOTO_REQUEST_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log_request = WSGIRequestHandler.log_request

    def quiet_log_request(self: Any, *args: Any, **kwargs: Any) -> None:
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            log_request(self, *args, **kwargs)

    WSGIRequestHandler.log_request = quiet_log_request  # type: ignore[method-assign]


class _Body(io.RawIOBase):
    """One request's body, as ``wsgi.input``: reads end where the body ends, so nothing the
    application does reads into the next request on the connection. ``length`` None: the stream
    ends the body itself (werkzeug's ``DechunkedInput``)."""

    def __init__(self, stream: Any, length: int | None) -> None:
        super().__init__()
        self._stream = stream
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer) if self._left is None else min(len(buffer), self._left)
        if size <= 0:
            return 0
        data = self._stream.read(size)
        buffer[: len(data)] = data
        if self._left is not None:
            if not data:  # the client went away mid-body
                raise ConnectionError("the request body ended early")
            self._left -= len(data)
        return len(data)

    def finish(self) -> bool:
        """Read what the application left of the body; False when the connection cannot go on."""
        try:
            while self.read(64 * 1024):
                pass
        except (OSError, ValueError):
            return False
        return True


class _NoDrain:
    """Stands in for the selector of werkzeug's after-answer drain: sees nothing to read."""

    def register(self, *args: Any) -> None:
        return None

    def select(self, timeout: float | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        return None


def _patch_not_implemented() -> None:
    """Answer an operation moto does not implement with HTTP 501, not a generic 500.

    moto raises ``NotImplementedError`` for such operations and Flask turns it into an HTML 500,
    which looks exactly like a server fault. Skyledger retries server faults and takes only an
    explicit signal (an AWS "not implemented" error code, or HTTP 501) as "not supported here", as
    real AWS gives for an API a region lacks; this makes the simulated endpoint give that signal.
    """
    import html

    import moto.core.utils as core_utils
    import moto.server
    from flask import Response

    def not_implemented(what: str) -> Response:
        page = f"<html><body><h1>501 Not Implemented</h1><p>{html.escape(what)}</p></body></html>"
        return Response(response=page, status=501, headers={"Content-Type": "text/html; charset=utf-8"})

    original = core_utils.convert_to_flask_response.__call__

    def call(self: Any, args: Any = None, **kwargs: Any) -> Any:
        try:
            return original(self, args, **kwargs)
        except NotImplementedError as exc:  # an operation of a service moto has
            return not_implemented(str(exc))

    core_utils.convert_to_flask_response.__call__ = call  # type: ignore[method-assign]

    create_backend_app = moto.server.create_backend_app

    def create_app(service: Any) -> Any:
        if service is None:  # a service moto does not have at all (IAM Access Analyzer, ...)
            return lambda environ, start_response: not_implemented("This service is not implemented.")(
                environ, start_response
            )
        return create_backend_app(service)

    moto.server.create_backend_app = create_app


def _patch_keep_alive() -> None:
    import selectors

    import moto.server
    import werkzeug.serving
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveHandler(MotoRequestHandler):
        _body: _Body | None = None
        # An answer is written in pieces (status and headers, then the body). On a connection that
        # stays open, Nagle's algorithm holds the last piece back until the client acknowledges
        # the first, which it delays by up to 40 ms: every answer would arrive 40 ms late.
        disable_nagle_algorithm = True

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            self._body = None
            if environ.get("wsgi.input_terminated"):  # chunked: DechunkedInput knows the end
                self._body = _Body(environ["wsgi.input"], None)
            else:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length >= 0:  # otherwise the connection closes after the answer
                    self._body = _Body(environ["wsgi.input"], length)
            if self._body is not None:
                environ["wsgi.input"] = self._body
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            if self._body is not None and (keyword.lower(), value.lower()) == ("connection", "close"):
                return  # werkzeug's blanket close: HTTP/1.1 keeps the connection by default
            super().send_header(keyword, value)

        def run_wsgi(self) -> None:
            try:
                super().run_wsgi()
            finally:
                body, self._body = self._body, None
                if body is None or not body.finish():
                    self.close_connection = True

    werkzeug.serving.selectors = types.SimpleNamespace(  # type: ignore[assignment]
        DefaultSelector=_NoDrain, EVENT_READ=selectors.EVENT_READ
    )
    moto.server.MotoRequestHandler = KeepAliveHandler  # type: ignore[misc]


def patch() -> None:
    """Apply the adjustments to the moto modules of this process."""
    _patch_account_lookup()
    _patch_clock()
    _patch_backends()
    _patch_delete_vpc()
    _patch_ebs_default_key()
    _patch_root_mfa_summary()
    _patch_dispatch()
    _patch_not_implemented()
    _patch_keep_alive()


def _exit_now(signum: int, frame: Any) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str]) -> None:
    import moto.server

    from inventory.aws.versions import require_tested

    require_tested("moto")

    patch()
    moto.server.signal_handler = _exit_now  # main() installs it for SIGTERM and SIGINT
    moto.server.main(argv)


if __name__ == "__main__":
    # Run as a file: its own directory must not shadow top-level modules (server, proxy...).
    if sys.path and sys.path[0].rstrip("/").endswith("simulation"):
        sys.path.pop(0)
    main(sys.argv[1:])

"""The latency relay: every request later by the delay, bytes intact, delays overlapping, clean stop."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from inventory.aws.session import AwsSettings, Hub
from inventory.simulation.latency import LatencyRelay
from inventory.simulation.server import MotoServer


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals: list[float] = []

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        _Echo.arrivals.append(time.monotonic())
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def echo() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.arrivals = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(conn: http.client.HTTPConnection, body: bytes) -> bytes:
    conn.request("POST", "/", body=body)
    response = conn.getresponse()
    return response.read()


def test_every_request_on_a_kept_alive_connection_arrives_later_by_the_delay(echo: str) -> None:
    with LatencyRelay(echo, delay=0.15) as relay:
        conn = http.client.HTTPConnection("127.0.0.1", int(relay.url.rsplit(":", 1)[1]), timeout=10)
        payload = bytes(range(256)) * 8192  # 2 MiB, many chunks
        sent = []
        for body in (b"first", payload, b"third"):
            sent.append(time.monotonic())
            assert _post(conn, body) == body
        conn.close()
    assert relay.connections == 1  # one connection, kept alive through the relay
    assert [round(a - s, 2) >= 0.15 for s, a in zip(sent, _Echo.arrivals, strict=True)] == [True] * 3


def test_the_delays_of_concurrent_connections_overlap(echo: str) -> None:
    """Distance, not a queue: eight requests at once take about one delay, not eight. The delay is
    long next to the work, so a busy machine cannot blur the two (one run took 1.3 s at 0.3 s)."""
    with LatencyRelay(echo, delay=1.0) as relay:
        port = int(relay.url.rsplit(":", 1)[1])

        def one(n: int) -> bytes:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                return _post(conn, f"request {n}".encode())
            finally:
                conn.close()

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(one, range(8)))
        elapsed = time.monotonic() - started
    assert answers == [f"request {n}".encode() for n in range(8)]
    assert 1.0 <= elapsed < 8 * 1.0 / 2


@pytest.mark.moto
def test_botocore_talks_to_moto_through_the_relay(moto_server: MotoServer, boto_session: Any) -> None:
    with LatencyRelay(moto_server.url, delay=0.05) as relay:
        sts = Hub(AwsSettings(endpoint_url=relay.url), session=boto_session).client("sts")
        assert sts.get_caller_identity()["Account"]


def test_stop_closes_the_port_and_open_connections_and_ends_the_thread(echo: str) -> None:
    relay = LatencyRelay(echo, delay=0.05).start()
    port = int(relay.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert _post(conn, b"kept alive") == b"kept alive"
    relay.stop()
    relay.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises((OSError, http.client.HTTPException)):
        _post(conn, b"after stop")
    assert [t for t in threading.enumerate() if t.name == "latency-relay"] == []


def test_an_unreachable_upstream_closes_the_clients_connection() -> None:
    with LatencyRelay("http://127.0.0.1:9", delay=0.01) as relay:
        conn = http.client.HTTPConnection("127.0.0.1", int(relay.url.rsplit(":", 1)[1]), timeout=5)
        with pytest.raises((OSError, http.client.HTTPException)):
            _post(conn, b"nobody there")


def test_the_relay_forwards_to_loopback_only_and_wants_a_real_delay() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        LatencyRelay("http://example.com")
    with pytest.raises(ValueError, match="delay"):
        LatencyRelay("http://127.0.0.1:9", delay=float("nan"))

"""A loopback TCP relay that adds a fixed one-way delay, like the distance to AWS. No Django.

``bench/collect`` puts it between the collector and the moto server to stand in for AWS's round
trip: every byte a client sends reaches moto ``delay`` seconds later (answers come straight back),
so each request takes ``delay`` longer, whatever its protocol, size or connection reuse.

It does not read HTTP: a delay costs a timer, not parsing, so the relay uses little CPU
(measured over one collection, 650 requests on kept-alive connections: ~0.5 s, against ~1.8 s for
:class:`~.proxy.FaultProxy`, which parses every request to inject faults). On a small machine whose cores the collector and moto already
share, that CPU would otherwise be taken from what is being measured, and AWS's distance costs us
no CPU at all. Use FaultProxy for errors and throttling; use this for distance.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

_CHUNK = 256 * 1024


class LatencyRelay:
    """Relays TCP connections from 127.0.0.1 (a free port) to ``upstream``, delaying what clients
    send by ``delay`` seconds, in order. Runs an asyncio loop on its own thread."""

    def __init__(self, upstream: str, delay: float = 0.05) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"LatencyRelay forwards to loopback only, not {upstream!r}")
        if not delay >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, not {delay!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.delay = delay
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the relay is not running")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> LatencyRelay:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._relay, "127.0.0.1", 0, limit=_CHUNK)
                )
                self._port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001  (reported to start()'s caller)
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="latency-relay", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop accepting, drop every connection and the loop's thread; idempotent."""
        loop, server, self._server = self._loop, self._server, None
        if loop is None or server is None:
            return

        async def close() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LatencyRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port, limit=_CHUNK
            )
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, upstream_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:  # small writes go out at once, as a real client's would
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def receive() -> None:  # client -> queue, each chunk stamped with when it is due
            while chunk := await client_reader.read(_CHUNK):
                pending.put_nowait((loop.time() + self.delay, chunk))
            pending.put_nowait((loop.time() + self.delay, b""))

        async def deliver() -> None:  # queue -> upstream, each chunk when it is due, in order
            while True:
                due, chunk = await pending.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not chunk:
                    if upstream_writer.can_write_eof():
                        upstream_writer.write_eof()
                    return
                upstream_writer.write(chunk)
                await upstream_writer.drain()

        async def answer() -> None:  # upstream -> client, straight away
            while chunk := await upstream_reader.read(_CHUNK):
                client_writer.write(chunk)
                await client_writer.drain()

        tasks = [asyncio.ensure_future(t) for t in (receive(), deliver(), answer())]
        try:
            # the exchange is over when the answers end (upstream closed) or the client is gone
            waiting: list[asyncio.Future[Any]] = [
                tasks[2],
                asyncio.gather(tasks[0], tasks[1], return_exceptions=True),
            ]
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if tasks[2] not in done:  # the client finished sending: let the last answer through
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(tasks[2]), timeout=120)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_writer, upstream_writer):
                with contextlib.suppress(Exception):
                    writer.close()

"""Start and stop a local moto server (the simulated AWS endpoint). No Django here.

The server runs in its own process (it is CPU-bound and GIL-bound; sharing our process would slow
both) and listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inventory.aws.versions import require_tested

LAUNCHER = Path(__file__).with_name("moto_main.py")

SERVER_ENV = {
    # AWS managed policies (ReadOnlyAccess, AdministratorAccess...) exist only with this.
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    # Without this every account-region gets ~1,300 foreign AMIs/snapshots and is 10x slower.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    # CORS headers on every answer: nothing calls the endpoint from a browser
    "MOTO_DISABLE_GLOBAL_CORS": "true",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MotoServer:
    """A running moto server process."""

    port: int
    process: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget every account's state (and reseed ids: created account ids repeat)."""
        _post(f"{self.url}/moto-api/reset")

    def seed(self, value: int = 42) -> None:
        _post(f"{self.url}/moto-api/seed?a={value}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
        response.read()


def is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as response:  # noqa: S310
            return response.status < 500
    except (urllib.error.URLError, OSError):
        return False


def start(
    port: int | None = None, log_path: str | None = None, timeout: float = 30.0, detach: bool = False
) -> MotoServer:
    """Start ``moto_server`` on 127.0.0.1 and wait until it answers.

    ``detach``: run it in its own session, so it outlives the caller and the caller's terminal
    (``manage.py simulate_estate --detach``); stop it by its pid.
    """
    require_tested("moto")  # here too, so the caller gets the message rather than a dead server
    port = port or free_port()
    env = {**os.environ, **SERVER_ENV}
    env.pop("MOTO_ACCOUNT_ID", None)  # it would force one account for every request
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        # moto_main runs moto.server with a faster account lookup and a seeding clock (see there)
        [sys.executable, str(LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=detach,
    )
    server = MotoServer(port=port, process=process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode}")
        if is_up(server.url):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"moto server did not answer on {server.url} within {timeout:.0f}s")


@contextlib.contextmanager
def running(port: int | None = None) -> Iterator[MotoServer]:
    server = start(port)
    try:
        yield server
    finally:
        server.stop()

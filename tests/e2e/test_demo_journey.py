"""`make demo` as a newcomer meets it: labelled logins, a Refresh clicked in the browser completes
through the demo's own worker, and stopping the demo leaves no process behind.

The demo runs as a subprocess exactly as `make demo` runs it (`manage.py demo`), with its own SQLite
database and demo folder, its own simulated AWS organisation, a worker on the file-system broker and
the web server on a free loopback port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LAPTOP, _only_loopback, assert_no_csp_violation, chromium_path, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.moto, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Demo:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "demo"
        self.db = tmp / "demo.sqlite3"
        self.port = _free_port()
        self.log = tmp / "demo.out"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("AWS_", "CELERY_", "DJANGO_SETTINGS"))
            },
            "SKYLEDGER_DEV": "1",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "SKYLEDGER_DEMO_DIR": str(self.dir),
            # the repository first, then the caller's (the shifted-clock run adds its sitecustomize there)
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, test: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = test()
            if found:
                return found
            assert self.process is not None and self.process.poll() is None, f"demo exited:\n{self.output()}"
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-4000:]}")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db, timeout=30) as db:
            return list(db.execute(sql, args))

    def pids(self) -> list[int]:
        children = self.dir / "children.pids"
        pids = [int(p) for p in children.read_text().split()] if children.exists() else []
        moto = self.dir / "moto.pid"
        return pids + ([int(moto.read_text())] if moto.exists() else [])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    if chromium_path() is None and os.environ.get("REQUIRE_SERVICES") != "1":
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    running = Demo(tmp_path)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            try:
                running.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                running.process.kill()
        for pid in running.pids():
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)


def test_demo_logins_refresh_in_the_browser_and_a_clean_stop(demo: Demo, browser: Any) -> None:
    out = demo.wait_for("the logins", lambda: "Skyledger is starting" in demo.output() and demo.output(), 240)

    # labelled logins: role, user, password, what it may do; the owner's team and its accounts
    logins = dict(re.findall(r"user: (\w+)\s+password: (\S+)", out))
    assert set(logins) == {"admin", "security", "owner", "viewer"}
    assert re.search(r"account owner\s+user: owner\s+password: \S{20,}", out)
    owned = re.search(r"team Payments owns: (.+)", out)
    assert owned and re.fullmatch(r"prod \(\d{12}\)", owned.group(1).strip()), out
    assert "may: reads everything and exports; changes nothing" in out

    # the first collection (in the background) ends before we refresh, so the click is not a no-op
    accounts = demo.query("SELECT COUNT(*) FROM accounts_awsaccount")[0][0]
    assert accounts == 9  # the simulated organisation: management, seven in OUs, one under Root
    demo.wait_for(
        "the first collection",
        lambda: (
            demo.query("SELECT COUNT(*) FROM inventory_collectionrun WHERE state IN ('done', 'partial')")[0][
                0
            ]
            == accounts
        ),
        300,
    )
    prod_pk = demo.query("SELECT id FROM accounts_awsaccount WHERE name = 'prod'")[0][0]
    base = f"http://127.0.0.1:{demo.port}"
    context = browser.new_context(base_url=base, viewport=LAPTOP)
    context.route("**/*", _only_loopback)
    violations = watch_csp(context)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{base}/login/")
        page.fill("#id_username", "security")
        page.fill("#id_password", logins["security"])
        page.click("form button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url, wait_until="commit")
        page.goto(f"{base}/accounts/{prod_pk}/")
        page.get_by_role("button", name="Refresh now").click()
        page.wait_for_load_state()
        assert "queued" in page.locator(".messages").inner_text()
        run = demo.wait_for(
            "the refresh",
            lambda: demo.query(
                "SELECT id, state, celery_task_id FROM inventory_collectionrun WHERE trigger = 'manual' "
                "AND state IN ('done', 'partial', 'failed')"
            ),
            180,
        )[0]
        assert run[1] in ("done", "partial") and run[2], run  # collected by a Celery task, not in-process
        answer = page.goto(f"{base}/inventory/runs/{run[0]}/")
        assert answer is not None and answer.status == 200
        assert "stalled-queue" not in page.content()
        # the demo serves with DEBUG off: a wrong address shows our 404, not Django's pattern list
        answer = page.goto(f"{base}/runs/{run[0]}/")
        assert answer is not None and answer.status == 404
        assert page.locator("h1").inner_text() == "There is no such page"
        main = page.locator("main").inner_text()
        assert "URLconf" not in page.content() and "inventory/runs/" not in main  # no pattern list
        assert page.locator("link[href='/static/css/app.css']").count() == 1  # static files still served
        assert page.evaluate("() => getComputedStyle(document.querySelector('.topbar')).display") == "flex"
    finally:
        context.close()
    assert_no_csp_violation(violations)

    # Ctrl-C stops everything the demo started
    pids = demo.pids()
    assert len(pids) == 4  # worker, first collection, web server, simulated endpoint
    assert demo.process is not None
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=60) == 0, demo.output()[-3000:]
    assert [pid for pid in pids if _alive(pid)] == []
    assert "Demo stopped" in demo.output()
    assert not (demo.dir / "demo.pid").exists() and not (demo.dir / "moto.pid").exists()

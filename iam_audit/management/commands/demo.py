"""`manage.py demo`: everything `make demo` does after migrating, in one command.

Seeds the demo registry (teams and one user per role), starts the simulated AWS organisation (or
reuses the one a previous demo left running), discovers its accounts, checks access to each, gives
the demo teams their accounts, then serves the site with a Celery worker beside it while the first
collection and the checks run in the background, so the Runs page shows live progress and
"Refresh" works.

The worker uses ``CELERY_BROKER_URL`` when it is set in the environment, and otherwise Kombu's
file-system transport in ``.demo/broker``: a broker with no server, so the demo needs no Redis.

Everything the demo starts (web server, worker, the first collection, the simulated endpoint) is
stopped when it ends: Ctrl-C, ``make demo-stop`` (``manage.py demo --stop``) or SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.choices import Environment
from accounts.management.commands.seed_demo import login_lines
from accounts.models import AwsAccount, Team

DEMO_DIR = Path(os.environ.get("SKYLEDGER_DEMO_DIR") or Path(settings.BASE_DIR) / ".demo")
DEMO_PIDFILE = "demo.pid"
CHILDREN_FILE = "children.pids"
MOTO_PIDFILE = "moto.pid"
STOP_GRACE = 10.0  # seconds a child gets to stop on SIGTERM before it is killed

# Which demo team owns which environment (the "owner" login is a member of Payments).
OWNERS: dict[str, str] = {
    Environment.DEV: "Platform",
    Environment.STAGING: "Platform",
    Environment.PROD: "Payments",
    Environment.SANDBOX: "Platform",
    Environment.IDENTITY: "Identity",
    Environment.SECURITY: "Security",
    Environment.OPERATIONS: "Security",
    Environment.ORG_ROOT: "Security",
}


def load_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (the format simulate_estate writes); blank lines and comments ignored."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _ours(pid: int) -> bool:
    """Whether ``pid`` is a process this project started (so a recycled pid is never signalled)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return any(mark in cmdline for mark in ("manage.py", "celery", "moto_main"))


def _stop_group(pid: int, grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``grace``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not _alive(pid):
                return
            time.sleep(0.1)


def stop_demo(demo_dir: Path = DEMO_DIR, out: Any = None) -> list[int]:
    """Stop a running demo and everything it started; returns the pids that were stopped.

    The demo process stops its own children when it gets SIGTERM; the pid files are a safety net
    for a demo process that was killed outright.
    """
    stopped: list[int] = []
    demo = _pid(demo_dir / DEMO_PIDFILE)
    if _alive(demo) and demo != os.getpid() and _ours(demo):  # type: ignore[arg-type]
        os.kill(demo, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + STOP_GRACE + 10
        while _alive(demo) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped.append(demo)  # type: ignore[arg-type]
    children = demo_dir / CHILDREN_FILE
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    moto = _pid(demo_dir / MOTO_PIDFILE)
    for pid in [*pids, *([moto] if moto else [])]:
        if _alive(pid) and _ours(pid):
            _stop_group(pid)
            stopped.append(pid)
    for name in (DEMO_PIDFILE, CHILDREN_FILE, MOTO_PIDFILE):
        (demo_dir / name).unlink(missing_ok=True)
    if out is not None:
        out.write("Demo stopped." if stopped else "No demo was running.")
    return stopped


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the complete demo: simulated AWS organisation, discovery, collection, checks, a worker and the web "
        "server. --stop stops a running demo and everything it started."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything, collect inline, do not serve"
        )
        parser.add_argument(
            "--stop", action="store_true", help="stop a running demo and everything it started"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["stop"]:
            stop_demo(out=self.stdout)
            return
        DEMO_DIR.mkdir(parents=True, exist_ok=True)
        running = _pid(DEMO_DIR / DEMO_PIDFILE)
        if _alive(running) and _ours(running):  # type: ignore[arg-type]
            raise CommandError(f"A demo is already running (pid {running}): `make demo-stop` stops it.")
        (DEMO_DIR / DEMO_PIDFILE).write_text(str(os.getpid()))
        (DEMO_DIR / CHILDREN_FILE).write_text("")
        # SIGTERM (make demo-stop, a service manager) ends the demo the way Ctrl-C does
        signal.signal(signal.SIGTERM, _interrupt)
        self.children: list[subprocess.Popen[bytes]] = []
        try:
            self._run(options)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            for child in reversed(self.children):
                _stop_group(child.pid)
            stop_demo(DEMO_DIR)
            self.stdout.write("Demo stopped: web server, worker, collection and simulated AWS endpoint.")

    def _run(self, options: dict[str, Any]) -> None:
        from accounts.management.commands.seed_demo import Command as SeedDemo

        passwords = SeedDemo().seed(reset=False, fixed=None)

        pidfile, envfile = DEMO_DIR / MOTO_PIDFILE, DEMO_DIR / "aws.env"
        if _alive(_pid(pidfile)) and envfile.exists():
            self.stdout.write("Reusing the simulated AWS organisation already running.")
        else:
            call_command(
                "simulate_estate",
                detach=True,
                pidfile=str(pidfile),
                manifest=str(DEMO_DIR / "estate.json"),
                env_file=str(envfile),
                stdout=self.stdout,
            )
        aws_env = load_env_file(envfile)
        os.environ.update(aws_env)
        settings.AWS_ENDPOINT_URL = aws_env.get("AWS_ENDPOINT_URL", "")
        for name in ("SKYLEDGER_READ_ROLE", "SKYLEDGER_EXTERNAL_ID", "SKYLEDGER_DISCOVERY_ROLE_ARN"):
            if name in aws_env:
                setattr(settings, name, aws_env[name])

        call_command("discover_accounts", stdout=self.stdout)
        self._assign_owners()
        call_command("check_access", stdout=self.stdout)

        broker = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
        env = {
            **os.environ,
            **aws_env,
            "CELERY_BROKER_URL": broker,
            "CELERY_BROKER_FOLDER": str(DEMO_DIR / "broker"),
            # The demo is what the dashboard looks like in use: DEBUG off, so a missing page or an
            # error shows Skyledger's own page, never Django's debug pages (which list every URL
            # pattern, or the settings and a traceback). SKYLEDGER_DEV keeps plain HTTP and the
            # development key, and WhiteNoise serves static/ without collectstatic.
            "DEBUG": "0",
            "SKYLEDGER_DEV": "1",
        }
        first_collection = (
            [sys.executable, "manage.py", "collect", "--all"],
            [sys.executable, "manage.py", "run_checks", "--all"],
        )
        if options["no_serve"]:
            for cmd in first_collection:
                subprocess.run(cmd, env=env, check=True, cwd=settings.BASE_DIR)
            self.stdout.write("\n".join(login_lines(passwords)))
            return

        self._start(
            "worker",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=threads", "-c", "2", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "demo@%h"],
            env,
        )  # fmt: skip
        self._start("collect", ["/bin/sh", "-c", " && ".join(" ".join(c) for c in first_collection)], env)
        server = self._start(
            "web",
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{options['port']}"],
            env,
        )
        where = "the file-system broker in .demo/broker" if broker == "filesystem://" else "CELERY_BROKER_URL"
        self.stdout.write(
            "\nLogins for http://127.0.0.1:{}/\n{}".format(options["port"], "\n".join(login_lines(passwords)))
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"\nSkyledger is starting on http://127.0.0.1:{options['port']}/ with a Celery worker ({where}), "
                "so Refresh buttons work. The first collection runs in the background: open Runs to watch it "
                "(logs in .demo/*.log). Ctrl-C, or `make demo-stop` from another terminal, stops everything."
            )
        )
        server.wait()

    def _start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a child in its own process group (so stopping it stops its own children too)."""
        # the web server talks to the terminal; the others to .demo/<name>.log (kept open for their life)
        log = None if name == "web" else open(DEMO_DIR / f"{name}.log", "ab")  # noqa: SIM115
        child = subprocess.Popen(
            cmd,
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
        self.children.append(child)
        with (DEMO_DIR / CHILDREN_FILE).open("a") as fh:
            fh.write(f"{child.pid}\n")
        return child

    def _assign_owners(self) -> None:
        """Give discovered accounts their demo owners and descriptions (only where none is set)."""
        teams = {t.name: t for t in Team.objects.all()}
        for account in AwsAccount.objects.filter(owner__isnull=True):
            team = teams.get(OWNERS.get(account.environment, ""))
            if team is None:
                continue
            account.owner = team
            if not account.description:
                account.description = f"{account.get_environment_display()} account of the demo organisation."
            account._change_reason = "Demo set-up"  # type: ignore[attr-defined]
            account.save()

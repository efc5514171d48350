"""`manage.py demo`: everything `make demo` does after migrating, in one command.

Seeds the demo registry (teams and one user per role), starts the simulated AWS organisation (or
reuses the one already running), discovers its accounts, checks access to each, gives the demo
teams their accounts, then serves the site while the first collection and the checks run in the
background, so the Runs page shows live progress.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from accounts.choices import Environment
from accounts.models import AwsAccount, Team

DEMO_DIR = Path(settings.BASE_DIR) / ".demo"

# Which demo team owns which environment (the "owner" login is a member of Platform).
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


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


class Command(BaseCommand):
    help = (
        "Run the complete demo: simulated AWS organisation, discovery, collection, checks and the web server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="prepare everything, collect inline, do not serve"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        DEMO_DIR.mkdir(exist_ok=True)
        logins = io.StringIO()
        call_command("seed_demo", stdout=logins)
        self.stdout.write(logins.getvalue())

        pidfile, envfile = DEMO_DIR / "moto.pid", DEMO_DIR / "aws.env"
        if _alive(pidfile) and envfile.exists():
            self.stdout.write("Simulated AWS organisation already running (make demo-stop to stop it).")
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

        env = {**os.environ, **aws_env}
        background = (
            [sys.executable, "manage.py", "collect", "--all"],
            [sys.executable, "manage.py", "run_checks", "--all"],
        )
        if options["no_serve"]:
            for cmd in background:
                subprocess.run(cmd, env=env, check=True, cwd=settings.BASE_DIR)
            return
        log = open(DEMO_DIR / "collect.log", "ab")  # noqa: SIM115  (kept open for the child's life)
        collector = subprocess.Popen(
            ["/bin/sh", "-c", " && ".join(" ".join(c) for c in background)],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.stdout.write("\n" + logins.getvalue().strip())
        self.stdout.write(
            self.style.SUCCESS(
                f"\nSkyledger is starting on http://127.0.0.1:{options['port']}/ — the first collection runs in the "
                f"background (open Runs to watch it; log in .demo/collect.log). Ctrl-C stops the web server."
            )
        )
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{options['port']}"],
            env=env,
            cwd=settings.BASE_DIR,
        )
        try:
            server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            server.wait()
        finally:
            if collector.poll() is None:
                collector.terminate()

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

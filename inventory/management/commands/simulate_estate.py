"""``manage.py simulate_estate``: start the simulated AWS organisation on loopback and seed it.

Writes the manifest (``.demo/estate.json``) and an env file (``.demo/aws.env``) holding what the web
and worker processes need to reach the estate as Skyledger (endpoint, the hub's credentials, read
role...). Then either stays in the foreground until Ctrl-C (stopping the server), or, with
``--detach``, leaves the server running and writes its pid to ``--pidfile``.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.simulation import server as moto
from inventory.simulation.estate import CORE_ACCOUNTS, DEFAULT_REGIONS, Estate, EstateSpec, seed

CORE_COUNT = len(CORE_ACCOUNTS) + 1  # the members and the management account


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def env_file_text(estate: Estate) -> str:
    """``KEY=value`` lines a shell can source (``set -a; . .demo/aws.env``)."""
    lines = ["# Written by manage.py simulate_estate: Skyledger's view of the simulated AWS estate."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in estate.environ().items()]
    return "\n".join(lines) + "\n"


def _stop_previous(pidfile: Path, out: Any) -> None:
    """Stop the server a previous --detach left behind (only if the pid is still a moto server)."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return
    if "moto" not in cmdline:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        out.write(f"Stopped the previous simulated estate (pid {pid}).")
    except OSError:
        pass


class Command(BaseCommand):
    help = (
        "Start a moto server on 127.0.0.1, seed the simulated AWS organisation into it, write the "
        "manifest and the env file; stay in the foreground (Ctrl-C stops) or --detach."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
        parser.add_argument(
            "--accounts", type=int, default=CORE_COUNT,
            help=f"accounts in the organisation, at least {CORE_COUNT} (more are clean workload accounts)",
        )  # fmt: skip
        parser.add_argument(
            "--regions", default=",".join(DEFAULT_REGIONS), help="comma-separated regions (at least two)"
        )
        parser.add_argument("--scale", type=int, default=1, help="multiplier of instances and buckets")
        parser.add_argument("--external-id", default="", help="ExternalId the read roles require")
        parser.add_argument("--read-role", default="", help="read role name (default: SKYLEDGER_READ_ROLE)")
        parser.add_argument("--seed", type=int, default=42, help="moto's random seed (same seed, same ids)")
        parser.add_argument("--manifest", default=".demo/estate.json", help="where to write the manifest")
        parser.add_argument("--env-file", default=".demo/aws.env", help="where to write the env file")
        parser.add_argument("--detach", action="store_true", help="leave the server running and return")
        parser.add_argument("--pidfile", default=".demo/moto.pid", help="with --detach: the server's pid")
        parser.add_argument("--register", action="store_true", help="run account discovery after seeding")

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        manifest = base / options["manifest"]
        env_file = base / options["env_file"]
        pidfile = base / options["pidfile"]
        regions = tuple(r.strip() for r in options["regions"].split(",") if r.strip())
        if options["accounts"] < CORE_COUNT:
            raise CommandError(f"--accounts must be at least {CORE_COUNT} (the core organisation).")
        try:
            spec = EstateSpec(
                regions=regions,
                extra_accounts=options["accounts"] - CORE_COUNT,
                scale=options["scale"],
                read_role=options["read_role"] or settings.SKYLEDGER_READ_ROLE,
                external_id=options["external_id"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        if options["detach"]:
            _stop_previous(pidfile, self.stdout)
        log_path = manifest.parent / "moto.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = moto.start(options["port"] or None, log_path=str(log_path), detach=options["detach"])
        except RuntimeError as exc:
            raise CommandError(f"Could not start the moto server: {exc} (see {log_path}).") from exc
        try:
            estate = seed(server.url, spec)
            write_private(manifest, estate.to_json())
            write_private(env_file, env_file_text(estate))
            self.stdout.write(
                f"Simulated AWS organisation on {server.url}: {len(estate.accounts)} accounts in "
                f"{len(spec.regions)} regions, {len(estate.planted)} planted misconfigurations, "
                f"{len(estate.exposed)} planted ways in ({len(estate.exposed_by('network'))} network paths); "
                f"seeded in {estate.seconds:.1f} s.\n"
                f"Manifest: {manifest}\nEnvironment: {env_file} (set -a; . {options['env_file']}; set +a)"
            )
            if options["register"]:
                self._register(estate)
        except BaseException:
            server.stop()
            raise

        if options["detach"]:
            write_private(pidfile, f"{server.process.pid}\n" if server.process else "")
            self.stdout.write(f"Server left running (pid in {pidfile}; make demo-stop stops it).")
            return
        self.stdout.write("Serving until Ctrl-C.")
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.is_set() and server.process is not None and server.process.poll() is None:
                stop.wait(1.0)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
            self.stdout.write("Simulated estate stopped.")

    def _register(self, estate: Estate) -> None:
        """Discovery with the hub's credentials, against this estate (whatever this process's env)."""
        import boto3

        from inventory.aws.session import AwsSettings, Hub
        from inventory.discovery import DiscoveryError, discover_accounts

        hub = Hub(
            AwsSettings(endpoint_url=estate.endpoint_url, home_region=estate.spec.home_region),
            session=boto3.Session(
                aws_access_key_id=estate.hub.access_key_id,
                aws_secret_access_key=estate.hub.secret_access_key,
                aws_session_token=estate.hub.session_token,
                region_name=estate.spec.home_region,
            ),
        )
        try:
            summary = discover_accounts(
                hub,
                read_role=estate.spec.read_role,
                external_id=estate.spec.external_id,
                discovery_role_arn="",
            )
        except DiscoveryError as exc:
            raise CommandError(f"Discovery failed: {exc.classified.message}") from exc
        self.stdout.write("\n".join(summary.lines()))

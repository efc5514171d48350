"""``manage.py simulate_estate --detach --register``: a second server seeded from scratch."""

from __future__ import annotations

import io
import os
import signal
import stat
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AwsAccount
from inventory.management.commands.simulate_estate import env_file_text
from inventory.simulation.estate import CORE_ACCOUNTS, Estate
from inventory.simulation.server import is_up
from tests.inventory.simulation.support import TEST_SPEC

pytestmark = [pytest.mark.moto, pytest.mark.slow]


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    for _ in range(150):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.mark.django_db
def test_detached_estate_repeats_every_id_registers_and_writes_private_files(
    tmp_path: Path, estate: Estate
) -> None:
    manifest, env_file, pidfile = tmp_path / "estate.json", tmp_path / "aws.env", tmp_path / "moto.pid"
    out = io.StringIO()
    call_command(
        "simulate_estate", "--detach", "--register", "--regions", ",".join(TEST_SPEC.regions),
        "--manifest", str(manifest), "--env-file", str(env_file), "--pidfile", str(pidfile), stdout=out,
    )  # fmt: skip
    pid = int(pidfile.read_text())
    try:
        again = Estate.from_json(manifest.read_text())
        assert is_up(again.endpoint_url) and again.endpoint_url != estate.endpoint_url
        # a fresh server, the same spec: the same organisation, account ids and resource ids
        assert again.accounts == estate.accounts
        assert again.resources == estate.resources
        assert again.planted == estate.planted and again.exposed == estate.exposed
        assert again.hub.access_key_id == estate.hub.access_key_id
        assert f"{len(estate.planted)} planted misconfigurations" in out.getvalue()

        values = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if not line.startswith("#")
        )
        assert values["AWS_ENDPOINT_URL"] == again.endpoint_url
        assert values["AWS_SESSION_TOKEN"] == again.hub.session_token
        assert values["SKYLEDGER_READ_ROLE"] == "SkyledgerReadOnly"
        assert "SKYLEDGER_EXTERNAL_ID" not in values
        for path in (manifest, env_file):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600

        assert AwsAccount.objects.count() == len(estate.accounts)  # --register ran discovery
        assert f"{len(estate.accounts)} new" in out.getvalue()
    finally:
        _stop(pid)


def test_env_file_quotes_values_a_shell_would_split(estate: Estate) -> None:
    odd = Estate.from_dict(
        {**estate.to_dict(), "spec": {**estate.to_dict()["spec"], "external_id": "a b'$c"}}
    )
    line = next(line for line in env_file_text(odd).splitlines() if line.startswith("SKYLEDGER_EXTERNAL_ID="))
    assert line == "SKYLEDGER_EXTERNAL_ID='a b'\"'\"'$c'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "3"], f"at least {len(CORE_ACCOUNTS) + 1}"),
        (["--regions", "us-east-1"], "at least two distinct regions"),
    ],
)
def test_impossible_estates_are_refused_before_anything_starts(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("simulate_estate", *args, stdout=io.StringIO())

"""``manage.py collect``: inline collection with a summary, exit status, queueing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AwsAccount
from inventory import tasks
from inventory.aws.errors import ErrorKind
from inventory.models import CollectionRun, Resource, RunState

from .fakes import Boxes, Denied, FakeAccess, access_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> FakeAccess:
    access = FakeAccess(regions=["eu-west-1", "us-east-1"])
    monkeypatch.setattr("inventory.services.collect.default_access", lambda *a, **k: access)
    registry = [Boxes(per_region=2), Denied()]
    monkeypatch.setattr(
        "inventory.collectors.base.collectors",
        lambda only=None: [c for c in registry if only is None or only(c)],
    )
    return access


@pytest.fixture
def accounts() -> list[AwsAccount]:
    return [
        AwsAccount.objects.create(account_id="111122223333", name="prod"),
        AwsAccount.objects.create(account_id="444455556666", name="dev"),
    ]


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("collect", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_collect_all_inline_prints_a_summary(fake_aws: FakeAccess, accounts: list[AwsAccount]) -> None:
    output = run_command("--all")
    assert CollectionRun.objects.filter(state=RunState.PARTIAL, trigger="command").count() == 2
    lines = output.splitlines()
    assert lines[0].split()[:3] == ["account", "state", "units"]
    assert lines[1].split()[:3] == ["111122223333", "partial", "4/4"]
    assert "locked/eu-west-1/locked:thing" in output
    assert Resource.objects.count() == 8


def test_collect_only_named_services_and_regions(fake_aws: FakeAccess, accounts: list[AwsAccount]) -> None:
    output = run_command("--account", "111122223333", "--service", "box", "--region", "us-east-1")
    assert output.splitlines()[1].split()[:3] == ["111122223333", "done", "1/1"]
    assert set(Resource.objects.values_list("region", flat=True)) == {"us-east-1"}


def test_failed_run_makes_the_command_fail(fake_aws: FakeAccess, accounts: list[AwsAccount]) -> None:
    fake_aws.fail = access_error(ErrorKind.ROLE_MISSING)
    with pytest.raises(CommandError, match="2 of 2 run"):
        run_command("--all")


def test_unknown_account_or_collector_is_refused(fake_aws: FakeAccess, accounts: list[AwsAccount]) -> None:
    with pytest.raises(CommandError, match="999999999999"):
        run_command("--account", "999999999999")
    with pytest.raises(CommandError, match="nope"):
        run_command("--all", "--service", "nope")
    with pytest.raises(CommandError):
        run_command()
    assert not CollectionRun.objects.exists()


def test_enqueue_sends_tasks_instead(
    accounts: list[AwsAccount], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.refresh_account, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        output = run_command("--all", "--enqueue")
    assert len(sent) == 2 and output.count("queued run") == 2
    assert set(CollectionRun.objects.values_list("state", flat=True)) == {RunState.QUEUED}


def test_collections_run_with_the_collecting_gc_threshold_and_leave_the_process_as_it_was(
    fake_aws: FakeAccess, accounts: list[AwsAccount], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from inventory.services import runs

    during: list[tuple[int, int, int]] = []
    refresh = runs.refresh_account

    def watched(*args: Any, **kwargs: Any) -> Any:
        during.append(gc.get_threshold())
        return refresh(*args, **kwargs)

    monkeypatch.setattr(runs, "refresh_account", watched)
    before = gc.get_threshold()
    run_command("--all")
    assert [t[0] for t in during] == [20_000, 20_000]
    assert gc.get_threshold() == before

""" "Refresh now": security team only, POST only, queued via the broker, and clear when it is down."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from kombu import Connection
from kombu.exceptions import OperationalError

from accounts.models import AwsAccount
from inventory import tasks
from inventory.models import CollectionRun, RunState, RunTrigger
from inventory.services import refresh
from tests.factories import AwsAccountFactory

# Transactional: as in a real request (no surrounding transaction), the tasks are sent when
# queue_runs commits, before the view reads back what became of them.
pytestmark = pytest.mark.django_db(transaction=True)


class FakeBroker:
    """Stands in for Redis: records what would have been sent, or refuses like a dead broker."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.reachable = True
        self.fail_sends = False

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        if self.fail_sends:
            self.sent.append({"failed": True, "args": args})
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append({"args": args, "kwargs": kwargs, **options})


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(refresh, "broker_reachable", lambda timeout=2.0: fake.reachable)
    monkeypatch.setattr(tasks.refresh_account, "apply_async", fake.apply_async)
    return fake


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def post(client: Client, url: str, **data: Any) -> Any:
    return client.post(url, data)


def test_security_queues_a_manual_run_and_the_task(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    client.force_login(security_user)
    response = post(client, f"/inventory/refresh/{prod.pk}/")
    assert response.status_code == 302 and response["Location"] == prod.get_absolute_url()
    run = CollectionRun.objects.get()
    assert (run.account, run.trigger, run.requested_by, run.state) == (
        prod,
        RunTrigger.MANUAL,
        security_user,
        RunState.QUEUED,
    )
    # the task id is the run's, recorded before sending, so a redelivery is recognised as its own
    assert broker.sent == [
        {"args": [prod.pk, run.pk], "kwargs": {"trigger": "manual"}, "task_id": run.celery_task_id}
    ]
    assert run.celery_task_id and run.sent_at is not None
    assert messages_of(response) == [f"Refresh of {prod} queued (run {run.pk}); a worker will pick it up."]


@pytest.mark.parametrize("role", ["owner_user", "viewer_user"])
def test_others_get_403_even_with_a_forged_post(
    client: Client,
    role: str,
    request: pytest.FixtureRequest,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    client.force_login(request.getfixturevalue(role))  # owner_user owns prod: still not allowed
    assert post(client, f"/inventory/refresh/{prod.pk}/").status_code == 403
    assert post(client, "/inventory/refresh/").status_code == 403
    assert post(client, "/inventory/refresh/999999/").status_code == 403
    assert not CollectionRun.objects.exists() and broker.sent == []


def test_a_forged_post_without_csrf_token_is_refused(
    security_user: Any, prod: AwsAccount, broker: FakeBroker
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(security_user)
    assert client.post(f"/inventory/refresh/{prod.pk}/").status_code == 403
    assert not CollectionRun.objects.exists()


def test_anonymous_goes_to_login_and_get_is_not_allowed(
    client: Client, security_user: Any, prod: AwsAccount, broker: FakeBroker
) -> None:
    for url in (f"/inventory/refresh/{prod.pk}/", "/inventory/refresh/"):
        response = client.post(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(security_user)
    assert client.get(f"/inventory/refresh/{prod.pk}/").status_code == 405
    assert client.get("/inventory/refresh/").status_code == 405
    assert not CollectionRun.objects.exists()


def test_missing_account_is_404_for_security(client: Client, security_user: Any, broker: FakeBroker) -> None:
    client.force_login(security_user)
    assert post(client, "/inventory/refresh/999999/").status_code == 404


def test_broker_down_says_so_with_the_command_and_queues_nothing(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    broker.reachable = False
    client.force_login(security_user)
    response = post(client, f"/inventory/refresh/{prod.pk}/")
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert "task broker (Redis, CELERY_BROKER_URL) is unreachable" in message
    assert "manage.py collect --account 555555555555" in message
    assert not CollectionRun.objects.exists() and broker.sent == []


def test_broker_lost_while_sending_marks_the_run_failed_and_says_so(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    broker.fail_sends = True
    client.force_login(security_user)
    response = post(client, f"/inventory/refresh/{prod.pk}/")
    run = CollectionRun.objects.get()
    assert run.state == RunState.FAILED and "broker is unreachable" in run.message
    (message,) = messages_of(response)
    assert message.startswith("Could not queue the refresh") and "collect --account 555555555555" in message


def test_a_second_press_reuses_the_queued_run(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    client.force_login(security_user)
    post(client, f"/inventory/refresh/{prod.pk}/")
    response = post(client, f"/inventory/refresh/{prod.pk}/")
    run = CollectionRun.objects.get()
    assert len(broker.sent) == 1
    # (the first press's message is still waiting to be shown)
    assert messages_of(response)[-1] == f"{prod} is already being refreshed (run {run.pk}, queued)."


def test_refresh_all_queues_every_collectable_account(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    dev: AwsAccount,
    broker: FakeBroker,
) -> None:
    AwsAccountFactory(name="off", collection_enabled=False)
    AwsAccountFactory(name="closed", status="closed")
    client.force_login(security_user)
    response = post(client, "/inventory/refresh/")
    assert response.status_code == 302
    assert sorted(r.account.name for r in CollectionRun.objects.all()) == ["payments-prod", "sandbox-dev"]
    assert len(broker.sent) == 2
    assert messages_of(response) == ["Queued 2 refreshes; workers will pick them up."]


def test_refresh_all_with_the_broker_failing_gives_up_after_the_first_send(
    client: Client, security_user: Any, broker: FakeBroker
) -> None:
    for _ in range(4):
        AwsAccountFactory()
    broker.fail_sends = True
    client.force_login(security_user)
    response = post(client, "/inventory/refresh/")
    assert len(broker.sent) == 1  # not one connection timeout per account
    assert set(CollectionRun.objects.values_list("state", flat=True)) == {RunState.FAILED}
    (message,) = messages_of(response)
    assert message.startswith("Could not queue 4 refreshes") and "manage.py collect --all" in message


def test_refresh_all_with_nothing_to_collect(client: Client, security_user: Any, broker: FakeBroker) -> None:
    AwsAccountFactory(collection_enabled=False)
    client.force_login(security_user)
    response = post(client, "/inventory/refresh/")
    assert messages_of(response) == ["No account has collection on: nothing to refresh."]


def test_returns_to_the_page_it_came_from_but_never_off_site(
    client: Client,
    security_user: Any,
    prod: AwsAccount,
    broker: FakeBroker,
) -> None:
    client.force_login(security_user)
    url = f"/inventory/refresh/{prod.pk}/"
    back = post(client, url, next="/inventory/resources/?region=eu-west-1")
    assert back["Location"] == "/inventory/resources/?region=eu-west-1"
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = post(client, url, next=evil)
        assert response["Location"] == prod.get_absolute_url()


def test_buttons_appear_for_the_security_team_only(
    client: Client, security_user: Any, owner_user: Any, viewer_user: Any, prod: AwsAccount
) -> None:
    for user, shown in ((security_user, True), (owner_user, False), (viewer_user, False)):
        client.force_login(user)
        detail = client.get(prod.get_absolute_url()).content.decode()
        listing = client.get("/accounts/").content.decode()
        assert (f'action="/inventory/refresh/{prod.pk}/"' in detail) is shown, user
        assert ('action="/inventory/refresh/"' in listing) is shown, user


def test_broker_check_fails_fast_on_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from celery import current_app

    monkeypatch.setattr(current_app, "connection_for_write", lambda: Connection("redis://127.0.0.1:9/0"))
    started = time.monotonic()
    assert refresh.broker_reachable(timeout=1.0) is False
    assert time.monotonic() - started < 5

"""The Onboarding page: accounts Skyledger cannot read yet, with reason and fix; security team only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccessStatus, AccountStatus
from tests.factories import AwsAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("inventory:onboarding")


def _accounts() -> dict[str, Any]:
    now = timezone.now()
    return {
        "ok": AwsAccountFactory(name="readable", access_status=AccessStatus.OK, access_checked_at=now),
        "never": AwsAccountFactory(name="brand-new"),
        "denied": AwsAccountFactory(
            name="half-deployed",
            access_status=AccessStatus.FAILED,
            access_checked_at=now,
            access_error_code="access-denied",
            access_message="The read role is missing 1 permission(s): s3:ListAllMyBuckets (needed by s3 ListBuckets).",
        ),
        "trust": AwsAccountFactory(
            name="wrong-id",
            access_status=AccessStatus.FAILED,
            access_checked_at=now,
            access_error_code="external-id-mismatch",
            access_message="<script>alert(1)</script> refused",
        ),
        "closed": AwsAccountFactory(name="gone", status=AccountStatus.CLOSED),
    }


def test_lists_unreadable_accounts_with_reason_and_fix(client: Client, security_user: Any) -> None:
    accounts = _accounts()
    client.force_login(security_user)

    page = client.get(URL).content.decode()

    for key in ("never", "denied", "trust"):
        assert accounts[key].name in page, key
    assert "readable" not in page.split('id="pending"')[1].split("</section>")[0]
    assert accounts["closed"].name not in page
    assert "s3:ListAllMyBuckets (needed by s3 ListBuckets)" in page
    assert "deploy/aws/read-role-policy.json" in page
    assert f"manage.py check_access --account {accounts['never'].account_id}" in page
    assert "sts:ExternalId" in page  # the trust fix
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "deploy/aws/cloudformation/read-role-stackset.yaml" in page
    assert "manage.py role_policy" in page
    assert "arn:aws:iam::*:role/" in page  # the hub policy shown
    assert (
        "1 of 4 registered accounts can be read" in page or "1 of 5 registered accounts can be read" in page
    )


def test_everything_readable_says_so(client: Client, security_user: Any) -> None:
    AwsAccountFactory(access_status=AccessStatus.OK)
    client.force_login(security_user)
    assert "Every registered account answered its last access check." in client.get(URL).content.decode()


@pytest.mark.parametrize("user", ["owner_user", "viewer_user"])
def test_others_are_refused(client: Client, user: str, request: pytest.FixtureRequest) -> None:
    client.force_login(request.getfixturevalue(user))
    assert client.get(URL).status_code == 403


def test_anonymous_goes_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_linked_from_the_account_list_for_the_security_team(
    client: Client, security_user: Any, viewer_user: Any
) -> None:
    client.force_login(security_user)
    assert URL in client.get(reverse("accounts:account_list")).content.decode()
    client.force_login(viewer_user)
    assert URL not in client.get(reverse("accounts:account_list")).content.decode()

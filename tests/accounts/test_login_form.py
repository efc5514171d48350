"""The login form refuses a user name longer than any user's before anyone is authenticated."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_an_overlong_user_name_is_the_forms_error_not_a_failed_login(viewer_user: Any) -> None:
    client = Client(raise_request_exception=False)
    response = client.post(reverse("login"), {"username": "x" * 10_000, "password": "wrong"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert "didn't match" in response.content.decode()
    assert not AccessAttempt.objects.exists()  # (its user name column holds 255: PostgreSQL refused)
    # an ordinary wrong password is still recorded
    client.post(reverse("login"), {"username": "viewer", "password": "wrong"})
    assert AccessAttempt.objects.filter(username="viewer").exists()

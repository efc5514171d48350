"""Fixtures of the audit's tests: accounts of two environments owned by the role users' teams."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AwsAccountFactory, TeamFactory


@pytest.fixture
def prod_account(owner_team: Any) -> Any:
    """A production account owned by ``owner_team`` (the team of ``owner_user``)."""
    return AwsAccountFactory(
        name="payments-prod", account_id="555555555555", environment="prod", owner=owner_team
    )


@pytest.fixture
def sandbox_account(db: None) -> Any:
    """A sandbox account of another team."""
    return AwsAccountFactory(
        name="play-sandbox",
        account_id="777777777777",
        environment="sandbox",
        owner=TeamFactory(name="Platform"),
    )

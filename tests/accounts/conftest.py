from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AwsAccountFactory, TeamFactory, UserFactory


@pytest.fixture
def own_account(owner_team: Any) -> Any:
    """An account owned by ``owner_team`` (so ``owner_user`` may edit it)."""
    return AwsAccountFactory(
        name="payments-prod", account_id="555555555555", owner=owner_team, description="Card processing"
    )


@pytest.fixture
def other_account(db: None) -> Any:
    """An account owned by a team ``owner_user`` is not in."""
    return AwsAccountFactory(
        name="platform-prod", account_id="666666666666", owner=TeamFactory(name="Platform")
    )


@pytest.fixture
def other_owner_user(other_account: Any) -> Any:
    """A member of the team owning ``other_account`` (and not of ``owner_team``)."""
    return UserFactory(username="platform-owner", teams=[other_account.owner])

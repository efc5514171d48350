"""Helpers shared by the AWS access-layer tests.

The moto server is shared by the whole session and not reset between these tests: each test works
in accounts no other test uses (moto keeps every account apart), which is much faster than a reset.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from inventory.aws.session import Target

_NEXT = itertools.count(random.SystemRandom().randrange(100_000_000_000, 800_000_000_000, 1_000_000))


def fresh_account() -> str:
    """A 12-digit account id no other test in this session touches."""
    return str(next(_NEXT))


class Clock:
    """Now, plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def target(account: str, external_id: str | None = None, **kwargs: object) -> Target:
    """The read role in ``account`` (moto does not check that it exists)."""
    return Target(account, f"arn:aws:iam::{account}:role/skyledger-read", external_id, **kwargs)  # type: ignore[arg-type]

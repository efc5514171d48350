"""Fake collectors and a fake access layer for orchestrator tests (no AWS, no moto)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from inventory.aws.errors import AccessError, Classified, ErrorKind
from inventory.collectors.base import CollectContext
from inventory.records import GLOBAL_REGION, CollectError, Coverage, Record


class FakeStats:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self.lock:
            self.calls += n

    def snapshot(self) -> dict[str, Any]:
        return {"totals": {"calls": self.calls, "attempts": self.calls + 1, "retries": 1, "errors": 0}}


class FakeSession:
    def __init__(self, account_id: str, identity: str | None = None) -> None:
        self.account_id = account_id
        if identity is not None:  # the real session answers GetCallerIdentity
            self.caller_identity = lambda: {"Account": identity, "Arn": "", "UserId": ""}
        self.stats = FakeStats()
        self.assumptions = 1
        self.unsupported: set[tuple[str, str]] = set()
        self.partition = "aws"
        self.clients: list[tuple[str, str]] = []

    def client(self, service: str, region: str | None = None) -> tuple[str, str | None]:
        self.clients.append((service, region or "us-east-1"))
        return (service, region)


class FakeAccess:
    """``assume`` returns a FakeSession, or raises ``fail`` (an exception) when set."""

    def __init__(
        self,
        regions: Sequence[str] = ("eu-west-1", "us-east-1"),
        fail: BaseException | None = None,
        identity: str | None = None,
    ) -> None:
        self._regions = list(regions)
        self.fail = fail
        self.identity = identity
        self.targets: list[Any] = []
        self.sessions: list[FakeSession] = []

    def assume(self, target: Any) -> FakeSession:
        self.targets.append(target)
        if self.fail is not None:
            raise self.fail
        session = FakeSession(target.account_id, self.identity)
        self.sessions.append(session)
        return session

    def regions(self, session: Any, allowed: Sequence[str]) -> list[str]:
        return [r for r in self._regions if not allowed or r in allowed]


def access_error(kind: ErrorKind, code: str = "AccessDenied") -> AccessError:
    return AccessError(Classified(kind, code, f"{kind.value} for AssumeRole", "AssumeRole"))


class Boxes:
    """A regional collector: ``per_region`` boxes per region; records calls; may sleep per region."""

    service: ClassVar[str] = "box"
    types: ClassVar[tuple[str, ...]] = ("box:box",)
    scope: ClassVar[str] = "regional"

    def __init__(self, per_region: int = 3, delay: float = 0.0, skip: Sequence[str] = ()) -> None:
        self.per_region = per_region
        self.delay = delay
        self.skip = set(skip)  # ids not yielded (deleted in AWS)
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.contexts: list[CollectContext] = []

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.contexts.append(ctx)
        try:
            ctx.client("box")
            if self.delay:
                time.sleep(self.delay)
            for n in range(self.per_region):
                rid = f"box-{ctx.region}-{n}"
                if rid in self.skip:
                    continue
                yield Record(
                    "box:box",
                    f"arn:aws:box:{ctx.region}:{ctx.account_id}:box/{rid}",
                    rid,
                    rid,
                    ctx.region,
                    {"n": str(n)},
                    {"Id": rid, "Size": n},
                )
        finally:
            with self.lock:
                self.active -= 1


class Denied:
    """A regional collector whose one type is always access-denied."""

    service: ClassVar[str] = "locked"
    types: ClassVar[tuple[str, ...]] = ("locked:thing",)
    scope: ClassVar[str] = "regional"

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        ctx.unsupported.add(("locked", ctx.region, "ListThings"))
        ctx.mark(
            "locked:thing",
            Coverage.DENIED,
            CollectError(
                "locked",
                ctx.region,
                "access-denied",
                "Access denied: ListThings",
                "ListThings",
                "locked:thing",
                "AccessDenied",
            ),
        )
        return iter(())


class Users:
    """A global collector."""

    service: ClassVar[str] = "people"
    types: ClassVar[tuple[str, ...]] = ("people:user",)
    scope: ClassVar[str] = "global"

    def __init__(self, names: Sequence[str] = ("alice", "bob")) -> None:
        self.names = list(names)
        self.regions: list[str] = []

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        self.regions.append(ctx.region)
        for name in self.names:
            yield Record(
                "people:user", f"arn:aws:iam::{ctx.account_id}:user/{name}", name, name, GLOBAL_REGION
            )


class Crashes:
    """A regional collector that yields ``before`` records then raises."""

    service: ClassVar[str] = "crash"
    types: ClassVar[tuple[str, ...]] = ("crash:item", "crash:other")
    scope: ClassVar[str] = "regional"

    def __init__(self, before: int = 2) -> None:
        self.before = before

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        for n in range(self.before):
            yield Record(
                "crash:item", f"arn:aws:crash:{ctx.region}:{ctx.account_id}:item/{n}", str(n), "", ctx.region
            )
        raise RuntimeError("collector bug")

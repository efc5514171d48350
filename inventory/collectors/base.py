"""The contract between collectors, storage and checks. No Django here.

A *collector* knows one AWS service. It is run once per account (``scope = "global"``) or once per
(account, region) (``scope = "regional"``) and yields :class:`Record` objects. While it runs it
reports, per resource type it declares, whether that type was collected completely (``ok``) or not
(``failed`` / ``denied`` / ``unsupported``). Storage uses that status to decide deletions: a resource
missing from an ``ok`` (type, region) pass is marked deleted; a type that did not end ``ok`` touches
nothing it did not see. Checks use it to answer "unknown" instead of "pass".

What a collector yields and reports (:class:`~inventory.records.Record`, :class:`~inventory.records.Coverage`,
:class:`~inventory.records.CollectError`) lives in :mod:`inventory.records`; the shape of every record's
``data`` per type in :mod:`inventory.resource_types`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Protocol

from inventory.records import CollectError, Coverage, Record


class ClientFactory(Protocol):
    def __call__(self, service: str, region: str | None = None) -> Any:  # a boto3 client
        ...


class DeadlineExceeded(BaseException):  # a BaseException: no collector's `except Exception` keeps it
    """The pass ran out of time (its own deadline, or the run's budget): stop calling AWS now.

    Raised before a call, never inside one; the orchestrator keeps what the pass stored, marks its
    types failed (so nothing is deleted) and says what was cut short.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass
class CollectContext:
    """What a collector gets for one (account, region) pass.

    ``client(service)`` returns a cached boto3 client for this account and region (clients are
    expensive: never create one per call). ``mark(type, coverage, error)`` records the outcome of
    one resource type; types never marked count as OK when the collector returns normally and as
    FAILED when it raises.
    """

    account_id: str
    region: str  # GLOBAL_REGION for global collectors (use ``home_region`` for the client)
    client: ClientFactory
    home_region: str = "us-east-1"
    partition: str = "aws"
    coverage: dict[str, Coverage] = dataclasses.field(default_factory=dict)
    errors: list[CollectError] = dataclasses.field(default_factory=list)
    # e.g. {("guardduty", "ListDetectors")}: an operation the endpoint answered "not implemented"
    # once in this run; collectors skip it in the other regions instead of asking again.
    unsupported: set[tuple[str, str, str]] = dataclasses.field(default_factory=set)
    # organisation facts known before collection (management account id, ...), may be empty
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # time.monotonic() after which the pass makes no more calls, and why (see check_deadline)
    deadline: float = math.inf
    deadline_reason: str = ""

    def check_deadline(self) -> None:
        """Raise :class:`DeadlineExceeded` when the pass is out of time (called before each call)."""
        if time.monotonic() > self.deadline:
            raise DeadlineExceeded(self.deadline_reason or "the pass ran out of time")

    def mark(self, type_: str, coverage: Coverage, error: CollectError | None = None) -> None:
        # the worst outcome wins when a type is marked twice
        order = list(Coverage)
        previous = self.coverage.get(type_)
        if previous is None or order.index(coverage) > order.index(previous):
            self.coverage[type_] = coverage
        if error is not None:
            self.errors.append(error)


class Collector(Protocol):
    """One AWS service. Implementations are module-level objects registered in ``registry``."""

    service: ClassVar[str]
    types: ClassVar[tuple[str, ...]]
    scope: ClassVar[str]  # "global" or "regional"

    def collect(self, ctx: CollectContext) -> Iterator[Record]: ...


REGISTRY: dict[str, Collector] = {}


def register(cls: type) -> type:
    """Class decorator: instantiate and register a collector under its service name."""
    instance = cls()
    REGISTRY[instance.service] = instance
    return cls


def collectors(only: Callable[[Collector], bool] | None = None) -> list[Collector]:
    """All registered collectors (importing the package registers them)."""
    from inventory import collectors as _package  # noqa: F401  (import side effect)

    return [c for c in REGISTRY.values() if only is None or only(c)]

"""The contract between collectors, storage and checks. No Django here.

A *collector* knows one AWS service. It is run once per account (``scope = "global"``) or once per
(account, region) (``scope = "regional"``) and yields :class:`Record` objects. While it runs it
reports, per resource type it declares, whether that type was collected completely (``ok``) or not
(``failed`` / ``denied`` / ``unsupported``). Storage uses that status to decide deletions: a resource
missing from an ``ok`` (type, region) pass is marked deleted; a type that did not end ``ok`` touches
nothing it did not see. Checks use it to answer "unknown" instead of "pass".

The shape of every record's ``data`` per type is documented in :mod:`inventory.collectors.types`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Protocol

GLOBAL_REGION = "global"
# The region of a resource whose region could not be read (a bucket whose GetBucketLocation failed
# the first time it was seen): said honestly rather than guessed. Storage keeps a known region over it.
UNKNOWN_REGION = "unknown"


class Coverage(enum.StrEnum):
    """How completely one resource type was collected in one region."""

    OK = "ok"  # every page read; absence of a resource means it does not exist
    FAILED = "failed"  # an error (throttled after retries, time-out, bad answer...)
    DENIED = "denied"  # access denied / not authorised
    UNSUPPORTED = "unsupported"  # endpoint does not implement it, or service not offered there
    NOT_COLLECTED = "not-collected"  # nothing ran (collector off, region skipped)

    @property
    def complete(self) -> bool:
        return self is Coverage.OK


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """One resource as seen in AWS.

    ``arn`` is the stable key within the account: a real ARN where AWS has one, otherwise a
    pseudo-ARN built the same way (e.g. ``arn:aws:iam::123456789012:account-password-policy``).
    ``data`` is JSON-serialisable (datetimes as ISO-8601 strings): the item as AWS returned it, plus
    the extra keys named in :mod:`inventory.collectors.types`.
    """

    type: str  # "<service>:<kind>", e.g. "ec2:instance"; listed in types.RESOURCE_TYPES
    arn: str
    resource_id: str  # the id people know: instance id, bucket name, user name...
    name: str
    region: str  # an AWS region, or GLOBAL_REGION
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    data: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.type.split(":", 1)[0]


@dataclasses.dataclass(frozen=True, slots=True)
class CollectError:
    """A structured error, shown to people in the run page."""

    service: str
    region: str
    code: str  # classified: see inventory.aws.errors.ErrorKind values
    message: str  # a sentence a person understands
    operation: str = ""
    resource_type: str = ""
    aws_code: str = ""  # the raw AWS error code, when there was one


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

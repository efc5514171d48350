"""What collection produces, as plain values: the contract between the AWS layer, the collectors,
storage and the checks. No Django, no AWS calls, no imports of the packages that use it.

- :class:`Record`: one resource as seen in AWS (its ``data`` per type in :mod:`inventory.resource_types`);
- :class:`Coverage`: how completely one resource type was collected in one region (storage deletes
  only after an ``ok`` pass; checks say "unknown" instead of "pass" otherwise);
- :class:`CollectError`: a structured error shown on the run page;
- :data:`GLOBAL_REGION` / :data:`UNKNOWN_REGION`: the region of global resources, and of those whose
  region could not be read.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

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
    the extra keys named in :mod:`inventory.resource_types`.
    """

    type: str  # "<service>:<kind>", e.g. "ec2:instance"; listed in inventory.resource_types.RESOURCE_TYPES
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

"""What a set of effective permissions amounts to: administrator, power user, read-only, ...

Input is two action masks (see :mod:`iam_audit.graph.actions`): ``everywhere`` (actions allowed on
every resource) and ``anywhere`` (allowed on at least some resource). Thresholds are fractions
rather than equality so that an AdministratorAccess role under an SCP that denies a handful of
actions (leaving the organisation, stopping CloudTrail) is still an administrator.

* administrator: >= 95% of every action, and >= 95% of IAM — effectively ``*`` on ``*``.
* power user: >= 90% of the actions outside IAM / Organizations / Account (PowerUserAccess).
* write (named services): Write / Permissions-management / Tagging actions in those services. Actions
  named like reads (Get*, List*, Describe*) that AWS files under Write are left out, because every
  read-only policy grants them by name pattern; ``sts`` is left out because its actions only create
  sessions, whose power is classified where they lead, and so are the other session-creating
  actions of :data:`SESSION_ACTIONS` (AWS's own ReadOnlyAccess grants s3express:CreateSession); so
  are the sensitive reads below (kms:Decrypt is a Write in AWS's reference).
* read-only, all services: >= 60% of every Read and List action (a ReadOnlyAccess-like policy).
* read of sensitive data: any of :data:`SENSITIVE_READ_ACTIONS` on every resource.
* granular: anything else that is not nothing.
"""

from __future__ import annotations

import dataclasses
import enum
import functools

from cloudsplaining.shared.constants import READ_ONLY_DATA_EXFILTRATION_ACTIONS

from iam_audit.graph.actions import (
    LIST,
    PERMISSIONS,
    READ,
    TAGGING,
    WRITE,
    ActionUniverse,
    mask_from_indices,
    universe,
)

# Data-exfiltration reads as cloudsplaining defines them (s3:GetObject, ssm:GetParameter*,
# secretsmanager:GetSecretValue), plus — our addition, for the data stores a security team asks
# about first — KMS decryption and DynamoDB item reads.
SENSITIVE_READ_ACTIONS: tuple[str, ...] = (
    *READ_ONLY_DATA_EXFILTRATION_ACTIONS,
    "kms:Decrypt",
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)

# Write-level actions that only open a session whose rights the policy decides elsewhere (S3 Express
# One Zone directory buckets are read through a CreateSession in ReadOnly mode).
SESSION_ACTIONS: tuple[str, ...] = ("s3express:CreateSession",)

# Services a PowerUserAccess-like policy leaves out (AWS's PowerUserAccess: NotAction iam:*,
# organizations:*, account:*).
ADMIN_ONLY_SERVICES = ("iam", "organizations", "account")

ADMIN_FRACTION = 0.95
POWER_FRACTION = 0.90
READ_ALL_FRACTION = 0.60
_READ_NAMES = ("get", "list", "describe")


class Level(enum.IntEnum):
    """Privilege levels, ordered: a higher value is more power."""

    NONE = 0
    UNKNOWN = 1  # policies not collected: cannot tell
    GRANULAR = 2
    SENSITIVE_READ = 3
    READ_ALL = 4
    WRITE = 5
    POWER_USER = 6
    ADMINISTRATOR = 7

    @property
    def slug(self) -> str:
        return _SLUGS[self]


_SLUGS = {
    Level.NONE: "none",
    Level.UNKNOWN: "unknown",
    Level.GRANULAR: "granular",
    Level.SENSITIVE_READ: "sensitive-read",
    Level.READ_ALL: "read-only",
    Level.WRITE: "write",
    Level.POWER_USER: "power-user",
    Level.ADMINISTRATOR: "administrator",
}


@dataclasses.dataclass(frozen=True, slots=True)
class PrivilegeClass:
    """What a principal can do, in one level plus the facets that explain it."""

    level: Level
    write_services: tuple[str, ...] = ()
    sensitive_actions: tuple[str, ...] = ()
    reads_all: bool = False
    action_count: int = 0  # actions allowed on some resource

    @property
    def name(self) -> str:
        return self.level.slug

    @property
    def label(self) -> str:
        """Short words for the level: "read-only, all services", "write: s3, sqs"."""
        lvl = self.level
        if lvl is Level.ADMINISTRATOR:
            return "administrator"
        if lvl is Level.POWER_USER:
            return "power user (all but IAM/Organizations)"
        if lvl is Level.WRITE:
            shown = ", ".join(self.write_services[:8])
            more = f" (+{len(self.write_services) - 8})" if len(self.write_services) > 8 else ""
            return f"write: {shown}{more}"
        if lvl is Level.READ_ALL:
            return "read-only, all services"
        if lvl is Level.SENSITIVE_READ:
            return "read of sensitive data: " + ", ".join(self.sensitive_actions)
        if lvl is Level.GRANULAR:
            return f"granular ({self.action_count} actions)"
        if lvl is Level.UNKNOWN:
            return "unknown (policy documents not collected)"
        return "none"

    @property
    def detail(self) -> str:
        """The label plus the other facets ("write: s3; also read-only, all services")."""
        extra = []
        if self.level > Level.READ_ALL and self.level < Level.POWER_USER and self.reads_all:
            extra.append("read-only, all services")
        if self.level > Level.SENSITIVE_READ and self.sensitive_actions and self.level < Level.POWER_USER:
            extra.append("sensitive reads: " + ", ".join(self.sensitive_actions))
        return self.label + ("; also " + "; ".join(extra) if extra else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "level": self.name,
            "label": self.label,
            "detail": self.detail,
            "write_services": list(self.write_services),
            "sensitive_actions": list(self.sensitive_actions),
            "reads_all": self.reads_all,
            "action_count": self.action_count,
        }


NONE_CLASS = PrivilegeClass(Level.NONE)
UNKNOWN_CLASS = PrivilegeClass(Level.UNKNOWN)


class _Masks:
    """Masks the classifier needs, derived once from the universe."""

    def __init__(self, u: ActionUniverse) -> None:
        self.u = u
        self.iam = u.service_masks.get("iam", 0)
        admin_only = u.services_mask(ADMIN_ONLY_SERVICES)
        self.non_admin = u.all_mask & ~admin_only
        self.read_list = u.level_mask(READ, LIST)
        read_named = [i for i, a in enumerate(u.lower) if a.partition(":")[2].startswith(_READ_NAMES)]
        self.read_named = mask_from_indices(read_named, u.size)
        self.sensitive = [(a, u.bit(a)) for a in SENSITIVE_READ_ACTIONS if u.has(a)]
        # kms:Decrypt is a Write in AWS's reference but reads data: it counts as a sensitive read
        self.write_like = (
            u.level_mask(WRITE, PERMISSIONS, TAGGING)
            & ~self.read_named
            & ~u.service_masks.get("sts", 0)
            & ~u.mask_of_actions(SENSITIVE_READ_ACTIONS)
            & ~u.mask_of_actions(SESSION_ACTIONS)
        )
        self.all_count = u.all_mask.bit_count()
        self.iam_count = self.iam.bit_count()
        self.non_admin_count = self.non_admin.bit_count()
        self.read_list_count = self.read_list.bit_count()


@functools.cache
def _masks() -> _Masks:
    return _Masks(universe())


def _fraction(mask: int, of: int, count: int) -> float:
    return (mask & of).bit_count() / count if count else 0.0


@functools.lru_cache(maxsize=65536)
def classify(everywhere: int, anywhere: int) -> PrivilegeClass:
    """Classify effective permissions given as masks (everywhere ⊆ anywhere)."""
    m = _masks()
    anywhere |= everywhere
    if not anywhere:
        return NONE_CLASS
    total = anywhere.bit_count()
    sensitive = tuple(a for a, bit in m.sensitive if everywhere & bit)
    reads_all = _fraction(everywhere, m.read_list, m.read_list_count) >= READ_ALL_FRACTION
    writes = anywhere & m.write_like
    write_services = tuple(m.u.services_in(writes)) if writes else ()
    if (
        _fraction(everywhere, m.u.all_mask, m.all_count) >= ADMIN_FRACTION
        and _fraction(everywhere, m.iam, m.iam_count) >= ADMIN_FRACTION
    ):
        level = Level.ADMINISTRATOR
    elif _fraction(everywhere, m.non_admin, m.non_admin_count) >= POWER_FRACTION:
        level = Level.POWER_USER
    elif write_services:
        level = Level.WRITE
    elif reads_all:
        level = Level.READ_ALL
    elif sensitive:
        level = Level.SENSITIVE_READ
    else:
        level = Level.GRANULAR
    return PrivilegeClass(level, write_services, sensitive, reads_all, total)

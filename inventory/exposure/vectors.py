"""The ways in that are not network paths: a registry of finders the upper apps fill. No Django here.

The network analysis (:mod:`inventory.exposure.analysis`) finds what the internet can *connect* to.
A resource is just as open when a policy or an attribute lets anyone use it: a bucket policy or ACL,
a queue / topic / key / repository / secret / function policy, a snapshot or AMI shared with "all",
a role trusting ``*`` or an account outside the organisation. Deciding that means evaluating policy
documents, which the checks engine already does (``iam_audit.checks``); ``inventory`` sits below it
and never imports it. So, like :mod:`inventory.hooks`, this module is a small registry: the audit
app registers a :class:`Finder` in its ``AppConfig.ready()`` and the exposure service runs every
registered finder over an account's stored items, next to the network analysis, into the one
exposure model (:class:`~inventory.exposure.results.Exposure` with its ``vector``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from inventory.exposure.results import Exposure


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """What a finder needs besides the account's items.

    ``organisation`` holds the account ids inside the organisation (the registry's accounts); a
    trust naming any other account is a way in from outside.
    """

    account_id: str
    organisation: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True, slots=True)
class Finder:
    """``find(items, context)`` yields the exposures among ``items`` (of ``types``) of one account."""

    name: str
    types: tuple[str, ...]
    find: Callable[[Sequence[Any], Context], Iterable[Exposure]]


_FINDERS: dict[str, Finder] = {}


def register(finder: Finder) -> Finder:
    """Add (or replace, by name: ``ready()`` may run twice in tests) a finder."""
    _FINDERS[finder.name] = finder
    return finder


def finders() -> list[Finder]:
    return list(_FINDERS.values())


def finder_types() -> tuple[str, ...]:
    """Every resource type some registered finder reads (sorted, no duplicates)."""
    return tuple(sorted({t for f in _FINDERS.values() for t in f.types}))


def find_exposures(items: Sequence[Any], context: Context) -> list[Exposure]:
    """Every registered finder's exposures among ``items``, sorted like the network report."""
    out: list[Exposure] = []
    for finder in _FINDERS.values():
        wanted = frozenset(finder.types)
        out.extend(finder.find([i for i in items if getattr(i, "type", None) in wanted], context))
    out.sort(key=lambda x: (x.region, x.type, x.resource_id, x.arn, x.vector))
    return out


__all__ = ["Context", "Finder", "find_exposures", "finder_types", "finders", "register"]

"""Sets of (protocol, port) and the ranges people read. Pure Python, no Django.

Security-group and network-ACL rules speak in protocols (names or IANA numbers, ``-1`` for every
protocol) and port ranges (ICMP rules use the ICMP type instead of a port). Reachability is the
intersection of what every layer allows, and a network ACL is "first matching rule wins", which
needs subtraction. :class:`PortSet` is a small immutable algebra over those sets:

* ``rest`` says whether every protocol *not* listed in ``by`` is wholly included, so "all traffic"
  is ``PortSet(rest=True)`` and "all traffic except tcp/22" stays exact.
* ``by`` maps a protocol to sorted, disjoint, inclusive intervals. TCP/UDP intervals are ports
  (0-65535); ICMP/ICMPv6 intervals are ICMP *types* (0-255; the ICMP code is not modelled); any other
  protocol (ESP, GRE...) has no ports and is either fully in or out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]

ALL = "all"  # every IP protocol
OTHER = "other"  # every IP protocol not otherwise listed (only in PortRange output)

_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_PORTED = ("tcp", "udp")
_TYPED = ("icmp", "icmpv6")
# Protocols spelled out in readable output when a set covers "every protocol but ...".
_COMMON = ("tcp", "udp", "icmp", "icmpv6")


def normalise_protocol(value: Any) -> str | None:
    """``"-1"``/``-1``/``"all"`` -> ``"all"``; ``"6"``/``"tcp"`` -> ``"tcp"``; other numbers kept.

    Returns None for something that is not a protocol at all (the caller skips the rule).
    """
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().lower()
    if text in ("-1", "all"):
        return ALL
    if text in _PORTED or text in _TYPED:
        return text
    if text.isdigit():
        number = int(text)
        if 0 <= number <= 255:
            return _NAMES.get(str(number), str(number))
    return None


def full_interval(protocol: str) -> Interval:
    """The whole value space of one protocol."""
    if protocol in _TYPED:
        return (0, 255)
    if protocol in _PORTED:
        return (0, 65535)
    return (0, 0)  # a protocol without ports: one point, present or absent


def _merge(intervals: Iterable[Interval]) -> Intervals:
    ordered = sorted(intervals)
    out: list[list[int]] = []
    for lo, hi in ordered:
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: Intervals, space: Interval) -> Intervals:
    out: list[Interval] = []
    cursor = space[0]
    for lo, hi in a:
        if lo > cursor:
            out.append((cursor, lo - 1))
        cursor = max(cursor, hi + 1)
    if cursor <= space[1]:
        out.append((cursor, space[1]))
    return tuple(out)


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class PortRange:
    """One readable range: ``protocol`` is tcp, udp, icmp, icmpv6, an IANA number, ``all`` or ``other``.

    For ICMP the numbers are ICMP types (0-255 means every type). ``all`` and ``other`` (every
    protocol not listed beside it) carry 0-65535.
    """

    protocol: str
    from_port: int
    to_port: int

    def __str__(self) -> str:
        if self.protocol == ALL:
            return "all traffic"
        if self.protocol == OTHER:
            return "other protocols"
        if self.protocol in _TYPED:
            if (self.from_port, self.to_port) == (0, 255):
                return self.protocol
            if self.from_port == self.to_port:
                return f"{self.protocol} type {self.from_port}"
            return f"{self.protocol} types {self.from_port}-{self.to_port}"
        if self.protocol not in _PORTED:
            return f"protocol {self.protocol}"
        if self.from_port == self.to_port:
            return f"{self.protocol}/{self.from_port}"
        return f"{self.protocol}/{self.from_port}-{self.to_port}"

    def as_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "from_port": self.from_port, "to_port": self.to_port}


class PortSet:
    """An immutable set of (protocol, port) pairs; see the module docstring."""

    __slots__ = ("rest", "by", "_hash")

    rest: bool
    by: Mapping[str, Intervals]
    _hash: int

    def __init__(self, rest: bool = False, by: Mapping[str, Iterable[Interval]] | None = None) -> None:
        normal: dict[str, Intervals] = {}
        for proto, intervals in (by or {}).items():
            space = full_interval(proto)
            clipped = [
                (max(lo, space[0]), min(hi, space[1]))
                for lo, hi in intervals
                if hi >= space[0] and lo <= space[1]
            ]
            merged = _merge((lo, hi) for lo, hi in clipped if lo <= hi)
            # Store only what differs from the default implied by ``rest``.
            if rest and merged == (space,):
                continue
            if not rest and not merged:
                continue
            normal[proto] = merged
        object.__setattr__(self, "rest", bool(rest))
        object.__setattr__(self, "by", dict(sorted(normal.items())))
        object.__setattr__(self, "_hash", hash((self.rest, tuple(self.by.items()))))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PortSet is immutable")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def all(cls) -> PortSet:
        return _ALL

    @classmethod
    def empty(cls) -> PortSet:
        return _EMPTY

    @classmethod
    def of(cls, protocol: str, lo: int | None = None, hi: int | None = None) -> PortSet:
        """One protocol, optionally one range of it (``None`` bounds mean the whole protocol)."""
        if protocol == ALL:
            return cls.all()
        space = full_interval(protocol)
        low = space[0] if lo is None else lo
        high = space[1] if hi is None else hi
        if low > high:
            low, high = high, low
        return cls(by={protocol: [(low, high)]})

    # ------------------------------------------------------------------ algebra
    def _get(self, protocol: str) -> Intervals:
        if protocol in self.by:
            return self.by[protocol]
        return (full_interval(protocol),) if self.rest else ()

    def _combine(
        self, other: PortSet, rest: bool, op: Callable[[Intervals, Intervals, Interval], Intervals]
    ) -> PortSet:
        keys = set(self.by) | set(other.by)
        return PortSet(rest=rest, by={p: op(self._get(p), other._get(p), full_interval(p)) for p in keys})

    # The fast paths matter: an account's analysis makes tens of thousands of these operations,
    # most of them with an empty, a full or an identical operand.
    def union(self, other: PortSet) -> PortSet:
        if other.is_empty or self is other or self.is_all:
            return self
        if self.is_empty or other.is_all:
            return other
        if self == other:
            return self
        return self._combine(other, self.rest or other.rest, lambda a, b, _s: _merge(a + b))

    def intersect(self, other: PortSet) -> PortSet:
        if self.is_empty or other.is_all or self is other:
            return self
        if other.is_empty or self.is_all:
            return other
        if self == other:
            return self
        return self._combine(other, self.rest and other.rest, lambda a, b, _s: _intersect(a, b))

    def subtract(self, other: PortSet) -> PortSet:
        if self.is_empty or other.is_empty:
            return self
        if other.is_all or self == other:
            return _EMPTY
        return self._combine(
            other, self.rest and not other.rest, lambda a, b, s: _intersect(a, _complement(b, s))
        )

    __or__ = union
    __and__ = intersect
    __sub__ = subtract

    @property
    def is_empty(self) -> bool:
        return not self.rest and not self.by

    @property
    def is_all(self) -> bool:
        return self.rest and not self.by

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return (
            isinstance(other, PortSet)
            and self._hash == other._hash
            and self.rest == other.rest
            and self.by == other.by
        )

    def __bool__(self) -> bool:
        return not self.is_empty

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"PortSet({self.label()!r})"

    def contains(self, protocol: str, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self._get(protocol))

    # ------------------------------------------------------------------ output
    def ranges(self) -> list[PortRange]:
        """Readable ranges, tcp/udp/icmp first. An exact cover of the set (see module docstring)."""
        if self.is_all:
            return [PortRange(ALL, 0, 65535)]
        out: list[PortRange] = []
        protocols = list(self.by)
        if self.rest:
            protocols += [p for p in _COMMON if p not in self.by]
        order = {p: i for i, p in enumerate(_COMMON)}
        for proto in sorted(set(protocols), key=lambda p: (order.get(p, 99), p.zfill(3))):
            for lo, hi in self._get(proto):
                if proto not in _PORTED and proto not in _TYPED:
                    out.append(PortRange(proto, 0, 0))
                else:
                    out.append(PortRange(proto, lo, hi))
        if self.rest:
            out.append(PortRange(OTHER, 0, 65535))
        return out

    def label(self, limit: int = 6) -> str:
        """A short label for a map edge or a table cell: ``tcp/22, tcp/443``."""
        parts = [str(r) for r in self.ranges()]
        if not parts:
            return "none"
        if len(parts) > limit:
            return ", ".join(parts[:limit]) + f" (+{len(parts) - limit} more)"
        return ", ".join(parts)


_ALL = PortSet(rest=True)
_EMPTY = PortSet()


def union_all(sets: Iterable[PortSet]) -> PortSet:
    """The union of many sets (empty for none)."""
    result = PortSet.empty()
    for s in sets:
        result = result | s
    return result

"""The (protocol, port) set algebra the analysis is built on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inventory.exposure.ports import PortRange, PortSet, normalise_protocol


def test_protocol_names_and_numbers_normalise_to_one_spelling() -> None:
    assert normalise_protocol("6") == "tcp"
    assert normalise_protocol("TCP") == "tcp"
    assert normalise_protocol(17) == "udp"
    assert normalise_protocol("-1") == "all"
    assert normalise_protocol(-1) == "all"
    assert normalise_protocol("58") == "icmpv6"
    assert normalise_protocol("50") == "50"
    assert normalise_protocol("banana") is None
    assert normalise_protocol(None) is None
    assert normalise_protocol("300") is None


def test_all_traffic_minus_one_port_keeps_every_other_protocol() -> None:
    rest = PortSet.all() - PortSet.of("tcp", 22, 22)
    assert not rest.contains("tcp", 22)
    assert rest.contains("tcp", 21) and rest.contains("tcp", 23)
    assert rest.contains("udp", 22)
    assert rest.contains("50", 0)
    assert rest.ranges()[:2] == [PortRange("tcp", 0, 21), PortRange("tcp", 23, 65535)]
    assert rest.ranges()[-1] == PortRange("other", 0, 65535)


def test_adjacent_ranges_merge_and_labels_read_well() -> None:
    merged = PortSet.of("tcp", 80, 80) | PortSet.of("tcp", 81, 90) | PortSet.of("tcp", 443, 443)
    assert merged.ranges() == [PortRange("tcp", 80, 90), PortRange("tcp", 443, 443)]
    assert merged.label() == "tcp/80-90, tcp/443"
    assert PortSet.all().label() == "all traffic"
    assert PortSet.of("icmp").label() == "icmp"
    assert PortSet.of("icmp", 8, 8).label() == "icmp type 8"


def test_intersection_of_disjoint_sets_is_empty_and_falsy() -> None:
    assert not (PortSet.of("tcp", 22, 22) & PortSet.of("tcp", 443, 443))
    assert not (PortSet.of("tcp") & PortSet.of("udp"))
    assert (PortSet.of("tcp", 1, 1000) & PortSet.of("tcp", 443, 5000)) == PortSet.of("tcp", 443, 1000)


def test_out_of_range_and_reversed_bounds_are_clipped_not_crashing() -> None:
    assert PortSet.of("tcp", 70000, 80000).is_empty
    assert PortSet.of("tcp", 90, 80) == PortSet.of("tcp", 80, 90)


_proto = st.sampled_from(["tcp", "udp", "icmp", "50"])


def _union(sets: object) -> PortSet:
    out = PortSet.empty()
    for s in sets:  # type: ignore[attr-defined]
        out = out | s
    return out


_sets = st.lists(st.tuples(_proto, st.integers(0, 65535), st.integers(0, 65535)), max_size=4).map(
    lambda parts: _union(PortSet.of(p, min(a, b), max(a, b)) for p, a, b in parts)
)


@given(_sets, _sets, st.booleans(), st.booleans())
def test_set_laws_hold(a: PortSet, b: PortSet, a_all: bool, b_all: bool) -> None:
    if a_all:
        a = PortSet.all() - a
    if b_all:
        b = PortSet.all() - b
    assert (a - b) | (a & b) == a
    assert not ((a - b) & b)
    assert (a | b) - b == a - b
    assert a & b == b & a

"""Security-group and network-ACL rule analysis for "open to the internet". No Django.

"The internet" is a CIDR of prefix length 0 (``0.0.0.0/0`` or ``::/0``), directly or inside a
customer-managed prefix list. Protocol ``-1`` means every protocol and every port. Network ACLs are
evaluated as AWS does: ingress entries in rule-number order, first match wins, so a deny placed
before an allow closes the port — this module tracks which part of the address space earlier rules
already decided, so a narrow deny in front of ``allow 0.0.0.0/0`` does not close the port for
everyone else. Whether anything reachable sits behind a rule is the exposure analysis' business
(inventory/exposure/), not this module's.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from iam_audit.checks.common import as_dict, dicts, to_int, truthy
from inventory.exposure.ports import ALL, normalise_protocol

INTERNET_V4 = "0.0.0.0/0"
INTERNET_V6 = "::/0"
ADMIN_PORTS: dict[int, str] = {22: "SSH", 3389: "RDP"}
# (port, protocol) pairs for remote administration that CIS names: SSH, RDP (RDP also speaks UDP)
ADMIN_PORT_PROTOCOLS: tuple[tuple[int, str], ...] = ((22, "tcp"), (3389, "tcp"), (3389, "udp"))
DB_PORTS: dict[int, str] = {
    1433: "SQL Server",
    1521: "Oracle",
    2483: "Oracle (TCPS)",
    3306: "MySQL/MariaDB",
    5432: "PostgreSQL",
    5439: "Redshift",
    5984: "CouchDB",
    6379: "Redis",
    7000: "Cassandra",
    9042: "Cassandra (CQL)",
    9200: "Elasticsearch/OpenSearch",
    9300: "Elasticsearch (transport)",
    11211: "Memcached",
    27017: "MongoDB",
    50000: "DB2",
}
_MAX_NACL_ENTRIES = 500


def _network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(cidr, str):
        return None
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def is_internet(cidr: Any) -> bool:
    """``0.0.0.0/0`` or ``::/0`` (any spelling of a /0)."""
    net = _network(cidr)
    return net is not None and net.prefixlen == 0


def _ports(protocol: str, from_port: Any, to_port: Any) -> tuple[int, int]:
    """The port interval a rule covers; the whole range for "all" and for missing / -1 ports."""
    if protocol == ALL:
        return (0, 65535)
    lo, hi = to_int(from_port, None), to_int(to_port, None)
    if protocol in ("tcp", "udp"):
        if lo is None or hi is None or lo < 0 or hi < 0:
            return (0, 65535)
        return (min(lo, hi), max(lo, hi))
    return (-1, -1)  # ICMP types and port-less protocols: no TCP/UDP port


@dataclasses.dataclass(frozen=True, slots=True)
class SgRule:
    """One security-group ingress grant from the internet (one CIDR of one permission)."""

    protocol: str
    from_port: int
    to_port: int
    source: str  # the CIDR
    prefix_list: str = ""  # the prefix-list id when the CIDR came from one
    description: str = ""
    permission: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def covers(self, port: int, protocol: str = "tcp") -> bool:
        """The rule admits ``protocol``/``port``."""
        if self.protocol == ALL:
            return True
        return self.protocol == protocol and self.from_port <= port <= self.to_port

    @property
    def all_ports(self) -> bool:
        """Every protocol, or every TCP or UDP port."""
        return self.protocol == ALL or (
            self.protocol in ("tcp", "udp") and self.from_port <= 1 and self.to_port >= 65535
        )

    def describe(self) -> str:
        """``"tcp 20-25 from 0.0.0.0/0"`` / ``"all traffic from ::/0"``."""
        where = self.source + (f" (prefix list {self.prefix_list})" if self.prefix_list else "")
        if self.protocol == ALL:
            return f"all traffic from {where}"
        if self.protocol in ("tcp", "udp"):
            ports = (
                str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
            )
            return f"{self.protocol} {ports} from {where}"
        return f"protocol {self.protocol} from {where}"

    def evidence(self) -> dict[str, Any]:
        """The rule as it reads in the console, plus the permission exactly as AWS returned it."""
        return {
            "protocol": self.protocol,
            "from_port": self.from_port if self.protocol != ALL else None,
            "to_port": self.to_port if self.protocol != ALL else None,
            "cidr": self.source,
            "prefix_list": self.prefix_list or None,
            "description": self.description,
            "rule": self.describe(),
            "permission": dict(self.permission),
        }


def prefix_list_cidrs(items: Iterable[Any]) -> dict[str, list[str]]:
    """``{prefix-list id: [cidr, ...]}`` from ``ec2:managed-prefix-list`` items."""
    out: dict[str, list[str]] = {}
    for item in items:
        data = as_dict(getattr(item, "data", None))
        pl_id = data.get("PrefixListId") or getattr(item, "resource_id", "")
        if isinstance(pl_id, str) and pl_id:
            out[pl_id] = [str(e.get("Cidr")) for e in dicts(data.get("Entries")) if e.get("Cidr")]
    return out


def internet_ingress(
    sg: Mapping[str, Any], prefix_lists: Mapping[str, list[str]] | None = None
) -> list[SgRule]:
    """Every ingress grant of security group ``sg`` (a describe_security_groups item) that admits
    the internet, one :class:`SgRule` per (permission, internet CIDR)."""
    rules: list[SgRule] = []
    for perm in dicts(as_dict(sg).get("IpPermissions")):
        protocol = normalise_protocol(perm.get("IpProtocol"))
        if protocol is None:
            continue
        lo, hi = _ports(protocol, perm.get("FromPort"), perm.get("ToPort"))
        slim = {k: v for k, v in perm.items() if k != "UserIdGroupPairs"}
        sources: list[tuple[str, Any, str]] = []  # (cidr, description, prefix-list id)
        sources += [(str(r.get("CidrIp")), r.get("Description"), "") for r in dicts(perm.get("IpRanges"))]
        sources += [(str(r.get("CidrIpv6")), r.get("Description"), "") for r in dicts(perm.get("Ipv6Ranges"))]
        for r in dicts(perm.get("PrefixListIds")):
            pl = r.get("PrefixListId")
            if isinstance(pl, str):
                sources += [(cidr, r.get("Description"), pl) for cidr in (prefix_lists or {}).get(pl, [])]
        for cidr, description, pl in sources:
            if is_internet(cidr):
                desc = description if isinstance(description, str) else ""
                rules.append(SgRule(protocol, lo, hi, cidr, pl, desc, slim))
    return rules


def rules_on_ports(
    rules: Iterable[SgRule], ports: Iterable[tuple[int, str]]
) -> list[tuple[SgRule, int, str]]:
    """(rule, port, protocol) for every rule covering one of ``ports``."""
    return [(r, port, proto) for r in rules for port, proto in ports if r.covers(port, proto)]


# ----------------------------------------------------------------------------------- network ACLs
@dataclasses.dataclass(frozen=True, slots=True)
class NaclEntry:
    """One network-ACL entry."""

    rule_number: int
    protocol: str
    allow: bool
    egress: bool
    cidr: str
    from_port: int
    to_port: int
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def matches(self, port: int, protocol: str) -> bool:
        """The entry applies to ``protocol``/``port`` traffic."""
        if self.protocol == ALL:
            return True
        return self.protocol == protocol and self.from_port <= port <= self.to_port

    def describe(self) -> str:
        """``"#100 allow tcp 22 from 0.0.0.0/0"``."""
        what = (
            "all traffic"
            if self.protocol == ALL
            else (
                f"{self.protocol} {self.from_port}-{self.to_port}"
                if self.protocol in ("tcp", "udp")
                else f"protocol {self.protocol}"
            )
        )
        return f"#{self.rule_number} {'allow' if self.allow else 'deny'} {what} from {self.cidr}"


def nacl_entries(nacl: Mapping[str, Any]) -> list[NaclEntry]:
    """The entries of a describe_network_acls item, sorted by rule number (bad ones skipped)."""
    out: list[NaclEntry] = []
    for e in dicts(as_dict(nacl).get("Entries"))[:_MAX_NACL_ENTRIES]:
        protocol = normalise_protocol(e.get("Protocol"))
        number = to_int(e.get("RuleNumber"), None)
        cidr = e.get("CidrBlock") or e.get("Ipv6CidrBlock")
        action = str(e.get("RuleAction", "")).strip().lower()
        if protocol is None or number is None or _network(cidr) is None or action not in ("allow", "deny"):
            continue
        pr = as_dict(e.get("PortRange"))
        lo, hi = _ports(protocol, pr.get("From"), pr.get("To"))
        out.append(
            NaclEntry(number, protocol, action == "allow", truthy(e.get("Egress")), str(cidr), lo, hi, e)
        )
    return sorted(out, key=lambda x: (x.egress, x.rule_number))


@dataclasses.dataclass(frozen=True, slots=True)
class NaclVerdict:
    """Whether some internet address reaches ``port`` through the ACL, and which entry decided."""

    open: bool
    port: int
    protocol: str
    family: int
    deciding: NaclEntry | None
    earlier: tuple[NaclEntry, ...] = ()  # narrower entries that decided part of the space before

    def evidence(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "protocol": self.protocol,
            "ip_version": self.family,
            "open": self.open,
            "deciding_entry": self.deciding.describe() if self.deciding else "no entry: implicit deny",
            "entry": dict(self.deciding.raw) if self.deciding else None,
            "earlier_entries": [e.describe() for e in self.earlier],
        }


def _subtract(space: list[Any], net: Any) -> list[Any]:
    # CIDR blocks are either nested or disjoint, so exclusion is exact and stays small.
    out = []
    for s in space:
        if s.subnet_of(net):
            continue
        if net.subnet_of(s):
            out.extend(s.address_exclude(net))
        else:
            out.append(s)
    return out


def nacl_internet_ingress(
    entries: Iterable[NaclEntry], port: int, protocol: str = "tcp", family: int = 4
) -> NaclVerdict:
    """Evaluate inbound ``protocol``/``port`` from the internet (IPv4 or IPv6) through the ACL.

    Open means: an ``allow`` entry for the whole internet (/0) is reached by some address that no
    earlier matching entry decided. An allow for a narrower CIDR is a restricted grant, not "from
    the internet"; a deny for part of the space only closes that part.
    """
    everything = ipaddress.ip_network(INTERNET_V4 if family == 4 else INTERNET_V6)
    undecided: list[Any] = [everything]
    earlier: list[NaclEntry] = []
    for entry in entries:
        net = _network(entry.cidr)
        if entry.egress or net is None or net.version != family or not entry.matches(port, protocol):
            continue
        if net.prefixlen == 0:
            # whole-internet entry: it decides every address still undecided (never empty here)
            return NaclVerdict(entry.allow, port, protocol, family, entry, tuple(earlier))
        undecided = _subtract(undecided, net)
        earlier.append(entry)
        if not undecided:
            return NaclVerdict(False, port, protocol, family, entry, tuple(earlier))
    return NaclVerdict(False, port, protocol, family, None, tuple(earlier))

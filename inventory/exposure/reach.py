"""Evaluate network ACLs and security groups for a set of sources. Pure Python, no Django.

A network ACL is an ordered list: the lowest-numbered rule that matches a packet decides it, and a
packet no rule matches is denied (the ``*`` rule). Sources are (network, ports) regions; a rule whose
range lies strictly inside a region splits it, so the answer stays exact per address range rather
than "0.0.0.0/0 is allowed because some /32 is".

ACLs are stateless: a reply also has to pass the ACL in the other direction on the client's
ephemeral port (1024-65535). That is *not* modelled here: an ACL that allows inbound 443 but blocks
outbound ephemeral ports breaks the connection, yet we still report 443 as reachable. This errs
toward reporting exposure, which is the safe side for a security view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inventory.exposure.ports import PortSet
from inventory.exposure.topology import AclEntry, Network, SecurityGroup, overlaps

# Beyond this many pieces, stop splitting and treat what is left as allowed (the safe side).
SPLIT_CAP = 4096

Region = tuple[Network, PortSet]


def acl_filter(
    entries: Sequence[AclEntry], sources: Iterable[Region], cap: int = SPLIT_CAP
) -> tuple[list[tuple[Network, PortSet, AclEntry | None]], bool]:
    """What of ``sources`` the ordered ``entries`` (one direction) allow.

    Returns ``(allowed, capped)``: each allowed piece with the entry that allowed it (None when the
    evaluation was cut short at ``cap`` pieces and the rest assumed allowed, then ``capped`` is True).
    """
    pending: list[Region] = [(n, p) for n, p in sources if p]
    allowed: list[tuple[Network, PortSet, AclEntry | None]] = []
    for entry in entries:
        if not pending:
            break
        nxt: list[Region] = []
        for net, remaining in pending:
            if not overlaps(net, entry.network):
                nxt.append((net, remaining))
                continue
            hit = remaining & entry.ports
            if not hit:
                nxt.append((net, remaining))
                continue
            if net.subnet_of(entry.network):  # type: ignore[arg-type]
                inside = net
            else:
                # The rule covers part of this range: decide that part, leave the others for later rules.
                inside = entry.network
                nxt.extend((piece, remaining) for piece in net.address_exclude(entry.network))  # type: ignore[arg-type]
            if entry.allow:
                allowed.append((inside, hit, entry))
            left = remaining - entry.ports
            if left:
                nxt.append((inside, left))
        pending = nxt
        if len(pending) > cap:
            allowed.extend((n, p, None) for n, p in pending)
            return allowed, True
    return allowed, False


def acl_allowed_ports(entries: Sequence[AclEntry], sources: Iterable[Region]) -> PortSet:
    """The union of ports the entries allow from any of ``sources``."""
    allowed, _capped = acl_filter(entries, sources)
    result = PortSet.empty()
    for _net, ports, _entry in allowed:
        result = result | ports
    return result


def egress_allowed(
    groups: Sequence[SecurityGroup], dst_groups: Iterable[str], dst_nets: Sequence[Network]
) -> PortSet:
    """Ports the source's security groups let out toward a destination (its groups and ranges).

    With no known group (data not collected) the answer is "everything": AWS's default egress rule
    allows all, and an unknown must not hide a path.
    """
    if not groups:
        return PortSet.all()
    targets = set(dst_groups)
    result = PortSet.empty()
    for group in groups:
        for rule in group.egress:
            if targets.intersection(rule.group_refs):
                result = result | rule.ports
                continue
            if not dst_nets and rule.cidrs:
                result = result | rule.ports
                continue
            if any(overlaps(c, d) for c in rule.cidrs for d in dst_nets):
                result = result | rule.ports
    return result

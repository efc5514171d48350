"""Assume edges: for every caller, the roles it can assume (its identity policy, boundary and SCPs
allow sts:AssumeRole and the role's trust names it), federated and service edges, and the
edges an SCP blocks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from iam_audit.graph.nodes import (
    ASSUME_ROLE,
    FEDERATED_ACTIONS,
    AssumeEdge,
    Hop,
    PolicyRef,
    Principal,
    _where,
)
from iam_audit.graph.trust import GraphTrust
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import evaluate, resolve_conditions
from iam_audit.policy.match import arn_matches
from iam_audit.policy.model import (
    Statement,
)


class GraphEdges(GraphTrust):
    """Assume edges: the roles each caller can assume, and the edges an SCP blocks."""

    # ------------------------------------------------------------------ edges
    def _candidates(self, caller: Principal) -> set[str]:
        found: set[str] = set()
        found |= self._trust_by_arn.get(caller.arn, set())
        if caller.unique_id:
            found |= self._trust_by_id.get(caller.unique_id, set())
        if caller.kind == "role":
            found |= self._trust_by_session.get((caller.account_id, caller.name), set())
        found |= self._trust_by_account.get(caller.account_id, set())
        found |= self._trust_anyone
        found.discard(caller.arn)
        return found

    def _allowed_by_patterns(self, caller: Principal, arns: Iterable[str]) -> set[str]:
        if not caller.can_assume:
            return set()
        patterns = caller.assume_patterns
        if patterns is None or "*" in patterns:
            return set(arns)
        return {arn for arn in arns if any(arn_matches(p, arn) for p in patterns)}

    def _assume_candidates(self, caller: Principal) -> set[str]:
        """Roles worth a full evaluation for a user or role caller (a superset of the reachable ones)."""
        same = caller.account_id
        # the part shared by every caller of the account with the same assume patterns (thousands
        # of users in the same groups) is filtered once
        key = (same, caller.can_assume, caller.assume_patterns)
        shared = self._prefilter_cache.get(key)
        if shared is None:
            pool = self._trust_by_account.get(same, set()) | self._trust_anyone
            shared = self._allowed_by_patterns(caller, pool)
            shared |= {a for a in self._trust_anyone if self.principals[a].account_id == same}
            self._prefilter_cache[key] = shared
        specific = set(self._trust_by_arn.get(caller.arn, ()))
        if caller.unique_id:
            specific |= self._trust_by_id.get(caller.unique_id, set())
        if caller.kind == "role":
            specific |= self._trust_by_session.get((same, caller.name), set())
        if not specific:
            return shared - {caller.arn}
        named_here = {a for a in specific if self.principals[a].account_id == same}
        out = shared | named_here | self._allowed_by_patterns(caller, specific - named_here)
        out.discard(caller.arn)
        return out

    def _edge(self, caller: Principal, role: Principal) -> AssumeEdge | None:
        trust = self._trust_for(role, caller)
        if trust is None:
            return None
        # callers with the same policies share edges (and their hop objects): thousands of users
        # in the same groups would otherwise each hold a copy
        key = (caller.sig, caller.kind, role.arn, id(trust))
        if caller.kind in ("user", "role") and key in self._edge_cache:
            return self._edge_cache[key]
        edge = self._edge_uncached(caller, role, trust)
        if caller.kind in ("user", "role"):
            self._edge_cache[key] = edge
        return edge

    def _edge_uncached(
        self, caller: Principal, role: Principal, trust: tuple[Statement, bool, tuple[Requirement, ...]]
    ) -> AssumeEdge | None:
        trust_stmt, direct, trust_reqs = trust
        same_account = caller.account_id == role.account_id
        assume_hop = self._assume_hop(role, trust_stmt)
        if caller.kind == "account" and self._scp_applies(caller.account_id):
            # whoever the account authorises, its SCPs must let them call sts:AssumeRole
            denied_by, scp_reqs, reason, scps = self._guards(caller, ASSUME_ROLE, role.arn, False)
            if scps:
                return AssumeEdge(role.arn, (assume_hop,), trust_reqs, direct, scps)
            if denied_by is not None or reason:
                return None
            return AssumeEdge(role.arn, (assume_hop,), tuple(dict.fromkeys((*trust_reqs, *scp_reqs))), direct)
        if caller.kind in ("external", "account", "anyone", "federated", "service"):
            # we cannot see these callers' policies: the trust decides
            return AssumeEdge(role.arn, (assume_hop,), trust_reqs, direct)
        decision = self.decide(caller, ASSUME_ROLE, role.arn)
        if not decision.allowed and not decision.scps:
            if not (same_account and direct) or decision.denied_by is not None:
                return None
            # the trust names the caller: identity policies are not needed, but SCPs and (for a
            # role) the boundary still are
            ev = evaluate(caller.entries, ASSUME_ROLE, role.arn, caller.context, _where)
            decision = self._combine(caller, ev, ASSUME_ROLE, role.arn, identity_needed=False)
            if not decision.allowed and not decision.scps:
                return None
        hops: list[Hop] = []
        m = decision.allow if decision.allowed else decision.would_allow
        if m is not None and isinstance(m.source, PolicyRef):
            ref: PolicyRef = m.source
            if ref.via_group_arn:
                hops.append(Hop("group", ref.via_group_arn, ref.via_group_name, caller.account_id))
            hops.append(Hop("policy", ref.arn, ref.name, caller.account_id, ref.name, ref.kind))
            st = m.statement
            hops.append(
                Hop(
                    "statement",
                    ref.arn,
                    st.label,
                    caller.account_id,
                    ref.name,
                    ref.kind,
                    st.sid,
                    st.index,
                    st.raw,
                )
            )
        hops.append(assume_hop)
        reqs = tuple(dict.fromkeys((*decision.requirements, *trust_reqs)))
        return AssumeEdge(role.arn, tuple(hops), reqs, direct, () if decision.allowed else decision.scps)

    def _assume_hop(self, role: Principal, st: Statement) -> Hop:
        return Hop(
            "assume",
            role.arn,
            role.name,
            role.account_id,
            "trust policy",
            "trust",
            st.sid,
            st.index,
            st.raw,
            self.org.environment(role.account_id),
        )

    def _edges_of(self, caller: Principal) -> list[AssumeEdge]:
        cached = self.edges.get(caller.arn)
        if cached is not None:
            return cached
        out: list[AssumeEdge] = []
        if caller.kind in ("user", "role"):
            # a role is reachable when the caller's identity policies allow assuming it, or (same
            # account only) when its trust names the caller itself: filter by both before the full
            # evaluation, which is what costs
            candidates = self._assume_candidates(caller)
        elif caller.kind == "federated":
            candidates = set(self._federated_roles.get(caller.arn, ()))
        elif caller.kind == "service":
            candidates = set(self._service_roles.get(caller.name, ()))
        elif caller.account_id in self.estate.accounts:
            # the root of a collected account: only trusts naming the account (its users and roles
            # are sources of their own for everything else)
            candidates = set(self._trust_by_account.get(caller.account_id, ()))
        else:
            candidates = self._candidates(caller)
        for arn in sorted(candidates):
            role = self.principals.get(arn)
            if role is None or role.kind != "role":
                continue
            if caller.kind == "federated":
                edge = self._federated_edge(caller, role)
            elif caller.kind == "service":
                edge = self._service_edge(caller, role)
            else:
                edge = self._edge(caller, role)
            if edge is None:
                continue
            if edge.blocked_by:
                self.blocked_edges.setdefault(caller.arn, []).append(edge)
            else:
                out.append(edge)
        self.edges[caller.arn] = out
        return out

    def _federated_edge(self, provider: Principal, role: Principal) -> AssumeEdge | None:
        for st in role.trust.statements if role.trust else ():
            if not st.is_allow or not any(st.matches_action(a) for a in FEDERATED_ACTIONS):
                continue
            if any(r.kind == "federated" and r.value == provider.arn for r in st.principals):
                applies, reqs = resolve_conditions(st, {}, f"trust policy {st.label}")
                if not applies:
                    continue
                hop = self._assume_hop(role, st)
                return AssumeEdge(role.arn, (hop,), reqs, True)
        return None

    def _service_edge(self, service: Principal, role: Principal) -> AssumeEdge | None:
        for st in role.trust.statements if role.trust else ():
            if not st.is_allow or not st.matches_action(ASSUME_ROLE):
                continue
            if any(r.kind == "service" and r.value == service.name for r in st.principals):
                applies, reqs = resolve_conditions(st, {}, f"trust policy {st.label}")
                if not applies:
                    continue
                hop = self._assume_hop(role, st)
                return AssumeEdge(role.arn, (hop,), reqs, True)
        return None

    def _compute_edges(self) -> None:
        self._federated_roles: dict[str, list[str]] = defaultdict(list)
        self._service_roles: dict[str, list[str]] = defaultdict(list)
        for role in [p for p in self.principals.values() if p.kind == "role"]:
            for st in role.trust.statements if role.trust else ():
                if not st.is_allow:
                    continue
                for ref in st.principals:
                    if ref.kind == "federated":
                        self._federated_roles[ref.value].append(role.arn)
                    elif ref.kind == "service":
                        self._service_roles[ref.value].append(role.arn)
        if self.include_service_paths:
            for service in sorted(self._service_roles):
                arn = f"service:{service}"
                if arn not in self.principals:
                    p = Principal(arn, "service", service, "", inside=True)
                    self._prepare(p)
                    self.principals[arn] = p
        if self._trust_anyone and "*" not in self.principals:
            p = Principal("*", "anyone", "anyone (*)", "", inside=False)
            self._prepare(p)
            self.principals["*"] = p
        for arn in sorted(self.principals):
            p = self.principals[arn]
            if p.kind != "group":
                self._edges_of(p)
        # role -> users and roles that may assume it today (the holders listed under an account root)
        self._assumers: dict[str, list[str]] = defaultdict(list)
        for arn in sorted(self.edges):
            if self.principals[arn].kind in ("user", "role"):
                for edge in self.edges[arn]:
                    self._assumers[edge.role_arn].append(arn)

    def holders(self, account_id: str, role_arn: str) -> tuple[str, ...] | None:
        """Principals of ``account_id`` allowed sts:AssumeRole on ``role_arn`` today (None: not collected)."""
        if account_id not in self.estate.accounts:
            return None
        return tuple(
            a for a in self._assumers.get(role_arn, ()) if self.principals[a].account_id == account_id
        )

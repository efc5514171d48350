"""What a principal may do: SCP levels, effective permissions as action masks, privilege classes,
and the decision for one request (identity policies, boundary, SCPs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from iam_audit.graph.actions import universe
from iam_audit.graph.classify import NONE_CLASS, UNKNOWN_CLASS, PrivilegeClass, classify
from iam_audit.graph.model import ScpPolicy
from iam_audit.graph.nodes import (
    Decision,
    Effective,
    PolicyRef,
    Principal,
    _everywhere_mask,
    _principal_specific,
    _statement_mask,
    _where,
)
from iam_audit.graph.state import GraphState
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.evaluate import Evaluation, Match, evaluate, resolve_conditions
from iam_audit.policy.model import (
    ALLOW,
    DENY,
    Statement,
    load_document,
    parse_policy,
)


class GraphDecisions(GraphState):
    """What a principal may do: SCP levels, effective permissions, privilege, one request's decision."""

    # ------------------------------------------------------------------ SCPs
    def _scp_principal_specific(self, account_id: str) -> bool:
        """Some SCP over the account decides by who the caller is (a principal key or a variable)."""
        cached = self._scp_specific.get(account_id)
        if cached is None:
            cached = any(_principal_specific(st) for level in self._scp_levels(account_id) for _, st in level)
            self._scp_specific[account_id] = cached
        return cached

    def _scp_applies(self, account_id: str) -> bool:
        return account_id in self.org.scps and account_id != self.org.management_account_id

    def _scp_levels(self, account_id: str) -> tuple[tuple[tuple[PolicyRef, Statement], ...], ...]:
        if not self._scp_applies(account_id):
            return ()
        levels = self._scp_entries.get(account_id)
        if levels is None:
            built = []
            for level in self.org.scps[account_id]:
                entries: list[tuple[PolicyRef, Statement]] = []
                for scp in level:
                    ref = self._scp_ref(account_id, scp)
                    if ref.doc is not None:
                        entries.extend((ref, st) for st in ref.doc.statements)
                built.append(tuple(entries))
            levels = tuple(built)
            self._scp_entries[account_id] = levels
        return levels

    @staticmethod
    def _scp_ref(account_id: str, scp: ScpPolicy) -> PolicyRef:
        doc = parse_policy(load_document(scp.document))
        return PolicyRef(scp.name or scp.id, scp.id, "scp", account_id, doc=doc)

    def _scp_mask(self, account_id: str) -> tuple[int, int]:
        """(everywhere, anywhere) masks the account's SCPs allow; all actions when none apply."""
        cached = self._scp_masks.get(account_id)
        if cached is not None:
            return cached
        u = universe()
        everywhere = anywhere = u.all_mask
        for level in self._scp_levels(account_id):
            lvl_all = lvl_any = deny = 0
            for _ref, st in level:
                m = _statement_mask(st)
                if st.is_allow:
                    lvl_any |= m
                    lvl_all |= _everywhere_mask(st, m)
                elif st.is_deny and not st.conditions:
                    deny |= _everywhere_mask(st, m)
            everywhere &= lvl_all & ~deny
            anywhere &= lvl_any & ~deny
        self._scp_masks[account_id] = (everywhere, anywhere)
        return everywhere, anywhere

    # ------------------------------------------------------------------ effective permissions
    def _masks_of(
        self, entries: Iterable[tuple[PolicyRef, Statement]], ctx: Mapping[str, str]
    ) -> tuple[int, int, int, int, dict[PolicyRef, int], Requirement | None]:
        allow_all = allow_any = deny_all = mfa = 0
        contrib: dict[PolicyRef, int] = defaultdict(int)
        mfa_req: Requirement | None = None
        for ref, st in entries:
            if st.effect not in (ALLOW, DENY):
                continue
            applies, reqs = resolve_conditions(st, ctx, ref.where(st))
            if not applies:
                continue
            m = _statement_mask(st)
            if st.is_allow:
                allow_any |= m
                contrib[ref] |= m
                allow_all |= _everywhere_mask(st, m)
            else:
                denied = _everywhere_mask(st, m)
                if not denied:
                    continue
                if not reqs:
                    deny_all |= denied
                else:
                    mfa_reqs = [r for r in reqs if r.kind == "mfa"]
                    if mfa_reqs:
                        mfa |= denied
                        mfa_req = mfa_req or mfa_reqs[0]
        return allow_all, allow_any, deny_all, mfa, contrib, mfa_req

    def effective(self, p: Principal) -> Effective:
        """Effective permissions of a user or role (identity ∩ boundary ∩ SCPs, minus denies)."""
        key = (p.sig, p.kind)
        cached = self._effective_cache.get(key)
        if cached is not None:
            return cached
        allow_all, allow_any, deny_all, mfa, contrib, mfa_req = self._masks_of(p.entries, p.context)
        everywhere = allow_all & ~deny_all
        anywhere = allow_any & ~deny_all
        if p.boundary is not None:
            if p.boundary.doc is None:
                everywhere = anywhere = 0  # cannot tell what the boundary allows: claim nothing
            else:
                b_all, b_any, b_deny, _, _, _ = self._masks_of(p.boundary_entries, p.context)
                everywhere &= b_all & ~b_deny
                anywhere &= b_any & ~b_deny
        s_all, s_any = self._scp_mask(p.account_id)
        everywhere &= s_all
        anywhere &= s_any
        if anywhere:
            privilege = classify(everywhere, anywhere)
        elif p.missing_policies:
            privilege = UNKNOWN_CLASS
        else:
            privilege = NONE_CLASS
        contributing = tuple(ref for ref, m in contrib.items() if m & anywhere)
        eff = Effective(everywhere, anywhere, mfa, privilege, contributing, mfa_req)
        self._effective_cache[key] = eff
        return eff

    def privilege(self, arn: str) -> PrivilegeClass:
        p = self.principals.get(arn)
        if p is None or p.kind not in ("user", "role"):
            return NONE_CLASS
        return self.effective(p).privilege

    # ------------------------------------------------------------------ one request
    def decide(self, p: Principal, action: str, resource: str) -> Decision:
        """May principal ``p`` (user or role) call ``action`` on ``resource`` by its identity policies?

        SCPs of its account and its permission boundary apply; resource policies are not
        considered here (trust policies are, in :meth:`_edge`).
        """
        key = (p.sig, action.lower(), resource)
        cached = self._decision_cache.get(key)
        if cached is not None:
            return cached
        ev = evaluate(p.entries, action, resource, p.context, _where)
        result = self._combine(p, ev, action, resource, identity_needed=True)
        self._decision_cache[key] = result
        return result

    def _guards(
        self, p: Principal, action: str, resource: str, boundary_needed: bool
    ) -> tuple[Match | None, tuple[Requirement, ...], str, tuple[str, ...]]:
        """Denies and conditions from the boundary and the SCPs: (denied by, requirements, reason,
        the SCPs that stop the call when SCPs are what stops it)."""
        reqs: list[Requirement] = []
        if p.boundary is not None:
            bev = evaluate(p.boundary_entries, action, resource, p.context, _where)
            if bev.denies:
                return bev.denies[0], (), "explicit deny in the permission boundary", ()
            if boundary_needed:
                if p.boundary.doc is None or not bev.allows:
                    return None, (), "not allowed by the permission boundary", ()
                best = bev.best_allow()
                reqs.extend(best.requirements if best else ())
            reqs.extend(bev.deny_requirements())
        # every level between the root and the account (the root, each OU, the account) must allow
        for level in self._scp_levels(p.account_id):
            sev = evaluate(level, action, resource, p.context, _where)
            if sev.denies:
                names = tuple(
                    dict.fromkeys(m.source.name for m in sev.denies if isinstance(m.source, PolicyRef))
                )
                return sev.denies[0], (), "explicit deny in a service control policy", names
            if not sev.allows:
                # none of the SCPs attached at this level allows the call: they are what stops it
                names = tuple(dict.fromkeys(ref.name for ref, _ in level))
                return None, (), "not allowed by the service control policies", names
            best = sev.best_allow()
            reqs.extend(best.requirements if best else ())
            reqs.extend(sev.deny_requirements())
        return None, tuple(reqs), "", ()

    def _combine(
        self, p: Principal, ev: Evaluation, action: str, resource: str, identity_needed: bool
    ) -> Decision:
        if ev.denies:
            return Decision(False, None, (), ev.denies[0], "explicit deny in an identity policy")
        best = ev.best_allow()
        if identity_needed and best is None:
            return Decision(False, None, (), None, "no identity policy allows it")
        # a role's boundary limits even what a trust policy grants it directly; a user's does not
        boundary_needed = identity_needed or p.kind == "role"
        denied_by, guard_reqs, reason, scps = self._guards(p, action, resource, boundary_needed)
        if denied_by is not None or reason:
            return Decision(False, None, (), denied_by, reason, scps, best if scps else None)
        reqs = (*(best.requirements if best else ()), *ev.deny_requirements(), *guard_reqs)
        return Decision(True, best, tuple(dict.fromkeys(reqs)))

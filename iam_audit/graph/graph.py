"""The IAM access graph: who can reach which account, through which roles, with what power.

Nodes are principals — users, roles, groups, SAML/OIDC providers, and parties we only see named in
trust policies (accounts outside the organisation, ``*``, AWS services). An *assume edge* says a
caller can obtain a role's session; it carries the hops that explain it (the group, the policy and
the statement that let the caller call ``sts:AssumeRole``, and the role's trust statement) and the
conditions along the way. An *access path* is a chain of assume edges from a source (depth bounded,
no role twice), ending at a role whose effective permissions are classified.

The AWS rules applied (see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* an explicit Deny anywhere (identity policies, permission boundary, SCPs, trust policy) wins;
* a caller's account SCPs must allow ``sts:AssumeRole`` at every level — the root, each OU down
  the way, the account itself — (not for the management account), and the target account's SCPs
  limit what the role can then do. A path that the caller's identity policy and the role's trust
  would open but an SCP closes is kept apart, in :attr:`AccessGraph.blocked_paths`, with the SCPs
  named: it is not access, but the security team wants to see what the guardrail stops;
* cross-account, both the caller's identity policy and the role's trust policy must allow; in the
  same account a trust policy naming the caller itself is enough (a trust naming the account root
  delegates to identity policies), though a role caller's permission boundary still applies;
* a trust naming an account outside the organisation (or ``*``) is taken as reachable by anyone in
  that account: we cannot see its policies;
* a trust naming an account's root (or its bare id) can be used by every principal that account
  authorises, including ones created tomorrow: the account root is a source of its own, with a
  path to the role whatever the account's policies say today. When the account was collected, the
  path lists the principals that hold ``sts:AssumeRole`` on the role today (its *holders*, perhaps
  none), and the account's SCPs must allow the call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from iam_audit.checks.base import Result
from iam_audit.graph.classify import PrivilegeClass
from iam_audit.graph.gcpause import gc_paused
from iam_audit.graph.model import EstateIam
from iam_audit.graph.nodes import (
    Path,
    TrustEdge,
    _data,
    _jsonable,
    _list,
    _text,
)
from iam_audit.graph.paths import GraphPaths
from iam_audit.policy.model import (
    account_of,
)


class AccessGraph(GraphPaths):
    """The built graph with its queries. Build with :func:`build_graph`.

    How it is built is in the layers it extends (see :class:`~iam_audit.graph.state.GraphState`).
    """

    def _build(self) -> None:
        self._build_nodes()
        for role in [p for p in self.principals.values() if p.kind == "role"]:
            self._index_trust(role)
        self._compute_edges()
        self._enumerate_paths()

    # ------------------------------------------------------------------ queries
    def paths_to(self, account_id: str) -> list[Path]:
        """Every path that ends in ``account_id`` (direct access of its users included)."""
        return list(self._by_target.get(account_id, ()))

    def paths_from(self, principal_arn: str) -> list[Path]:
        """Every path that starts at ``principal_arn``."""
        return list(self._by_source.get(principal_arn, ()))

    def reachable_accounts(self, principal_arn: str) -> dict[str, PrivilegeClass]:
        """Account -> best privilege class reachable from the principal."""
        best: dict[str, PrivilegeClass] = {}
        for path in self._by_source.get(principal_arn, ()):
            cur = best.get(path.target_account)
            if cur is None or path.privilege.level > cur.level:
                best[path.target_account] = path.privilege
        return best

    def principal_summary(self, arn: str) -> dict[str, Any]:
        """What a person wants to know about one principal, as plain data."""
        p = self.principals.get(arn)
        if p is None:
            return {"arn": arn, "known": False}
        d = _data(p.item) if p.item is not None else {}
        out: dict[str, Any] = {
            "arn": p.arn,
            "known": True,
            "kind": p.kind,
            "name": p.name,
            "account_id": p.account_id,
            "environment": self.org.environment(p.account_id) if p.account_id else "",
            "inside_org": p.inside,
            "path": p.path,
        }
        if p.kind == "user":
            keys = [k for k in _list(d.get("AccessKeys")) if isinstance(k, Mapping)]
            out.update(
                mfa=bool(_list(d.get("MFADevices"))),
                console=isinstance(d.get("LoginProfile"), Mapping),
                active_keys=sum(1 for k in keys if _text(k.get("Status")) == "Active"),
                password_last_used=_text(d.get("PasswordLastUsed")) or None,
                groups=[self.principals[g].name for g in p.group_arns if g in self.principals],
            )
        if p.kind == "role":
            raw_last = d.get("RoleLastUsed")
            last: Mapping[str, Any] = raw_last if isinstance(raw_last, Mapping) else {}
            out.update(
                trusted_services=list(p.trusted_services),
                last_used=_text(last.get("LastUsedDate")) or None,
                trust_policy=_jsonable(p.trust.raw) if p.trust else None,
                assumable_by=sorted({path.source_arn for path in self.paths_into_role(p.arn)}),
            )
        if p.kind == "group":
            out["members"] = list(p.member_names)
        out["policies"] = [ref.as_dict() for ref in p.policies]
        out["boundary"] = p.boundary.as_dict() if p.boundary else None
        out["missing_policies"] = list(p.missing_policies)
        if p.kind in ("user", "role"):
            eff = self.effective(p)
            out["privilege"] = eff.privilege.as_dict()
            out["privilege_from"] = [ref.name for ref in eff.contributing]
        reach = self.reachable_accounts(p.arn)
        out["reachable_accounts"] = [
            {"account_id": a, "environment": self.org.environment(a), "privilege": c.name, "label": c.label}
            for a, c in sorted(reach.items())
        ]
        return out

    def findings(
        self,
        *,
        now: Any = None,
        unused_days: int = 90,
        broad_group_min_members: int = 10,
        broad_group_share: float = 0.5,
    ) -> list[Result]:
        """Failing results of the graph checks, flat; ``evidence["check_id"]`` names the check.

        :func:`iam_audit.graph.findings.graph_findings` gives the same results grouped by check id.
        """
        from iam_audit.graph.findings import flatten, graph_findings

        return flatten(
            graph_findings(
                self,
                now=now,
                unused_days=unused_days,
                broad_group_min_members=broad_group_min_members,
                broad_group_share=broad_group_share,
            )
        )

    def paths_into_role(self, role_arn: str) -> Iterator[Path]:
        for path in self._by_target.get(account_of(role_arn), ()):
            if path.target_arn == role_arn and path.hops:
                yield path

    def trust_edges(self, include_same_account: bool = False) -> list[TrustEdge]:
        """Account-level edges: a party (account, outside account, ``*``, provider) reaches an account.

        Built from the first assume hop of each path leaving the source's account (role chains
        contribute their own hops through role-sourced paths).
        """
        groups: dict[tuple[str, str, str], list[Path]] = defaultdict(list)
        for path in self.paths:
            if not path.hops or path.assumes != 1:
                continue
            src = self.principals.get(path.source_arn)
            if src is None:
                continue
            if src.kind in ("user", "role", "account", "external"):
                party = src.account_id
            else:
                party = src.arn
            if not include_same_account and party == path.target_account:
                continue
            groups[
                (party, src.kind if src.kind not in ("user", "role") else "account", path.target_account)
            ].append(path)
        out = []
        for (party, kind, target), paths in sorted(groups.items()):
            best = max((p.privilege for p in paths), key=lambda c: c.level)
            whole = {p.target_arn: p.holders for p in paths if p.from_account_root}
            out.append(
                TrustEdge(
                    party,
                    kind,
                    target,
                    tuple(sorted({p.target_arn for p in paths})),
                    best,
                    any(p.outside_org for p in paths),
                    all(p.mfa_required for p in paths),
                    tuple(sorted(whole.items())),
                )
            )
        return out


def build_principals(estate: EstateIam) -> AccessGraph:
    """Only the principals of an estate with their policies, boundaries and SCPs: no edges, no paths.

    What the per-account checks use to ask "may this principal do X" (:meth:`AccessGraph.decide`,
    :meth:`AccessGraph.effective`) with the same evaluation as the access paths, at a fraction of
    the cost of a full build.
    """
    graph = AccessGraph(estate)
    with gc_paused():
        graph._build_nodes()
    return graph


def build_graph(
    estate: EstateIam,
    *,
    max_depth: int = 4,
    include_service_paths: bool = False,
    max_paths_per_source: int = 20000,
) -> AccessGraph:
    """Build the access graph of an estate: nodes, assume edges, and every path up to ``max_depth`` hops."""
    graph = AccessGraph(
        estate,
        max_depth=max_depth,
        include_service_paths=include_service_paths,
        max_paths_per_source=max_paths_per_source,
    )
    with gc_paused():
        graph._build()
    return graph

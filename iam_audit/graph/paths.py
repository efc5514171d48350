"""Access paths: a user's own access, and every chain of assume edges from a source (depth bounded,
no role twice) to a role that can do something, plus the paths an SCP stops."""

from __future__ import annotations

import dataclasses

from iam_audit.graph.actions import universe
from iam_audit.graph.classify import Level, PrivilegeClass
from iam_audit.graph.edges import GraphEdges
from iam_audit.graph.nodes import (
    Effective,
    Hop,
    Path,
    Principal,
)
from iam_audit.policy.conditions import Requirement


class GraphPaths(GraphEdges):
    """Access paths from every source, and the paths an SCP stops."""

    # ------------------------------------------------------------------ paths
    def _target_privilege(self, role: Principal) -> tuple[PrivilegeClass, tuple[str, ...]]:
        cached = self._target_cache.get(role.arn)
        if cached is None:
            eff = self.effective(role)
            cached = (eff.privilege, tuple(dict.fromkeys(ref.name for ref in eff.contributing)))
            self._target_cache[role.arn] = cached
        return cached

    def _direct_conditions(self, p: Principal, eff: Effective) -> tuple[Requirement, ...]:
        """A user's own access is "MFA required" when MFA-gated denies cover all of it.

        Actions left ungated are tolerated when they are all IAM / STS actions: that is what the
        enforce-MFA pattern exempts on purpose, so that users can set up their MFA device.
        """
        if eff.mfa_requirement is None:
            return ()
        u = universe()
        ungated = eff.anywhere & ~eff.mfa_gated
        if ungated & ~u.services_mask(("iam", "sts")):
            return ()
        return (eff.mfa_requirement,)

    def _enumerate_paths(self) -> None:
        """Every source's paths: users first, then the other principals, each in ARN order."""
        sources = sorted(
            (p for p in self.principals.values() if p.kind != "group"),
            key=lambda p: (p.kind != "user", p.arn),
        )
        for src in sources:
            count = self._add_direct_access(src)
            if src.arn in self.blocked_edges:
                self._add_blocked(src, src, (), (), None)
            if self.edges.get(src.arn):
                self._walk_from(src, count)

    def _add_direct_access(self, src: Principal) -> int:
        """A user's own access as a path of no hops (1 when added, else 0)."""
        if src.kind != "user":
            return 0
        eff = self.effective(src)
        if eff.privilege.level <= Level.NONE:
            return 0
        self._add_path(
            Path(
                src.arn,
                src.kind,
                src.name,
                src.account_id,
                (),
                src.arn,
                src.name,
                src.account_id,
                self.org.environment(src.account_id),
                eff.privilege,
                tuple(r.name for r in eff.contributing),
                self._direct_conditions(src, eff),
                not src.inside,
            )
        )
        return 1

    def _walk_from(self, src: Principal, count: int) -> None:
        """Depth-first over assume edges from ``src``: one path per role reached, at most
        :attr:`max_paths_per_source` per source (``count`` already found), no role twice."""
        stack = [_Step(src, (), (), frozenset({src.arn}), 0, None)]
        from_root = src.kind in ("account", "external") and src.arn.endswith(":root")
        while stack:
            step = stack.pop()
            for edge in reversed(self.edges.get(step.node.arn, ())):
                if edge.role_arn in step.seen:
                    continue  # no cycles
                role = self.principals[edge.role_arn]
                privilege, grants = self._target_privilege(role)
                if privilege.level == Level.NONE:
                    continue  # reaching a role that can do nothing is not access
                if count >= self.max_paths_per_source:
                    self.truncated_sources.append(src.arn)
                    return
                first = from_root and step.node is src
                holders = self.holders(src.account_id, role.arn) if first else step.holders
                hops = edge.hops if not step.hops else step.hops + edge.hops
                conds = _joined(step.conditions, edge.requirements)
                self._add_path(
                    Path(
                        src.arn,
                        src.kind,
                        src.name,
                        src.account_id,
                        hops,
                        role.arn,
                        role.name,
                        role.account_id,
                        self.org.environment(role.account_id),
                        privilege,
                        grants,
                        conds,
                        not src.inside,
                        holders,
                    )
                )
                count += 1
                seen = step.seen | {role.arn}
                if role.arn in self.blocked_edges:
                    self._add_blocked(src, role, hops, conds, holders, seen)
                # only roles that can go further are worth a stack entry (most are dead ends)
                if step.depth + 1 < self.max_depth and self.edges.get(role.arn):
                    stack.append(_Step(role, hops, conds, seen, step.depth + 1, holders))

    def _add_blocked(
        self,
        src: Principal,
        node: Principal,
        hops: tuple[Hop, ...],
        conds: tuple[Requirement, ...],
        holders: tuple[str, ...] | None,
        seen: frozenset[str] = frozenset(),
    ) -> None:
        """The paths an SCP stops one assume further than ``hops`` (kept apart: not access)."""
        for edge in self.blocked_edges.get(node.arn, ()):
            if edge.role_arn in seen or edge.role_arn == src.arn:
                continue
            role = self.principals[edge.role_arn]
            privilege, grants = self._target_privilege(role)
            if privilege.level == Level.NONE:
                continue
            if node is src and src.kind in ("account", "external") and src.arn.endswith(":root"):
                holders = self.holders(src.account_id, role.arn)
            self.blocked_paths.append(
                Path(
                    src.arn,
                    src.kind,
                    src.name,
                    src.account_id,
                    hops + edge.hops,
                    role.arn,
                    role.name,
                    role.account_id,
                    self.org.environment(role.account_id),
                    privilege,
                    grants,
                    tuple(dict.fromkeys(conds + edge.requirements)),
                    not src.inside,
                    holders,
                    edge.blocked_by,
                )
            )

    def _add_path(self, path: Path) -> None:
        self.paths.append(path)
        self._by_target[path.target_account].append(path)
        self._by_source[path.source_arn].append(path)


@dataclasses.dataclass(frozen=True, slots=True)
class _Step:
    """Where a walk stands: the role reached (or the source), how, and what it has seen."""

    node: Principal
    hops: tuple[Hop, ...]
    conditions: tuple[Requirement, ...]
    seen: frozenset[str]
    depth: int
    holders: tuple[str, ...] | None


def _joined(conds: tuple[Requirement, ...], more: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
    """The conditions of a path one edge longer, each once, in order."""
    if not conds:
        return more
    if not more:
        return conds
    return tuple(dict.fromkeys(conds + more))

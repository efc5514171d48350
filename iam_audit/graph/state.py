"""The state an access graph holds (see :class:`GraphState`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from iam_audit.checks.base import Item
from iam_audit.graph.classify import PrivilegeClass
from iam_audit.graph.model import EstateIam
from iam_audit.graph.nodes import (
    AssumeEdge,
    Decision,
    Effective,
    Path,
    PolicyRef,
    Principal,
)
from iam_audit.policy.conditions import Requirement
from iam_audit.policy.model import (
    Statement,
)


class GraphState:
    """What the graph holds: its nodes, edges, paths and the caches that make building it fast.

    The graph is built in layers, each a class of its own module that adds one kind of work on
    top of the previous ones: :class:`~iam_audit.graph.decisions.GraphDecisions` (what a principal
    may do), :class:`~iam_audit.graph.building.GraphBuilder` (principals from stored IAM data),
    :class:`~iam_audit.graph.trust.GraphTrust` (who each trust policy names),
    :class:`~iam_audit.graph.edges.GraphEdges` (who can assume which role),
    :class:`~iam_audit.graph.paths.GraphPaths` (the paths) and
    :class:`~iam_audit.graph.graph.AccessGraph` (the queries).
    """

    _aws_managed: dict[str, Any]  # AWS managed policy ARN -> document (set by the builder)
    _customer: dict[str, dict[str, Item]]  # account -> policy ARN -> stored policy
    _assumers: dict[str, list[str]]  # role ARN -> principals holding sts:AssumeRole on it

    def __init__(
        self,
        estate: EstateIam,
        *,
        max_depth: int = 4,
        include_service_paths: bool = False,
        max_paths_per_source: int = 20000,
    ) -> None:
        self.estate = estate
        self.org = estate.org
        self.max_depth = max(1, max_depth)
        self.include_service_paths = include_service_paths
        self.max_paths_per_source = max_paths_per_source
        self.principals: dict[str, Principal] = {}
        self.groups: dict[str, Principal] = {}
        self.edges: dict[str, list[AssumeEdge]] = {}
        self.paths: list[Path] = []
        self.blocked_paths: list[Path] = []  # paths an SCP stops (see the module docstring)
        self.blocked_edges: dict[str, list[AssumeEdge]] = {}
        self.truncated_sources: list[str] = []
        self.problems: list[str] = []
        self._by_target: dict[str, list[Path]] = defaultdict(list)
        self._by_source: dict[str, list[Path]] = defaultdict(list)
        self._effective_cache: dict[Any, Effective] = {}
        self._decision_cache: dict[Any, Decision] = {}
        self._trust_cache: dict[Any, tuple[Statement, bool, tuple[Requirement, ...]] | None] = {}
        self._edge_cache: dict[Any, AssumeEdge | None] = {}
        self._sig_ids: dict[Any, int] = {}
        self._prefilter_cache: dict[Any, set[str]] = {}
        self._target_cache: dict[str, tuple[PrivilegeClass, tuple[str, ...]]] = {}
        self._scp_entries: dict[str, tuple[tuple[tuple[PolicyRef, Statement], ...], ...]] = {}
        self._scp_masks: dict[str, tuple[int, int]] = {}
        self._scp_specific: dict[str, bool] = {}
        # trust index: who is named where
        self._trust_by_account: dict[str, set[str]] = defaultdict(set)
        self._trust_by_arn: dict[str, set[str]] = defaultdict(set)
        self._trust_by_session: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._trust_by_id: dict[str, set[str]] = defaultdict(set)
        self._trust_anyone: set[str] = set()
        self._trust_sensitive: set[str] = set()  # roles whose trust depends on the exact caller

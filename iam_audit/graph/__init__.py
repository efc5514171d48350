"""The IAM access graph: "who can reach prod, and how?" — pure Python, no Django, no AWS calls.

Build an :class:`~iam_audit.graph.model.EstateIam` from stored items with
:func:`~iam_audit.graph.model.from_items`, then :func:`build_graph`; query the
:class:`~iam_audit.graph.graph.AccessGraph` (``paths_to``, ``paths_from``, ``principal_summary``,
``trust_edges``, ``findings``) and export with :func:`paths_as_rows`.
"""

from __future__ import annotations

from iam_audit.graph.classify import Level, PrivilegeClass
from iam_audit.graph.export import ROW_FIELDS, path_row, paths_as_json, paths_as_rows
from iam_audit.graph.findings import GRAPH_CHECKS, GraphCheck, graph_findings
from iam_audit.graph.graph import AccessGraph, build_graph
from iam_audit.graph.model import (
    AccountIam,
    EstateIam,
    OrgInfo,
    ScpPolicy,
    from_items,
    scp_levels_from_org_items,
)
from iam_audit.graph.nodes import Hop, Path, Principal, TrustEdge
from iam_audit.policy import Requirement, parse_policy

__all__ = [
    "GRAPH_CHECKS",
    "ROW_FIELDS",
    "AccessGraph",
    "AccountIam",
    "EstateIam",
    "GraphCheck",
    "Hop",
    "Level",
    "OrgInfo",
    "Path",
    "Principal",
    "PrivilegeClass",
    "Requirement",
    "ScpPolicy",
    "TrustEdge",
    "build_graph",
    "from_items",
    "graph_findings",
    "parse_policy",
    "path_row",
    "paths_as_json",
    "paths_as_rows",
    "scp_levels_from_org_items",
]

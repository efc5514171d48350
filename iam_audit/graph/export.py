"""Access paths as rows: what ``manage.py export_access_paths --format json|csv`` writes.

:func:`paths_as_rows` gives one dict per path. With ``flat=True`` every value is a string or a
number (hops and conditions joined with " → " and "; "; a path from an account root lists the
principals holding ``sts:AssumeRole`` on its first role today, or says that none does; a path an
SCP stops is ``blocked``, with the SCPs in ``blocked_by``), ready for :class:`csv.DictWriter` with
:data:`ROW_FIELDS`; otherwise hops and conditions stay lists of dicts (JSON).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iam_audit.graph.nodes import Path

ROW_FIELDS = (
    "source_arn",
    "source_kind",
    "source_account",
    "holders",
    "hops",
    "target_role_arn",
    "target_account",
    "target_environment",
    "privilege_class",
    "privilege",
    "grants",
    "conditions",
    "mfa_required",
    "outside_org",
    "assumes",
    "blocked",
    "blocked_by",
    "path",
)


def path_row(path: Path, *, flat: bool = False) -> dict[str, Any]:
    """One path as a row (see :data:`ROW_FIELDS`)."""
    hops = [h.as_dict() for h in path.hops]
    conditions = [r.as_dict() for r in path.conditions]
    row: dict[str, Any] = {
        "source_arn": path.source_arn,
        "source_kind": path.source_kind,
        "source_account": path.source_account,
        # a path from an account root: who holds sts:AssumeRole on its first role today (null: not
        # an account root, or not collected)
        "holders": None if path.holders is None else list(path.holders),
        "hops": hops,
        "target_role_arn": path.target_arn if path.hops else "",
        "target_account": path.target_account,
        "target_environment": path.target_environment,
        "privilege_class": path.privilege.name,
        "privilege": path.privilege.label,
        "grants": list(path.grants),
        "conditions": conditions,
        "mfa_required": path.mfa_required,
        "outside_org": path.outside_org,
        "assumes": path.assumes,
        # an SCP stops the path: shown, never counted as access; blocked_by names the SCPs
        "blocked": path.blocked,
        "blocked_by": list(path.blocked_by),
        "path": path.describe(),
    }
    if flat:
        row["holders"] = "" if path.holders is None else ("; ".join(path.holders) or path.holders_text())
        row["hops"] = " → ".join(f"{h.kind}:{h.text}" for h in path.hops)
        row["grants"] = "; ".join(path.grants)
        row["conditions"] = "; ".join(dict.fromkeys(r.text for r in path.conditions))
        row["mfa_required"] = "yes" if path.mfa_required else "no"
        row["outside_org"] = "yes" if path.outside_org else "no"
        row["blocked"] = "yes" if path.blocked else "no"
        row["blocked_by"] = "; ".join(path.blocked_by)
    return row


def paths_as_rows(paths: Iterable[Path], *, flat: bool = False) -> list[dict[str, Any]]:
    """Rows for every path: nested (JSON) by default, strings only with ``flat=True`` (CSV)."""
    return [path_row(p, flat=flat) for p in paths]


def paths_as_json(paths: Iterable[Path]) -> str:
    """The nested rows as a JSON document (a list)."""
    return json.dumps(paths_as_rows(paths), ensure_ascii=False, indent=1, default=str)

"""Findings the access graph can see and per-account checks cannot.

:data:`GRAPH_CHECKS` holds their metadata for the Django engine to register (they are *not* in
``iam_audit.checks.base.REGISTRY``: they run over the whole estate, not one account's snapshot).
:func:`graph_findings` returns failing :class:`~iam_audit.checks.base.Result` s only; a subject
that is not returned has passed.

``iam.privilege_escalation`` already exists as a per-account check (``iam_audit/checks/
iam_policies.py``); the graph's version, which applies SCPs, permission boundaries and MFA-gated
denies, is ``iam.privilege_escalation_path``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iam_audit.checks.base import Check, Exposure, Result, Severity
from iam_audit.graph.classify import Level
from iam_audit.graph.escalation import open_methods
from iam_audit.graph.export import path_row
from iam_audit.graph.gcpause import gc_paused
from iam_audit.policy.model import ALL_RESOURCES

if TYPE_CHECKING:
    from iam_audit.graph.graph import AccessGraph
    from iam_audit.graph.nodes import Path, Principal

REACH_CRITICAL = "iam.reach_critical_without_mfa"
EXTERNAL_PATH = "iam.external_path_into_org"
ESCALATION = "iam.privilege_escalation_path"
EFFECTIVE_ADMIN = "iam.effective_admin"
BLANKET_GROUP = "iam.blanket_policy_broad_group"
UNUSED = "iam.unused_principal"

BLANKET_POLICIES = ("AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess")
EVIDENCE_PATHS = 20  # paths shown in one finding's evidence (the count says how many in all)

DOC_EVAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
DOC_CROSS = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-cross-account-resource-access.html"
)
DOC_MFA = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html"
DOC_CONFUSED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
DOC_RHINO = "https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/"
DOC_PATHFINDING = "https://pathfinding.cloud/"
DOC_LAST_USED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html"
DOC_MANAGED = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html"


@dataclasses.dataclass(frozen=True, slots=True)
class GraphCheck:
    """Metadata of one graph finding (the same fields as a registered check, without ``fn``)."""

    id: str
    title: str
    severity: Severity
    description: str
    risk: str
    remediation: str
    references: tuple[str, ...] = ()
    service: str = "IAM"
    scope: str = "resource"

    def to_check(self) -> Check:
        """A :class:`Check` carrying this metadata (unregistered; its ``fn`` yields nothing)."""
        return Check(
            id=self.id,
            title=self.title,
            service=self.service,
            scope=self.scope,
            severity=self.severity,
            description=self.description,
            risk=self.risk,
            remediation=self.remediation,
            references=self.references,
        )


GRAPH_CHECKS: dict[str, GraphCheck] = {
    c.id: c
    for c in [
        GraphCheck(
            REACH_CRITICAL,
            "No user reaches a critical account without MFA",
            Severity.HIGH,
            "An IAM user can act in a critical account (prod, org-root, identity by default) — through "
            "role assumption or directly — and no policy along the way requires MFA. Only users with a "
            "console password or an active access key are considered; a direct path counts when it "
            "grants more than granular reads.",
            "A stolen password or access key is enough to act in the accounts that matter most.",
            "1. Attach the enforce-MFA policy (Deny with NotAction and BoolIfExists "
            "aws:MultiFactorAuthPresent false) to the user's groups, or add Bool aws:MultiFactorAuthPresent "
            "true to the statement that allows sts:AssumeRole.\n"
            "2. Or require MFA in the target role's trust policy.\n"
            "CLI: aws iam put-group-policy --group-name <group> --policy-name EnforceMFA --policy-document file://mfa.json",
            (DOC_MFA, DOC_EVAL),
        ),
        GraphCheck(
            EXTERNAL_PATH,
            "No role is reachable from outside the organisation",
            Severity.HIGH,
            "A role in the organisation trusts an account outside it (or anyone, '*'), so principals "
            "there can assume it and whatever it can assume in turn. Conditions (ExternalId, MFA, "
            "source IP, organisation id) are shown in the evidence; a condition that pins callers to "
            "our organisation removes the path.",
            "Whoever controls the outside account — a vendor, a former owner, an attacker who took it — "
            "acts inside the organisation with the role's power.",
            "1. Confirm the outside account is a known partner; otherwise remove it from the trust policy.\n"
            "2. For third parties, require sts:ExternalId and narrow the principal to their role ARN.\n"
            "3. Reduce the role's permissions to what the partner needs.\n"
            "CLI: aws iam update-assume-role-policy --role-name <role> --policy-document file://trust.json",
            (DOC_CROSS, DOC_CONFUSED),
        ),
        GraphCheck(
            ESCALATION,
            "No principal has a privilege-escalation route",
            Severity.HIGH,
            "A user or role that is not an administrator is allowed every action of a published "
            "privilege-escalation method (Rhino Security Labs / pathfinding.cloud, as catalogued by "
            "cloudsplaining): passing a role to new compute, creating or defaulting policy versions, "
            "attaching or writing policies on itself or its groups, creating keys or login profiles "
            "for others, rewriting a trust policy, joining a group. Effective permissions are used: "
            "SCPs and permission boundaries applied, explicit denies removed.",
            "The principal can make itself — or a principal it controls — an administrator.",
            "1. Read the method and the granting statements in the evidence.\n"
            "2. Remove the escalating actions, or scope their Resource away from the principal itself and "
            "from privileged roles; constrain iam:PassRole with iam:PassedToService and exact role ARNs.\n"
            "3. Give principals that must manage IAM a permission boundary.",
            (DOC_RHINO, DOC_PATHFINDING),
        ),
        GraphCheck(
            EFFECTIVE_ADMIN,
            "Administrators are administrators by name",
            Severity.HIGH,
            "A user or role can do (nearly) everything on everything — after SCPs, boundaries and denies "
            "— yet has no AdministratorAccess attached and no 'admin' in its name: its power comes from "
            "a custom '*' statement, a NotAction allow or a sum of policies.",
            "Hidden administrators escape the reviews, alerts and break-glass procedures built around "
            "the known ones.",
            "1. If the principal must be an administrator, say so: attach AdministratorAccess and name it as such.\n"
            "2. Otherwise replace the broad statements (Action '*', NotAction allows) with the services it needs.",
            (DOC_EVAL,),
        ),
        GraphCheck(
            BLANKET_GROUP,
            "Blanket managed policies are not given to broad groups",
            Severity.MEDIUM,
            "A group with many members holds AdministratorAccess, PowerUserAccess or ReadOnlyAccess — "
            "attached to the group, or in a role the group's policies let its members assume. A group "
            "is broad when it has at least the configured number of members, or at least half of its "
            "account's users (and three or more).",
            "Everyone in the group gets far more than a job needs; one compromised member exposes it all.",
            "1. Split the group by job function.\n"
            "2. Replace the blanket policy with job-function or custom policies limited to the services used.",
            (DOC_MANAGED,),
        ),
        GraphCheck(
            UNUSED,
            "Users and roles are used",
            Severity.LOW,
            "A user (console password and access keys) or a role has not been used for longer than the "
            "configured number of days (90 by default), or never since it was created that long ago. "
            "AWS service-linked roles are left out.",
            "Unused principals keep their permissions and credentials, ready for whoever finds them.",
            "1. Confirm with the owner, then delete the user or role (or remove its credentials).\n"
            "CLI: aws iam delete-role --role-name <role>; aws iam delete-login-profile --user-name <user>",
            (DOC_LAST_USED,),
        ),
    ]
}


# ---------------------------------------------------------------------------------------------- helpers
def _fail(
    check_id: str,
    subject: str,
    summary: str,
    evidence: Mapping[str, Any],
    resource_type: str,
    exposure: Exposure = Exposure.NONE,
) -> Result:
    return Result.fail(subject, summary, dict(evidence), resource_type=resource_type, exposure=exposure)


def _paths_evidence(paths: Sequence[Path]) -> dict[str, Any]:
    return {
        "path_count": len(paths),
        "paths": [path_row(p) for p in paths[:EVIDENCE_PATHS]],
        "paths_text": [p.describe() for p in paths[:EVIDENCE_PATHS]],
    }


def parse_time(value: Any) -> dt.datetime | None:
    """An AWS timestamp (ISO-8601 string or datetime) as an aware datetime; None when unreadable."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _data(p: Principal) -> Mapping[str, Any]:
    return p.item.data if p.item is not None and isinstance(p.item.data, Mapping) else {}


def _has_credentials(p: Principal) -> bool:
    d = _data(p)
    if not d:
        return True  # unknown: assume it can sign in
    console = isinstance(d.get("LoginProfile"), Mapping)
    raw_keys = d.get("AccessKeys")
    keys: list[Any] = raw_keys if isinstance(raw_keys, list) else []
    active = any(isinstance(k, Mapping) and k.get("Status") == "Active" for k in keys)
    return console or active


def _is_blanket(ref_arn: str, ref_name: str) -> str:
    for name in BLANKET_POLICIES:
        if ref_arn.endswith(f":policy/{name}") and ":iam::aws:" in ref_arn:
            return name
    return ""


# ---------------------------------------------------------------------------------------------- the checks
def _reach_critical(graph: AccessGraph) -> Iterable[Result]:
    org = graph.org
    by_user: dict[str, list[Path]] = defaultdict(list)
    for path in graph.paths:
        if path.source_kind != "user" or path.mfa_required:
            continue
        if not org.is_critical(path.target_account):
            continue
        if not path.hops and path.privilege.level < Level.SENSITIVE_READ:
            continue
        by_user[path.source_arn].append(path)
    for arn in sorted(by_user):
        user = graph.principals[arn]
        if not _has_credentials(user):
            continue
        paths = by_user[arn]
        accounts = sorted({p.target_account for p in paths})
        shown = ", ".join(f"{org.environment(a)} {a}" for a in accounts[:3]) + (
            f" (+{len(accounts) - 3})" if len(accounts) > 3 else ""
        )
        best = max(paths, key=lambda p: p.privilege.level)
        yield _fail(
            REACH_CRITICAL,
            arn,
            f"{user.name} can reach {shown} without MFA ({best.privilege.label})",
            {"accounts": accounts, "best_privilege": best.privilege.as_dict(), **_paths_evidence(paths)},
            "iam:user",
        )


def _external(graph: AccessGraph) -> Iterable[Result]:
    by_role: dict[str, list[Path]] = defaultdict(list)
    for path in graph.paths:
        if not path.outside_org or not path.hops:
            continue
        entry = next(h for h in path.hops if h.kind == "assume")
        role = graph.principals.get(entry.arn)
        if role is None or not role.inside:
            continue
        by_role[entry.arn].append(path)
    for arn in sorted(by_role):
        role = graph.principals[arn]
        paths = by_role[arn]
        parties = sorted({p.source_arn for p in paths})
        best = max(paths, key=lambda p: p.privilege.level)
        public = any(p.source_kind == "anyone" and not p.conditions for p in paths)
        first = [p for p in paths if p.assumes == 1]
        conditions = sorted({r.text for p in first for r in p.conditions})
        who = ", ".join(parties[:3]) + (f" (+{len(parties) - 3})" if len(parties) > 3 else "")
        cond_text = f" if {'; '.join(conditions)}" if conditions else " with no condition"
        yield _fail(
            EXTERNAL_PATH,
            arn,
            f"{role.name} can be assumed from outside the organisation by {who}{cond_text}; reaches "
            f"{best.privilege.label}",
            {
                "parties": parties,
                "conditions": conditions,
                "best_privilege": best.privilege.as_dict(),
                "trust_policy": graph.principal_summary(arn).get("trust_policy"),
                **_paths_evidence(paths),
            },
            "iam:role",
            Exposure.PUBLIC if public else Exposure.EXTERNAL,
        )


def _self_resources(graph: AccessGraph, p: Principal) -> dict[str, tuple[str, ...]]:
    return {
        "self-user": (p.arn,) if p.kind == "user" else (),
        "self-role": (p.arn,) if p.kind == "role" else (),
        "own-group": p.group_arns,
    }


def _granting(graph: AccessGraph, p: Principal, action: str, resource: str) -> dict[str, Any] | None:
    decision = graph.decide(p, action, resource)
    m = decision.allow
    if m is None:
        return None
    ref = m.source
    return {
        "action": action,
        "resource": resource,
        "policy": getattr(ref, "name", ""),
        "policy_arn": getattr(ref, "arn", ""),
        "via_group": getattr(ref, "via_group_name", ""),
        "sid": m.statement.sid,
        "index": m.statement.index,
        "statement": dict(m.statement.raw),
        "conditions": [r.text for r in decision.requirements],
    }


def _excluded(p: Principal) -> bool:
    """Roles cloudsplaining's default exclusions leave out (paths aws-service-role/, service-role/)."""
    from cloudsplaining.shared.exclusions import DEFAULT_EXCLUSIONS

    if p.is_service_linked:
        return True
    return p.kind == "role" and DEFAULT_EXCLUSIONS.is_principal_excluded(p.path.lstrip("/"), "Role")


def _escalation(graph: AccessGraph) -> Iterable[Result]:
    cache: dict[Any, list[Any]] = {}
    for arn in sorted(graph.principals):
        p = graph.principals[arn]
        if p.kind not in ("user", "role") or _excluded(p):
            continue
        eff = graph.effective(p)
        if eff.privilege.level in (Level.ADMINISTRATOR, Level.NONE, Level.UNKNOWN):
            continue

        def allowed_on(action: str, resource: str, p: Principal = p) -> bool:
            return graph.decide(p, action, resource).allowed

        key = (p.sig, p.kind, p.arn if p.group_arns or p.kind == "role" else "")
        routes = cache.get(key)
        if routes is None:
            routes = open_methods(eff.everywhere, allowed_on, _self_resources(graph, p), eff.anywhere)
            cache[key] = routes
        if not routes:
            continue
        methods = []
        for route in routes:
            grants = []
            for action in route.method.actions:
                g = _granting(graph, p, action, ALL_RESOURCES)
                if g is None:
                    for target in (
                        *_self_resources(graph, p)["self-user"],
                        *_self_resources(graph, p)["self-role"],
                        *p.group_arns,
                    ):
                        g = _granting(graph, p, action, target)
                        if g is not None:
                            break
                if g is not None:
                    grants.append(g)
            methods.append(
                {
                    "method": route.method.name,
                    "actions": list(route.method.actions),
                    "reference": route.method.reference,
                    "on_self": list(route.on_self),
                    "granted_by": grants,
                }
            )
        names = [r.method.name for r in routes]
        shown = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
        yield _fail(
            ESCALATION,
            arn,
            f"{p.kind} {p.name} can escalate privileges: {shown}",
            {"methods": methods, "privilege": eff.privilege.as_dict()},
            f"iam:{p.kind}",
        )


def _effective_admin(graph: AccessGraph) -> Iterable[Result]:
    for arn in sorted(graph.principals):
        p = graph.principals[arn]
        if p.kind not in ("user", "role") or _excluded(p):
            continue
        eff = graph.effective(p)
        if eff.privilege.level != Level.ADMINISTRATOR:
            continue
        named = "admin" in p.name.lower() or any(
            _is_blanket(ref.arn, ref.name) == "AdministratorAccess" for ref in p.policies
        )
        if named:
            continue
        broad = []
        for ref in eff.contributing:
            for st in ref.doc.statements if ref.doc else ():
                if st.is_allow and (st.not_action or any(a == "*" or a.endswith(":*") for a in st.actions)):
                    broad.append(
                        {
                            "policy": ref.name,
                            "policy_arn": ref.arn,
                            "via_group": ref.via_group_name,
                            "sid": st.sid,
                            "index": st.index,
                            "statement": dict(st.raw),
                        }
                    )
        yield _fail(
            EFFECTIVE_ADMIN,
            arn,
            f"{p.kind} {p.name} is effectively an administrator through "
            f"{', '.join(r.name for r in eff.contributing[:3]) or 'its policies'}",
            {"policies": [r.as_dict() for r in eff.contributing], "broad_statements": broad},
            f"iam:{p.kind}",
        )


def _blanket_groups(graph: AccessGraph, min_members: int, share: float) -> Iterable[Result]:
    users_per_account: dict[str, int] = defaultdict(int)
    for p in graph.principals.values():
        if p.kind == "user":
            users_per_account[p.account_id] += 1
    members: dict[str, set[str]] = defaultdict(set)
    for p in graph.principals.values():
        if p.kind == "user":
            for group in p.group_arns:
                members[group].add(p.arn)
    via_roles: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in graph.paths:
        if not path.hops or path.hops[0].kind != "group":
            continue
        role = graph.principals.get(path.target_arn)
        if role is None:
            continue
        for ref in role.policies:
            name = _is_blanket(ref.arn, ref.name)
            if name:
                via_roles[path.hops[0].arn][name].add(role.arn)
    for arn in sorted(a for a, p in graph.principals.items() if p.kind == "group"):
        g = graph.principals[arn]
        # users list their groups and groups list their members; either may be all we have
        count = max(len(members[arn]), len(g.member_names))
        total = users_per_account.get(g.account_id, 0)
        broad = count >= min_members or (count >= 3 and total > 0 and count / total >= share)
        if not broad:
            continue
        direct = sorted({n for ref in g.policies if (n := _is_blanket(ref.arn, ref.name))})
        through = {name: sorted(roles) for name, roles in via_roles.get(arn, {}).items()}
        if not direct and not through:
            continue
        names = sorted(set(direct) | set(through))
        yield _fail(
            BLANKET_GROUP,
            arn,
            f"group {g.name} ({count} members) gets {', '.join(names)}"
            + (" through assumable roles" if not direct else ""),
            {"members": count, "account_users": total, "attached": direct, "through_roles": through},
            "iam:group",
        )


def _last_use(p: Principal) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(last used, created) of a user or role from its collected data."""
    d = _data(p)
    created = parse_time(d.get("CreateDate"))
    if p.kind == "role":
        last = d.get("RoleLastUsed")
        return (parse_time(last.get("LastUsedDate")) if isinstance(last, Mapping) else None), created
    times = [parse_time(d.get("PasswordLastUsed"))]
    for key in d.get("AccessKeys") or []:
        if isinstance(key, Mapping):
            times.append(parse_time(key.get("LastUsedDate")))
    known = [t for t in times if t is not None]
    return (max(known) if known else None), created


def _unused(graph: AccessGraph, now: dt.datetime, days: int) -> Iterable[Result]:
    limit = now - dt.timedelta(days=days)
    for arn in sorted(graph.principals):
        p = graph.principals[arn]
        if p.kind not in ("user", "role") or p.item is None or p.is_service_linked:
            continue
        last, created = _last_use(p)
        if last is not None:
            if last >= limit:
                continue
            summary = f"{p.kind} {p.name} last used {last.date().isoformat()} ({(now - last).days} days ago)"
        else:
            if created is None or created >= limit:
                continue
            summary = f"{p.kind} {p.name} never used since it was created {created.date().isoformat()}"
        yield _fail(
            UNUSED,
            arn,
            summary,
            {
                "last_used": last.isoformat() if last else None,
                "created": created.isoformat() if created else None,
                "days": days,
                "now": now.isoformat(),
            },
            f"iam:{p.kind}",
        )


def graph_findings(
    graph: AccessGraph,
    *,
    now: dt.datetime | None = None,
    unused_days: int = 90,
    broad_group_min_members: int = 10,
    broad_group_share: float = 0.5,
) -> dict[str, list[Result]]:
    """Failing results of the six graph checks, by check id (every id of :data:`GRAPH_CHECKS` present).

    ``now`` and ``unused_days`` drive ``iam.unused_principal``; ``broad_group_*`` say when a group
    is broad for ``iam.blanket_policy_broad_group``.
    """
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    with gc_paused():
        return {
            REACH_CRITICAL: list(_reach_critical(graph)),
            EXTERNAL_PATH: list(_external(graph)),
            ESCALATION: list(_escalation(graph)),
            EFFECTIVE_ADMIN: list(_effective_admin(graph)),
            BLANKET_GROUP: list(_blanket_groups(graph, broad_group_min_members, broad_group_share)),
            UNUSED: list(_unused(graph, now, unused_days)),
        }


def flatten(by_check: Mapping[str, Sequence[Result]]) -> list[Result]:
    """One list, each result's evidence carrying its ``check_id`` (Result itself has no id field)."""
    out = []
    for check_id in GRAPH_CHECKS:
        for r in by_check.get(check_id, ()):
            out.append(dataclasses.replace(r, evidence={"check_id": check_id, **r.evidence}))
    return out

"""The Django bridge of the IAM access graph: stored IAM items in, one graph for the whole estate out.

:func:`current` reads every account's IAM items (and the organisation, from the management
account) in one pass over ``values_list`` rows, builds :class:`~iam_audit.graph.AccessGraph` once
and keeps it for as long as nothing was collected since: the graph is keyed on a *stamp* — the
latest IAM/organisation collection time and the registry's environments (two small queries). The
graph object lives in the process (pickling it costs more than rebuilding it: ~100 MB and 6 s
at 100 accounts x 200 roles); what the pages show of it (an account's inbound paths, a
principal's paths, the trust graph's nodes and edges) goes through Django's cache under the same
stamp, so other processes sharing a cache backend (Redis in production) skip the graph work, and
a new collection makes every entry unreachable at once.

When the graph is rebuilt, the :class:`~iam_audit.models.Principal` table is rewritten from it
(:func:`refresh_principals`), so the principals list filters and pages in the database like every
other list, and the account page's IAM panel costs two queries.

The check engine calls :func:`graph_results_by_account` after each collection (and for
``run_all``); the graph checks' metadata is :data:`iam_audit.graph.GRAPH_CHECKS`
(:func:`graph_checks` gives them as :class:`~iam_audit.checks.base.Check` objects).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.choices import AccountStatus, Environment
from accounts.models import AwsAccount
from iam_audit.checks.base import Check, Item, Result, Status
from iam_audit.graph import GRAPH_CHECKS, AccessGraph, Path, build_graph, from_items, graph_findings
from iam_audit.graph.findings import UNUSED, parse_time
from iam_audit.graph.model import DEFAULT_CRITICAL, IAM_TYPES
from iam_audit.models import PRIVILEGE_RANK, Principal
from iam_audit.policy import account_of
from iam_audit.snapshots import missing_org_types, org_coverage
from inventory.models import CoverageRecord, Resource
from inventory.records import GLOBAL_REGION, Coverage

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Bump when what the graph or the cached page data contain changes: old cache entries then miss.
CODE_VERSION = "3"
ORG_TYPES = ("organizations:organization", "organizations:account", "organizations:policy")
GRAPH_TYPES = (*IAM_TYPES, *ORG_TYPES)
#: IAM types that must be collected completely for the graph checks to judge an account.
CORE_IAM_TYPES = ("iam:user", "iam:group", "iam:role", "iam:policy")
STORED_KINDS = ("user", "role", "group", "federated")
#: What the graph reads of the organisation (SCPs, members), from the management account.
GRAPH_ORG_TYPES = ("organizations:organization", "organizations:account", "organizations:policy")
#: Graph checks that read only the account's own IAM (the organisation cannot change their answer).
GRAPH_CHECKS_OWN_DATA = frozenset({UNUSED})
CACHE_PREFIX = "iam_audit:access"
CACHE_TIMEOUT = 24 * 3600
MEMO_SIZE = 64
BULK = 1000


# ---------------------------------------------------------------------------------------------- state
@dataclasses.dataclass(frozen=True, slots=True)
class AccountRow:
    """What the graph needs to know of a registered account."""

    pk: int
    account_id: str
    name: str
    environment: str
    status: str


@dataclasses.dataclass
class LoadedEstate:
    """The graph's input as read from the database, with the keys pages need to link back."""

    items_by_account: dict[str, list[Item]]
    accounts: dict[str, AccountRow]  # account id -> registry row
    resource_pks: dict[str, int]  # principal / policy ARN -> Resource pk
    iam_collected: dict[str, bool]  # account id -> every core IAM type collected completely
    management_account_id: str = ""
    org_id: str = ""
    org_account_ids: frozenset[str] = frozenset()
    org_items: list[Item] = dataclasses.field(default_factory=list)

    @property
    def environments(self) -> dict[str, str]:
        return {a: row.environment for a, row in self.accounts.items()}


@dataclasses.dataclass
class GraphState:
    """One built graph and where it came from."""

    stamp: str
    graph: AccessGraph
    loaded: LoadedEstate
    built_at: dt.datetime
    load_seconds: float
    build_seconds: float
    _principal_pks: dict[str, int] | None = None
    _findings: tuple[dt.date, dict[str, list[Result]]] | None = None
    _memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    def account(self, account_id: str) -> AccountRow | None:
        return self.loaded.accounts.get(account_id)

    def principal_pks(self) -> dict[str, int]:
        """ARN -> Principal pk, read once per graph (the table is rewritten with the same stamp)."""
        if not self._principal_pks:  # an empty map may predate the table's refresh: ask again
            self._principal_pks = dict(
                Principal.objects.filter(graph_stamp=self.stamp).values_list("arn", "pk")
            )
        return self._principal_pks


_LOCK = threading.Lock()
_STATE: GraphState | None = None


def invalidate() -> None:
    """Forget the graph held by this process (the next :func:`current` rebuilds it)."""
    global _STATE
    with _LOCK:
        _STATE = None


def critical_environments() -> frozenset[str]:
    """Environments whose accounts count as critical (``SKYLEDGER_CRITICAL_ENVIRONMENTS`` or the graph's default)."""
    value = getattr(settings, "SKYLEDGER_CRITICAL_ENVIRONMENTS", None)
    return frozenset(value) if value else DEFAULT_CRITICAL


def _account_rows() -> list[AccountRow]:
    return [
        AccountRow(pk, account_id, name, environment, status)
        for pk, account_id, name, environment, status in AwsAccount.objects.order_by(
            "account_id"
        ).values_list("pk", "account_id", "name", "environment", "status")
    ]


def graph_stamp(accounts: Iterable[AccountRow] | None = None) -> str:
    """What the graph depends on, as a short hash: latest IAM/organisation collection and the registry.

    Two queries (one when ``accounts`` is given): the newest coverage time and the number of coverage
    rows of the graph's types, and every account's id, environment and status.
    """
    rows = list(accounts) if accounts is not None else _account_rows()
    coverage = CoverageRecord.objects.filter(type__in=GRAPH_TYPES).aggregate(
        latest=Max("collected_at"), n=Count("pk")
    )
    parts = [
        CODE_VERSION,
        str(coverage["latest"].isoformat() if coverage["latest"] else ""),
        str(coverage["n"]),
        ",".join(sorted(critical_environments())),
        ";".join(f"{r.account_id}:{r.environment}:{r.status}" for r in rows),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def load_estate(accounts: Iterable[AccountRow] | None = None) -> LoadedEstate:
    """Read the graph's input: IAM items of every account, the organisation, what was collected.

    Three queries, whatever the estate's size: the IAM and organisation resources (streamed as
    ``values_list`` rows, tags left out), the IAM coverage per account, and the registry (unless
    ``accounts`` is given).
    """
    rows = list(accounts) if accounts is not None else _account_rows()
    by_pk = {r.pk: r for r in rows}
    items: dict[str, list[Item]] = defaultdict(list)
    org_by_holder: dict[str, list[Item]] = defaultdict(list)
    resource_pks: dict[str, int] = {}
    resources = (
        Resource.objects.filter(deleted_at__isnull=True, type__in=GRAPH_TYPES)
        .values_list("pk", "account_id", "type", "arn", "resource_id", "name", "region", "data")
        .iterator(chunk_size=2000)
    )
    for pk, account_pk, type_, arn, resource_id, name, region, data in resources:
        row = by_pk.get(account_pk)
        if row is None:
            continue
        item = Item(type_, arn, resource_id, name, region, {}, data if isinstance(data, dict) else {})
        if type_.startswith("organizations:"):
            org_by_holder[row.account_id].append(item)
        else:
            items[row.account_id].append(item)
            if type_ != "iam:policy" or arn not in resource_pks:
                resource_pks[arn] = pk
    collected: dict[str, set[str]] = defaultdict(set)
    for account_pk, type_ in CoverageRecord.objects.filter(
        type__in=CORE_IAM_TYPES, region=GLOBAL_REGION, coverage=Coverage.OK.value
    ).values_list("account_id", "type"):
        row = by_pk.get(account_pk)
        if row is not None:
            collected[row.account_id].add(type_)

    # the organisation: as collected from its management account (organizations:* items live there)
    management = org_id = ""
    org_items: list[Item] = []
    for holder, found in sorted(org_by_holder.items()):
        org = next((i for i in found if i.type == "organizations:organization"), None)
        if org is None:
            continue
        management = str(org.data.get("MasterAccountId") or holder)
        org_id = str(org.data.get("Id") or "")
        org_items = found
        if holder == management:
            break
    if not management:
        management = next((r.account_id for r in rows if r.environment == Environment.ORG_ROOT), "")
    members = {
        str(i.data.get("Id") or i.resource_id)
        for i in org_items
        if i.type == "organizations:account" and str(i.data.get("Status") or "ACTIVE") == "ACTIVE"
    }
    if not members:
        # the organisation was not collected: the registry's accounts are ours, unless it says otherwise
        members = {r.account_id for r in rows if r.status != AccountStatus.NOT_IN_ORG}
    if management:
        members.add(management)
    by_id = {r.account_id: r for r in rows}
    return LoadedEstate(
        items_by_account=dict(items),
        accounts=by_id,
        resource_pks=resource_pks,
        iam_collected={a: set(CORE_IAM_TYPES) <= collected.get(a, set()) for a in by_id},
        management_account_id=management,
        org_id=org_id,
        org_account_ids=frozenset(members),
        org_items=org_items,
    )


def build_state(stamp: str = "", accounts: list[AccountRow] | None = None) -> GraphState:
    """Load the estate from the database and build its graph (no caching: see :func:`current`)."""
    rows = accounts if accounts is not None else _account_rows()
    stamp = stamp or graph_stamp(rows)
    t0 = time.perf_counter()
    loaded = load_estate(rows)
    t1 = time.perf_counter()
    estate = from_items(
        loaded.items_by_account,
        loaded.environments,
        loaded.org_account_ids,
        loaded.management_account_id,
        org_id=loaded.org_id,
        critical_environments=critical_environments(),
        org_items=loaded.org_items,
    )
    graph = build_graph(estate)
    t2 = time.perf_counter()
    log.info(
        "IAM graph built: %d principals, %d paths (load %.1fs, build %.1fs)",
        len(graph.principals),
        len(graph.paths),
        t1 - t0,
        t2 - t1,
    )
    return GraphState(stamp, graph, loaded, timezone.now(), t1 - t0, t2 - t1)


def current(*, refresh_table: bool = True) -> GraphState:
    """The graph of the estate as stored now: built once per stamp in this process.

    Costs two small queries when the graph is current. When it is not, the estate is loaded and
    the graph built (seconds at a large estate) under a lock, so concurrent requests wait for one
    build; the principals table is then brought up to date (``refresh_table``).
    """
    global _STATE
    rows = _account_rows()
    stamp = graph_stamp(rows)
    state = _STATE
    if state is not None and state.stamp == stamp:
        return state
    with _LOCK:
        state = _STATE
        if state is None or state.stamp != stamp:
            state = build_state(stamp, rows)
            _STATE = state
    if refresh_table:
        refresh_principals(state)
    return state


# ---------------------------------------------------------------------------------------------- the table
def _principal_fields(
    state: GraphState, arn: str, inbound: Counter[str], outside: Counter[str]
) -> dict[str, Any]:
    graph = state.graph
    p = graph.principals[arn]
    data: Mapping[str, Any] = p.item.data if p.item is not None and isinstance(p.item.data, Mapping) else {}
    fields: dict[str, Any] = {
        "kind": p.kind,
        "name": (p.name or arn)[:1024],
        "path": (p.path or "")[:512],
        "inside_org": p.inside,
        "service_linked": p.is_service_linked,
        "mfa": None,
        "console": None,
        "active_keys": 0,
        "oldest_key_created": None,
        "key_last_used": None,
        "password_last_used": None,
        "last_used": None,
        "created": parse_time(data.get("CreateDate")),
        "groups": [graph.principals[g].name for g in p.group_arns if g in graph.principals],
        "policies": list(
            dict.fromkeys(
                f"{ref.name} (group {ref.via_group_name})" if ref.via_group_name else ref.name
                for ref in p.policies
            )
        ),
        "privilege": "none",
        "privilege_rank": 0,
        "privilege_label": "",
        "reachable_accounts": len(graph.reachable_accounts(arn)),
        "inbound_paths": inbound.get(arn, 0),
        "inbound_outside": outside.get(arn, 0),
    }
    if p.kind == "user":
        keys = [k for k in data.get("AccessKeys") or [] if isinstance(k, Mapping)]
        active = [k for k in keys if k.get("Status") == "Active"]
        created = [t for k in active if (t := parse_time(k.get("CreateDate"))) is not None]
        used = [t for k in keys if (t := parse_time(k.get("LastUsedDate"))) is not None]
        password = parse_time(data.get("PasswordLastUsed"))
        fields.update(
            mfa=bool(data.get("MFADevices")),
            console=isinstance(data.get("LoginProfile"), Mapping),
            active_keys=min(len(active), 32767),
            oldest_key_created=min(created) if created else None,
            key_last_used=max(used) if used else None,
            password_last_used=password,
            last_used=max([t for t in (*used, password) if t is not None], default=None),
        )
    elif p.kind == "role":
        last = data.get("RoleLastUsed")
        fields["last_used"] = parse_time(last.get("LastUsedDate")) if isinstance(last, Mapping) else None
    if p.kind in ("user", "role"):
        privilege = graph.effective(p).privilege
        fields.update(
            privilege=privilege.name,
            privilege_rank=PRIVILEGE_RANK.get(privilege.name, 0),
            privilege_label=privilege.detail[:300],
        )
    return fields


def _digest(fields: Mapping[str, Any]) -> str:
    return hashlib.sha1(
        json.dumps(fields, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()


def refresh_principals(state: GraphState, *, force: bool = False) -> int:
    """Bring the principals table in line with the graph (unless it already reflects this stamp).

    Only what changed is written: each row carries a digest of its values, so a rebuild after one
    account's collection upserts that account's changed principals (in batches) and deletes the
    ones that are gone, then moves every row to the new stamp in one statement; all in one
    transaction. Returns the number of rows written (0 when nothing was to do).
    """
    stamp = state.stamp
    if not force and not Principal.objects.exclude(graph_stamp=stamp).exists():
        if Principal.objects.filter(graph_stamp=stamp).exists() or not _stored_arns(state):
            return 0
    graph = state.graph
    inbound: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for path in graph.paths:
        inbound[path.target_arn] += 1
        if path.outside_org:
            outside[path.target_arn] += 1
    existing = {
        (account_pk, arn): (pk, digest)
        for pk, account_pk, arn, digest in Principal.objects.values_list("pk", "account_id", "arn", "digest")
    }
    now = timezone.now()
    rows = []
    seen: set[tuple[int, str]] = set()
    for arn in _stored_arns(state):
        p = graph.principals[arn]
        account_pk = state.loaded.accounts[p.account_id].pk
        key = (account_pk, arn[:2048])
        seen.add(key)
        fields = _principal_fields(state, arn, inbound, outside)
        fields["resource_id"] = state.loaded.resource_pks.get(arn)
        digest = _digest(fields)
        if not force and existing.get(key, (None, ""))[1] == digest:
            continue
        rows.append(
            Principal(
                account_id=account_pk, arn=key[1], graph_stamp=stamp, updated=now, digest=digest, **fields
            )
        )
    gone = [pk for key, (pk, _digest_) in existing.items() if key not in seen]
    update_fields = [
        f.name
        for f in Principal._meta.concrete_fields
        if f.name not in ("id", "account", "arn") and not f.primary_key
    ]
    with transaction.atomic():
        for start in range(0, len(gone), BULK):
            Principal.objects.filter(pk__in=gone[start : start + BULK]).delete()
        for start in range(0, len(rows), BULK):
            Principal.objects.bulk_create(
                rows[start : start + BULK],
                update_conflicts=True,
                unique_fields=["account", "arn"],
                update_fields=update_fields,
            )
        Principal.objects.exclude(graph_stamp=stamp).update(graph_stamp=stamp)
    state._principal_pks = None
    return len(rows)


def _stored_arns(state: GraphState) -> list[str]:
    """Principals of registered accounts that were collected (not parties only named in trusts)."""
    accounts = state.loaded.accounts
    return sorted(
        arn
        for arn, p in state.graph.principals.items()
        if p.kind in STORED_KINDS and p.item is not None and p.account_id in accounts
    )


# ---------------------------------------------------------------------------------------------- checks
def graph_checks() -> list[Check]:
    """The graph checks as :class:`Check` objects (for catalogues; they are not in the per-account registry)."""
    return [c.to_check() for c in GRAPH_CHECKS.values()]


def _graph_findings(state: GraphState, now: dt.datetime) -> dict[str, list[Result]]:
    """The graph checks' failures, computed once per graph and day (they only read ``now`` for ages)."""
    day = now.date()
    if state._findings is None or state._findings[0] != day:
        unused = int(getattr(settings, "SKYLEDGER_UNUSED_DAYS", 90) or 90)
        state._findings = (day, graph_findings(state.graph, now=now, unused_days=unused))
    return state._findings[1]


def graph_results_by_account(now: dt.datetime | None = None) -> dict[str, dict[str, list[Result]]]:
    """Results of every graph check for every registered account: account id -> check id -> results.

    A failing subject is filed under the account in its ARN. An account whose IAM was collected
    and where a check found nothing gets one PASS result (its root ARN), so the check's findings
    there are resolved; an account whose IAM was not collected completely gets UNKNOWN, so its
    findings stay as they were.

    The organisation (its SCPs, its members) is read from the management account. While a known
    management account's organisation is not collected completely (the first collection of an
    estate, before its turn), a failure of a check that depends on it could vanish once it is in
    (an SCP takes away the power that made an administrator): such failures are UNKNOWN until then.
    """
    now = now or timezone.now()
    state = current()
    management = state.loaded.management_account_id
    org_missing = missing_org_types(org_coverage(management), GRAPH_ORG_TYPES) if management else []
    by_check = _graph_findings(state, now)
    failing: dict[str, dict[str, list[Result]]] = defaultdict(lambda: defaultdict(list))
    for check_id, results in by_check.items():
        for result in results:
            failing[account_of(result.subject)][check_id].append(result)
    out: dict[str, dict[str, list[Result]]] = {}
    for account_id in state.loaded.accounts:
        root = f"arn:aws:iam::{account_id}:root"
        per_check: dict[str, list[Result]] = {}
        collected = state.loaded.iam_collected.get(account_id, False)
        for check_id in GRAPH_CHECKS:
            found = failing.get(account_id, {}).get(check_id, [])
            if found and org_missing and check_id not in GRAPH_CHECKS_OWN_DATA:
                per_check[check_id] = [
                    Result(
                        subject=root,
                        status=Status.UNKNOWN,
                        summary=(
                            f"Not evaluated yet: needs {', '.join(org_missing)} of the management account "
                            f"{management}, not collected completely yet"
                        ),
                        evidence={"missing": org_missing, "management_account_id": management},
                    )
                ]
            elif found:
                per_check[check_id] = list(found)
            elif collected:
                per_check[check_id] = [Result.ok(root, "No subject of this account fails.")]
            else:
                per_check[check_id] = [
                    Result(
                        subject=root,
                        status=Status.UNKNOWN,
                        summary="Not evaluated: this account's IAM was not collected completely.",
                    )
                ]
        out[account_id] = per_check
    return out


# ---------------------------------------------------------------------------------------------- page data
def cached(state: GraphState, key: str, compute: Callable[[], T]) -> T:
    """``compute()`` through Django's cache, under the graph's stamp (a new collection misses).

    The value is also kept on the graph's state (up to :data:`MEMO_SIZE` entries), so the process
    that holds the graph does not unpickle the same page data on every view.
    """
    if key in state._memo:
        return state._memo[key]
    full = f"{CACHE_PREFIX}:{state.stamp}:{hashlib.sha256(key.encode()).hexdigest()[:24]}"
    value = cache.get(full)
    if value is None:
        value = compute()
        cache.set(full, value, CACHE_TIMEOUT)
    if len(state._memo) >= MEMO_SIZE:
        state._memo.pop(next(iter(state._memo)))  # the oldest entry
    state._memo[key] = value
    return value


def _requirement(r: Any) -> dict[str, str]:
    return {"kind": r.kind, "text": r.text, "where": r.where, "key": r.key}


def path_view(path: Path, *, statements: bool = False) -> dict[str, Any]:
    """One path as plain data for the pages (hops, grants, conditions; statements when asked)."""
    hops = []
    for h in path.hops:
        hop: dict[str, Any] = {
            "kind": h.kind,
            "name": h.name,
            "arn": h.arn,
            "account_id": h.account_id,
            "environment": h.environment,
            "policy_name": h.policy_name,
            "policy_kind": h.policy_kind,
            "sid": h.sid,
            "index": h.index,
            "text": h.text,
        }
        if statements and h.statement is not None:
            hop["statement"] = dict(h.statement)
        hops.append(hop)
    return {
        "source_arn": path.source_arn,
        "source_name": path.source_name,
        "source_kind": path.source_kind,
        "source_account": path.source_account,
        "outside_org": path.outside_org,
        "whole_account": path.from_account_root,
        "holders": None if path.holders is None else list(path.holders),
        "holders_text": path.holders_text(),
        "hops": hops,
        "target_arn": path.target_arn,
        "target_name": path.target_name,
        "target_account": path.target_account,
        "target_environment": path.target_environment,
        "privilege": path.privilege.name,
        "privilege_rank": int(path.privilege.level),
        "privilege_label": path.privilege.label,
        "privilege_detail": path.privilege.detail,
        "grants": list(path.grants),
        "conditions": [_requirement(r) for r in dict.fromkeys(path.conditions)],
        "mfa_required": path.mfa_required,
        "assumes": path.assumes,
        "direct": not path.hops,
        "describe": path.describe(),
    }


def _path_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    # the riskiest first: most power, no MFA, from outside, then by name
    return (-row["privilege_rank"], row["mfa_required"], not row["outside_org"], row["source_name"].lower())


def inbound_groups(state: GraphState, account_id: str) -> list[dict[str, Any]]:
    """Every path into ``account_id``, grouped by the role reached (users' own access in one group).

    Groups come most powerful first; each carries the role, its privilege, the policies granting
    it and its paths (riskiest first). Cached under the stamp.
    """

    def compute() -> list[dict[str, Any]]:
        groups: dict[str, dict[str, Any]] = {}
        for path in state.graph.paths_to(account_id):
            row = path_view(path)
            key = path.target_arn if path.hops else "direct"
            group = groups.get(key)
            if group is None:
                group = groups[key] = {
                    "key": key,
                    "direct": not path.hops,
                    "role_arn": path.target_arn if path.hops else "",
                    "role_name": path.target_name if path.hops else "",
                    "privilege": row["privilege"],
                    "privilege_rank": row["privilege_rank"],
                    "privilege_label": row["privilege_label"],
                    "grants": row["grants"],
                    "paths": [],
                }
            elif row["privilege_rank"] > group["privilege_rank"]:
                group.update(
                    privilege=row["privilege"],
                    privilege_rank=row["privilege_rank"],
                    privilege_label=row["privilege_label"],
                )
            group["paths"].append(row)
        out = list(groups.values())
        for group in out:
            group["paths"].sort(key=_path_order)
            group["count"] = len(group["paths"])
            group["without_mfa"] = sum(1 for r in group["paths"] if not r["mfa_required"])
            group["outside"] = sum(1 for r in group["paths"] if r["outside_org"])
            group["sources"] = len({r["source_arn"] for r in group["paths"]})
        out.sort(key=lambda g: (-g["privilege_rank"], g["direct"], -g["count"], g["role_name"].lower()))
        return out

    return cached(state, f"inbound:{account_id}", compute)


def outbound_paths(state: GraphState, arn: str) -> list[dict[str, Any]]:
    """Every path from the principal ``arn``, with statements, riskiest first. Cached under the stamp."""

    def compute() -> list[dict[str, Any]]:
        rows = [path_view(p, statements=True) for p in state.graph.paths_from(arn)]
        rows.sort(key=lambda r: (r["target_account"], *_path_order(r)))
        return rows

    return cached(state, f"outbound:{arn}", compute)


def trust_payload(state: GraphState) -> dict[str, Any]:
    """Nodes (accounts and outside parties) and edges (who can assume into which account). Cached."""

    def compute() -> dict[str, Any]:
        graph = state.graph
        accounts = state.loaded.accounts
        inbound: Counter[str] = Counter()
        for account_id in accounts:
            inbound[account_id] = len(graph.paths_to(account_id))
        nodes: dict[str, dict[str, Any]] = {}
        for account_id, row in accounts.items():
            nodes[account_id] = {
                "id": account_id,
                "label": row.name or account_id,
                "kind": "account",
                "environment": row.environment,
                "inside": account_id in state.loaded.org_account_ids or not state.loaded.org_account_ids,
                "account_pk": row.pk,
                "inbound_paths": inbound.get(account_id, 0),
            }
        edges = []
        for edge in graph.trust_edges():
            source = edge.source
            if source not in nodes:
                p = graph.principals.get(source)
                outside = edge.outside_org or source == "*"
                nodes[source] = {
                    "id": source,
                    "label": "anyone (*)"
                    if source == "*"
                    else (p.name if p is not None and p.name else source),
                    "kind": edge.source_kind,
                    "environment": "",
                    "inside": not outside,
                    "account_pk": None,
                    "inbound_paths": 0,
                }
            if edge.target_account not in nodes:
                continue  # a role of an account we do not have (cannot happen: roles come from collected accounts)
            edges.append(
                {
                    "source": source,
                    "target": edge.target_account,
                    "privilege": edge.best_privilege.name,
                    "privilege_rank": int(edge.best_privilege.level),
                    "privilege_label": edge.best_privilege.label,
                    "outside_org": edge.outside_org,
                    "mfa_always": edge.mfa_always,
                    "roles": [r.rsplit("/", 1)[-1] for r in edge.roles],
                    # roles trusting the source account as a whole, with who may use them today
                    "whole_account": [
                        {
                            "role": role.rsplit("/", 1)[-1],
                            "known": holders is not None,
                            "holders": [h.rsplit("/", 1)[-1] for h in holders or ()],
                        }
                        for role, holders in edge.whole_account
                    ],
                }
            )
        return {"nodes": list(nodes.values()), "edges": edges}

    return cached(state, "trust", compute)


def filter_paths(state: GraphState, *, to_account: str = "", from_principal: str = "") -> Iterator[Path]:
    """Paths of the graph, all of them or only those into an account and/or from a principal;
    then, marked ``blocked``, the paths a service control policy stops (not access, but what the
    guardrail is there for: the export names the SCP)."""
    graph = state.graph
    if from_principal:
        source: Iterable[Path] = graph.paths_from(from_principal)
        if to_account:
            source = (p for p in source if p.target_account == to_account)
    elif to_account:
        source = graph.paths_to(to_account)
    else:
        source = graph.paths
    yield from source
    for path in graph.blocked_paths:
        if (not to_account or path.target_account == to_account) and (
            not from_principal or path.source_arn == from_principal
        ):
            yield path


def privilege_rank(slug: str) -> int:
    """The order of a privilege slug (higher is more power; unknown slugs rank 0)."""
    return PRIVILEGE_RANK.get(slug, 0)

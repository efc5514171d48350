"""The Django side of the exposure analysis: stored resources in, cached maps and exposure lists out.

:mod:`inventory.exposure` is pure (items in, reports out). This module feeds it the live resources
of one account (only the types it reads, straight from ``values_list`` into
:class:`~inventory.records.Record` objects: no model instances), and keeps the results in
Django's cache so pages do not redo the analysis on every request.

Cache keys hold the account's *collection stamp*: the latest ``CoverageRecord.collected_at`` of the
account. Every ingest pass (the only writer of resources) records its coverage with the pass time,
so a new collection changes the stamp and old entries are simply never asked for again; the timeout
only bounds memory. The default local-memory cache is per process; a deployment with several web
processes should point ``CACHES`` at a shared cache (Redis) so they share the work.

What is cached is plain data (lists, dicts, strings): safe to pickle into any cache backend, and
never a model instance that could go stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Max
from django.urls import NoReverseMatch, reverse

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from inventory.exposure import vectors
from inventory.exposure.analysis import ASG_TAG, analyse_account, build_model
from inventory.exposure.mapgraph import INTERNET, build_map, estate_treemap, parse_group_key
from inventory.exposure.ports import PortRange
from inventory.exposure.results import NETWORK_VECTORS, VECTORS, Exposure
from inventory.models import CoverageRecord, Resource
from inventory.records import GLOBAL_REGION, Coverage, Record

log = logging.getLogger(__name__)

# Every type the analysis reads (topology + the resources that receive traffic).
NETWORK_TYPES: tuple[str, ...] = (
    "ec2:vpc",
    "ec2:subnet",
    "ec2:route-table",
    "ec2:internet-gateway",
    "ec2:nat-gateway",
    "ec2:network-acl",
    "ec2:security-group",
    "ec2:managed-prefix-list",
    "ec2:vpc-peering-connection",
    "ec2:elastic-ip",
    "ec2:network-interface",
    "ec2:instance",
    "elb:load-balancer",
    "elbv2:load-balancer",
    "rds:db-instance",
    "lambda:function",
    "eks:cluster",
)
# Coverage under which "this type was read and absence means absence" holds. UNSUPPORTED means the
# service is not offered there, so nothing of the type exists either.
COMPLETE = frozenset({Coverage.OK.value, Coverage.UNSUPPORTED.value})

CACHE_PREFIX = "skyledger:exposure:v2"
CACHE_SECONDS = 6 * 3600
ITEM_FIELDS = ("id", "type", "arn", "resource_id", "name", "region", "tags", "data")
HOP_TITLES = {
    "internet-gateway": "Internet gateway",
    "route-table": "Route table",
    "subnet": "Subnet",
    "network-acl": "Network ACL",
    "security-group": "Security group",
    "listener": "Listener",
    "function-url": "Function URL",
    "public-endpoint": "Public endpoint",
    "resource": "Resource",
}


# ---------------------------------------------------------------------- loading and keys
def collection_stamp(account_pk: int) -> str:
    """When the account's stored resources last changed: its latest coverage record (one query)."""
    return collection_stamps([account_pk])[account_pk]


def collection_stamps(account_pks: Iterable[int]) -> dict[int, str]:
    """:func:`collection_stamp` of many accounts in one grouped query (``"never"`` when not collected)."""
    pks = list(account_pks)
    rows = (
        CoverageRecord.objects.filter(account_id__in=pks)
        .order_by()
        .values_list("account_id")
        .annotate(at=Max("collected_at"))
    )
    found = {pk: at.isoformat() for pk, at in rows if at is not None}
    return {pk: found.get(pk, "never") for pk in pks}


def _key(kind: str, account_pk: int | str, stamp: str, params: Mapping[str, Any] | None = None) -> str:
    digest = hashlib.sha256(json.dumps(params or {}, sort_keys=True, default=str).encode()).hexdigest()[:24]
    # memcached refuses spaces and long keys: the stamp goes through the digest as well
    stamp_digest = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    return f"{CACHE_PREFIX}:{kind}:{account_pk}:{stamp_digest}:{digest}"


def load_items(
    account_pk: int, region: str | None = None, types: Sequence[str] = NETWORK_TYPES
) -> tuple[list[Record], dict[str, int]]:
    """The account's live resources of ``types`` (in ``region``), and ARN -> resource pk."""
    rows = Resource.objects.filter(account_id=account_pk, deleted_at__isnull=True, type__in=list(types))
    if region:
        rows = rows.filter(region=region)
    items: list[Record] = []
    pk_by_arn: dict[str, int] = {}
    for pk, type_, arn, resource_id, name, item_region, tags, data in (
        rows.order_by().values_list(*ITEM_FIELDS).iterator(chunk_size=2000)
    ):
        items.append(
            Record(
                type=type_,
                arn=arn,
                resource_id=resource_id,
                name=name,
                region=item_region,
                tags=tags if isinstance(tags, dict) else {},
                data=data if isinstance(data, dict) else {},
            )
        )
        pk_by_arn[arn] = pk
    return items, pk_by_arn


def network_regions(account_pk: int) -> list[str]:
    """Regions where the account has network resources, busiest first (one grouped query), then
    the regions where only a policy, ACL or sharing opens something (the map draws those too)."""
    rows = (
        Resource.objects.filter(account_id=account_pk, deleted_at__isnull=True, type__in=NETWORK_TYPES)
        .exclude(region=GLOBAL_REGION)
        .order_by()
        .values_list("region")
        .annotate(n=Count("pk"))
    )
    regions = [region for region, _n in sorted(rows, key=lambda r: (-r[1], r[0]))]
    opened = {
        str(x.get("region"))
        for x in account_exposure(account_pk).exposed
        if x.get("vector") not in NETWORK_VECTORS and x.get("region") not in ("", GLOBAL_REGION)
    }
    return regions + sorted(opened - set(regions))


def vpcs_in(account_pk: int, region: str) -> list[tuple[str, str]]:
    """``(vpc id, label)`` of the account's live VPCs in ``region``."""
    rows = (
        Resource.objects.filter(account_id=account_pk, region=region, type="ec2:vpc", deleted_at__isnull=True)
        .order_by("resource_id")
        .values_list("resource_id", "name")
    )
    return [(vid, f"{name} ({vid})" if name and name != vid else vid) for vid, name in rows]


# ---------------------------------------------------------------------- readable output
def hop_text(hop: Mapping[str, Any]) -> str:
    """``Security group sg-1 (tcp/22 from 0.0.0.0/0)``."""
    title = HOP_TITLES.get(str(hop.get("kind", "")), str(hop.get("kind", "")))
    detail = str(hop.get("detail") or "")
    return f"{title} {hop.get('id', '')}" + (f" ({detail})" if detail else "")


def path_text(path: Sequence[Mapping[str, Any]]) -> str:
    """The whole way in, one line: internet gateway → route table → subnet → ACL → group → resource."""
    return " → ".join(hop_text(h) for h in path)


def ports_text(ports: Sequence[Mapping[str, Any]]) -> str:
    """Every exposed range (``tcp/22, tcp/443``), unshortened, for exports."""
    out = []
    for p in ports:
        try:
            out.append(str(PortRange(str(p["protocol"]), int(p["from_port"]), int(p["to_port"]))))
        except (KeyError, TypeError, ValueError):
            continue
    return ", ".join(out)


def port_matches(ports: Sequence[Mapping[str, Any]], port: int) -> bool:
    """Is TCP or UDP ``port`` among the exposed ``ports`` (``as_dict`` ranges)?"""
    listed = {p.get("protocol") for p in ports}
    for p in ports:
        proto = p.get("protocol")
        if proto == "all":
            return True
        if proto == "other" and not {"tcp", "udp"} <= listed:
            return True  # "every other protocol" then includes TCP or UDP, every port of it
        if proto in ("tcp", "udp"):
            try:
                if int(p["from_port"]) <= port <= int(p["to_port"]):
                    return True
            except (KeyError, TypeError, ValueError):
                continue
    return False


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


def resource_url(pk: int | None) -> str:
    return _url("inventory:resource_detail", pk) if pk else ""


def list_url(**params: Any) -> str:
    """The resource list filtered by ``params`` (empty values left out)."""
    base = _url("inventory:resource_list")
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if base and query else base


# ---------------------------------------------------------------------- exposure of one account
def exposure_types() -> tuple[str, ...]:
    """Every type the exposure reads: the network analysis' and the registered vector finders'."""
    return tuple(dict.fromkeys((*NETWORK_TYPES, *vectors.finder_types())))


def organisation_ids() -> frozenset[str]:
    """The organisation's account ids as the registry knows them (accounts marked "not in
    organisation" are outsiders): a role trusting any other account trusts an outsider."""
    return frozenset(
        AwsAccount.objects.exclude(status=AccountStatus.NOT_IN_ORG).values_list("account_id", flat=True)
    )


def _organisation_digest(organisation: frozenset[str]) -> str:
    return hashlib.sha256(",".join(sorted(organisation)).encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class AccountExposure:
    """An account's exposure, every way in, as plain data (what is cached).

    ``exposed``: one dict per (resource, vector) -- :meth:`Exposure.as_dict` plus ``resource_pk``,
    ``path_text``, ``ports_text``, ``hops`` (the network path, with the ``resource_pk`` of each hop
    that is a stored resource) and ``security_group_pks`` (to find the findings on them).
    """

    account_pk: int
    stamp: str
    exposed: list[dict[str, Any]]
    via_load_balancer: list[dict[str, Any]]
    warnings: list[str]

    @property
    def count(self) -> int:
        return len(self.exposed)

    @property
    def resource_count(self) -> int:
        """Distinct resources exposed (one may be open in several ways)."""
        return len({x.get("arn") for x in self.exposed})

    def by_vector(self) -> dict[str, int]:
        """Vector -> number of exposures, in :data:`VECTORS` order (vectors with none left out)."""
        counts = {v: 0 for v in VECTORS}
        for x in self.exposed:
            counts[str(x.get("vector"))] = counts.get(str(x.get("vector")), 0) + 1
        return {v: n for v, n in counts.items() if n}


def _exposure_row(
    x: Exposure, pk_by_arn: Mapping[str, int], pk_by_id: Mapping[tuple[str, str], int]
) -> dict[str, Any]:
    row = x.as_dict()
    row["resource_pk"] = pk_by_arn.get(x.arn)
    hops = []
    for hop in x.path:
        pk = pk_by_arn.get(hop.arn) if hop.arn else pk_by_id.get((x.region, hop.id))
        hops.append({**hop.as_dict(), "title": HOP_TITLES.get(hop.kind, hop.kind), "resource_pk": pk})
    row["hops"] = hops
    row["security_group_pks"] = [
        pk for pk in (pk_by_id.get((x.region, gid)) for gid in x.security_groups) if pk is not None
    ]
    row["path_text"] = path_text(row["path"])
    row["ports_text"] = ports_text(row["ports"])
    return row


def _row_order(row: Mapping[str, Any]) -> tuple[str, ...]:
    vector = str(row.get("vector", ""))
    rank = list(VECTORS).index(vector) if vector in VECTORS else len(VECTORS)
    return (
        str(row.get("region", "")),
        str(row.get("type", "")),
        str(row.get("resource_id", "")),
        f"{rank:02d}",
    )


def compute_exposure(
    account_pk: int, stamp: str = "", organisation: frozenset[str] | None = None
) -> AccountExposure:
    """Analyse the account's stored resources (every region) now, without the cache: the network
    analysis and every registered vector finder (``organisation``: :func:`organisation_ids`).

    ``stamp="never"`` (no collection pass ever recorded) skips the query: resources are only
    written by collection passes, so such an account has nothing stored.
    """
    if stamp == "never":
        return AccountExposure(
            account_pk=account_pk, stamp=stamp, exposed=[], via_load_balancer=[], warnings=[]
        )
    items, pk_by_arn = load_items(account_pk, types=exposure_types())
    network = [i for i in items if i.type in NETWORK_TYPES]
    report = analyse_account(network)
    found = list(report.exposed)
    if vectors.finders():
        account_id = AwsAccount.objects.filter(pk=account_pk).values_list("account_id", flat=True).first()
        context = vectors.Context(
            account_id=account_id or "",
            organisation=organisation if organisation is not None else organisation_ids(),
        )
        found += vectors.find_exposures(items, context)
    pk_by_id = {(i.region, i.resource_id): pk_by_arn[i.arn] for i in network if i.arn in pk_by_arn}
    return AccountExposure(
        account_pk=account_pk,
        stamp=stamp,
        exposed=sorted((_exposure_row(x, pk_by_arn, pk_by_id) for x in found), key=_row_order),
        via_load_balancer=[t.as_dict() for t in report.via_load_balancer],
        warnings=list(report.warnings),
    )


def account_exposures(accounts: Iterable[AwsAccount | int]) -> dict[int, AccountExposure]:
    """Account pk -> exposure, from the cache when nothing was collected since it was computed.

    Two queries for the cached ones (the stamps and the organisation's accounts; only the first
    when none was ever collected) and one cache round trip; each account not in the cache costs
    two queries and its analysis. The key holds the organisation's membership too: a trust is
    "outside" only relative to it, and the registry may change between two collections.
    """
    pks = [a if isinstance(a, int) else a.pk for a in accounts]
    stamps = collection_stamps(pks)
    # accounts never collected have nothing stored: their (empty) answer needs no organisation
    collected = any(stamp != "never" for stamp in stamps.values())
    organisation = organisation_ids() if collected else frozenset()
    params = {"organisation": _organisation_digest(organisation)}
    keys = {pk: _key("account", pk, stamps[pk], params) for pk in pks}
    found = cache.get_many(list(keys.values()))
    out: dict[int, AccountExposure] = {}
    fresh: dict[str, AccountExposure] = {}
    for pk, key in keys.items():
        value = found.get(key)
        if not isinstance(value, AccountExposure):
            value = fresh[key] = compute_exposure(pk, stamps[pk], organisation)
        out[pk] = value
    if fresh:
        cache.set_many(fresh, CACHE_SECONDS)
    return out


def account_exposure(account: AwsAccount | int) -> AccountExposure:
    """One account's :func:`account_exposures`."""
    pk = account if isinstance(account, int) else account.pk
    return account_exposures([pk])[pk]


@dataclasses.dataclass(frozen=True)
class ExposedRow:
    """One line of the "Exposed" page / export: one way into a resource of a registered account."""

    account: AwsAccount
    exposure: dict[str, Any]
    findings: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def exposed_rows(
    accounts: Iterable[AwsAccount],
    *,
    region: str = "",
    port: int | None = None,
    vector: Iterable[str] = (),
) -> list[ExposedRow]:
    """Every way into the resources of ``accounts`` (optionally in ``region``, on ``port`` -- only
    network exposures have ports --, of the vectors in ``vector``).

    Sorted by account name, region, type, resource id, vector. One query for the accounts' stamps
    when their exposure is cached, plus two queries and the analysis for each account that is not.
    """
    ordered = sorted(accounts, key=lambda a: (a.name, a.account_id))
    wanted = set(vector)
    exposures = account_exposures(ordered)
    rows: list[ExposedRow] = []
    for account in ordered:
        for x in exposures[account.pk].exposed:
            if region and x.get("region") != region:
                continue
            if wanted and x.get("vector") not in wanted:
                continue
            if port is not None and not port_matches(x.get("ports") or [], port):
                continue
            rows.append(ExposedRow(account, x))
    return rows


def attach_findings(rows: Sequence[ExposedRow]) -> None:
    """Fill each row's ``findings``: unresolved findings on the resource or on its security groups.

    One query, and only when the audit app is installed (it sits above inventory, so it is reached
    through the app registry, never imported).
    """
    from django.apps import apps

    if not rows or not apps.is_installed("iam_audit"):
        return
    finding_model = apps.get_model("iam_audit", "Finding")
    wanted: dict[int, list[int]] = {}  # resource pk -> indexes of rows it belongs to
    for index, row in enumerate(rows):
        pks = [row.exposure.get("resource_pk"), *(row.exposure.get("security_group_pks") or [])]
        for pk in pks:
            if pk:
                wanted.setdefault(pk, []).append(index)
    if not wanted:
        return
    found = (
        finding_model.objects.filter(resource_id__in=list(wanted))
        .exclude(status="resolved")
        .order_by("severity_rank", "-priority", "pk")
        .values_list("pk", "resource_id", "check_id", "severity", "title", "status")
    )
    for pk, resource_pk, check_id, severity, title, status in found:
        link = {
            "pk": pk,
            "check_id": check_id,
            "severity": severity,
            "title": title,
            "status": status,
            "url": _url("iam_audit:finding_detail", pk),
        }
        for index in wanted.get(resource_pk, ()):
            if all(f["pk"] != pk for f in rows[index].findings):
                rows[index].findings.append(link)


# ---------------------------------------------------------------------- findings agreement
def sg_reachability(
    items: Iterable[Any], coverage: Mapping[tuple[str, str], Any] | None = None
) -> dict[str, bool | None]:
    """Security-group ARN -> does one of its rules admit the internet to something reachable?

    For the checks engine (see :func:`iam_audit.snapshots.build`): an internet-open group on
    nothing reachable deserves a lower priority. ``False`` is only claimed when the group's region
    was collected completely for every type the analysis reads (``coverage``: (type, region) ->
    coverage); otherwise the answer is ``None`` (unknown), never a false reassurance.
    """
    network = [i for i in items if getattr(i, "type", None) in NETWORK_TYPES]
    groups = [i for i in network if i.type == "ec2:security-group" and i.arn]
    if not groups:
        return {}
    report = analyse_account(network)
    complete: dict[str, bool] = {}
    out: dict[str, bool | None] = {}
    for group in groups:
        value = report.sg_reachable(group.arn)
        if value is False and coverage is not None:
            if group.region not in complete:
                # Coverage is a StrEnum: str() is its value; a missing record is "never collected"
                complete[group.region] = all(
                    str(coverage.get((t, group.region)) or "") in COMPLETE for t in NETWORK_TYPES
                )
            if not complete[group.region]:
                value = None
        out[group.arn] = value
    return out


# ---------------------------------------------------------------------- the map
@dataclasses.dataclass(frozen=True)
class MapFilters:
    """What one map shows: an account's region, optionally one VPC, a tag and "exposed only"."""

    region: str
    vpc_id: str = ""
    tag_key: str = ""
    tag_value: str = ""
    exposed_only: bool = False

    def as_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _group_link(account_pk: int, key: str) -> str:
    group = parse_group_key(key)
    params: dict[str, Any] = {
        "account_id": account_pk,
        "region": group.get("region"),
        "type": group.get("type"),
    }
    if group.get("asg"):
        params.update(tag_key=ASG_TAG, tag_value=group["asg"])
    return list_url(**params)


def _node_links(
    account_pk: int, region: str, keys: Iterable[str], pk_by_arn: Mapping[str, int]
) -> dict[str, str]:
    links: dict[str, str] = {}
    exposed_url = _url("inventory:exposed")
    for key in keys:
        if not isinstance(key, str) or key in links:
            continue
        if key == INTERNET:
            if exposed_url:
                links[key] = f"{exposed_url}?{urlencode({'account': account_pk, 'region': region})}"
        elif key.startswith("group?"):
            links[key] = _group_link(account_pk, key)
        elif key in pk_by_arn:
            links[key] = resource_url(pk_by_arn[key])
        elif key.startswith("arn:") and ":vpc/" in key:
            # a peer VPC outside these items (another account or region): search for it
            links[key] = list_url(type="ec2:vpc", q=key.rsplit("/", 1)[-1])
    return {k: v for k, v in links.items() if v}


def _openings(account_pk: int, items: Sequence[Record]) -> list[Exposure]:
    """The non-network exposures among ``items`` (one region's: the map's), by the registered finders."""
    if not vectors.finders():
        return []
    account_id = AwsAccount.objects.filter(pk=account_pk).values_list("account_id", flat=True).first()
    context = vectors.Context(account_id=account_id or "", organisation=organisation_ids())
    return [x for x in vectors.find_exposures(items, context) if x.vector not in NETWORK_VECTORS]


def compute_map(account_pk: int, filters: MapFilters, stamp: str = "") -> dict[str, Any]:
    """The map of one account's region as plain data: figure, stats, node links, exposed nodes.

    ``exposed`` lists every way in of the region (network and the others, each with its vector);
    the nodes they open are marked on the figure.
    """
    items, pk_by_arn = load_items(account_pk, filters.region, types=exposure_types())
    openings = _openings(account_pk, items)
    model = build_model(items)
    payload = build_map(
        items,
        filters.region,
        vpc_id=filters.vpc_id or None,
        tag_key=filters.tag_key or None,
        tag_value=filters.tag_value or None,
        exposed_only=filters.exposed_only,
        model=model,
        openings=openings,
    )
    keys: list[str] = []
    for trace in payload.figure.get("data", []):
        keys += [k for k in trace.get("customdata") or [] if isinstance(k, str)]
    links = _node_links(account_pk, filters.region, keys, pk_by_arn)
    report = model.report
    exposed_nodes = []
    for x in [*report.exposed, *openings]:
        if filters.vpc_id and x.vpc_id != filters.vpc_id:
            continue
        exposed_nodes.append(
            {
                "name": x.name or x.resource_id,
                "resource_id": x.resource_id,
                "type": x.type,
                "vector": x.vector,
                "vector_label": x.vector_label,
                "ports": x.port_label,
                "evidence": x.evidence_text,
                "url": resource_url(pk_by_arn.get(x.arn)),
            }
        )
    return {
        "account": account_pk,
        "stamp": stamp,
        "filters": filters.as_params(),
        "figure": payload.figure,
        "stats": payload.stats,
        "links": links,
        "exposed": exposed_nodes,
        "warnings": list(report.warnings)[:20],
    }


def map_payload(account: AwsAccount | int, filters: MapFilters) -> dict[str, Any]:
    """:func:`compute_map`, cached per (account, collection stamp, filters)."""
    account_pk = account if isinstance(account, int) else account.pk
    stamp = collection_stamp(account_pk)
    key = _key(
        "map",
        account_pk,
        stamp,
        {**filters.as_params(), "organisation": _organisation_digest(organisation_ids())},
    )
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    result = compute_map(account_pk, filters, stamp)
    cache.set(key, result, CACHE_SECONDS)
    return result


# ---------------------------------------------------------------------- estate overview
def estate_stamp() -> str:
    """When anything in the estate was last collected (one aggregate over coverage records)."""
    latest = CoverageRecord.objects.aggregate(at=Max("collected_at"))["at"]
    return latest.isoformat() if latest else "never"


def account_label(name: str, account_id: str) -> str:
    return f"{name} ({account_id})" if name and name != account_id else account_id


def estate_overview(accounts: Iterable[AwsAccount] | None = None) -> dict[str, Any]:
    """Live resources per account → region → service → type as a treemap (counted in SQL), cached.

    Returns ``{"figure": ..., "accounts": {label: pk}, "total": n}``; the page turns a clicked
    sector into a resource-list link with the ``accounts`` map.
    """
    pks = sorted(a.pk for a in accounts) if accounts is not None else None
    stamp = estate_stamp()
    key = _key("estate", "all", stamp, {"accounts": pks})
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    qs = Resource.objects.filter(deleted_at__isnull=True)
    if pks is not None:
        qs = qs.filter(account_id__in=pks)
    grouped = list(
        qs.order_by().values_list("account_id", "region", "service", "type").annotate(n=Count("pk"))
    )
    labels = {
        pk: account_label(name, account_id)
        for pk, name, account_id in AwsAccount.objects.filter(pk__in={g[0] for g in grouped}).values_list(
            "pk", "name", "account_id"
        )
    }
    rows = [(labels.get(a, str(a)), r, s, t, n) for a, r, s, t, n in grouped]
    result = {
        "figure": estate_treemap(rows),
        "accounts": {label: pk for pk, label in labels.items()},
        "total": sum(n for *_rest, n in grouped),
    }
    cache.set(key, result, CACHE_SECONDS)
    return result


__all__ = [
    "NETWORK_TYPES",
    "AccountExposure",
    "ExposedRow",
    "MapFilters",
    "account_exposure",
    "account_exposures",
    "attach_findings",
    "collection_stamp",
    "collection_stamps",
    "compute_exposure",
    "compute_map",
    "estate_overview",
    "exposed_rows",
    "hop_text",
    "exposure_types",
    "load_items",
    "map_payload",
    "network_regions",
    "organisation_ids",
    "path_text",
    "port_matches",
    "sg_reachability",
    "vpcs_in",
]

"""IAM pages: principals, one principal, who can reach an account (and how), the trust graph, exports.

=======================  ========  =====  ======  ==========
page                     security  owner  viewer  anonymous
=======================  ========  =====  ======  ==========
every page and export    yes       yes    yes     login page
=======================  ========  =====  ======  ==========

Nothing here changes data. The principals list reads the :class:`~iam_audit.models.Principal` table
(kept in step with the graph by :mod:`iam_audit.graph_store`); the other pages read the graph itself,
which :func:`iam_audit.graph_store.current` builds once per collection. Every name, policy and tag
shown comes from AWS: templates escape it, plotly labels are ``html.escape``-d, JSON for scripts
goes through ``json_script``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Environment
from accounts.models import AwsAccount
from core.exporting import csv_response, json_response, safe_filename
from core.secrets import redactor_for
from core.ui import ObjectListView, url_or_none
from iam_audit import graph_store, trust_chart
from iam_audit.choices import ACTIVE_STATUSES
from iam_audit.filtersets import PrincipalFilterSet
from iam_audit.forms import ACCOUNT_ID, AccessFilterForm, TrustFilterForm
from iam_audit.graph import ROW_FIELDS, path_row
from iam_audit.graph.findings import EFFECTIVE_ADMIN, ESCALATION
from iam_audit.models import PRIVILEGE_RANK, Finding, Principal
from iam_audit.tables import PrincipalTable

PATHS_SHOWN_PER_GROUP = 50  # the rest are in the export
PATHS_SHOWN_FROM_PRINCIPAL = 300
ESCALATION_CHECKS = (ESCALATION, "iam.privilege_escalation", EFFECTIVE_ADMIN)


# ---------------------------------------------------------------------------------------------- list


class PrincipalListView(ObjectListView):
    """Every user, role, group and identity provider of the estate; filterable, sortable, exportable."""

    queryset = Principal.objects.select_related("account").order_by("-privilege_rank", "kind", "name", "pk")
    filterset_class = PrincipalFilterSet
    table_class = PrincipalTable
    template_name = "iam_audit/iam/principal_list.html"
    title = "IAM principals"
    export_name = "principals"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.state = graph_store.current()  # brings the table up to date when IAM data changed
        return super().get(request, *args, **kwargs)

    def get_extra_context(self) -> dict[str, Any]:
        return {
            "built_at": self.state.built_at,
            "trust_graph_url": reverse("iam_audit:trust_graph"),
            "paths_export_url": reverse("iam_audit:access_paths_export"),
        }


principal_list = PrincipalListView.as_view()


# ---------------------------------------------------------------------------------------------- helpers
def _links(state: graph_store.GraphState, paths: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """ARN -> principal page URL for the sources, hops and targets of ``paths`` (no query per path)."""
    pks = state.principal_pks()
    out: dict[str, str] = {}
    for row in paths:
        for arn in (
            row["source_arn"],
            row["target_arn"],
            *(h["arn"] for h in row["hops"]),
            *(row.get("holders") or ()),
        ):
            if arn in pks and arn not in out:
                out[arn] = reverse("iam_audit:principal_detail", args=[pks[arn]])
    return out


def _account_name(state: graph_store.GraphState, account_id: str) -> str:
    row = state.account(account_id)
    return row.name if row is not None and row.name else account_id


def _account_links(state: graph_store.GraphState) -> dict[str, str]:
    return {
        account_id: reverse("iam_audit:account_access", args=[row.pk])
        for account_id, row in state.loaded.accounts.items()
    }


def _decorate(
    rows: Iterable[Mapping[str, Any]],
    links: Mapping[str, str],
    accounts: Mapping[str, graph_store.AccountRow],
) -> list[dict[str, Any]]:
    """Rows with the URLs and account names the path partial shows."""
    out = []
    shown: set[tuple[str, str, str]] = set()
    for row in rows:
        hops = []
        for hop in row["hops"]:
            if hop["kind"] == "policy":
                continue  # the statement hop that follows names the policy
            entry = dict(hop)
            entry["url"] = links.get(hop["arn"], "") if hop["kind"] in ("group", "assume") else ""
            if "statement" in hop:
                text = json.dumps(hop["statement"], indent=2, default=str)
                # a statement shows once a page: many paths go through the same group policy and trust
                key = (hop["policy_name"], hop["arn"], text)
                if key not in shown:
                    shown.add(key)
                    entry["statement_json"] = text
            hops.append(entry)
        source_account = accounts.get(row["source_account"])
        target_account = accounts.get(row["target_account"])
        out.append(
            {
                **row,
                "hops": hops,
                "source_url": links.get(row["source_arn"], ""),
                "target_url": links.get(row["target_arn"], ""),
                "source_account_name": source_account.name if source_account else "",
                "target_account_name": target_account.name if target_account else "",
                # a trust in the whole account: who may use it today, linked
                "holder_links": [
                    {"arn": arn, "name": arn.rsplit("/", 1)[-1], "url": links.get(arn, "")}
                    for arn in row.get("holders") or ()
                ],
                "conditions": list({c["text"]: c for c in row["conditions"]}.values()),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------- account access
def account_access(request: HttpRequest, pk: int) -> HttpResponse:
    """Who can reach this account, and how: every path into it, grouped by the role reached."""
    account = get_object_or_404(AwsAccount.objects.select_related("owner"), pk=pk)
    state = graph_store.current()
    groups = graph_store.inbound_groups(state, account.account_id)
    form = AccessFilterForm(request.GET or None)
    filtered = bool(request.GET) and form.is_valid() and any(form.cleaned_data.values())
    if form.is_bound and not form.is_valid():
        groups = []  # invalid filters show their errors and nothing, never everything
    shown_groups = []
    total = without_mfa = outside = 0
    sources: set[str] = set()
    for group in groups:
        paths = [r for r in group["paths"] if form.keep(r)] if filtered else group["paths"]
        if not paths:
            continue
        total += len(paths)
        without_mfa += sum(1 for r in paths if not r["mfa_required"])
        outside += sum(1 for r in paths if r["outside_org"])
        sources.update(r["source_arn"] for r in paths)
        shown_groups.append({**group, "matching": len(paths), "shown": paths[:PATHS_SHOWN_PER_GROUP]})
    links = _links(state, (r for g in shown_groups for r in g["shown"]))
    for group in shown_groups:
        group["shown"] = _decorate(group["shown"], links, state.loaded.accounts)
        group["role_url"] = links.get(group["role_arn"], "")
        group["more"] = group["matching"] - len(group["shown"])
    export = reverse("iam_audit:access_paths_export") + f"?to_account={account.account_id}"
    context = {
        "account": account,
        # trust statements and conditions carry ExternalIds: masked for anyone but the security team
        "groups": redactor_for(request.user).data(shown_groups),
        "form": form,
        "filtered": filtered,
        "stats": [
            ("Access paths", total),
            ("Principals", len(sources)),
            ("Roles reached", sum(1 for g in shown_groups if not g["direct"])),
            ("Without MFA", without_mfa),
            ("From outside the organisation", outside),
        ],
        "export_csv": export + "&format=csv",
        "export_json": export + "&format=json",
        "built_at": state.built_at,
        "collected": state.loaded.iam_collected.get(account.account_id, False),
        "per_group": PATHS_SHOWN_PER_GROUP,
    }
    return render(request, "iam_audit/iam/account_access.html", context)


# ---------------------------------------------------------------------------------------------- principal
def _statements(doc: Any) -> list[dict[str, Any]]:
    """A policy's statements, readable: effect, actions, resources, principals, conditions."""
    out = []
    for st in getattr(doc, "statements", ()):
        raw = st.raw if isinstance(st.raw, Mapping) else {}

        def listed(key: str, raw: Mapping[str, Any] = raw) -> list[str]:
            value = raw.get(key)
            if value is None:
                return []
            if isinstance(value, list | tuple):
                return [v if isinstance(v, str) else json.dumps(v, default=str) for v in value]
            if isinstance(value, Mapping):
                return [f"{k}: {json.dumps(v, default=str)}" for k, v in value.items()]
            return [str(value)]

        out.append(
            {
                "sid": st.sid or f"#{st.index}",
                "effect": str(raw.get("Effect", st.effect)),
                "action_key": "NotAction" if "NotAction" in raw else "Action",
                "actions": listed("NotAction" if "NotAction" in raw else "Action"),
                "resource_key": "NotResource" if "NotResource" in raw else "Resource",
                "resources": listed("NotResource" if "NotResource" in raw else "Resource"),
                "principals": listed("NotPrincipal" if "NotPrincipal" in raw else "Principal"),
                "condition": json.dumps(raw["Condition"], indent=2, default=str)
                if raw.get("Condition")
                else "",
            }
        )
    return out


def _policy_view(ref: Any, resource_pks: Mapping[str, int]) -> dict[str, Any]:
    doc = ref.doc
    resource_pk = resource_pks.get(ref.arn) if ref.arn else None
    return {
        "name": ref.name,
        "arn": ref.arn,
        "kind": ref.kind,
        "via_group": ref.via_group_name,
        "collected": doc is not None,
        "statements": _statements(doc) if doc is not None else [],
        "json": json.dumps(doc.raw, indent=2, default=str) if doc is not None and doc.raw is not None else "",
        "problems": list(doc.problems) if doc is not None else [],
        "resource_url": url_or_none("inventory:resource_detail", resource_pk) if resource_pk else None,
    }


def _trust_view(node: Any) -> dict[str, Any] | None:
    """A role's trust policy, statements readable, or None for users and groups."""
    if node.trust is None:
        return None
    return {
        "statements": _statements(node.trust),
        "json": json.dumps(node.trust.raw, indent=2, default=str) if node.trust.raw is not None else "",
    }


def _principal_link(state: Any, arn: str, pks: Mapping[str, int]) -> dict[str, Any]:
    return {
        "name": state.graph.principals[arn].name,
        "arn": arn,
        "url": reverse("iam_audit:principal_detail", args=[pks[arn]]) if arn in pks else "",
    }


def _groups_and_members(state: Any, node: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The groups a principal is in, and a group's members (users), each linked to its page."""
    pks = state.principal_pks()
    groups = [_principal_link(state, g, pks) for g in node.group_arns if g in state.graph.principals]
    members = []
    if node.kind == "group":
        members = [
            _principal_link(state, arn, pks)
            for arn, p in sorted(state.graph.principals.items())
            if p.kind == "user" and node.arn in p.group_arns
        ]
    return groups, members


def _outbound_groups(state: Any, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The paths out of a principal grouped by target account, the most privileged account first."""
    links = _links(state, shown)
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _decorate(shown, links, state.loaded.accounts):
        by_account[row["target_account"]].append(row)
    account_links = _account_links(state)
    return [
        {
            "account_id": account_id,
            "name": _account_name(state, account_id),
            "environment": state.graph.org.environment(account_id),
            "url": account_links.get(account_id, ""),
            "paths": paths,
            "best": max(paths, key=lambda r: r["privilege_rank"]),
        }
        for account_id, paths in sorted(
            by_account.items(), key=lambda kv: (-max(r["privilege_rank"] for r in kv[1]), kv[0])
        )
    ]


def _inbound_paths(state: Any, principal: Principal, node: Any) -> list[dict[str, Any]]:
    """Who can assume this role (the paths ending here); nothing for users and groups."""
    if node.kind != "role":
        return []
    inbound: list[dict[str, Any]] = []
    for group in graph_store.inbound_groups(state, principal.account.account_id):
        if group["role_arn"] == principal.arn:
            inbound = group["paths"][:PATHS_SHOWN_PER_GROUP]
            break
    return _decorate(inbound, _links(state, inbound), state.loaded.accounts)


def _escalation_routes(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """The routes to more power named by the escalation findings' evidence, with what grants each step."""
    routes = []
    for f in findings:
        if f.check_id not in ESCALATION_CHECKS:
            continue
        for method in f.evidence.get("methods") or [] if isinstance(f.evidence, Mapping) else []:
            if isinstance(method, Mapping):
                routes.append(
                    {
                        "finding": f,
                        "method": str(method.get("method", "")),
                        "actions": [str(a) for a in method.get("actions") or []],
                        "reference": str(method.get("reference") or ""),
                        "on_self": [str(a) for a in method.get("on_self") or []],
                        "granted_by": [
                            _grant(g) for g in method.get("granted_by") or [] if isinstance(g, Mapping)
                        ],
                    }
                )
    return routes


def _grant(g: Mapping[str, Any]) -> dict[str, str]:
    return {
        "action": str(g.get("action", "")),
        "policy": str(g.get("policy", "")),
        "via_group": str(g.get("via_group", "")),
        "sid": str(g.get("sid", "")),
        "statement": json.dumps(g.get("statement"), indent=2, default=str),
    }


def _principal_links(principal: Principal, built_at: Any) -> dict[str, Any]:
    """The page's links: the principal's resource, the path exports, its account's access page."""
    export = reverse("iam_audit:access_paths_export")
    return {
        "resource_url": url_or_none("inventory:resource_detail", principal.resource_id)
        if principal.resource_id
        else None,
        "export_csv": f"{export}?from_principal={principal.arn}&format=csv",
        "export_json": f"{export}?from_principal={principal.arn}&format=json",
        "account_access_url": reverse("iam_audit:account_access", args=[principal.account_id]),
        "built_at": built_at,
    }


def principal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One principal: credentials, groups, policies (statements readable), paths out, routes to power."""
    state = graph_store.current()  # first: a rebuild rewrites the table this page reads
    principal = get_object_or_404(Principal.objects.select_related("account", "resource"), pk=pk)
    node = state.graph.principals.get(principal.arn)
    if node is None:
        raise Http404("This principal is no longer in the collected IAM data.")
    resource_pks = state.loaded.resource_pks
    groups, members = _groups_and_members(state, node)
    rows = graph_store.outbound_paths(state, principal.arn)
    shown = rows[:PATHS_SHOWN_FROM_PRINCIPAL]
    findings = list(
        Finding.objects.filter(
            account=principal.account, subject=principal.arn, status__in=ACTIVE_STATUSES
        ).order_by("severity_rank", "-priority")
    )
    # policies, the trust policy, paths and routes quote statements: their ExternalIds are masked
    # for anyone but the security team
    redact = redactor_for(request.user).data
    context = {
        "principal": principal,
        "node": node,
        "policies": redact([_policy_view(ref, resource_pks) for ref in node.policies]),
        "boundary": redact(_policy_view(node.boundary, resource_pks) if node.boundary is not None else None),
        "missing_policies": list(node.missing_policies),
        "trust": redact(_trust_view(node)),
        "groups": groups,
        "members": members,
        "path_groups": redact(_outbound_groups(state, shown)),
        "path_count": len(rows),
        "paths_hidden": max(0, len(rows) - len(shown)),
        "inbound": redact(_inbound_paths(state, principal, node)),
        "findings": findings,
        "routes": redact(_escalation_routes(findings)),
        "escalation_unknown": not Finding.objects.filter(
            account=principal.account, check_id=ESCALATION
        ).exists(),
        **_principal_links(principal, state.built_at),
    }
    return render(request, "iam_audit/iam/principal_detail.html", context)


# ---------------------------------------------------------------------------------------------- trust graph


def trust_graph(request: HttpRequest) -> HttpResponse:
    """Accounts and outside parties as nodes, assume-role access as arrows coloured by privilege."""
    state = graph_store.current()
    payload = graph_store.trust_payload(state)
    form = TrustFilterForm(request.GET or None)
    edges = list(payload["edges"])
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data.get("privilege"):
            floor = PRIVILEGE_RANK.get(data["privilege"], 0)
            edges = [e for e in edges if PRIVILEGE_RANK.get(e["privilege"], 0) >= floor]
        if data.get("outside"):
            edges = [e for e in edges if e["outside_org"]]
        if data.get("account"):
            edges = [e for e in edges if data["account"] in (e["source"], e["target"])]
    elif form.is_bound:
        edges = []
    filtered = form.is_bound and form.is_valid() and any(form.cleaned_data.values())
    used = {e["source"] for e in edges} | {e["target"] for e in edges}
    nodes = [n for n in payload["nodes"] if n["id"] in used or (not filtered and n["kind"] == "account")]
    urls = {
        n["id"]: reverse("iam_audit:account_access", args=[n["account_pk"]])
        for n in nodes
        if n.get("account_pk")
    }
    figure = trust_chart.figure(nodes, edges, urls)
    names = {n["id"]: n["label"] for n in payload["nodes"]}
    all_urls = {
        n["id"]: reverse("iam_audit:account_access", args=[n["account_pk"]])
        for n in payload["nodes"]
        if n.get("account_pk")
    }
    outside_parties = sorted(
        (n for n in payload["nodes"] if not n["inside"] and n["id"] in used), key=lambda n: n["id"]
    )
    context = {
        "form": form,
        "figure": figure,
        "node_count": len(nodes),
        "edge_count": len(edges),
        "outside_parties": [
            {
                **n,
                "targets": sorted(
                    {
                        (_account_name(state, e["target"]), e["target"])
                        for e in edges
                        if e["source"] == n["id"]
                    }
                ),
            }
            for n in outside_parties
        ],
        "edges": [
            {
                **e,
                "source_label": names.get(e["source"], e["source"]),
                "target_label": names.get(e["target"], e["target"]),
                "target_url": all_urls.get(e["target"], ""),
            }
            for e in sorted(edges, key=lambda e: (-e["privilege_rank"], e["source"], e["target"]))
        ],
        "built_at": state.built_at,
    }
    return render(request, "iam_audit/iam/trust_graph.html", context)


# ---------------------------------------------------------------------------------------------- export
def access_paths_export(request: HttpRequest) -> HttpResponseBase:
    """Every access path (or those into ``to_account`` / from ``from_principal``) as CSV or JSON.

    The CSV has one row per path with hops and conditions joined in text (cells neutralised for
    spreadsheets); the JSON keeps hops, statements and conditions as objects. Streamed. Anyone but
    the security team gets ExternalIds masked (in trust statements and their conditions).
    """
    fmt = request.GET.get("format", "csv")
    to_account = request.GET.get("to_account", "").strip()
    from_principal = request.GET.get("from_principal", "").strip()
    if fmt not in ("csv", "json"):
        return HttpResponse("format must be csv or json", status=400, content_type="text/plain")
    if to_account and not ACCOUNT_ID.fullmatch(to_account):
        return HttpResponse("to_account must be a 12-digit account ID", status=400, content_type="text/plain")
    if len(from_principal) > 2048:
        return HttpResponse("from_principal is too long", status=400, content_type="text/plain")
    redact = redactor_for(request.user).data
    state = graph_store.current()
    paths = graph_store.filter_paths(state, to_account=to_account, from_principal=from_principal)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = safe_filename("access-paths" + (f"-to-{to_account}" if to_account else "") + f"-{stamp}")
    if fmt == "json":
        return json_response(name, (redact(path_row(p)) for p in paths))

    def lines() -> Iterator[list[Any]]:
        yield list(ROW_FIELDS)
        for p in paths:
            row = redact(path_row(p, flat=True))
            yield [row[f] for f in ROW_FIELDS]

    return csv_response(name, lines())


# ---------------------------------------------------------------------------------------------- account panel
def iam_panel_context(request: HttpRequest, account: AwsAccount) -> dict[str, Any]:
    """The account page's IAM panel: users, roles, access paths in, escalation findings (two queries).

    Reads the principals table as last refreshed (it never builds the graph).
    """
    counts = Principal.objects.filter(account=account).aggregate(
        users=Count("pk", filter=Q(kind="user")),
        roles=Count("pk", filter=Q(kind="role")),
        groups=Count("pk", filter=Q(kind="group")),
        admins=Count(
            "pk", filter=Q(kind__in=("user", "role"), privilege_rank__gte=PRIVILEGE_RANK["power-user"])
        ),
        users_without_mfa=Count("pk", filter=Q(kind="user", mfa=False)),
        inbound=Sum("inbound_paths"),
        outside=Sum("inbound_outside"),
    )
    escalation = Finding.objects.filter(
        account=account, status__in=ACTIVE_STATUSES, check_id__in=ESCALATION_CHECKS
    ).aggregate(n=Count("pk"))["n"]
    principals_url = reverse("iam_audit:principal_list")
    findings_url = url_or_none("iam_audit:finding_list")
    return {
        "iam": {k: int(v or 0) for k, v in counts.items()},
        "escalation_findings": escalation,
        # IAM users are expected in the designated identity account; with none designated, no
        # account is told its users are out of place (iam.user_outside_identity is unknown too)
        "users_expected": account.is_designated_identity
        or not AwsAccount.objects.filter(
            environment=Environment.IDENTITY, environment_guessed=False
        ).exists(),
        "access_url": reverse("iam_audit:account_access", args=[account.pk]),
        "principals_url": f"{principals_url}?account={account.pk}",
        "users_url": f"{principals_url}?account={account.pk}&kind=user",
        "roles_url": f"{principals_url}?account={account.pk}&kind=role",
        "findings_url": (
            f"{findings_url}?account={account.pk}&" + "&".join(f"check={c}" for c in ESCALATION_CHECKS)
            if findings_url
            else None
        ),
    }

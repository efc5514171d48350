"""The IAM pages over stored data: who sees them, what they show, escaping, exports, query counts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from iam_audit import graph_store
from iam_audit.graph import ROW_FIELDS
from iam_audit.models import Principal
from tests.iam_audit.access.stored import T0, collect_iam, store_story
from tests.iam_audit.graph.factories import (
    IDENTITY,
    OUTSIDE,
    PROD,
    STAGING,
    STORY_ROLE,
    STORY_USER,
    allow,
    aws_policy_arn,
    doc,
    group_item,
    inline,
    managed,
    role_item,
    root,
    story,
    trust,
    user_item,
)

pytestmark = pytest.mark.django_db

ROLES = ["security", "owner", "viewer"]
XSS = '<script>alert("x")</script>'


@pytest.fixture
def as_role(client: Client, security_user: Any, owner_user: Any, viewer_user: Any) -> Any:
    def login(role: str) -> Client:
        user = {"security": security_user, "owner": owner_user, "viewer": viewer_user}.get(role)
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture
def estate(owner_team: Any) -> dict[str, Any]:
    """The story estate, staging owned by ``owner_user``'s team, plus an outside vendor role in prod."""
    s = story()
    s.add(
        PROD,
        role_item(
            PROD,
            "VendorAudit",
            trust(root(OUTSIDE), condition={"StringEquals": {"sts:ExternalId": "vendor-42"}}),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        ),
        *[i for i in s.items[STAGING] if i.type == "iam:policy"],
    )
    return store_story(s, owners={STAGING: owner_team})


def urls(accounts: dict[str, Any]) -> dict[str, str]:
    graph_store.current()
    developer = Principal.objects.get(arn=STORY_USER)
    export = reverse("iam_audit:access_paths_export")
    return {
        "list": reverse("iam_audit:principal_list"),
        "list_filtered": reverse("iam_audit:principal_list") + "?kind=user&mfa=true&q=dev",
        "list_csv": reverse("iam_audit:principal_list") + "?export=csv",
        "list_xlsx": reverse("iam_audit:principal_list") + "?export=xlsx",
        "detail": reverse("iam_audit:principal_detail", args=[developer.pk]),
        "account": reverse("iam_audit:account_access", args=[accounts[STAGING].pk]),
        "trust": reverse("iam_audit:trust_graph"),
        "export_csv": export + "?format=csv",
        "export_json": export + f"?format=json&to_account={STAGING}",
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_logged_in_role_reads_every_page_and_export(
    as_role: Any, estate: dict[str, Any], role: str
) -> None:
    client = as_role(role)
    for name, url in urls(estate).items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)


def test_anonymous_gets_the_login_page_everywhere(client: Client, estate: dict[str, Any]) -> None:
    for name, url in urls(estate).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_staging_access_page_shows_the_story_path(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("iam_audit:account_access", args=[estate[STAGING].pk]))
    html = response.content.decode()
    developer = Principal.objects.get(arn=STORY_USER)
    role = Principal.objects.get(arn=STORY_ROLE)
    # the group reached: the role with its privilege class and the policy granting it
    assert f'href="{reverse("iam_audit:principal_detail", args=[role.pk])}">CompanyReadOnly</a>' in html
    assert "read-only, all services" in html and "Granted by ReadOnlyAccess" in html
    # the path: Developer → group → policy (statement) → staging:CompanyReadOnly → ReadOnlyAccess, MFA required
    assert f'href="{reverse("iam_audit:principal_detail", args=[developer.pk])}">Developer</a>' in html
    chain = html[html.index('title="Developer →') :]
    for part in (
        "StagingReadOnly",
        "CompanyAssumeRoleStagingReadOnly",
        "AssumeStagingReadOnly",
        "CompanyReadOnly",
        "ReadOnlyAccess",
        "MFA required",
    ):
        assert part in chain, part
    positions = [
        chain.index(p)
        for p in ("StagingReadOnly", "CompanyAssumeRoleStagingReadOnly", "CompanyReadOnly", "ReadOnlyAccess")
    ]
    assert positions == sorted(positions)
    assert response.context["stats"][0] == (
        "Access paths",
        len(graph_store.current().graph.paths_to(STAGING)),
    )
    # the role trusts identity's root: identity as a whole is a path too, with who holds the right today
    # (listed first: nothing makes it require MFA)
    whole = html[html.index(f'title="{IDENTITY} →') : html.index('title="Developer →')]
    assert "every principal this account authorises" in whole
    assert (
        "sts:AssumeRole held today by "
        f'<a href="{reverse("iam_audit:principal_detail", args=[developer.pk])}">Developer</a>'
    ) in whole


def test_access_page_filters_paths(client: Client, viewer_user: Any, estate: dict[str, Any]) -> None:
    client.force_login(viewer_user)
    url = reverse("iam_audit:account_access", args=[estate[STAGING].pk])
    # without MFA: only identity as a whole (whoever it authorises tomorrow need not have MFA)
    [without] = client.get(url + "?mfa=without").context["groups"]
    assert {p["source_arn"] for p in without["shown"]} == {root(IDENTITY)}
    [whole] = client.get(url + "?source=account").context["groups"]
    assert [(p["source_arn"], p["holders"]) for p in whole["shown"]] == [(root(IDENTITY), [STORY_USER])]
    assert client.get(url + "?privilege=write").context["groups"] == []
    kept = client.get(url + "?mfa=required&privilege=read-only&q=developer").context["groups"]
    assert [g["role_name"] for g in kept] == ["CompanyReadOnly"]
    bad = client.get(url + "?privilege=everything")
    assert bad.status_code == 200 and bad.context["groups"] == []


def test_prod_access_page_shows_the_outside_vendor_with_its_external_id(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("iam_audit:account_access", args=[estate[PROD].pk]))
    html = response.content.decode()
    assert "VendorAudit" in html and "outside the organisation" in html
    assert "ExternalId" in html
    assert ("From outside the organisation", 1) in response.context["stats"]


def test_principal_page_shows_policies_groups_and_paths(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    graph_store.current()
    developer = Principal.objects.get(arn=STORY_USER)
    response = client.get(reverse("iam_audit:principal_detail", args=[developer.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    # groups, policies (statements readable, JSON pretty) and the path into staging
    assert ">StagingReadOnly</a>" in html
    assert "CompanyAssumeRoleStagingReadOnly" in html and "AssumeStagingReadOnly" in html
    assert "&quot;Action&quot;: &quot;sts:AssumeRole&quot;" in html  # pretty JSON, escaped
    assert "BlockMostAccessUnlessSignedInWithMFA" in html  # the enforce-MFA statement, read from the group
    [staging] = [g for g in response.context["path_groups"] if g["account_id"] == STAGING]
    assert staging["paths"][0]["target_name"] == "CompanyReadOnly"
    assert staging["paths"][0]["mfa_required"] is True
    assert "MFA required" in html


def test_role_page_shows_its_trust_policy_and_who_can_assume_it(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    graph_store.current()
    role = Principal.objects.get(arn=STORY_ROLE)
    response = client.get(reverse("iam_audit:principal_detail", args=[role.pk]))
    html = response.content.decode()
    assert "Trust policy" in html and root(IDENTITY) in html
    # identity as a whole (its root is trusted), then the developer who holds sts:AssumeRole there
    assert [p["source_name"] for p in response.context["inbound"]] == [IDENTITY, "Developer"]
    assert response.context["inbound"][0]["holders"] == [STORY_USER]


def test_principal_list_filters(client: Client, viewer_user: Any, estate: dict[str, Any]) -> None:
    client.force_login(viewer_user)
    url = reverse("iam_audit:principal_list")

    def names(query: str) -> set[str]:
        response = client.get(url + query)
        assert response.status_code == 200
        return {p.name for p in response.context["table"].data.data}

    assert names("?kind=user") == {"Developer"}
    assert names("?kind=role&privilege=read-only") == {"CompanyReadOnly", "VendorAudit"}
    assert names("?environment=staging") == {"CompanyReadOnly"}
    assert names(f"?account={estate[PROD].pk}") == {"VendorAudit"}
    assert names("?mfa=true") == {"Developer"}
    assert names("?q=vendor") == {"VendorAudit"}
    assert names("?privilege=nonsense") == set()


def test_principal_export_neutralises_formulas(client: Client, viewer_user: Any, owner_team: Any) -> None:
    s = story()
    # IAM names may contain = + , . @ - _: enough to start a spreadsheet formula
    s.add(PROD, role_item(PROD, "=1+2", trust(root(IDENTITY))))
    store_story(s)
    client.force_login(viewer_user)
    response = client.get(reverse("iam_audit:principal_list") + "?export=csv&kind=role")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Name"
    assert "'=1+2" in [r[0] for r in rows[1:]]
    assert "=1+2" not in [r[0] for r in rows[1:]]


def test_html_in_names_policies_and_statements_is_escaped(
    client: Client, viewer_user: Any, owner_team: Any
) -> None:
    s = story()
    s.add(
        IDENTITY,
        group_item(
            IDENTITY,
            "Evil",
            policies=[
                inline(
                    XSS,
                    doc(
                        allow(
                            "sts:AssumeRole",
                            STORY_ROLE,
                            sid=XSS,
                            Condition={"StringEquals": {"aws:SourceIp": XSS}},
                        )
                    ),
                )
            ],
            members=["Mallory"],
        ),
        user_item(IDENTITY, "Mallory", groups=["Evil"]),
    )
    accounts = store_story(s)
    accounts[STAGING].name = XSS
    accounts[STAGING].save()
    client.force_login(viewer_user)
    graph_store.current()
    mallory = Principal.objects.get(name="Mallory")
    pages = [
        reverse("iam_audit:principal_detail", args=[mallory.pk]),
        reverse("iam_audit:account_access", args=[accounts[STAGING].pk]),
        reverse("iam_audit:principal_list") + "?columns=name&columns=policies",
        reverse("iam_audit:trust_graph"),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert XSS not in html, url
    detail = client.get(pages[0]).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in detail
    trust_html = client.get(pages[3]).content.decode()
    # the figure travels through json_script (\u003C) and its labels are HTML-escaped for plotly
    assert "&amp;lt;script&amp;gt;" not in trust_html
    figure = json.loads(
        trust_html.split('id="trust-figure" type="application/json">')[1].split("</script>")[0]
    )
    labels = [t for trace in figure["data"] for t in trace.get("text") or []]
    assert any(t.startswith('&lt;script&gt;alert("x")') for t in labels)  # plotly shows no &quot;


def test_paths_export_csv_and_json(client: Client, viewer_user: Any, estate: dict[str, Any]) -> None:
    client.force_login(viewer_user)
    url = reverse("iam_audit:access_paths_export")
    response = client.get(url + f"?format=csv&to_account={STAGING}")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(ROW_FIELDS)
    [story_row] = [r for r in rows if r["source_arn"] == STORY_USER and r["target_role_arn"] == STORY_ROLE]
    assert story_row["privilege_class"] == "read-only" and story_row["mfa_required"] == "yes"
    assert story_row["hops"].startswith("group:StagingReadOnly → policy:CompanyAssumeRoleStagingReadOnly")
    response = client.get(url + f"?format=json&from_principal={STORY_USER}")
    data = json.loads(b"".join(response.streaming_content))
    assert {r["target_account"] for r in data} == {IDENTITY, STAGING}
    [row] = [r for r in data if r["target_account"] == STAGING]
    assert [h["kind"] for h in row["hops"]] == ["group", "policy", "statement", "assume"]
    assert row["hops"][2]["statement"]["Sid"] == "AssumeStagingReadOnly"
    assert row["conditions"][0]["text"] == "MFA required"
    for bad in ("?format=xml", "?to_account=12", "?to_account=abc%3Cb%3E"):
        assert client.get(url + bad).status_code == 400


def test_trust_graph_filters_and_links_accounts(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    url = reverse("iam_audit:trust_graph")
    full = client.get(url)
    assert full.context["edge_count"] >= 2
    outside = client.get(url + "?outside=on")
    assert [(e["source"], e["target"]) for e in outside.context["edges"]] == [(OUTSIDE, PROD)]
    assert [p["id"] for p in outside.context["outside_parties"]] == [OUTSIDE]
    around = client.get(url + f"?account={STAGING}")
    assert {(e["source"], e["target"]) for e in around.context["edges"]} == {(IDENTITY, STAGING)}
    nodes = [t for t in around.context["figure"]["data"] if t.get("customdata")]
    assert (
        reverse("iam_audit:account_access", args=[estate[STAGING].pk])
        in nodes[0]["customdata"] + nodes[-1]["customdata"]
    )
    assert client.get(url + "?account=nope").context["edges"] == []


def test_account_page_has_the_iam_panel(client: Client, viewer_user: Any, estate: dict[str, Any]) -> None:
    graph_store.current()
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_detail", args=[estate[STAGING].pk]))
    html = response.content.decode()
    assert 'id="panel-iam"' in html
    assert reverse("iam_audit:account_access", args=[estate[STAGING].pk]) in html
    identity = client.get(reverse("accounts:account_detail", args=[estate[IDENTITY].pk])).content.decode()
    assert "should be none outside identity" not in identity
    # a user in a workload account is called out
    collect_iam(estate[PROD], [user_item(PROD, "legacy-deploy")], at=T0.replace(hour=13))
    graph_store.current()
    prod = client.get(reverse("accounts:account_detail", args=[estate[PROD].pk])).content.decode()
    assert "should be none outside identity" in prod


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_query_counts_do_not_grow_with_the_estate(client: Client, viewer_user: Any, owner_team: Any) -> None:
    accounts = store_story()
    client.force_login(viewer_user)
    graph_store.current()
    developer = Principal.objects.get(arn=STORY_USER)
    pages = [
        reverse("iam_audit:principal_list"),
        reverse("iam_audit:principal_detail", args=[developer.pk]),
        reverse("iam_audit:account_access", args=[accounts[STAGING].pk]),
        reverse("iam_audit:trust_graph"),
        reverse("accounts:account_detail", args=[accounts[STAGING].pk]),
    ]
    for url in pages:
        _count(client, url)  # warm caches (graph, page data)
    small = [_count(client, url) for url in pages]
    # thirty more users in the story group and twenty more roles reachable in staging
    s = story()
    extra_users = [
        user_item(IDENTITY, f"dev{i:02d}", groups=["StagingReadOnly"], mfa=True) for i in range(30)
    ]
    s.items[IDENTITY] = [
        *[i for i in s.items[IDENTITY] if i.type != "iam:group"],
        group_item(
            IDENTITY,
            "StagingReadOnly",
            attached=[
                managed(
                    "CompanyAssumeRoleStagingReadOnly",
                    f"arn:aws:iam::{IDENTITY}:policy/CompanyAssumeRoleStagingReadOnly",
                ),
                managed("CompanyEnforceMFA", f"arn:aws:iam::{IDENTITY}:policy/CompanyEnforceMFA"),
            ],
            members=["Developer", *[u.name for u in extra_users]],
        ),
        *extra_users,
    ]
    extra_roles = [
        role_item(
            STAGING,
            f"ro{i:02d}",
            trust(root(IDENTITY)),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        )
        for i in range(20)
    ]
    collect_iam(accounts[IDENTITY], s.items[IDENTITY], at=T0.replace(hour=14))
    collect_iam(accounts[STAGING], [*s.items[STAGING], *extra_roles], at=T0.replace(hour=14))
    graph_store.current()
    assert len(graph_store.current().graph.paths_to(STAGING)) > 30
    for url in pages:
        _count(client, url)
    large = [_count(client, url) for url in pages]
    assert large == small, list(zip(pages, small, large, strict=True))


def test_invalid_access_filters_show_nothing_not_everything(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("iam_audit:account_access", args=[estate[STAGING].pk]) + "?privilege=all")
    assert response.context["groups"] == [] and response.context["stats"][0] == ("Access paths", 0)
    assert "errorlist" in response.content.decode()


def test_unknown_or_vanished_principals_are_not_found(
    client: Client, viewer_user: Any, estate: dict[str, Any]
) -> None:
    client.force_login(viewer_user)
    graph_store.current()
    role = Principal.objects.get(arn=STORY_ROLE)
    assert client.get(reverse("iam_audit:principal_detail", args=[role.pk + 10_000])).status_code == 404
    # the next collection no longer sees the role: its page is gone with it
    s = story()
    s.remove(STORY_ROLE)
    collect_iam(estate[STAGING], s.items[STAGING], at=T0.replace(hour=15))
    assert client.get(reverse("iam_audit:principal_detail", args=[role.pk])).status_code == 404
    assert client.get(reverse("iam_audit:account_access", args=[999_999])).status_code == 404


def test_identity_provider_page_shows_the_roles_it_federates_into(
    client: Client, viewer_user: Any, owner_team: Any
) -> None:
    from tests.iam_audit.graph.factories import saml_provider_item

    provider = saml_provider_item(IDENTITY, "Okta")
    s = story()
    s.add(IDENTITY, provider)
    s.add(
        STAGING,
        role_item(
            STAGING,
            "SsoReadOnly",
            trust(provider.arn, key="Federated", action="sts:AssumeRoleWithSAML"),
            attached=[managed("ReadOnlyAccess", aws_policy_arn("ReadOnlyAccess"))],
        ),
    )
    accounts = store_story(s)
    client.force_login(viewer_user)
    graph_store.current()
    okta = Principal.objects.get(arn=provider.arn)
    assert okta.kind == "federated" and okta.reachable_accounts == 1
    html = client.get(reverse("iam_audit:principal_detail", args=[okta.pk])).content.decode()
    assert "SsoReadOnly" in html and "read-only, all services" in html
    staging = client.get(reverse("iam_audit:account_access", args=[accounts[STAGING].pk]))
    assert "SsoReadOnly" in [g["role_name"] for g in staging.context["groups"]]
    graph = client.get(reverse("iam_audit:trust_graph") + f"?account={STAGING}")
    assert (provider.arn, STAGING) in {(e["source"], e["target"]) for e in graph.context["edges"]}

"""The map, its JSON, the "Exposed" page and the account panel, met by security, viewer and outsider."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AwsAccount
from iam_audit.models import Finding
from inventory.models import Resource
from tests.factories import AwsAccountFactory
from tests.inventory.exposure import builders as b
from tests.inventory.maps.conftest import REGION, WEB_ARN, network, store

pytestmark = pytest.mark.django_db

PAGES = ["inventory:map", "inventory:map_data", "inventory:exposed"]


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response: Any) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


# ---------------------------------------------------------------------- who may see
@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_the_login_page_everywhere(
    client: Client, account: AwsAccount, name: str
) -> None:
    response = client.get(reverse(name), {"account": account.pk, "export": "csv"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "i-web" not in body(response)


@pytest.mark.parametrize("role", ["security_user", "viewer_user"])
def test_security_and_viewers_see_the_map(
    request: pytest.FixtureRequest, account: AwsAccount, role: str
) -> None:
    client = logged_in(request.getfixturevalue(role))
    page = client.get(reverse("inventory:map"), {"account": account.pk})
    assert page.status_code == 200
    html = body(page)
    assert 'id="map-figure"' in html and 'id="map-links"' in html
    assert "js/plotly.min.js" in html and "js/map.js" in html and "cdn" not in html.lower()
    data = client.get(reverse("inventory:map_data"), {"account": account.pk})
    assert data.status_code == 200 and data["Content-Type"] == "application/json"
    payload = data.json()
    assert payload["account_id"] == account.account_id and payload["filters"]["region"] == REGION
    assert payload["stats"]["exposed"] == 1


@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_every_logged_in_role_sees_the_exposed_list(
    request: pytest.FixtureRequest, account: AwsAccount, role: str
) -> None:
    response = logged_in(request.getfixturevalue(role)).get(reverse("inventory:exposed"))
    assert response.status_code == 200
    assert reverse("inventory:resource_detail", args=[Resource.objects.get(arn=WEB_ARN).pk]) in body(response)


# ---------------------------------------------------------------------- the map page
def test_map_page_shows_stats_and_the_exposed_resource_with_its_link(
    viewer_user: Any, account: AwsAccount
) -> None:
    html = body(logged_in(viewer_user).get(reverse("inventory:map"), {"account": account.pk}))
    web = Resource.objects.get(arn=WEB_ARN)
    assert f'href="{reverse("inventory:resource_detail", args=[web.pk])}" data-exposed-link' in html
    for label in ("Resources", "Nodes", "Edges", "Grouped", "Exposed"):
        assert label in html
    assert "tcp/22, tcp/443" in html


def test_html_in_names_and_tags_is_escaped_in_the_page_and_in_the_figure(
    viewer_user: Any, account: AwsAccount
) -> None:
    client = logged_in(viewer_user)
    html = body(client.get(reverse("inventory:map"), {"account": account.pk}))
    assert "<img" not in html and "<b>ops" not in html
    assert "&lt;img src=x" in html  # the exposed list shows the name as text
    figure = client.get(reverse("inventory:map_data"), {"account": account.pk}).json()["figure"]
    text = json.dumps(figure)
    assert "<img" not in text and "<b>ops" not in text
    assert "&lt;img src=x onerror=" in text  # shown as text by plotly
    assert "&lt;b&gt;ops&lt;/b&gt;" in text
    # and the JSON in the page cannot close its script element early
    start = html.index('id="map-figure"')
    assert "</script" not in html[start : html.index("</script>", start)].lower()


def test_map_filters_exposed_only_tag_and_vpc(viewer_user: Any, account: AwsAccount) -> None:
    client = logged_in(viewer_user)
    url = reverse("inventory:map_data")
    assert client.get(url, {"account": account.pk, "exposed": "on"}).json()["stats"]["resources"] == 1
    tagged = client.get(url, {"account": account.pk, "tag_key": "team", "tag_value": "<b>ops</b>"}).json()
    assert tagged["stats"]["resources"] == 1
    assert (
        client.get(url, {"account": account.pk, "region": REGION, "vpc": "vpc-1"}).json()["stats"][
            "resources"
        ]
        == 2
    )
    # a VPC of another region or account is not a valid choice
    bad = client.get(url, {"account": account.pk, "vpc": "vpc-nope"})
    assert bad.status_code == 400 and "vpc" in bad.json()["errors"]


def test_environment_narrows_the_account_choices(viewer_user: Any, account: AwsAccount) -> None:
    response = logged_in(viewer_user).get(
        reverse("inventory:map_data"), {"environment": "dev", "account": account.pk}
    )
    assert response.status_code == 400 and "account" in response.json()["errors"]


def test_map_data_without_an_account_says_what_is_missing(viewer_user: Any, db: None) -> None:
    response = logged_in(viewer_user).get(reverse("inventory:map_data"))
    assert response.status_code == 400 and "account" in response.json()["errors"]


def test_an_account_without_network_resources_says_so(viewer_user: Any, db: None) -> None:
    empty = AwsAccountFactory(name="empty")
    html = body(logged_in(viewer_user).get(reverse("inventory:map"), {"account": empty.pk}))
    assert "No network resources" in html and 'id="map-figure"' not in html


def test_without_an_account_the_map_page_shows_the_estate_treemap(
    viewer_user: Any, account: AwsAccount
) -> None:
    html = body(logged_in(viewer_user).get(reverse("inventory:map")))
    assert 'id="treemap-figure"' in html and 'id="treemap-accounts"' in html
    assert f'data-resources-url="{reverse("inventory:resource_list")}"' in html


def test_map_of_two_thousand_resources_is_served_from_the_cache(
    viewer_user: Any, db: None, django_assert_max_num_queries: Any
) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT)
    fleet = [
        b.instance(
            f"i-{n:05d}",
            "subnet-priv" if n % 3 else "subnet-pub",
            "vpc-1",
            ["sg-app"],
            private_ip=f"10.0.{1 if n % 3 == 0 else 2}.{n % 250}",
            public_ip=f"54.1.{n // 250}.{n % 250}" if n % 3 == 0 else "",
            tags={"aws:autoscaling:groupName": f"asg-{n % 7}"},
        )
        for n in range(2000)
    ]
    store(
        acct, [*b.base_network(), b.sg("sg-app", "vpc-1", [b.perm("tcp", 443, cidrs=["0.0.0.0/0"])]), *fleet]
    )
    client = logged_in(viewer_user)
    first = client.get(reverse("inventory:map_data"), {"account": acct.pk}).json()
    assert first["stats"]["resources"] == 2000
    assert first["stats"]["nodes"] < 40  # grouped: the payload grows with kinds, not resources
    assert len(json.dumps(first["figure"])) < 200_000
    with django_assert_max_num_queries(12):
        page = client.get(reverse("inventory:map"), {"account": acct.pk})
    assert page.status_code == 200


# ---------------------------------------------------------------------- the exposed list
def test_exposed_list_shows_the_resource_ports_path_and_its_findings(
    security_user: Any, account: AwsAccount
) -> None:
    web = Resource.objects.get(arn=WEB_ARN)
    sg = Resource.objects.get(resource_id="sg-web")
    now = timezone.now()
    common = {"account": account, "first_seen": now, "last_seen": now, "severity_rank": 1}
    on_group = Finding.objects.create(
        key="k1", check_id="ec2.sg_admin_ports_open", resource=sg, subject=sg.arn, title="SSH <open>",
        severity="high", **common,
    )  # fmt: skip
    on_instance = Finding.objects.create(
        key="k2",
        check_id="ec2.imdsv2",
        resource=web,
        subject=web.arn,
        title="IMDSv1",
        severity="high",
        **common,
    )
    Finding.objects.create(
        key="k3", check_id="ec2.old", resource=web, subject=web.arn, title="gone", severity="low",
        status="resolved", **common,
    )  # fmt: skip
    html = body(logged_in(security_user).get(reverse("inventory:exposed")))
    assert "tcp/22, tcp/443" in html
    for hop in ("igw-1", "rtb-pub", "subnet-pub", "acl-default", "sg-web"):
        assert hop in html
    assert f'href="{reverse("iam_audit:finding_detail", args=[on_group.pk])}"' in html
    assert f'href="{reverse("iam_audit:finding_detail", args=[on_instance.pk])}"' in html
    assert "ec2.old" not in html  # resolved findings are not linked
    assert "SSH &lt;open&gt;" in html and "<img" not in html
    assert "i-hidden" not in html


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"port": "22"}, True),
        ({"port": "443"}, True),
        ({"port": "3389"}, False),
        ({"region": "EU-WEST-1"}, True),
        ({"region": "us-east-1"}, False),
        ({"environment": "prod"}, True),
        ({"environment": ["dev", "sandbox"]}, False),
    ],
)
def test_exposed_list_filters(
    viewer_user: Any, account: AwsAccount, params: dict[str, Any], shown: bool
) -> None:
    html = body(logged_in(viewer_user).get(reverse("inventory:exposed"), params))
    web_url = reverse("inventory:resource_detail", args=[Resource.objects.get(arn=WEB_ARN).pk])
    assert (web_url in html) is shown


def test_exposed_list_filters_by_account(viewer_user: Any, account: AwsAccount) -> None:
    other = AwsAccountFactory(name="other")
    client = logged_in(viewer_user)
    assert "i-web" in body(client.get(reverse("inventory:exposed"), {"account": account.pk}))
    assert "i-web" not in body(client.get(reverse("inventory:exposed"), {"account": other.pk}))


def test_a_bad_filter_shows_its_error_and_no_rows(viewer_user: Any, account: AwsAccount) -> None:
    html = body(logged_in(viewer_user).get(reverse("inventory:exposed"), {"port": "70000"}))
    assert "has-error" in html and "i-web" not in html


def test_exposed_csv_export_is_complete_and_neutralises_formulas(viewer_user: Any, db: None) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT, name="=cmd|'/c calc'!A1")
    store(acct, network(web_tags={"Name": '=HYPERLINK("http://evil")'}))
    response = logged_in(viewer_user).get(reverse("inventory:exposed"), {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert len(rows) == 1
    row = rows[0]
    assert row["Account ID"] == b.ACCOUNT and row["Region"] == REGION
    assert row["Resource ID"] == "i-web" and row["ARN"] == WEB_ARN
    assert row["Ports / protocols"] == "tcp/22, tcp/443"
    assert row["Way in"] == "network"
    path = row["Path in / evidence"]
    assert path.startswith("Internet gateway igw-1") and path.endswith("Resource i-web (public IP 54.0.0.10)")
    assert row["Resource"] == '\'=HYPERLINK("http://evil")'
    assert row["Account"] == b.ACCOUNT  # the account column exports its id


def test_exposed_list_query_count_does_not_grow_with_accounts(
    viewer_user: Any, db: None, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        acct = AwsAccountFactory(account_id=f"{555500000000 + n}")
        store(acct, network())
    client = logged_in(viewer_user)
    client.get(reverse("inventory:exposed"))  # fills the cache
    # session, user, role, the accounts (twice: scope and the filter's choices), every account's
    # collection stamp in one query, the organisation's accounts (trusts are judged against it),
    # the findings, the known ExternalIds (masked for a viewer, core.secrets): the same for 5
    # accounts as for 500
    with django_assert_max_num_queries(9):
        response = client.get(reverse("inventory:exposed"))
    assert body(response).count("i-web") >= 5


# ---------------------------------------------------------------------- the account panel
def test_account_page_shows_the_exposure_panel(viewer_user: Any, account: AwsAccount) -> None:
    html = body(logged_in(viewer_user).get(account.get_absolute_url()))
    assert 'id="panel-exposure"' in html
    assert "1</strong> way in</a> to 1 resource:" in html and "Network path 1" in html
    assert "tcp/22, tcp/443" in html and "world" in html
    assert f"{reverse('inventory:exposed')}?account={account.pk}" in html
    assert "<img" not in html


def test_panel_of_an_account_with_nothing_exposed(viewer_user: Any, db: None) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT)
    store(acct, [i for i in network() if i.resource_id != "i-web"])
    html = body(logged_in(viewer_user).get(acct.get_absolute_url()))
    assert "<strong>Nothing</strong> reachable from the internet" in html


@pytest.mark.parametrize("sort", ["account", "-region", "resource", "type", "-ports", "world", "arn"])
def test_exposed_list_sorts_by_any_sortable_column(viewer_user: Any, account: AwsAccount, sort: str) -> None:
    other = AwsAccountFactory(account_id="444455556666", name="another")
    store(other, network())
    response = logged_in(viewer_user).get(reverse("inventory:exposed"), {"sort": sort})
    assert response.status_code == 200 and body(response).count("i-web") >= 2


def test_a_map_of_a_region_outside_the_allowed_list_is_marked_unexpected(
    account: AwsAccount, viewer_user: Any
) -> None:
    client = logged_in(viewer_user)
    account.allowed_regions = [REGION]
    account.save()
    params = {"account": account.pk, "region": REGION}
    assert "unexpected-region-banner" not in body(client.get(reverse("inventory:map"), params))
    assert client.get(reverse("inventory:map_data"), params).json()["unexpected_region"] is False

    account.allowed_regions = ["ap-northeast-3"]
    account.save()
    html = body(client.get(reverse("inventory:map"), params))
    assert (
        "unexpected-region-banner" in html and f"{REGION} is outside this account's allowed regions" in html
    )
    assert client.get(reverse("inventory:map_data"), params).json()["unexpected_region"] is True

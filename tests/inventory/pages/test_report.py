"""The report: counts per account and region, the heat map, regions in use, unexpected regions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from accounts.models import AwsAccount
from inventory.views.report import estate_counts, is_unexpected, live_groups
from tests.factories import AwsAccountFactory
from tests.inventory.pages.conftest import XSS, make_resource

pytestmark = pytest.mark.django_db

URL = "/inventory/report/"


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_every_logged_in_role_sees_the_report(
    client: Client, estate: dict[str, Any], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "payments-prod" in page and "sandbox-dev" in page
    assert '<script src="/static/js/plotly.min.js">' in page  # served by us, no CDN
    assert "cdn.plot.ly" not in page


def test_counts_are_grouped_in_the_database_and_skip_deleted(
    estate: dict[str, Any], prod: AwsAccount
) -> None:
    groups = {(g.account_id, g.region, g.service): g.count for g in live_groups()}
    assert groups[(prod.pk, "eu-west-1", "ec2")] == 2  # web-1, worker-1 (old-web is deleted)
    assert groups[(prod.pk, "eu-west-1", "s3")] == 1
    counts = estate_counts()
    assert counts.total == 7
    assert counts.by_region["us-east-1"] == 2 and counts.by_region["global"] == 1
    assert counts.by_service == {"ec2": 5, "s3": 1, "iam": 1}
    assert counts.by_region_service[("ap-south-1", "ec2")] == 1


def test_report_tables_and_links(
    client: Client, estate: dict[str, Any], viewer_user: Any, prod: AwsAccount
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL)
    context = response.context
    assert context["total"] == 7
    assert [c[0] for c in context["region_columns"]] == ["global", "ap-south-1", "eu-west-1", "us-east-1"]
    rows = {row.account.name: row for row in context["account_rows"]}
    assert [count for count, _ in rows["payments-prod"].cells] == [1, 1, 3, 0]
    assert rows["payments-prod"].total == 5 and rows["sandbox-dev"].total == 2
    count, link = rows["payments-prod"].cells[2]
    assert parse_qs(urlsplit(link).query) == {"account_id": [str(prod.pk)], "region": ["eu-west-1"]}
    # the link leads to exactly those resources
    listed = client.get(link).context["table"].page.object_list
    assert len(list(listed)) == count


def test_unexpected_regions_are_flagged_with_a_link_to_the_list(
    client: Client, estate: dict[str, Any], viewer_user: Any, prod: AwsAccount
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL)
    unexpected = response.context["unexpected"]
    # prod allows eu-west-1 only: ap-south-1 is unexpected, global never is; dev allows everything
    assert [(row.account.name, use.region, use.count) for row, use in unexpected] == [
        ("payments-prod", "ap-south-1", 1)
    ]
    assert response.context["unexpected_total"] == 1
    _, use = unexpected[0]
    assert parse_qs(urlsplit(use.url).query) == {"account_id": [str(prod.pk)], "region": ["ap-south-1"]}
    page = response.content.decode()
    assert '<tr class="unexpected">' in page and 'class="region-chip unexpected"' in page
    assert [
        r.name for r in (row.record for row in client.get(use.url).context["table"].page.object_list)
    ] == ["stray-vm"]


def test_estate_wide_allowed_regions_apply_to_accounts_without_their_own(
    client: Client, estate: dict[str, Any], viewer_user: Any, settings: Any
) -> None:
    settings.SKYLEDGER_ALLOWED_REGIONS = ["eu-west-1", "eu-central-1"]
    client.force_login(viewer_user)
    unexpected = client.get(URL).context["unexpected"]
    assert sorted((row.account.name, use.region) for row, use in unexpected) == [
        ("payments-prod", "ap-south-1"),
        ("sandbox-dev", "us-east-1"),
    ]


def test_nothing_unexpected_says_so(client: Client, dev: AwsAccount, viewer_user: Any) -> None:
    make_resource(dev, region="sa-east-1")
    client.force_login(viewer_user)
    response = client.get(URL)
    assert response.context["unexpected"] == []
    assert "None: every live resource is in a region its account allows" in response.content.decode()


def test_is_unexpected_rules() -> None:
    assert not is_unexpected("ap-south-1", set())
    assert not is_unexpected("global", {"eu-west-1"})
    assert not is_unexpected("eu-west-1", {"eu-west-1"})
    assert is_unexpected("eu-west-2", {"eu-west-1"})


def test_heat_map_is_drawn_with_cell_links(client: Client, estate: dict[str, Any], viewer_user: Any) -> None:
    client.force_login(viewer_user)
    page = client.get(URL).content.decode()
    assert 'class="chart chart-links chart-heatmap"' in page
    # the figure travels as JSON that js/charts.js draws: nothing inline to run
    assert "Plotly.newPlot" not in page and '"type": "heatmap"' in page
    assert 'data-plotly-figure="' in page and '<script src="/static/js/charts.js" defer>' in page
    # links travel JSON-escaped inside the figure (json_script escapes &, < and >)
    assert "/inventory/resources/?region=ap-south-1\\u0026service=ec2" in page
    assert '<script src="/static/js/inventory-charts.js">' in page


def test_account_names_with_html_are_escaped(client: Client, viewer_user: Any) -> None:
    account = AwsAccountFactory(name=XSS, account_id="777777777777", allowed_regions=["eu-west-1"])
    make_resource(account, region="us-west-2")
    client.force_login(viewer_user)
    page = client.get(URL).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_empty_estate_renders(client: Client, viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No resources recorded yet." in page and "Plotly.newPlot" not in page


def test_query_count_does_not_grow_with_accounts_or_resources(
    client: Client, viewer_user: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(viewer_user)
    first = AwsAccountFactory(allowed_regions=["eu-west-1"])
    make_resource(first, region="us-east-1")
    with django_assert_max_num_queries(8) as small:
        client.get(URL)
    for i in range(12):
        account = AwsAccountFactory(allowed_regions=["eu-west-1"] if i % 2 else [])
        for region in ("eu-west-1", "us-east-1", "ap-southeast-2"):
            make_resource(account, region=region, type="s3:bucket" if i % 3 else "ec2:instance")
    with django_assert_max_num_queries(8) as large:
        client.get(URL)
    assert len(small.captured_queries) == len(large.captured_queries)

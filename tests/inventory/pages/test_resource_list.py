"""The resource list: who sees it, every filter, exports, paging and its query budget."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AwsAccount
from inventory import tables as inventory_tables
from tests.accounts.helpers import read_csv, read_xlsx
from tests.inventory.pages.conftest import XSS, make_resource

pytestmark = pytest.mark.django_db

URL = "/inventory/resources/"


def names(client: Client, **params: Any) -> set[str]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return set(shown(response))


def shown(response: Any) -> list[str]:
    return [row.record.name for row in response.context["table"].page.object_list]


def test_route_names_resolve() -> None:
    assert reverse("inventory:resource_list") == URL
    assert reverse("inventory:resource_detail", args=[7]) == "/inventory/resources/7/"


def test_anonymous_is_sent_to_login(client: Client, estate: dict[str, Any]) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    export = client.get(URL, {"export": "csv"})
    assert export.status_code == 302 and export["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["security_user", "owner_user", "viewer_user"])
def test_every_logged_in_role_sees_the_live_inventory(
    client: Client, estate: dict[str, Any], role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "web-1" in page and "experiment" in page
    assert "old-web" not in page  # deleted: hidden by default
    assert response.context["total"] == 7


def test_refresh_all_button_only_for_the_security_team(
    client: Client, estate: dict[str, Any], security_user: Any, viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    assert 'action="/inventory/refresh/"' not in client.get(URL).content.decode()
    client.force_login(security_user)
    assert 'action="/inventory/refresh/"' in client.get(URL).content.decode()


def test_filter_by_account_environment_region_service_and_type(
    client: Client, estate: dict[str, Any], viewer_user: Any, prod: AwsAccount, dev: AwsAccount
) -> None:
    client.force_login(viewer_user)
    assert names(client, account_id=dev.pk) == {"experiment", ""}
    assert names(client, environment="prod") == {"web-1", "worker-1", "stray-vm", "payments-logs", "deployer"}
    assert names(client, region="ap-south-1") == {"stray-vm"}
    assert names(client, region=" AP-South-1 ") == {"stray-vm"}  # typed loosely
    assert names(client, region="global") == {"deployer"}
    assert names(client, service="s3") == {"payments-logs"}
    assert names(client, type="ec2:vpc") == {""}
    assert names(client, type="ec2:instance", account_id=prod.pk, region="eu-west-1") == {"web-1", "worker-1"}


def test_default_order_is_type_then_region_then_name(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    # the order the (type, region) and (account, type, region) indexes serve at a million rows
    for type_, region, name in [
        ("ec2:vpc", "eu-west-1", "b"),
        ("ec2:instance", "us-east-1", "a"),
        ("ec2:instance", "eu-west-1", "z"),
        ("ec2:instance", "eu-west-1", "c"),
    ]:
        make_resource(prod, type=type_, region=region, name=name)
    client.force_login(viewer_user)
    assert shown(client.get(URL)) == ["c", "z", "a", "b"]
    assert shown(client.get(URL, {"service": "ec2"})) == ["c", "z", "a", "b"]
    assert shown(client.get(URL, {"sort": "-type"})) == ["b", "a", "z", "c"]


def test_unknown_choices_show_an_error_and_no_rows(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"type": "ec2:nonsense"})
    assert response.status_code == 200
    assert response.context["filterset"].errors
    assert list(response.context["table"].page.object_list) == []


def test_filter_by_tag_key_and_by_key_and_value(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    assert names(client, tag_key="team") == {"web-1", "worker-1", "experiment"}
    assert names(client, tag_key="team", tag_value="payments") == {"web-1", "experiment"}
    assert names(client, tag_key="env", tag_value="prod") == {"web-1", "payments-logs"}
    assert names(client, tag_key="team", tag_value="nobody") == set()
    assert names(client, tag_key="missing") == set()


def test_tag_value_without_a_key_is_refused_not_ignored(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"tag_value": "payments"})
    assert "tag_value" in response.context["filterset"].errors
    assert list(response.context["table"].page.object_list) == []


def test_tag_filters_take_odd_keys_and_values_literally(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    odd = {'a.b"c': "x", "k__y": "1", "ünï": "€ null", "aws:cloudformation:stack-name": "null"}
    make_resource(prod, name="odd", tags=odd)
    make_resource(prod, name="plain", tags={"a": "x", "k": "1"})
    client.force_login(viewer_user)
    for key, value in odd.items():
        assert names(client, tag_key=key) == {"odd"}, key
        assert names(client, tag_key=key, tag_value=value) == {"odd"}, key
    assert names(client, tag_key="a.b", tag_value="x") == set()  # a dotted key is not a path
    assert names(client, tag_key="k__y", tag_value="2") == set()


def test_search_matches_name_arn_and_exact_resource_id(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    assert names(client, q="WORKER") == {"worker-1"}  # name, any case
    assert names(client, q="i-0ccc3333") == {"stray-vm"}  # resource id (and ARN)
    assert names(client, q="vpc-0123") == {""}
    assert names(client, q="instance/I-0CCC") == {"stray-vm"}  # the ARN's resource part
    # the rest of what a term matches: test_resource_search.py
    assert names(client, q="   ") == names(client)


def test_deleted_resources_on_request(client: Client, estate: dict[str, Any], viewer_user: Any) -> None:
    client.force_login(viewer_user)
    assert "old-web" not in names(client)
    assert "old-web" in names(client, deleted="include") and "web-1" in names(client, deleted="include")
    assert names(client, deleted="only") == {"old-web"}
    response = client.get(URL, {"deleted": "only"})
    assert 'class="deleted"' in response.content.decode()


def test_columns_show_type_title_account_and_short_tags(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    make_resource(prod, name="tagged", tags={f"k{i}": f"v{i}" for i in range(6)})
    client.force_login(viewer_user)
    page = client.get(URL).content.decode()
    assert "EC2 instance" in page and "payments-prod" in page and "555555555555" in page
    assert "k0=v0" in page and "k2=v2" in page and "+3" in page
    assert '<span class="tag">k3=v3</span>' not in page  # only the first three as chips


def test_html_in_names_and_tags_is_escaped_in_the_list(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    make_resource(prod, name=XSS, tags={XSS: XSS})
    client.force_login(viewer_user)
    page = client.get(URL).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_csv_export_applies_filters_writes_tags_as_pairs_and_neutralises_formulas(
    client: Client, prod: AwsAccount, viewer_user: Any
) -> None:
    make_resource(prod, name='=HYPERLINK("http://evil","x")', tags={"=cmd": "|calc", "team": "a"})
    make_resource(prod, name="other", region="us-east-1")
    client.force_login(viewer_user)
    response = client.get(URL, {"export": "csv", "region": "eu-west-1"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="resources-')
    rows = read_csv(b"".join(response.streaming_content))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["Name", "Type", "Resource ID", "Account", "Region"]
    assert len(body) == 1
    row = dict(zip(header, body[0], strict=True))
    assert row["Name"].startswith("'=HYPERLINK")
    assert row["Tags"] == "'=cmd=|calc; team=a"
    assert row["Account"] == "555555555555" and row["Type"] == "ec2:instance"
    assert row["ARN"].startswith("arn:aws:ec2:eu-west-1:555555555555:")


def test_xlsx_export_is_readable_and_keeps_the_picked_columns(
    client: Client, estate: dict[str, Any], viewer_user: Any
) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"export": "xlsx", "columns": ["name", "tags"], "tag_key": "team"})
    assert response.status_code == 200
    rows = read_xlsx(b"".join(response.streaming_content))
    assert rows[0] == ["Name", "Tags"]
    assert sorted(r[0] for r in rows[1:]) == ["experiment", "web-1", "worker-1"]
    assert ["web-1", "env=prod; team=payments"] in rows


def test_query_count_does_not_grow_with_rows(
    client: Client, prod: AwsAccount, dev: AwsAccount, viewer_user: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(viewer_user)
    for i in range(5):
        make_resource(prod if i % 2 else dev, tags={"team": "a"})
    with django_assert_max_num_queries(7) as small:
        client.get(URL, {"tag_key": "team"})
    for i in range(55):
        make_resource(prod if i % 2 else dev, tags={"team": "a"})
    with django_assert_max_num_queries(7) as large:
        response = client.get(
            URL, {"tag_key": "team", "columns": list(inventory_tables.ResourceTable.column_names())}
        )
    assert len(shown(response)) == 50
    assert len(small.captured_queries) == len(large.captured_queries)
    # the count never scans more than the cap: it is a LIMITed subquery
    counts = [q["sql"] for q in large.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and re.search(r"LIMIT\s+10001", counts[0])
    assert not any('"data"' in q["sql"] for q in large.captured_queries if "inventory_resource" in q["sql"])


def test_past_the_count_cap_the_list_says_more_and_pages_on(
    client: Client, prod: AwsAccount, viewer_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_tables, "COUNT_CAP", 60)
    for i in range(130):
        make_resource(prod, name=f"r{i:03d}")
    client.force_login(viewer_user)
    first = client.get(URL, {"sort": "name"})
    page = first.content.decode()
    assert first.context["table"].paginator.capped
    assert "60+" in page and "1–50 of more than 60" in page
    assert shown(first)[0] == "r000"
    third = client.get(URL, {"sort": "name", "page": 3})
    assert shown(third) == [f"r{i:03d}" for i in range(100, 130)]
    assert not third.context["table"].page.has_next()
    assert 'rel="next"' not in third.content.decode() and 'rel="prev"' in third.content.decode()
    second = client.get(URL, {"sort": "name", "page": 2})
    assert second.context["table"].page.has_next() and len(shown(second)) == 50
    # past the end: an empty page that says so and links back, not an error
    beyond = client.get(URL, {"sort": "name", "page": 99})
    assert beyond.status_code == 200 and shown(beyond) == []
    assert "past the last row" in beyond.content.decode()
    nonsense = client.get(URL, {"sort": "name", "page": "x"})
    assert nonsense.status_code == 200 and shown(nonsense)[0] == "r000"


def test_sorting_on_an_unindexed_column_needs_a_set_within_the_cap(
    client: Client, prod: AwsAccount, dev: AwsAccount, viewer_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_tables, "COUNT_CAP", 5)
    for i in range(8):
        make_resource(prod, name=f"p{i}", type="ec2:vpc" if i % 2 else "ec2:instance")
    make_resource(dev, name="d1")
    make_resource(dev, name="d0")
    client.force_login(viewer_user)
    refused = client.get(URL, {"sort": "-name"})
    assert refused.context["table"].sort_refused == "Name"
    assert shown(refused)[:2] == ["d0", "d1"]  # the usual order: type, region, name
    assert "Sorting by Name is offered for up to 5 resources" in refused.content.decode()
    narrowed = client.get(URL, {"sort": "-name", "account_id": dev.pk})
    assert not narrowed.context["table"].sort_refused and shown(narrowed) == ["d1", "d0"]
    indexed = client.get(URL, {"sort": "-type"})  # served by an index at any size
    assert not indexed.context["table"].sort_refused and shown(indexed)[0] == "p7"
    # an export reads every row anyway, so it keeps the order asked for
    exported = client.get(URL, {"sort": "-name", "export": "csv", "columns": "name"})
    names_in_file = [row[0] for row in read_csv(b"".join(exported.streaming_content))[1:]]
    assert names_in_file == sorted(names_in_file, reverse=True) and len(names_in_file) == 10


def test_below_the_cap_the_count_is_exact(client: Client, estate: dict[str, Any], viewer_user: Any) -> None:
    client.force_login(viewer_user)
    response = client.get(URL, {"account_id": estate["web"].account_id})
    assert not response.context["table"].paginator.capped
    assert "1–5 of 5" in response.content.decode()


def test_past_the_cap_a_page_past_any_offset_is_the_first(
    client: Client, prod: AwsAccount, viewer_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_tables, "COUNT_CAP", 5)
    for i in range(8):
        make_resource(prod, name=f"p{i}")
    client.force_login(viewer_user)
    for page in (str(2**62), str(2**63), "-1"):  # (page - 1) * 50 is past the database's integers
        response = client.get(URL, {"page": page, "per_page": "-5"})
        assert response.status_code == 200, page
        assert response.context["table"].page.number == 1

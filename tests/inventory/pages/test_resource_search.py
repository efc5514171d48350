"""The resource search box (``q``): what a term matches, on SQLite and PostgreSQL alike, and that
PostgreSQL answers "contains" from the trigram index rather than by reading every resource."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import AwsAccount
from inventory.filtersets import ResourceFilterSet
from inventory.models import Resource
from inventory.search import arn_resource
from tests.inventory.pages.conftest import make_resource

URL = "/inventory/resources/"


def found(client: Client, term: str) -> set[str]:
    response = client.get(URL, {"q": term})
    assert response.status_code == 200
    return {row.record.name for row in response.context["table"].page.object_list}


@pytest.fixture
def searchable(prod: AwsAccount, dev: AwsAccount, viewer_user: Any, client: Client) -> Client:
    make_resource(prod, name="web-1", resource_id="i-0aaa1111", region="eu-west-1")
    make_resource(prod, name="stray-vm", resource_id="i-0ccc3333", region="ap-south-1")
    make_resource(
        prod,
        type="iam:role",
        name="Admin",
        region="global",
        resource_id="AROAEXAMPLE1",
        arn="arn:aws:iam::555555555555:role/ops/Admin",
    )
    make_resource(
        prod,
        type="iam:role",
        name="deployer",
        region="global",
        resource_id="AROAEXAMPLE2",
        arn="arn:aws:iam::555555555555:role/deployer",
    )
    make_resource(
        prod, type="s3:bucket", name="payments-logs", region="eu-west-1", arn="arn:aws:s3:::payments-logs"
    )
    make_resource(dev, name="experiment", resource_id="i-0ddd4444", region="us-east-1")
    make_resource(dev, name="100%_done", resource_id="i-0eee5555", region="us-east-1")
    client.force_login(viewer_user)
    return client


pytestmark = pytest.mark.django_db


def test_names_and_the_resource_part_of_the_arn_contain_the_term_in_any_case(searchable: Client) -> None:
    assert found(searchable, "STRAY") == {"stray-vm"}
    assert found(searchable, "role/ops") == {"Admin"}  # the path is only in the ARN
    assert found(searchable, "0ccc33") == {"stray-vm"}  # part of an id, through the ARN
    assert found(searchable, "i-0ddd4444") == {"experiment"}  # the id itself


def test_a_pasted_arn_finds_its_resource_and_an_arn_start_finds_what_starts_so(searchable: Client) -> None:
    assert found(searchable, "arn:aws:iam::555555555555:role/ops/Admin") == {"Admin"}
    assert found(searchable, "  ARN:AWS:IAM::555555555555:ROLE/OPS/ADMIN ") == {"Admin"}
    assert found(searchable, "arn:aws:iam::555555555555:role/") == {"Admin", "deployer"}
    assert found(searchable, "arn:aws:iam::555555555555:") == {"Admin", "deployer"}  # nothing to index
    assert found(searchable, "arn:aws:s3:::pay") == {"payments-logs"}
    assert found(searchable, "arn:aws:iam::666666666666:role/") == set()  # another account's roles
    # "starts with": the resource part alone is not an ARN
    assert found(searchable, "arn:role/deployer") == set()


def test_whole_account_ids_regions_and_services_offer_their_filter(
    searchable: Client, prod: AwsAccount, dev: AwsAccount
) -> None:
    make_resource(prod, type="s3:bucket", name="trail-666666666666", arn="arn:aws:s3:::trail-666666666666")
    # as text: only what contains it (here a bucket named after the account), not the whole account
    assert found(searchable, "666666666666") == {"trail-666666666666"}
    assert found(searchable, ":666666666666:") == set()
    assert found(searchable, "ap-south-1") == set()
    # and the list offers the filter instead, keeping the other filters; following it shows them all
    for term, hint, query, expected in (
        (
            "666666666666",
            "account sandbox-dev (666666666666)",
            f"account_id={dev.pk}",
            {"experiment", "100%_done"},
        ),
        (
            ":666666666666:",
            "account sandbox-dev (666666666666)",
            f"account_id={dev.pk}",
            {"experiment", "100%_done"},
        ),
        ("AP-SOUTH-1", "region ap-south-1", "region=ap-south-1", {"stray-vm"}),
        ("S3", "service s3", "service=s3", {"payments-logs", "trail-666666666666"}),
    ):
        page = searchable.get(URL, {"q": term, "deleted": "include", "page": "2"}).content.decode()
        assert f'is {hint}: <a href="?deleted=include&amp;{query}">show all its resources</a>' in page, term
        response = searchable.get(f"{URL}?deleted=include&{query}")
        assert {row.record.name for row in response.context["table"].page.object_list} == expected, term
    for term in ("999999999999", "eu-west", "web-1"):  # no such account; not whole; a name
        assert "search-hint" not in searchable.get(URL, {"q": term}).content.decode(), term


def test_a_term_too_short_for_the_index_still_searches(searchable: Client) -> None:
    assert found(searchable, "eb") == {"web-1"}
    assert found(searchable, "-V") == {"stray-vm"}
    assert found(searchable, "%") == {"100%_done"}


def test_like_wildcards_in_a_term_are_plain_characters(searchable: Client) -> None:
    assert found(searchable, "100%_") == {"100%_done"}
    assert found(searchable, "%") == {"100%_done"}
    assert found(searchable, "_") == {"100%_done"}
    assert found(searchable, "arn:%") == set()


def test_the_search_box_says_what_it_searches(searchable: Client) -> None:
    page = searchable.get(URL).content.decode()
    assert (
        'placeholder="name, id, ARN…"' in page
        and "an account id, region or service offers its filter" in page
    )


def test_the_admin_searches_the_same_way(client: Client, prod: AwsAccount, admin_user: Any) -> None:
    make_resource(prod, type="iam:role", name="Admin", arn="arn:aws:iam::555555555555:role/ops/Admin")
    make_resource(prod, name="web-1")
    client.force_login(admin_user)
    for term, expected in (
        ("role/ops", 1),
        ("arn:aws:iam::555555555555:role/", 1),
        ("WEB", 1),
        ("555555555555", 0),
    ):
        response = client.get("/admin/inventory/resource/", {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == expected, term


@given(
    head=st.tuples(
        *(st.text(alphabet=st.characters(blacklist_characters=":"), max_size=12) for _ in range(4))
    ),
    rest=st.text(max_size=30),
)
def test_the_resource_part_is_what_follows_the_arns_five_fields(head: tuple[str, ...], rest: str) -> None:
    assert arn_resource("arn:" + ":".join(head) + ":" + rest) == rest


@pytest.mark.parametrize("text", ["", "i-0abc", "arn:aws:s3", "urn:x:y:z:w:v", "ARN:aws:iam::1:role/x"])
def test_text_that_is_not_an_arn_is_searched_whole(text: str) -> None:
    assert arn_resource(text) == text
    assert arn_resource(None) is None


@pytest.mark.postgres
@pytest.mark.parametrize("term", ["payments", "role/ops/Admin", "arn:aws:iam::555555555555:role/ops"])
def test_postgresql_answers_contains_from_the_trigram_index(searchable: Client, term: str) -> None:
    """The index's expression (migration 0008) and the query's (inventory.search.SearchText) must be
    the same, or every search reads the whole table. A handful of rows are cheapest to scan, so
    scans are ruled out: what remains is a bitmap scan, which needs an index that serves the
    condition itself. An expression that drifted from the index's leaves only the scan."""
    queryset = ResourceFilterSet({"q": term}, queryset=Resource.objects.all()).qs
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        plan = queryset.explain()
    assert "inv_res_search_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'inventory_resource'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert not indexes & {"inv_res_name_trgm", "inv_res_arn_trgm"}  # replaced (migration 0008)


def test_a_hint_escapes_what_people_typed_and_named(client: Client, viewer_user: Any) -> None:
    from tests.factories import AwsAccountFactory
    from tests.inventory.pages.conftest import XSS

    AwsAccountFactory(name=XSS, account_id="121212121212")
    client.force_login(viewer_user)
    page = client.get(URL, {"q": " 121212121212 "}).content.decode()
    assert "search-hint" in page and "<script>alert" not in page and "&lt;script&gt;" in page


def _rows_query(queries: list[dict[str, str]]) -> str:
    [sql] = [q["sql"] for q in queries if 'FROM "inventory_resource"' in q["sql"] and "ORDER BY" in q["sql"]]
    return sql


def test_a_search_is_sorted_after_it_is_found_unless_it_matches_more_than_the_cap(
    searchable: Client, prod: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order an index serves lets PostgreSQL walk that index testing every row against the
    search (3.7 s at a million, bench/search); a search's rows are found first, then sorted."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory import tables

    make_resource(prod, type="ec2:instance", region="ap-south-1", name="another-vm")
    with CaptureQueriesContext(connection) as queries:
        response = searchable.get(URL, {"q": "-vm"})
    rows = [
        (r.record.type, r.record.region, r.record.name) for r in response.context["table"].page.object_list
    ]
    assert rows == sorted(rows) and len(rows) == 2  # the list's order, as without a search
    assert "|| '')" in _rows_query(queries.captured_queries).split("ORDER BY")[1]

    with CaptureQueriesContext(connection) as queries:  # no search: the index's order
        searchable.get(URL, {"region": "ap-south-1"})
    assert "|| '')" not in _rows_query(queries.captured_queries)

    monkeypatch.setattr(tables, "COUNT_CAP", 1)  # more matches than the cap: not sorted in full
    with CaptureQueriesContext(connection) as queries:
        response = searchable.get(URL, {"q": "-vm"})
    assert len(response.context["table"].page.object_list) == 2
    assert "|| '')" not in _rows_query(queries.captured_queries)


@pytest.mark.parametrize(
    "sort", ["account", "-account", "tags", "first_seen", "-region", "name", "resource_id"]
)
def test_a_search_sorts_by_any_column(searchable: Client, sort: str) -> None:
    response = searchable.get(URL, {"q": "-vm", "sort": sort})
    assert response.status_code == 200
    assert [r.record.name for r in response.context["table"].page.object_list] == ["stray-vm"]

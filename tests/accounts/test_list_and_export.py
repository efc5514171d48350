"""The shared list kit on the registry: filters, columns, sorting, pagination, exports, query counts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.tables import AwsAccountTable
from core.exporting import cell_value, neutralise
from core.ui import selected_columns, url_or_none
from tests.accounts.helpers import read_csv, read_xlsx
from tests.factories import AwsAccountFactory, TeamFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1:A9)",
    "\t=1",
    "\r=1",
]


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_looking_text_is_prefixed_with_a_quote(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "a=b", "", " =1", 42, -1, None])
def test_other_values_are_left_alone(value: Any) -> None:
    assert neutralise(value) == value


def test_cell_values_for_spreadsheets_are_plain_and_safe() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert cell_value(moment) == "2026-01-02T03:04:05+00:00"
    assert cell_value(moment, for_xlsx=True) == dt.datetime(2026, 1, 2, 3, 4, 5)  # Excel has no zones
    assert cell_value(["eu-west-1", "=x"]) == "eu-west-1, =x"
    assert cell_value(["=x"]) == "'=x"
    assert cell_value({"b": 1, "a": "=2"}) == '{"a": "=2", "b": 1}'
    assert cell_value("bell\x07char", for_xlsx=True) == "bellchar"  # openpyxl refuses control chars
    assert len(cell_value("x" * 40000, for_xlsx=True)) == 32767


@pytest.fixture
def hostile_accounts() -> list[Any]:
    team = TeamFactory(name="=cmd|' /C calc'!A0")
    return [
        AwsAccountFactory(
            account_id=f"10000000000{i}", name=value, description=value, owner=team, environment="prod"
        )
        for i, value in enumerate(HOSTILE)
    ]


def test_csv_export_neutralises_every_formula_cell(
    client: Client, viewer_user: Any, hostile_accounts: list[Any]
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_list") + "?export=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="accounts-' in response["Content-Disposition"]
    rows = read_csv(body(response))
    header = rows[0]
    assert header[:4] == ["Name", "Account ID", "Environment", "Owner"]
    cells = [cell for row in rows[1:] for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    names = {row[0] for row in rows[1:]}
    assert names == {"'" + value for value in HOSTILE}
    assert {row[header.index("Owner")] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}


def test_xlsx_export_neutralises_every_formula_cell_and_stores_no_formulas(
    client: Client, viewer_user: Any, hostile_accounts: list[Any]
) -> None:
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_list") + "?export=xlsx")
    data = body(response)
    rows = read_xlsx(data)
    assert rows[0][:2] == ["Name", "Account ID"]
    # XML turns a stored CR into LF on reading; what matters is the leading quote.
    assert {row[0] for row in rows[1:]} == {"'" + value.replace("\r", "\n") for value in HOSTILE}
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_export_keeps_the_current_filters_and_picked_columns(client: Client, viewer_user: Any) -> None:
    AwsAccountFactory(name="prod-one", environment="prod")
    AwsAccountFactory(name="dev-one", environment="dev")
    client.force_login(viewer_user)
    page = client.get(
        reverse("accounts:account_list") + "?environment=prod&columns=name&columns=account_id&page=1"
    )
    links = dict(page.context["export_links"])
    assert "environment=prod" in links["CSV"] and "page=" not in links["CSV"]
    rows = read_csv(body(client.get(reverse("accounts:account_list") + links["CSV"])))
    assert rows[0] == ["Name", "Account ID"]
    assert [row[0] for row in rows[1:]] == ["prod-one"]


def test_export_without_picked_columns_has_every_column(client: Client, viewer_user: Any) -> None:
    AwsAccountFactory()
    client.force_login(viewer_user)
    rows = read_csv(body(client.get(reverse("accounts:account_list") + "?export=csv")))
    assert len(rows[0]) == len(AwsAccountTable.column_names())


def test_failed_access_shows_its_reason_in_the_list(client: Client, viewer_user: Any) -> None:
    AwsAccountFactory(
        access_status="failed", access_message="AccessDenied: not authorized to perform sts:AssumeRole"
    )
    client.force_login(viewer_user)
    page = client.get(reverse("accounts:account_list")).content.decode()
    assert "not authorized to perform sts:AssumeRole" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?environment=prod", {"payments-prod"}),
        ("?environment=prod&environment=dev", {"payments-prod", "platform-dev"}),
        ("?status=suspended", {"old-sandbox"}),
        ("?q=5555", {"payments-prod"}),
        ("?q=CARD", {"payments-prod"}),
        ("?collection_enabled=false", {"old-sandbox"}),
        ("?owner=null", {"old-sandbox"}),
        ("", {"payments-prod", "platform-dev", "old-sandbox"}),
    ],
)
def test_filters_narrow_the_registry(
    client: Client, viewer_user: Any, query: str, expected: set[str]
) -> None:
    payments = TeamFactory(name="Payments")
    AwsAccountFactory(
        name="payments-prod",
        account_id="555555555555",
        environment="prod",
        owner=payments,
        description="Card processing",
    )
    AwsAccountFactory(name="platform-dev", environment="dev")
    AwsAccountFactory(
        name="old-sandbox", environment="sandbox", status="suspended", owner=None, collection_enabled=False
    )
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_list") + query)
    assert {row.record.name for row in response.context["table"].paginated_rows} == expected


def test_owner_filter_by_team(client: Client, viewer_user: Any) -> None:
    team = TeamFactory(name="Payments")
    AwsAccountFactory(name="mine", owner=team)
    AwsAccountFactory(name="theirs")
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_list") + f"?owner={team.pk}")
    assert [row.record.name for row in response.context["table"].paginated_rows] == ["mine"]


@pytest.mark.parametrize("query", ["?environment=moon", "?owner=99999", "?owner=abc", "?q=" + "x" * 500])
def test_invalid_filters_show_an_error_and_no_rows_rather_than_everything(
    client: Client, viewer_user: Any, query: str
) -> None:
    AwsAccountFactory()
    client.force_login(viewer_user)
    response = client.get(reverse("accounts:account_list") + query)
    assert response.status_code == 200
    assert response.context["filterset"].errors
    assert response.context["total"] == 0
    assert 'class="errorlist"' in response.content.decode()


def test_columns_parameter_picks_columns_and_unknown_names_are_ignored() -> None:
    names, picked = selected_columns(
        AwsAccountTable, QueryDict("columns=description,name&columns=bogus,__class__")
    )
    assert (names, picked) == (["name", "description"], True)  # table order, not request order
    names, picked = selected_columns(AwsAccountTable, QueryDict(""))
    assert (names, picked) == (list(AwsAccountTable.default_columns), False)
    assert selected_columns(AwsAccountTable, QueryDict("columns=bogus")) == (
        list(AwsAccountTable.default_columns),
        False,
    )


def test_list_shows_the_default_columns_and_picked_ones(client: Client, viewer_user: Any) -> None:
    AwsAccountFactory(notes="a private-looking note")
    client.force_login(viewer_user)
    default = client.get(reverse("accounts:account_list"))
    assert [c.name for c in default.context["table"].columns] == list(AwsAccountTable.default_columns)
    assert "a private-looking note" not in default.content.decode()
    picked = client.get(reverse("accounts:account_list") + "?columns=name&columns=notes")
    assert [c.name for c in picked.context["table"].columns] == ["name", "notes"]
    assert "a private-looking note" in picked.content.decode()


def test_sorting_and_pagination_fifty_a_page_with_bad_page_numbers_tolerated(
    client: Client, viewer_user: Any
) -> None:
    team = TeamFactory()
    for i in range(120):
        AwsAccountFactory(name=f"acct-{i:03d}", owner=team)
    client.force_login(viewer_user)
    url = reverse("accounts:account_list")
    first = client.get(url + "?sort=-name")
    rows = list(first.context["table"].paginated_rows)
    assert len(rows) == 50 and rows[0].record.name == "acct-119"
    assert [r.record.name for r in client.get(url + "?sort=name&page=3").context["table"].paginated_rows][
        -1
    ] == "acct-119"
    for bad in ("?page=999", "?page=abc", "?page=-1", "?sort=nonexistent", "?sort=__class__"):
        assert client.get(url + bad).status_code == 200
    assert client.get(url + "?per_page=100000").context["table"].page.paginator.per_page == 50


@pytest.mark.parametrize("url_name", ["accounts:account_list", "accounts:team_list"])
def test_list_pages_run_a_constant_number_of_queries(
    client: Client, viewer_user: Any, django_assert_max_num_queries: Any, url_name: str
) -> None:
    client.force_login(viewer_user)
    url = reverse(url_name) + "?columns=" + ",".join(AwsAccountTable.column_names())
    team = TeamFactory()
    for _ in range(5):
        AwsAccountFactory(
            owner=TeamFactory(members=[viewer_user]) if url_name.endswith("team_list") else team
        )
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    for _ in range(45):
        AwsAccountFactory(owner=TeamFactory() if url_name.endswith("team_list") else team)
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        client.get(url)
    assert len(big.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize("page", ["detail", "history"])
def test_account_pages_run_a_constant_number_of_queries_whatever_the_history(
    client: Client, viewer_user: Any, django_assert_max_num_queries: Any, page: str
) -> None:
    account = AwsAccountFactory()
    url = (
        account.get_absolute_url()
        if page == "detail"
        else reverse("accounts:account_history", args=[account.pk])
    )
    client.force_login(viewer_user)
    # The account page also renders every registered panel (inventory, exposure, findings,
    # baseline, IAM), each with a fixed handful of queries; what must not grow is the total.
    with django_assert_max_num_queries(25) as first:
        client.get(url)
    for i in range(60):  # more than a history page
        account.description = f"v{i}"
        account.owner = TeamFactory()
        account.save()
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


def test_url_or_none_is_none_for_routes_that_do_not_exist_yet() -> None:
    assert url_or_none("inventory:surely_not_a_route") is None
    assert url_or_none("accounts:account_detail", 5) == "/accounts/5/"

"""Query parameter validation (core.params) and the tables' use of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.test import RequestFactory

from accounts.models import AwsAccount, Team
from accounts.tables import AwsAccountTable
from core.params import (
    DB_INT_MAX,
    DB_INT_MIN,
    BoundedModelChoiceField,
    BoundedModelMultipleChoiceField,
    choice_param,
    int_param,
    page_param,
    per_page_param,
    sort_param,
    text_param,
)
from tests.factories import AwsAccountFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        (str(DB_INT_MAX), DB_INT_MAX),
        (str(DB_INT_MIN), DB_INT_MIN),
        (str(DB_INT_MAX + 1), None),
        (str(DB_INT_MIN - 1), None),
        ("9" * 40, None),
        ("1e309", None),
        ("1.5", None),
        ("0x1f", None),
        ("1_000", None),
        ("\u0663", None),  # another script's digit: int() takes it, a query string should not
        ("\x00", None),
        ("", None),
        (None, None),
        ("abc", None),
    ],
)
def test_int_param_takes_ascii_integers_within_the_database_range(value: Any, expected: int | None) -> None:
    assert int_param(value, None) == expected


def test_int_param_bounds_and_default() -> None:
    assert int_param("0", 1, minimum=1) == 1
    assert int_param("5", 1, minimum=1, maximum=4) == 1
    assert int_param(" 12 ", 0) == 12


def test_per_page_is_one_the_tables_offer_or_the_default() -> None:
    assert per_page_param(QueryDict("per_page=100"), 50) == 100
    assert per_page_param(QueryDict("per_page=30"), 30) == 30  # the page's own size is fine
    for bad in ("-5", "0", "7", str(2**63), "1e309", "abc", "%00"):
        assert per_page_param(QueryDict(f"per_page={bad}"), 50) == 50, bad
    assert per_page_param(QueryDict("per_page=-5&per_page=100"), 50) == 100  # the last one counts


def test_page_is_at_least_one() -> None:
    assert page_param(QueryDict("page=3")) == 3
    assert page_param(QueryDict(f"page={2**40}")) == 2**40  # past the end: the paginator shows the last
    for bad in ("-1", "0", str(2**63), "x", ""):
        assert page_param(QueryDict(f"page={bad}")) == 1, bad


def test_sort_keys_name_known_columns() -> None:
    assert sort_param(["-name", "nope", "name,status", "-", "__class__"], {"name", "status"}) == [
        "-name",
        "name",
        "status",
    ]
    assert sort_param(["a,b,c,d"], {"a", "b", "c", "d"}) == ["a", "b", "c"]


def test_choice_and_text() -> None:
    assert choice_param("csv", ("csv", "xlsx"), "") == "csv"
    assert choice_param("CSV", ("csv", "xlsx"), "") == ""
    assert text_param("  web ") == "web"
    assert text_param("a\x00b") == ""
    assert text_param("x" * 201, max_length=200) == ""


@pytest.mark.django_db
def test_model_choices_past_the_integer_range_are_the_forms_error() -> None:
    account = AwsAccountFactory()
    many = BoundedModelMultipleChoiceField(queryset=AwsAccount.objects.all())
    assert list(many.clean([str(account.pk)])) == [account]
    for bad in ([str(2**63)], [str(account.pk), str(-(2**63) - 1)], ["\x00"]):
        with pytest.raises(ValidationError) as error:
            many.clean(bad)
        assert error.value.code in ("invalid_pk_value", "null_characters_not_allowed")
    one = BoundedModelChoiceField(queryset=Team.objects.all())
    assert one.clean(str(account.owner_id)) == account.owner
    with pytest.raises(ValidationError) as error:
        one.clean(str(2**64))
    assert error.value.code == "invalid_choice"


@pytest.mark.django_db
def test_a_table_pages_from_validated_parameters(rf: RequestFactory) -> None:
    for _ in range(3):
        AwsAccountFactory()
    queryset = AwsAccount.objects.order_by("account_id")
    table = AwsAccountTable(queryset, request=rf.get("/", {"per_page": "-5", "page": "-1", "sort": "nope"}))
    assert table.paginator.per_page == 50 and table.page.number == 1
    assert [str(o) for o in table.order_by] == ["account_id"]  # the queryset's own order, not "nope"
    table = AwsAccountTable(
        queryset, request=rf.get("/", {"per_page": "10", "page": str(2**63), "sort": "-name"})
    )
    assert table.paginator.per_page == 10 and table.page.number == 1  # one page: the last is the first
    assert [str(o) for o in table.order_by] == ["-name"]

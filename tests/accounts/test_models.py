from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.forms import AwsAccountForm, normalise_account_id, parse_regions
from accounts.models import AwsAccount, validate_account_id, validate_read_role, validate_regions
from accounts.services import guess_environment
from tests.factories import AwsAccountFactory


@pytest.mark.parametrize("value", ["123456789012", "000000000001"])
def test_twelve_digit_account_ids_are_valid(value: str) -> None:
    validate_account_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",
        "1234567890123",
        "12345678901a",
        "abcdefghijkl",
        "1234 5678 9012",
        " 123456789012",
        "123456789012\n",
        "",
        "１２３４５６７８９０１２",
    ],
)
def test_account_ids_that_are_not_exactly_twelve_ascii_digits_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_account_id(value)


def test_console_dashed_form_is_normalised_but_other_separators_are_not() -> None:
    assert normalise_account_id(" 1234-5678-9012 ") == "123456789012"
    assert normalise_account_id("1234 5678 9012") == "1234 5678 9012"
    assert normalise_account_id("12-3456789012") == "12-3456789012"


@pytest.mark.parametrize(
    "value",
    [
        "SkyledgerReadOnly",
        "role+with=odd,chars.@-_",
        "arn:aws:iam::123456789012:role/Path/To/Role",
        "arn:aws-us-gov:iam::123456789012:role/R",
    ],
)
def test_role_names_and_role_arns_are_accepted(value: str) -> None:
    validate_read_role(value)


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:user/alice",  # a user, not a role
        "arn:aws:iam::12345:role/Short",  # bad account in ARN
        "role with spaces",
        "rôle",  # IAM names are ASCII
        "ReadOnly\n",
        "x" * 65,  # role names are at most 64 characters
        "<script>",
    ],
)
def test_bad_read_roles_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_read_role(value)


def test_regions_validator_accepts_region_names_and_rejects_others() -> None:
    validate_regions(["eu-west-1", "us-gov-east-1", "ap-southeast-4"])
    for bad in (["eu-west"], ["EU-WEST-1"], ["eu_west_1"], [1], "eu-west-1"):
        with pytest.raises(ValidationError):
            validate_regions(bad)  # type: ignore[arg-type]


def test_region_text_is_split_on_commas_and_spaces_deduplicated_and_lowercased() -> None:
    regions, bad = parse_regions("eu-west-1, EU-WEST-1  us-east-1;eu-central-1,,")
    assert regions == ["eu-west-1", "us-east-1", "eu-central-1"]
    assert bad == []
    assert parse_regions("eu-west-1 mars-north-1x")[1] == ["mars-north-1x"]


@pytest.mark.django_db
def test_model_full_clean_rejects_bad_id_and_regions_together() -> None:
    account = AwsAccount(account_id="12345678901", name="x", allowed_regions=["nowhere"])
    with pytest.raises(ValidationError) as excinfo:
        account.full_clean()
    assert {"account_id", "allowed_regions"} <= set(excinfo.value.message_dict)


@pytest.mark.django_db
def test_account_form_gives_clear_messages_for_bad_id_duplicate_and_regions() -> None:
    AwsAccountFactory(account_id="123456789012")
    form = AwsAccountForm(
        data={
            "account_id": "123456789012",
            "name": "dup",
            "environment": "dev",
            "status": "active",
            "allowed_regions": "eu-west-1 nowhere",
        }
    )
    assert not form.is_valid()
    assert form.errors["account_id"] == ["This account ID is already in the registry."]
    assert "Not region names: 'nowhere'" in form.errors["allowed_regions"][0]

    form = AwsAccountForm(
        data={"account_id": "1234567890", "name": "short", "environment": "dev", "status": "active"}
    )
    assert not form.is_valid()
    assert "exactly 12 digits" in form.errors["account_id"][0]


@pytest.mark.django_db
def test_account_form_accepts_the_console_dashed_id_and_stores_digits() -> None:
    form = AwsAccountForm(
        data={
            "account_id": "2222-3333-4444",
            "name": "ok",
            "environment": "prod",
            "status": "active",
            "allowed_regions": "eu-west-1, eu-west-2",
        }
    )
    assert form.is_valid(), form.errors
    account = form.save()
    assert account.account_id == "222233334444"
    assert account.allowed_regions == ["eu-west-1", "eu-west-2"]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("payments-prod",), "prod"),
        (("Payments Production",), "prod"),
        (("devtools",), "other"),  # whole words only
        (("team-dev",), "dev"),
        (("log-archive",), "operations"),
        (("misc", "Root/Workloads/Staging"), "staging"),
        (("",), "other"),
    ],
)
def test_environment_is_guessed_from_whole_words_in_name_or_ou(texts: tuple[str, ...], expected: str) -> None:
    assert guess_environment(*texts) == expected

"""``manage.py export_exposure``: the exposed list as JSON or CSV, from stored resources."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AwsAccount
from tests.factories import AwsAccountFactory
from tests.inventory.exposure import builders as b
from tests.inventory.maps.conftest import REGION, WEB_ARN, network, store

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("export_exposure", *args, stdout=out)
    return out.getvalue()


def test_json_lists_account_region_ids_ports_and_path(account: AwsAccount) -> None:
    rows = json.loads(run("--format", "json"))
    assert len(rows) == 1
    row = rows[0]
    assert row["account_id"] == account.account_id and row["environment"] == "prod"
    assert row["region"] == REGION and row["resource_id"] == "i-web" and row["arn"] == WEB_ARN
    assert row["ports"] == [
        {"protocol": "tcp", "from_port": 22, "to_port": 22},
        {"protocol": "tcp", "from_port": 443, "to_port": 443},
    ]
    assert row["ports_text"] == "tcp/22, tcp/443" and row["whole_internet"] is True
    assert [h["kind"] for h in row["path"]] == [
        "internet-gateway",
        "route-table",
        "subnet",
        "network-acl",
        "security-group",
        "resource",
    ]
    assert row["path_text"].startswith("Internet gateway igw-1")


def test_csv_neutralises_formula_cells(db: None) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT, name="@SUM(1+1)")
    store(acct, network(web_tags={"Name": "=HYPERLINK(1)"}))
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv"))))
    assert len(rows) == 1
    assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["account_name"] == "'@SUM(1+1)"
    assert rows[0]["arn"] == WEB_ARN and rows[0]["ports"] == "tcp/22, tcp/443"
    assert rows[0]["path"].endswith("Resource i-web (public IP 54.0.0.10)")


def test_account_region_and_port_narrow_the_list(account: AwsAccount) -> None:
    other = AwsAccountFactory(account_id="444455556666")
    store(other, network())
    assert len(json.loads(run())) == 2
    assert [r["account_id"] for r in json.loads(run("--account", "444455556666"))] == ["444455556666"]
    assert json.loads(run("--region", "us-east-1")) == []
    assert len(json.loads(run("--port", "443"))) == 2
    assert json.loads(run("--port", "3389")) == []


def test_unknown_account_is_an_error(account: AwsAccount) -> None:
    with pytest.raises(CommandError, match="999999999999"):
        run("--account", "999999999999")


def test_a_port_out_of_range_is_an_error(account: AwsAccount) -> None:
    with pytest.raises(CommandError):
        run("--port", "70000")

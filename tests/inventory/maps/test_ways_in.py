"""The ways in besides network paths on the Exposed page, its export, the account panel, the map and
``manage.py export_exposure``: each row says its vector and evidence, decoys stay off, AWS text is escaped."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from inventory.records import GLOBAL_REGION, Coverage, Record
from inventory.services import exposure as service
from inventory.services.ingest import ingest
from tests.factories import AwsAccountFactory
from tests.inventory.maps.conftest import ACCOUNT_ID, REGION, WEB_ARN
from tests.inventory.maps.test_views import body, logged_in

pytestmark = pytest.mark.django_db

EVIL = '<img src=x onerror="alert(1)">'
OUTSIDE = "999988887777"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:public-intake"
DECOY_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:org-intake"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/Vendor"


def _policy(condition: dict[str, Any] | None = None, sid: str = "Send") -> dict[str, Any]:
    s: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage"}
    return {"Version": "2012-10-17", "Statement": [{**s, "Condition": condition} if condition else s]}


def _queue(arn: str, policy: dict[str, Any]) -> Record:
    name = arn.rsplit(":", 1)[-1]
    region = arn.split(":")[3]
    return Record("sqs:queue", arn, name, name, region, data={"QueueArn": arn, "Policy": policy})


def _store(account: AwsAccount, region: str, type_: str, records: list[Record]) -> None:
    ingest(account, region, [type_], records, {type_: Coverage.OK}, seen_at=timezone.now())


@pytest.fixture
def opened(account: AwsAccount) -> AwsAccount:
    """The exposed web instance, plus a public queue (its policy's Sid written by an attacker), a
    decoy queue narrowed to the organisation, and a role trusting an outside account."""
    _store(
        account,
        REGION,
        "sqs:queue",
        [
            _queue(QUEUE_ARN, _policy(sid=EVIL)),
            _queue(DECOY_ARN, _policy({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})),
        ],
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDE}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    data = {"RoleName": "Vendor", "AssumeRolePolicyDocument": trust}
    role = Record("iam:role", ROLE_ARN, "Vendor", "Vendor", GLOBAL_REGION, data=data)
    _store(account, GLOBAL_REGION, "iam:role", [role])
    return account


def test_exposed_page_has_a_way_in_column_and_filter_and_escapes_the_evidence(
    viewer_user: Any, opened: AwsAccount
) -> None:
    client = logged_in(viewer_user)
    html = body(client.get(reverse("inventory:exposed")))
    assert "Way in" in html and 'name="vector"' in html
    for label in ("Network path", "Resource policy", "Role trust"):
        assert f">{label}</span>" in html
    assert "public-intake" in html and "org-intake" not in html
    assert EVIL not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert f"trusts account(s) outside the organisation: {OUTSIDE} (no ExternalId or MFA)" in html

    only = body(client.get(reverse("inventory:exposed"), {"vector": "resource-policy"}))
    assert "public-intake" in only and "i-web" not in only and "Vendor" not in only
    both = body(client.get(reverse("inventory:exposed"), {"vector": ["trust", "network"]}))
    assert "Vendor" in both and "i-web" in both and "public-intake" not in both
    # a port narrows to network paths: a policy has no port
    port = body(client.get(reverse("inventory:exposed"), {"port": 22}))
    assert "i-web" in port and "public-intake" not in port
    assert "has-error" in body(client.get(reverse("inventory:exposed"), {"vector": "bogus"}))


def test_exposed_export_carries_vector_and_evidence(viewer_user: Any, opened: AwsAccount) -> None:
    response = logged_in(viewer_user).get(reverse("inventory:exposed"), {"export": "csv"})
    rows = {r["ARN"]: r for r in csv.DictReader(io.StringIO(body(response)))}
    assert set(rows) == {WEB_ARN, QUEUE_ARN, ROLE_ARN}
    assert rows[QUEUE_ARN]["Way in"] == "resource-policy" and rows[QUEUE_ARN]["Region"] == REGION
    assert rows[QUEUE_ARN]["Evidence"] == f'queue policy statement "{EVIL}" allows anyone: sqs:SendMessage'
    assert rows[ROLE_ARN]["Region"] == GLOBAL_REGION and rows[ROLE_ARN]["Way in"] == "trust"
    assert rows[WEB_ARN]["Way in"] == "network" and rows[WEB_ARN]["Ports / protocols"] == "tcp/22, tcp/443"


def test_command_json_and_csv_rows_carry_vector_and_evidence(opened: AwsAccount) -> None:
    out = io.StringIO()
    call_command("export_exposure", "--format", "json", stdout=out)
    rows = {r["arn"]: r for r in json.loads(out.getvalue())}
    assert set(rows) == {WEB_ARN, QUEUE_ARN, ROLE_ARN}
    queue = rows[QUEUE_ARN]
    assert (queue["vector"], queue["vector_label"], queue["ports"], queue["path"]) == (
        "resource-policy",
        "Resource policy",
        [],
        [],
    )
    [evidence] = queue["evidence"]
    assert evidence["statement"] == _policy(sid=EVIL)["Statement"][0] and evidence["sid"] == EVIL
    assert rows[ROLE_ARN]["evidence"][0]["accounts"] == [OUTSIDE]
    assert rows[WEB_ARN]["vector"] == "network" and rows[WEB_ARN]["evidence"] == []

    out = io.StringIO()
    call_command("export_exposure", "--format", "csv", "--vector", "trust", stdout=out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert (row["arn"], row["vector"], row["region"]) == (ROLE_ARN, "trust", GLOBAL_REGION)
    assert row["evidence"].endswith(f"{OUTSIDE} (no ExternalId or MFA)") and row["ports"] == ""


def test_an_outside_account_registered_into_the_organisation_is_no_longer_outside(opened: AwsAccount) -> None:
    assert ROLE_ARN in {r.exposure["arn"] for r in service.exposed_rows([opened])}
    vendor = AwsAccountFactory(account_id=OUTSIDE, status=AccountStatus.NOT_IN_ORG)
    assert ROLE_ARN in {r.exposure["arn"] for r in service.exposed_rows([opened])}
    vendor.status = AccountStatus.ACTIVE
    vendor.save()
    assert ROLE_ARN not in {r.exposure["arn"] for r in service.exposed_rows([opened])}


def test_account_panel_counts_ways_in_by_vector(viewer_user: Any, opened: AwsAccount) -> None:
    html = body(logged_in(viewer_user).get(opened.get_absolute_url()))
    assert "3</strong> ways in</a> to 3 resources:" in html
    for label in ("Network path 1", "Resource policy 1", "Role trust 1"):
        assert label in html
    assert f"{reverse('inventory:exposed')}?account={opened.pk}&amp;vector=resource-policy" in html
    assert EVIL not in html


def test_map_marks_the_opened_queue_and_lists_every_way_in_of_the_region(
    viewer_user: Any, opened: AwsAccount
) -> None:
    payload = service.map_payload(opened, service.MapFilters(region=REGION))
    assert payload["stats"]["opened"] == 1 and payload["stats"]["exposed"] == 1
    rings = [t for t in payload["figure"]["data"] if t.get("name") == "Open by policy, ACL or sharing"]
    assert [t["customdata"] for t in rings] == [[QUEUE_ARN]]
    queue_nodes = [t for t in payload["figure"]["data"] if QUEUE_ARN in (t.get("customdata") or [])]
    hover = next(t["hovertext"] for t in queue_nodes if t.get("hovertext"))
    assert any("open to anyone</b> through: Resource policy" in h for h in hover)
    assert DECOY_ARN not in json.dumps(payload["figure"])  # a private queue is not on the network map
    listed = {(x["resource_id"], x["vector"]) for x in payload["exposed"]}
    assert listed == {("i-web", "network"), ("public-intake", "resource-policy")}  # the role is global
    html = body(
        logged_in(viewer_user).get(reverse("inventory:map"), {"account": opened.pk, "region": REGION})
    )
    assert "Ways in here" in html and "Resource policy" in html and EVIL not in html


def test_a_region_opened_only_by_a_policy_is_on_the_map(opened: AwsAccount) -> None:
    _store(opened, "ap-south-1", "sqs:queue", [_queue(QUEUE_ARN.replace(REGION, "ap-south-1"), _policy())])
    assert service.network_regions(opened.pk) == [REGION, "ap-south-1"]

"""On the simulated estate: collect it through the real access layer and collectors, then every
planted way in -- network path, function URL, resource policy, ACL grant, sharing, trust -- is on
the Exposed page and in its export, with its vector, and none of the private decoys is."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from accounts.choices import AccountStatus
from accounts.models import AwsAccount
from inventory import hooks
from inventory.collectors import base
from inventory.models import Resource, RunState
from inventory.services import exposure as service
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from tests.inventory.maps.test_views import body, logged_in
from tests.inventory.simulation.support import make_hub, shared_estate

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]

SERVICES = frozenset(
    {"ec2", "elb", "elbv2", "rds", "lambda", "eks", "s3", "sqs", "sns", "kms", "ecr", "secretsmanager", "iam"}
)


def _collect(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[AwsAccount]]:
    _server, estate = shared_estate()
    monkeypatch.setattr(hooks, "_RECEIVERS", [])  # exposure needs no checks run
    access = AwsAccess(make_hub(estate))
    collectors = base.collectors(lambda c: c.service in SERVICES)
    accounts = []
    for info in estate.accounts.values():
        account = AwsAccount.objects.create(
            account_id=info.id,
            name=info.name,
            environment=info.env,
            allowed_regions=list(estate.spec.regions),
            read_role=estate.spec.read_role,
            external_id=estate.spec.external_id,
        )
        run = collect_account(account, create_run(account), access=access, collectors=collectors)
        assert run.state in (RunState.DONE, RunState.PARTIAL), (info.key, run.message, run.errors[:3])
        accounts.append(account)
    return estate, accounts


def test_every_planted_way_in_is_on_the_exposed_page_and_no_decoy_is(
    monkeypatch: pytest.MonkeyPatch, viewer_user: Any
) -> None:
    estate, accounts = _collect(monkeypatch)
    planted = {(e.account_id, e.region, e.arn, e.vector) for e in estate.exposed}
    vectors = {e.vector for e in estate.exposed}
    assert vectors == {"network", "function-url", "resource-policy", "acl", "sharing", "trust"}
    policies = {e.arn.split(":")[2] for e in estate.exposed_by("resource-policy")}
    assert policies == {"s3", "sqs", "sns", "kms", "ecr", "secretsmanager", "lambda"}
    decoys = estate.decoys()
    assert len(decoys) >= 9 and set(decoys.values()) <= set(Resource.objects.values_list("arn", flat=True))

    client = logged_in(viewer_user)
    response = client.get(reverse("inventory:exposed"), {"export": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(body(response))))
    reported = {(r["Account ID"], r["Region"], r["ARN"], r["Way in"]) for r in rows}
    assert reported == planted
    assert not set(decoys.values()) & {r["ARN"] for r in rows}
    # every row says what opens it: the ports and path of a network path, the evidence otherwise
    for row in rows:
        assert row["Path in / evidence"], row
        if row["Way in"] == "network":
            assert row["Ports / protocols"] and not row["Evidence"], row
        elif row["Way in"] == "function-url":
            assert (
                row["Evidence"].endswith("with AuthType NONE") and "Function URL" in row["Path in / evidence"]
            )
        else:  # no network path: the evidence is the way in
            assert row["Evidence"] == row["Path in / evidence"] and not row["Ports / protocols"], row

    # the page itself: each planted resource is linked on its vector's list, no decoy is
    pk_by_arn = dict(Resource.objects.filter(deleted_at__isnull=True).values_list("arn", "pk"))
    for vector in vectors:
        html = body(client.get(reverse("inventory:exposed"), {"vector": vector}))
        for e in estate.exposed_by(vector):
            assert reverse("inventory:resource_detail", args=[pk_by_arn[e.arn]]) in html, (vector, e)
        for arn in decoys.values():
            assert reverse("inventory:resource_detail", args=[pk_by_arn[arn]]) not in html, (vector, arn)

    # the outside-account trust is judged against the registry: once the vendor account is
    # registered as a member of the organisation, it is no longer a way in from outside
    vendor = next(e for e in estate.exposed_by("trust") if "VendorMonitoring" in e.arn)
    trust = service.exposed_rows(accounts, vector=["trust"])
    assert vendor.arn in {r.exposure["arn"] for r in trust}
    outside = next(
        s["accounts"] for r in trust if r.exposure["arn"] == vendor.arn for s in r.exposure["evidence"]
    )
    AwsAccount.objects.create(account_id=outside[0], name="vendor", status=AccountStatus.ACTIVE)
    assert vendor.arn not in {r.exposure["arn"] for r in service.exposed_rows(accounts, vector=["trust"])}

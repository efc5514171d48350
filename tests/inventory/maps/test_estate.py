"""On the simulated estate: collect it through the real access layer and collectors, then the
resources reported exposed are exactly the ones the estate planted (and findings agree)."""

from __future__ import annotations

import pytest

from accounts.models import AwsAccount
from iam_audit import engine
from iam_audit.models import Finding
from inventory import hooks
from inventory.aws.session import AwsSettings, Hub
from inventory.collectors import base
from inventory.exposure.results import NETWORK_VECTORS
from inventory.models import RunState
from inventory.services import exposure as service
from inventory.services.collect import AwsAccess, collect_account
from inventory.services.runs import create_run
from inventory.simulation.estate import EstateSpec, seed
from inventory.simulation.server import MotoServer

pytestmark = [pytest.mark.django_db, pytest.mark.moto, pytest.mark.slow]

REGIONS = ("us-east-1", "eu-west-1")
NETWORK_SERVICES = frozenset({"ec2", "elb", "elbv2", "rds", "lambda", "eks"})


def test_exposed_resources_are_exactly_the_planted_ones(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = seed(moto_server.url, EstateSpec(regions=REGIONS))
    # the checks run once below, for the account that matters, rather than after every collection
    monkeypatch.setattr(hooks, "_RECEIVERS", [])
    hub = Hub(AwsSettings(endpoint_url=moto_server.url))
    collectors = base.collectors(lambda c: c.service in NETWORK_SERVICES)
    accounts = []
    for info in estate.accounts.values():
        account = AwsAccount.objects.create(
            account_id=info.id,
            name=info.name,
            environment=info.env,
            allowed_regions=list(REGIONS),
            read_role=estate.spec.read_role,
        )
        run = collect_account(account, create_run(account), access=AwsAccess(hub), collectors=collectors)
        assert run.state in (RunState.DONE, RunState.PARTIAL), (info.key, run.message, run.errors[:3])
        accounts.append(account)

    # the network ways in (the others are in test_estate_ways_in.py)
    rows = service.exposed_rows(accounts, vector=NETWORK_VECTORS)
    reported = {
        (r.account.account_id, r.exposure["region"], r.exposure["arn"], r.exposure["vector"]) for r in rows
    }
    planted = {(e.account_id, e.region, e.arn, e.vector) for e in estate.exposed_by(*NETWORK_VECTORS)}
    assert planted, "the estate plants exposed resources"
    assert reported == planted
    by_arn = {r.exposure["arn"]: r.exposure for r in rows}
    for e in estate.exposed_by(*NETWORK_VECTORS):
        tcp = {
            p["from_port"]
            for p in by_arn[e.arn]["ports"]
            if p["protocol"] == "tcp" and p["from_port"] == p["to_port"]
        }
        assert set(e.ports) <= tcp, (e.resource_id, by_arn[e.arn]["ports_text"])

    # findings agree: an open group on an internet-facing host outranks one guarding nothing
    # reachable (dev: the bastion's SSH group, the all-open debug group on a private worker;
    # prod: RDP open on a private Windows host; sandbox: SSH open on a group guarding nothing, in a region
    # outside the allow-list, collected like every enabled region)
    for key in ("dev", "prod", "sandbox"):
        account = AwsAccount.objects.get(account_id=estate.account(key).id)
        engine.run_checks(account, only=["ec2.sg_admin_ports_open", "ec2.sg_all_open"])
    findings = {
        (f.check_id, f.account.account_id, f.subject.rsplit("/", 1)[-1]): f
        for f in Finding.objects.filter(
            check_id__in=["ec2.sg_admin_ports_open", "ec2.sg_all_open"]
        ).select_related("account")
    }
    exposed_groups: dict[str, set[str]] = {}
    for r in rows:  # an account may have several exposed resources (dev: the bastion, a function URL)
        exposed_groups.setdefault(r.account.account_id, set()).update(r.exposure["security_groups"])
    planted = estate.planted_for("ec2.sg_admin_ports_open") + estate.planted_for("ec2.sg_all_open")
    assert len(planted) >= 3
    for p in planted:
        finding = findings[(p.check_id, p.account_id, p.subject)]
        reachable = p.subject in exposed_groups.get(p.account_id, set())
        assert finding.evidence["reachable"] is reachable, (p.note, finding.evidence)
    dev = estate.account("dev").id
    bastion = next(p for p in planted if p.account_id == dev and p.check_id == "ec2.sg_admin_ports_open")
    debug = next(p for p in planted if p.account_id == dev and p.check_id == "ec2.sg_all_open")
    ssh_on_bastion = findings[("ec2.sg_admin_ports_open", dev, bastion.subject)]
    ssh_on_worker = findings[("ec2.sg_admin_ports_open", dev, debug.subject)]  # all ports include 22
    assert ssh_on_bastion.evidence["reachable"] is True and ssh_on_worker.evidence["reachable"] is False
    assert ssh_on_bastion.priority > ssh_on_worker.priority

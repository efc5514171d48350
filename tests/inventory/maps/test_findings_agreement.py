"""Findings agree with the exposure analysis: an open group on something reachable ranks higher."""

from __future__ import annotations

import pytest

from accounts.models import AwsAccount
from iam_audit import engine, priority
from iam_audit.models import Finding
from inventory.records import Coverage
from tests.factories import AwsAccountFactory
from tests.inventory.exposure import builders as b
from tests.inventory.maps.conftest import network, store

pytestmark = pytest.mark.django_db

SSH = "ec2.sg_admin_ports_open"


def findings(account: AwsAccount) -> dict[str, Finding]:
    return {f.resource.resource_id: f for f in Finding.objects.filter(account=account, check_id=SSH)}


def test_ssh_open_on_an_internet_facing_instance_outranks_the_same_rule_guarding_nothing(
    account: AwsAccount,
) -> None:
    engine.run_checks(account, only=[SSH])
    found = findings(account)
    web, hidden = found["sg-web"], found["sg-hidden"]
    # both groups break the rule: both findings stay open, with the same severity
    assert web.severity == hidden.severity == "high"
    assert web.evidence["reachable"] is True and hidden.evidence["reachable"] is False
    assert web.priority > hidden.priority
    assert web.priority == priority.score("high", "prod", "internet")[0]
    assert hidden.priority == priority.score("high", "prod", "internet", reachable=False)[0]
    assert any("nothing reachable" in t["label"] for t in hidden.priority_explanation)


def test_incomplete_collection_never_lowers_a_priority(db: None) -> None:
    acct = AwsAccountFactory(account_id=b.ACCOUNT, environment="prod")
    # instances could not be listed: an instance might sit behind the "hidden" group after all
    store(acct, network(), coverage={"ec2:instance": Coverage.DENIED})
    engine.run_checks(acct, only=[SSH])
    hidden = findings(acct)["sg-hidden"]
    assert "reachable" not in hidden.evidence
    assert hidden.priority == priority.score("high", "prod", "internet")[0]


def test_reachability_follows_the_next_collection(account: AwsAccount) -> None:
    engine.run_checks(account, only=[SSH])
    assert findings(account)["sg-hidden"].evidence["reachable"] is False
    # the hidden instance gets a public address in the public subnet: now its group matters
    moved = [
        b.instance("i-hidden", "subnet-pub", "vpc-1", ["sg-hidden"], public_ip="54.0.0.11")
        if i.resource_id == "i-hidden"
        else i
        for i in network()
    ]
    store(account, moved)
    engine.run_checks(account, only=[SSH])
    found = findings(account)
    assert found["sg-hidden"].evidence["reachable"] is True
    assert found["sg-hidden"].priority == found["sg-web"].priority

"""A small estate with one of everything a page can show, for the fuzz tests.

Built from the other tests' builders: the IAM story estate (accounts, principals, the organisation),
a stored network with an exposed instance, findings, check results, a collection run, history.
:func:`seed` returns the objects whose primary keys fill the URL patterns' path arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accounts.models import AwsAccount, Team
from iam_audit import graph_store
from iam_audit.engine import catalogue
from iam_audit.models import Finding, Principal
from inventory.models import CollectionRun, Resource, RunState
from tests.factories import AwsAccountFactory, TeamFactory
from tests.iam_audit.access.stored import store_story
from tests.iam_audit.builders import make_finding, set_result
from tests.iam_audit.graph.factories import STAGING, STORY_USER
from tests.inventory.maps.conftest import network
from tests.inventory.maps.conftest import store as store_network


@dataclass
class Estate:
    team: Team
    account: AwsAccount  # owned by ``team`` (the owner user's team), with IAM data
    network_account: AwsAccount  # with a stored network and an exposed instance
    resource: Resource
    finding: Finding
    principal: Principal
    run: CollectionRun
    check_id: str

    def path_args(self) -> dict[str, dict[str, Any]]:
        """URL name -> kwargs of the one pattern that needs path arguments."""
        account = {"pk": self.account.pk}
        return {
            "accounts:account_detail": account,
            "accounts:account_edit": account,
            "accounts:account_delete": account,
            "accounts:designate_identity": account,
            "accounts:account_history": account,
            "accounts:team_detail": {"pk": self.team.pk},
            "accounts:team_history": {"pk": self.team.pk},
            "accounts:team_edit": {"pk": self.team.pk},
            "accounts:team_delete": {"pk": self.team.pk},
            "inventory:resource_detail": {"pk": self.resource.pk},
            "inventory:refresh_account": account,
            "inventory:check_account_access": account,
            "inventory:run_detail": {"pk": self.run.pk},
            "inventory:run_progress": {"pk": self.run.pk},
            "iam_audit:finding_detail": {"pk": self.finding.pk},
            "iam_audit:check_detail": {"check_id": self.check_id},
            "iam_audit:principal_detail": {"pk": self.principal.pk},
            "iam_audit:account_access": account,
        }


def seed(owner_team: Team) -> Estate:
    """The estate: the story's staging account belongs to ``owner_team``."""
    accounts = store_story(owners={STAGING: owner_team})
    staging = accounts[STAGING]
    network_account = AwsAccountFactory(
        account_id="111122223333", name="shop-prod", environment="prod", owner=TeamFactory(name="Shop")
    )
    store_network(network_account, network(web_tags={"Name": "web", "team": "ops"}))
    check_id = "ec2.sg_admin_ports_open"
    assert check_id in catalogue()
    finding = make_finding(network_account, check_id=check_id)
    make_finding(staging, check_id="iam.root_mfa", subject=f"arn:aws:iam::{staging.account_id}:root")
    set_result(network_account, check_id, "fail", failed=1)
    set_result(staging, "iam.root_mfa", "pass")
    now = timezone.now()
    run = CollectionRun.objects.create(
        account=network_account,
        state=RunState.DONE,
        started_at=now,
        finished_at=now,
        units_planned=2,
        units_done=2,
        regions=["eu-west-1"],
    )
    # history: an edit of the account and of the team
    staging.description = "Staging, edited"
    staging.save()
    owner_team.description = "Payments, edited"
    owner_team.save()
    graph_store.current()  # builds the graph and fills the principals table
    resource = Resource.objects.filter(account=network_account, type="ec2:instance").first()
    assert resource is not None
    return Estate(
        team=owner_team,
        account=staging,
        network_account=network_account,
        resource=resource,
        finding=finding,
        principal=Principal.objects.get(arn=STORY_USER),
        run=run,
        check_id=check_id,
    )

"""Builds the simulated estate described in :mod:`inventory.simulation.estate`. No Django here.

Seeding is not production code: it talks to moto with plain boto3 clients. It runs serially on
purpose: moto draws every generated id (VPC, instance, key...) from one seeded random generator, so
a fixed call order is what makes the ids repeat from one run to the next.

Speed (moto answers a light call in ~6.5 ms; a boto3 client costs ~20 ms of CPU to create): one
boto3 session shares its loaded service models with all clients, a client is created once per
(account, service, region), and instances are launched in batches.

The steps are mixins over :class:`~inventory.simulation.seeding.base.SeederBase` (its state and
helpers): ``organization``, ``baseline``, ``identity``, ``network``, ``workloads`` and
``exposures`` (last: the ways in besides network paths); ``run()`` below calls them in their (fixed)
order.
"""

from __future__ import annotations

import contextlib
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

from inventory.simulation.estate import CORE_ACCOUNTS, Estate
from inventory.simulation.seeding.base import (
    _BOOTSTRAP_CREDENTIALS,
    _WARM_UP,
    ORG_MISSING_CIS,
    PROD_PARTIAL_CIS,
)
from inventory.simulation.seeding.baseline import BaselineMixin
from inventory.simulation.seeding.exposures import ExposuresMixin
from inventory.simulation.seeding.identity import IdentityMixin
from inventory.simulation.seeding.org_cases import OrgCasesMixin
from inventory.simulation.seeding.organization import OrganizationMixin
from inventory.simulation.seeding.workloads import WorkloadsMixin

log = logging.getLogger(__name__)

__all__ = ["ORG_MISSING_CIS", "PROD_PARTIAL_CIS", "Seeder"]


class Seeder(OrganizationMixin, BaselineMixin, IdentityMixin, WorkloadsMixin, ExposuresMixin, OrgCasesMixin):
    """Builds one estate; ``run()`` returns its manifest. Use :func:`inventory.simulation.estate.seed`."""

    def run(self) -> Estate:
        started = time.monotonic()
        if not self._moto_api("/moto-api/reset"):
            raise RuntimeError(f"{self.url} is not a moto server (POST /moto-api/reset failed)")
        self._warm_up()
        self._moto_api("/moto-api/reset")
        self._moto_api(f"/moto-api/seed?a={self.spec.seed}")
        self._organization()
        self._log_archive()
        for key in ["org-root", *CORE_ACCOUNTS, *self._extra_keys()]:
            self._baseline(self.accts[key])
        self._hub_role()
        self._identity()
        self._story_and_staging()
        self._staging()  # right after the story: the order of calls fixes the ids
        self._prod()
        self._dev()
        self._sandbox()
        self._operations_and_security_workloads()
        self._management_trail()
        for key in self._extra_keys():
            self._extra_workload(self.accts[key])
        self._management_mistake()
        self._cis_alarm_gaps()
        self._recorder_gaps()
        self._ways_in()  # after the rest: it adds calls, and calls before it keep their ids
        self._org_cases()  # likewise, last
        hub = self._hub_credentials()
        seconds = round(time.monotonic() - started, 2)
        log.info(
            "seeded %d accounts in %.1f s with %d calls", len(self.accts), seconds, sum(self.calls.values())
        )
        assert self.story is not None
        return Estate(
            endpoint_url=self.url,
            spec=self.spec,
            organization_id=self.org_id,
            management_account_id=self.accts["org-root"].id,
            hub=hub,
            accounts=dict(self.info),
            ous=dict(self.ous),
            scps=dict(self.scps),
            iam_story=self.story,
            organization_trail_arn=self.trail_arn,
            resources=dict(self.resources),
            planted=list(self.planted),
            exposed=list(self.exposed),
            notes=list(self.notes),
            seconds=seconds,
        )

    def _warm_up(self) -> None:
        """Touch every service once before seeding the random generator.

        moto imports a service's code on its first request, and some modules draw random numbers
        when imported: on a fresh server those draws would shift every id generated afterwards.
        """
        for service, operation, kwargs in _WARM_UP:
            regions = self.spec.regions if service in ("ec2", "s3") else (self.spec.home_region,)
            for region in regions:
                with contextlib.suppress(ClientError, BotoCoreError):
                    getattr(self.client(service, region, _BOOTSTRAP_CREDENTIALS), operation)(**kwargs)

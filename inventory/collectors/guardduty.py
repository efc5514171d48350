"""GuardDuty detectors (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, arn, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(__name__, "guardduty", "GetDetector", "ListDetectors")


@register
class GuardDutyCollector:
    """The region's detector (at most one per account and region) with its settings."""

    service: ClassVar[str] = "guardduty"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = ("guardduty:detector",)

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield each detector with the get_detector answer and its DetectorId."""
        g = Guard(ctx, self.service)
        client = g.client()
        type_ = "guardduty:detector"
        with g.listing(type_, "ListDetectors"):
            for detector_id in g.items(client, "list_detectors", "DetectorIds"):
                unavailable: dict[str, str] = {}
                detail = g.extra(
                    type_,
                    unavailable,
                    "Detector",
                    lambda d=detector_id: g.call(client, "get_detector", DetectorId=d),
                    resource=detector_id,
                    operation="GetDetector",
                )
                data = {**(detail or {}), "DetectorId": detector_id}
                yield record(
                    ctx,
                    type_,
                    arn(ctx, "guardduty", f"detector/{detector_id}"),
                    detector_id,
                    with_unavailable(data, unavailable),
                    name=detector_id,
                    tags=(detail or {}).get("Tags"),
                )

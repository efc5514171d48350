"""VPC checks: flow logs."""

from __future__ import annotations

from collections.abc import Iterator

from iam_audit.checks.base import Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import as_dict, resource_result, truthy

DOC_FLOW_LOGS = "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html"


@check(
    id="vpc.flow_logs",
    title="VPCs have flow logs",
    service="VPC",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A VPC has no active flow log (at VPC level).",
    risk="Without flow logs there is no record of which addresses talked to what during an incident.",
    remediation=(
        "1. Create a log group or bucket for the logs and, for CloudWatch Logs, a delivery role.\n"
        "2. aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc-id> --traffic-type REJECT "
        "--log-destination-type s3 --log-destination arn:aws:s3:::<bucket>/ (ALL for full capture)\n"
        "Console: VPC > Your VPCs > <vpc> > Flow logs > Create flow log."
    ),
    references=("CIS 3.7", DOC_FLOW_LOGS),
    requires=("ec2:vpc", "ec2:flow-log"),
)
def flow_logs(snap: Snapshot) -> Iterator[Result]:
    logs: dict[tuple[str, str], list[dict[str, object]]] = {}
    for fl in snap.of("ec2:flow-log"):
        data = as_dict(fl.data)
        status = str(data.get("FlowLogStatus", "ACTIVE")).upper()
        resource = data.get("ResourceId")
        if isinstance(resource, str) and status == "ACTIVE":
            logs.setdefault((fl.region, resource), []).append(
                {
                    "FlowLogId": data.get("FlowLogId"),
                    "TrafficType": data.get("TrafficType"),
                    "LogDestination": data.get("LogDestination"),
                }
            )
    for vpc in sorted(snap.of("ec2:vpc"), key=lambda i: i.arn):
        data = as_dict(vpc.data)
        vpc_id = data.get("VpcId") or vpc.resource_id
        found = logs.get((vpc.region, str(vpc_id)), [])
        evidence = {"flow_logs": found, "is_default": truthy(data.get("IsDefault"))}
        if found:
            yield resource_result(vpc, Status.PASS, f"{vpc_id} has {len(found)} active flow log(s)", evidence)
        else:
            yield resource_result(
                vpc,
                Status.FAIL,
                f"{vpc_id} has no flow log" + (" (default VPC)" if evidence["is_default"] else ""),
                evidence,
            )

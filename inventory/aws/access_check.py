"""Can Skyledger read this account? Used by a management command and a page button. No Django.

The check assumes the read role, asks who it is, lists the regions, then *probes*: one cheap call
per service the read role's policy covers (:data:`PROBES`), so that a read role deployed from an
older template, or edited by hand, shows the missing action before a collection fails. A refused
call names the operation and the IAM action the role lacks (AWS's own AccessDenied message names
it; otherwise it comes from the declarations, :mod:`inventory.aws.permissions`) and where the
current policy is (:data:`FIX_POLICY`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from inventory.aws.errors import Classified, ErrorKind, classify, without_secret
from inventory.aws.permissions import action_in_message, actions_for, declare, iam_prefix
from inventory.aws.regions import enabled_regions
from inventory.aws.session import AccountSession, Hub, Target

SETUP_GUIDE = "docs/aws-setup.md"
FIX_POLICY = (
    "Deploy the current read role policy (deploy/aws/read-role-policy.json; the StackSet "
    "deploy/aws/cloudformation/read-role-stackset.yaml or the Terraform module deploy/aws/terraform/read-role "
    f"carry it; `manage.py role_policy` prints it), see {SETUP_GUIDE}."
)
FIX_TRUST = (
    "Check that the read role exists in the account, that its trust policy names Skyledger's hub role, "
    "and that its sts:ExternalId condition equals the ExternalId in the registry (or SKYLEDGER_EXTERNAL_ID); "
    f"deploy/aws/read-role-trust-policy.json shows the trust policy, see {SETUP_GUIDE}."
)

# One cheap call per service of the read role's policy: (botocore service, operation, parameters).
# Regional services are asked in the home region. "Not enabled" and "not implemented" answers are
# fine: only a refusal fails the check.
PROBES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("accessanalyzer", "ListAnalyzers", {"maxResults": 1}),
    ("cloudtrail", "DescribeTrails", {}),
    ("cloudwatch", "DescribeAlarms", {"MaxRecords": 1}),
    ("config", "DescribeConfigurationRecorders", {}),
    ("dynamodb", "ListTables", {"Limit": 1}),
    ("ec2", "DescribeVpcs", {"MaxResults": 5}),
    ("ecr", "DescribeRepositories", {"maxResults": 1}),
    ("eks", "ListClusters", {"maxResults": 1}),
    ("elbv2", "DescribeLoadBalancers", {"PageSize": 1}),
    ("guardduty", "ListDetectors", {"MaxResults": 1}),
    ("iam", "ListAccountAliases", {}),
    ("kms", "ListKeys", {"Limit": 1}),
    ("lambda", "ListFunctions", {"MaxItems": 1}),
    ("logs", "DescribeMetricFilters", {"limit": 1}),
    ("organizations", "DescribeOrganization", {}),
    ("rds", "DescribeDBInstances", {"MaxRecords": 20}),
    ("s3", "ListBuckets", {}),
    ("secretsmanager", "ListSecrets", {"MaxResults": 1}),
    ("securityhub", "DescribeHub", {}),
    ("sns", "ListTopics", {}),
    ("sqs", "ListQueues", {"MaxResults": 1}),
)
CALLS = tuple(call for service, operation, _ in PROBES for call in declare(__name__, service, operation))


@dataclasses.dataclass(frozen=True)
class DeniedCall:
    """A probe the read role was refused: the API call and the IAM action it needs."""

    service: str
    operation: str
    action: str
    detail: str = ""  # AWS's message

    def as_text(self) -> str:
        return f"{self.action} (needed by {self.service} {self.operation})"


@dataclasses.dataclass(frozen=True)
class AccessResult:
    """The outcome of one access check; ``error`` is set exactly when ``ok`` is False."""

    ok: bool
    identity_arn: str
    regions: list[str]
    error: Classified | None
    checked_at: dt.datetime
    denied: tuple[DeniedCall, ...] = ()


def missing_action(service: str, operation: str, aws_message: str) -> str:
    """The IAM action a refused call lacked: as AWS named it, else as the declarations say."""
    named = action_in_message(aws_message)
    if named and named.split(":", 1)[0] == iam_prefix(service):
        return named
    return actions_for(service, operation)[0]


def probe(session: AccountSession) -> tuple[DeniedCall, ...]:
    """Run :data:`PROBES`; the calls refused with access denied (other failures are the
    collection's business: throttling, a service not offered here...)."""
    denied = []
    for service, operation, params in PROBES:
        client = session.client(service, session.home_region)
        method = getattr(client, _method_name(client, operation))
        try:
            method(**params)
        except Exception as exc:  # noqa: BLE001 (classified: only a refusal matters here)
            classified = classify(exc, operation)
            if classified.kind is ErrorKind.ACCESS_DENIED:
                action = missing_action(service, operation, classified.detail)
                denied.append(DeniedCall(service, operation, action, classified.detail))
    return tuple(denied)


def _method_name(client: Any, operation: str) -> str:
    mapping = client.meta.method_to_api_mapping
    return next(name for name, api in mapping.items() if api == operation)


def denied_error(denied: Sequence[DeniedCall]) -> Classified:
    """One classified failure naming every refused probe and the fix."""
    actions = ", ".join(call.as_text() for call in denied)
    message = f"The read role is missing {len(denied)} permission(s): {actions}. {FIX_POLICY}"
    first = denied[0]
    return Classified(ErrorKind.ACCESS_DENIED, "MissingPermission", message, first.operation, first.detail)


def _explained(classified: Classified) -> Classified:
    """A failure with what to do about it, for the kinds the read role's set-up decides."""
    if classified.kind in (ErrorKind.ROLE_MISSING, ErrorKind.EXTERNAL_ID_MISMATCH):
        return dataclasses.replace(classified, message=f"{classified.message} {FIX_TRUST}")
    if classified.kind is ErrorKind.ACCESS_DENIED and "deploy/aws/" not in classified.message:
        service = "ec2" if classified.operation == "DescribeRegions" else ""
        action = action_in_message(classified.detail) or (
            actions_for(service, classified.operation)[0] if service else ""
        )
        named = f" The read role lacks {action}." if action else ""
        return dataclasses.replace(classified, message=f"{classified.message}{named} {FIX_POLICY}")
    return classified


def check_access(
    hub: Hub, target: Target, allowed_regions: Sequence[str] = (), probes: bool = True
) -> AccessResult:
    """Assume the read role, ask who we are, list the regions it will collect in, then probe one
    call per service (``probes``). Never raises.

    Also fails when the role answers from another account than the registry says (a wrong role ARN
    would otherwise file one account's resources under another).
    """
    checked_at = dt.datetime.now(dt.UTC)
    identity_arn = ""
    try:
        session = hub.assume(target)
        identity = session.caller_identity()
        identity_arn = identity["Arn"]
        if identity["Account"] != target.account_id:
            message = (
                f"The read role answers from account {identity['Account'] or 'unknown'}, "
                f"not {target.account_id}: check the role ARN in the registry."
            )
            error = Classified(ErrorKind.OTHER, "AccountMismatch", message, "GetCallerIdentity")
            return AccessResult(False, identity_arn, [], error, checked_at)
        regions = enabled_regions(session, allowed_regions)
        denied = probe(session) if probes else ()
    except Exception as exc:  # noqa: BLE001 (the point is to report any failure, classified)
        classified = without_secret(classify(exc), target.external_id)  # AWS may echo it back
        return AccessResult(False, identity_arn, [], _explained(classified), checked_at)
    if denied:
        return AccessResult(False, identity_arn, regions, denied_error(denied), checked_at, denied)
    return AccessResult(True, identity_arn, regions, None, checked_at)

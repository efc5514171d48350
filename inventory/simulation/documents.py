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


def anyone_statement(
    actions: str | list[str], resource: str | list[str], sid: str, condition: Doc | None = None
) -> Doc:
    """Allow Principal ``*`` (everyone) ``actions``, narrowed by ``condition`` when given (or not:
    a condition on aws:SecureTransport, say, does not narrow who)."""
    statement: Doc = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": actions,
        "Resource": resource,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def resource_policy(*statements: Doc) -> Doc:
    return {"Version": VERSION, "Statement": list(statements)}


def key_policy(account_id: str, *statements: Doc) -> Doc:
    """A KMS key policy: the account's own administrators (as AWS's default), plus ``statements``."""
    root = {
        "Sid": "EnableIAMUserPermissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return {"Version": VERSION, "Statement": [root, *statements]}


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
def _any_event(*names: str, source: str = "") -> str:
    events = " || ".join(f"($.eventName = {name})" for name in names)
    return f"{{ ($.eventSource = {source}) && ({events}) }}" if source else f"{{ {events} }}"


# CIS AWS Foundations (v5.0) 4.1-4.15 metric filter patterns, keyed by the filter/alarm name.
CIS_METRIC_FILTERS: dict[str, str] = {
    "UnauthorizedAPICalls": (  # 4.1
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
    ),
    "ConsoleSignInWithoutMFA": (  # 4.2
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
    ),
    "RootAccountUsage": (  # 4.3
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
    ),
    "IAMPolicyChanges": _any_event(  # 4.4
        "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy",
        "PutUserPolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
        "AttachRolePolicy", "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
        "DetachGroupPolicy",
    ),
    "CloudTrailConfigChanges": _any_event(  # 4.5
        "CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"
    ),
    "ConsoleAuthenticationFailures": (  # 4.6
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'
    ),
    "DisableOrDeleteCMK": _any_event("DisableKey", "ScheduleKeyDeletion", source="kms.amazonaws.com"),  # 4.7
    "S3BucketPolicyChanges": _any_event(  # 4.8
        "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
        "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
        source="s3.amazonaws.com",
    ),
    "AWSConfigChanges": _any_event(  # 4.9
        "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder",
        source="config.amazonaws.com",
    ),
    "SecurityGroupChanges": _any_event(  # 4.10
        "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup",
    ),
    "NACLChanges": _any_event(  # 4.11
        "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
        "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation",
    ),
    "NetworkGatewayChanges": _any_event(  # 4.12
        "CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway", "CreateInternetGateway",
        "DeleteInternetGateway", "DetachInternetGateway",
    ),
    "RouteTableChanges": _any_event(  # 4.13
        "CreateRoute", "CreateRouteTable", "ReplaceRoute", "ReplaceRouteTableAssociation", "DeleteRouteTable",
        "DeleteRoute", "DisassociateRouteTable", source="ec2.amazonaws.com",
    ),
    "VPCChanges": _any_event(  # 4.14
        "CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection", "CreateVpcPeeringConnection",
        "DeleteVpcPeeringConnection", "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
        "DisableVpcClassicLink", "EnableVpcClassicLink",
    ),
    "OrganizationsChanges": _any_event(  # 4.15
        "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit", "CreatePolicy",
        "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit", "DeletePolicy", "DetachPolicy",
        "DisablePolicyType", "EnablePolicyType", "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
        "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit",
        source="organizations.amazonaws.com",
    ),
}  # fmt: skip

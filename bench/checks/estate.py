"""Synthetic account snapshots for the checks benchmark: pure Python, no Django, no AWS.

An account of ``n`` resources gets a believable mix of every catalogued type, shaped exactly as
inventory/resource_types.py documents each record's ``data``. Most types scale with ``n`` by a fixed
share (per 1,000 resources: 175 EBS volumes, 140 instances, 110 snapshots, 55 security groups, 50
Lambda functions, 40 buckets, 40 roles...); what AWS keeps to one per account or per region (password
policy, account summary, credential report, Block Public Access, EC2 account settings, GuardDuty,
Config, Security Hub, Access Analyzer) stays fixed, and CloudTrail trails stay at AWS's handful.
IAM stays within AWS's quotas at 100k (4,000 roles, 2,000 customer policies, 800 users, 200 groups).

The mix carries the usual mistakes at realistic rates, so checks produce failures as well as passes:
a few security groups open on SSH or a database port, default security groups and network ACLs as AWS
creates them, IMDSv1 instances, unencrypted volumes, the odd public bucket / snapshot / queue, old or
never-used access keys, console users without MFA, CI roles with AdministratorAccess, roles that can
pass themselves into Lambda, vendor roles with and without an ExternalId, an unpinned GitHub OIDC role.

Everything is derived from a seeded ``random.Random``: the same arguments give the same snapshot.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from iam_audit.checks.base import AccountFacts, Item, OrgContext, Snapshot
from inventory.records import GLOBAL_REGION, Coverage
from inventory.resource_types import RESOURCE_TYPES

NOW = "2026-11-29T00:00:00+00:00"
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
ALLOWED_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")  # ap-southeast-2 holds some shadow resources
READ_ROLE = "SkyledgerReadOnly"
ORG_ID = "o-bench12345"
OUTSIDE_ACCOUNTS = ("464622532012", "222266660000", "987654321098")  # vendors, not in the organisation

# Scaled types: resources per 1,000 (they sum to 1,000; fixed items come on top, then the largest
# share absorbs the difference so an account has exactly ``n`` resources).
SHARES: dict[str, int] = {
    "ec2:volume": 175,
    "ec2:instance": 140,
    "ec2:snapshot": 110,
    "ec2:network-interface": 90,
    "ec2:security-group": 55,
    "lambda:function": 50,
    "s3:bucket": 40,
    "iam:role": 40,
    "cloudwatch:alarm": 40,
    "ec2:subnet": 25,
    "iam:policy": 20,
    "sqs:queue": 20,
    "secretsmanager:secret": 20,
    "iam:instance-profile": 15,
    "rds:db-snapshot": 15,
    "sns:topic": 15,
    "dynamodb:table": 15,
    "ec2:route-table": 10,
    "ec2:image": 10,
    "kms:key": 10,
    "ecr:repository": 10,
    "ec2:elastic-ip": 8,
    "iam:user": 8,
    "rds:db-instance": 8,
    "elbv2:load-balancer": 8,
    "ec2:vpc-endpoint": 6,
    "ec2:network-acl": 5,
    "rds:db-cluster-snapshot": 5,
    "logs:metric-filter": 5,
    "ec2:vpc": 4,
    "ec2:internet-gateway": 3,
    "ec2:nat-gateway": 3,
    "ec2:flow-log": 3,
    "rds:db-cluster": 3,
    "iam:group": 2,
    "elb:load-balancer": 2,
    "ec2:managed-prefix-list": 1,
    "eks:cluster": 1,
}
# AWS-managed policies the account's principals use (stored as iam:policy items with their documents).
AWS_POLICIES = (
    "AdministratorAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
    "SecurityAudit",
    "AWSSupportAccess",
    "service-role/AWSLambdaBasicExecutionRole",
    "AmazonSSMManagedInstanceCore",
)
CIS_PATTERNS = (
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
    "{ ($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || "
    "($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || "
    "($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || "
    "($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || "
    "($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || "
    "($.eventName=DetachGroupPolicy) }",
    "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
    "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    """A policy document."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def read_only_access() -> dict[str, Any]:
    """ReadOnlyAccess as AWS writes it: Get*/List*/Describe* for every service (~1,300 patterns)."""
    from iam_audit.graph.actions import universe

    actions = []
    for service in sorted(universe().service_range):
        actions += [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"]
    return doc({"Sid": "ReadOnlyActions", "Effect": "Allow", "Action": actions, "Resource": "*"})


def aws_documents() -> dict[str, dict[str, Any]]:
    """Documents of the AWS-managed policies in :data:`AWS_POLICIES` (shared by every account)."""
    return {
        "AdministratorAccess": doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        "PowerUserAccess": doc(
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
                           "organizations:DescribeOrganization", "account:ListRegions"],
                "Resource": "*",
            },
        ),
        "ReadOnlyAccess": read_only_access(),
        "SecurityAudit": doc(
            {
                "Effect": "Allow",
                "Action": ["access-analyzer:List*", "cloudtrail:Describe*", "cloudtrail:Get*", "config:Describe*",
                           "ec2:Describe*", "guardduty:Get*", "guardduty:List*", "iam:Get*", "iam:List*",
                           "iam:GenerateCredentialReport", "kms:Describe*", "kms:List*", "s3:GetBucket*",
                           "s3:ListAllMyBuckets", "securityhub:Get*", "securityhub:List*", "logs:Describe*"],
                "Resource": "*",
            }
        ),
        "AWSSupportAccess": doc({"Effect": "Allow", "Action": ["support:*"], "Resource": "*"}),
        "service-role/AWSLambdaBasicExecutionRole": doc(
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": "*"}
        ),
        "AmazonSSMManagedInstanceCore": doc(
            {"Effect": "Allow", "Action": ["ssm:DescribeAssociation", "ssm:GetDocument", "ssm:UpdateInstanceInformation",
                                           "ssmmessages:*", "ec2messages:*"], "Resource": "*"}
        ),
    }  # fmt: skip


def org_account_ids(count: int = 100) -> list[str]:
    """The organisation's account ids: [management, identity, security, log archive, workloads...]."""
    return [f"{200000000000 + i * 7919:012d}" for i in range(count)]


def organisation(ids: Sequence[str], trail: Item | None = None) -> OrgContext:
    """The organisation every benchmark account belongs to: member list, org trail, SCP guardrails."""
    guardrails = doc(
        {"Sid": "DenyLeaving", "Effect": "Deny", "Action": ["organizations:LeaveOrganization"], "Resource": "*"},
        {"Sid": "ProtectSecurity", "Effect": "Deny", "Resource": "*",
         "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "guardduty:DeleteDetector",
                    "config:StopConfigurationRecorder"]},
        {"Sid": "RegionFence", "Effect": "Deny", "Resource": "*",
         "NotAction": ["iam:*", "organizations:*", "sts:*", "support:*", "cloudfront:*", "route53:*"],
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(ALLOWED_REGIONS)}}},
    )  # fmt: skip
    full = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    return OrgContext(
        org_id=ORG_ID,
        management_account_id=ids[0],
        member_account_ids=frozenset(ids),
        identity_account_ids=frozenset(ids[1:2]),
        org_trails=(trail,) if trail is not None else (),
        org_guardduty_regions=frozenset(REGIONS),
        scps=(("p-FullAWSAccess", "FullAWSAccess", full), ("p-guardrails", "Guardrails", guardrails)),
    )


def org_trail(management: str) -> Item:
    """The organisation trail, recorded in the management account."""
    name = "org-trail"
    arn = f"arn:aws:cloudtrail:us-east-1:{management}:trail/{name}"
    return Item(
        "cloudtrail:trail", arn, name, name, "us-east-1", {},
        {"Name": name, "TrailARN": arn, "HomeRegion": "us-east-1", "IsMultiRegionTrail": True,
         "IsOrganizationTrail": True, "LogFileValidationEnabled": True, "S3BucketName": f"org-trail-{management}",
         "KmsKeyId": f"arn:aws:kms:us-east-1:{management}:key/org-trail", "Status": {"IsLogging": True},
         "EventSelectors": {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
                            "AdvancedEventSelectors": []},
         "CloudWatchLogsLogGroupArn": f"arn:aws:logs:us-east-1:{management}:log-group:org-trail:*"},
    )  # fmt: skip


def full_coverage(regions: Sequence[str] = REGIONS) -> dict[tuple[str, str], Coverage]:
    """OK coverage for every catalogued type: global types once, regional types in every region."""
    out: dict[tuple[str, str], Coverage] = {}
    for t, rt in RESOURCE_TYPES.items():
        for r in (GLOBAL_REGION,) if rt.scope == "global" else regions:
            out[(t, r)] = Coverage.OK
    return out


def counts_for(n: int) -> dict[str, int]:
    """How many of each scaled type an account of ``n`` resources holds (fixed items excluded)."""
    counts = {t: max(1, round(share * n / 1000)) for t, share in SHARES.items()}
    counts["iam:policy"] = max(counts["iam:policy"], len(AWS_POLICIES) + 3)
    counts["iam:group"] = max(counts["iam:group"], 4)
    counts["iam:role"] = max(counts["iam:role"], 12)  # the standard roles every account has
    counts["ec2:vpc"] = max(counts["ec2:vpc"], len(REGIONS) + 2)  # default VPCs, plus the account's own
    return counts


class AccountBuilder:
    """Builds the items of one account. ``items()`` yields exactly ``n`` items (n >= 200)."""

    def __init__(
        self,
        account_id: str,
        n: int,
        *,
        org_ids: Sequence[str],
        environment: str = "prod",
        seed: int = 7,
        aws_docs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        if n < 200:
            raise ValueError("an account needs at least 200 resources for the mix to make sense")
        self.a = account_id
        self.n = n
        self.env = environment
        self.rng = random.Random(f"{seed}:{account_id}:{n}")
        self.org_ids = list(org_ids)
        self.aws_docs = aws_docs if aws_docs is not None else aws_documents()
        self.counts = counts_for(n)
        self.trail_count = max(1, min(2 * len(ALLOWED_REGIONS), n // 5000))  # AWS allows 5 per region
        self.fixed = 4 + 5 * len(REGIONS) + self.trail_count + 2  # + SAML and OIDC providers
        excess = sum(self.counts.values()) + self.fixed - n
        self.counts["ec2:volume"] -= excess
        # cross references filled as types are generated
        self.vpcs: list[tuple[str, str]] = []  # (region, vpc id)
        self.subnets: list[tuple[str, str, str]] = []  # (region, vpc id, subnet id)
        self.sgs: list[tuple[str, str]] = []  # (region, group id)
        self.prefix_lists: dict[str, list[str]] = {}
        self.buckets: list[str] = []
        self.roles: list[str] = []
        self.customer_policies: list[str] = []
        self.groups: list[str] = []
        self.memberships: list[list[str]] = []  # per user index
        self.users: list[str] = []
        self.instances: list[tuple[str, str]] = []
        self.log_group = f"cloudtrail-{account_id}"

    # ------------------------------------------------------------------ small helpers
    def region(self) -> str:
        # 3 % of regional resources sit in the region outside the allow-list (shadow IT)
        r = self.rng.random()
        if r < 0.03:
            return REGIONS[3]
        return REGIONS[0] if r < 0.55 else REGIONS[1] if r < 0.85 else REGIONS[2]

    def hexid(self, prefix: str, i: int, width: int = 17) -> str:
        return f"{prefix}-{(i * 2654435761 + int(self.a)) % 16**width:0{width}x}"

    def date(self, lo_days: int = 1, hi_days: int = 1500) -> str:
        day = self.rng.randint(lo_days, hi_days)
        return f"{2026 - day // 365:04d}-{(day // 30) % 12 + 1:02d}-{day % 28 + 1:02d}T10:{day % 60:02d}:00+00:00"

    def tags(self, i: int, name: str) -> dict[str, str]:
        return {"Name": name, "team": f"team-{i % 23}", "env": self.env, "cost-centre": f"cc-{i % 91}"}

    def item(self, type_: str, arn: str, rid: str, name: str, region: str, data: dict[str, Any],
             tags: dict[str, str] | None = None) -> Item:  # fmt: skip
        return Item(type_, arn, rid, name, region, tags or {}, data)

    def arn(self, service: str, region: str, kind: str, rid: str) -> str:
        return f"arn:aws:{service}:{region}:{self.a}:{kind}/{rid}"

    def range(self, type_: str) -> range:
        return range(self.counts[type_])

    # ------------------------------------------------------------------ the whole account
    def items(self) -> list[Item]:
        """Every item of the account, in generation order (VPCs before what lives in them)."""
        out: list[Item] = []
        for part in (
            self.fixed_items(), self.network(), self.security_groups(), self.compute(), self.storage(),
            self.iam(), self.data_services(), self.logging(),
        ):  # fmt: skip
            out.extend(part)
        if len(out) != self.n:
            raise AssertionError(f"built {len(out)} items for {self.n}")
        return out

    def snapshot(self, org: OrgContext) -> Snapshot:
        """The account's snapshot as the engine would build it from storage."""
        return Snapshot(
            account=AccountFacts(
                account_id=self.a, name=f"bench-{self.a}", environment=self.env, status="active",
                allowed_regions=ALLOWED_REGIONS, read_role_name=READ_ROLE,
            ),
            org=org,
            items=self.items(),
            coverage=full_coverage(),
            regions=REGIONS,
            facts={"now": NOW, "unused_days": 90, "access_check_ok": True},
        )  # fmt: skip

    # ------------------------------------------------------------------ fixed items
    def fixed_items(self) -> Iterator[Item]:
        a = self.a
        yield self.item("iam:password-policy", f"arn:aws:iam::{a}:account-password-policy", "password-policy",
                        "password-policy", GLOBAL_REGION,
                        {"Present": True, "MinimumPasswordLength": 14 if self.rng.random() < 0.7 else 8,
                         "RequireSymbols": True, "RequireNumbers": True, "RequireUppercaseCharacters": True,
                         "RequireLowercaseCharacters": True, "AllowUsersToChangePassword": True,
                         "ExpirePasswords": False, "PasswordReusePrevention": 24})  # fmt: skip
        yield self.item("iam:account-summary", f"arn:aws:iam::{a}:account-summary", "account-summary",
                        "account-summary", GLOBAL_REGION,
                        {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "Users": self.counts["iam:user"],
                         "Roles": self.counts["iam:role"], "Policies": self.counts["iam:policy"],
                         "AccountAliases": [f"bench-{a}"],
                         "VirtualMFADevices": [{"SerialNumber": f"arn:aws:iam::{a}:mfa/root-account-mfa-device",
                                                "User": {"Arn": f"arn:aws:iam::{a}:root"},
                                                "EnableDate": "2024-01-02T00:00:00+00:00"}]})  # fmt: skip
        yield self.item("s3:account-public-access-block", f"arn:aws:s3::{a}:account-public-access-block",
                        "account-public-access-block", "account-public-access-block", GLOBAL_REGION,
                        {"Present": True, "BlockPublicAcls": True, "IgnorePublicAcls": True,
                         "BlockPublicPolicy": True, "RestrictPublicBuckets": self.env != "sandbox"})  # fmt: skip
        # the credential report has a row per user: filled in by iam(), after the users exist
        self._report = self.item("iam:credential-report", f"arn:aws:iam::{a}:credential-report",
                                 "credential-report", "credential-report", GLOBAL_REGION,
                                 {"GeneratedTime": NOW, "Rows": [{"user": "<root_account>",
                                  "arn": f"arn:aws:iam::{a}:root", "password_enabled": "not_supported",
                                  "password_last_used": "2025-02-01T00:00:00+00:00", "mfa_active": "true",
                                  "access_key_1_active": "false", "access_key_2_active": "false"}]})  # fmt: skip
        yield self._report
        for r in REGIONS:
            yield self.item("ec2:account-settings", f"arn:aws:ec2:{r}:{a}:account-settings",
                            f"account-settings-{r}", f"account-settings-{r}", r,
                            {"EbsEncryptionByDefault": r != REGIONS[2],
                             "InstanceMetadataDefaults": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}
                             if r == REGIONS[0] else {}})  # fmt: skip
            det = f"{int(a) % 9973:04d}{REGIONS.index(r)}d"
            yield self.item("guardduty:detector", f"arn:aws:guardduty:{r}:{a}:detector/{det}", det, det, r,
                            {"DetectorId": det, "Status": "ENABLED", "FindingPublishingFrequency": "SIX_HOURS",
                             "CreatedAt": "2024-01-02T00:00:00.000Z", "ServiceRole": f"arn:aws:iam::{a}:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"})  # fmt: skip
            yield self.item("config:recorder", f"arn:aws:config:{r}:{a}:config-recorder/default", "default",
                            "default", r,
                            {"name": "default", "roleARN": f"arn:aws:iam::{a}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
                             "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": r == REGIONS[0]},
                             "Status": {"name": "default", "recording": r != REGIONS[3], "lastStatus": "SUCCESS"}})  # fmt: skip
            yield self.item("securityhub:hub", f"arn:aws:securityhub:{r}:{a}:hub/default", "default", "default", r,
                            {"HubArn": f"arn:aws:securityhub:{r}:{a}:hub/default", "SubscribedAt": "2024-01-02T00:00:00.000Z",
                             "AutoEnableControls": True})  # fmt: skip
            yield self.item("accessanalyzer:analyzer", f"arn:aws:access-analyzer:{r}:{a}:analyzer/org", "org",
                            "org", r, {"arn": f"arn:aws:access-analyzer:{r}:{a}:analyzer/org", "name": "org",
                                       "type": "ORGANIZATION", "status": "ACTIVE", "createdAt": "2024-01-02T00:00:00Z"})  # fmt: skip
        yield self.item("iam:saml-provider", f"arn:aws:iam::{a}:saml-provider/Okta", "Okta", "Okta", GLOBAL_REGION,
                        {"Arn": f"arn:aws:iam::{a}:saml-provider/Okta", "ValidUntil": "2030-01-01T00:00:00+00:00",
                         "CreateDate": "2023-01-01T00:00:00+00:00"})  # fmt: skip
        gh = f"arn:aws:iam::{a}:oidc-provider/token.actions.githubusercontent.com"
        yield self.item("iam:oidc-provider", gh, "token.actions.githubusercontent.com", "github", GLOBAL_REGION,
                        {"Arn": gh, "Url": "token.actions.githubusercontent.com", "ClientIDList": ["sts.amazonaws.com"],
                         "ThumbprintList": ["6938fd4d98bab03faadb97b34396831e3780aea1"]})  # fmt: skip
        for i in range(self.trail_count):
            name = "main" if i == 0 else f"app-trail-{i}"
            home = ALLOWED_REGIONS[i % len(ALLOWED_REGIONS)]
            arn = f"arn:aws:cloudtrail:{home}:{a}:trail/{name}"
            yield self.item("cloudtrail:trail", arn, name, name, home,
                            {"Name": name, "TrailARN": arn, "HomeRegion": home, "IsMultiRegionTrail": i == 0,
                             "IsOrganizationTrail": False, "LogFileValidationEnabled": i % 3 != 2,
                             "KmsKeyId": f"arn:aws:kms:{home}:{a}:key/trail-{i}" if i % 2 == 0 else None,
                             "S3BucketName": f"trail-logs-{a}", "IncludeGlobalServiceEvents": i == 0,
                             "Status": {"IsLogging": True, "LatestDeliveryTime": NOW},
                             "EventSelectors": {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                                                    "DataResources": []}], "AdvancedEventSelectors": []},
                             "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{home}:{a}:log-group:{self.log_group}:*"
                             if i == 0 else None})  # fmt: skip

    # ------------------------------------------------------------------ VPCs and their parts
    def network(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        for i in self.range("ec2:vpc"):
            # AWS's default VPC in every region; the account's own VPCs in the allowed regions
            r = REGIONS[i] if i < len(REGIONS) else ALLOWED_REGIONS[i % len(ALLOWED_REGIONS)]
            vid = self.hexid("vpc", i)
            self.vpcs.append((r, vid))
            default = i < len(REGIONS)
            yield self.item("ec2:vpc", self.arn("ec2", r, "vpc", vid), vid, "default" if default else f"vpc-{i}", r,
                            {"VpcId": vid, "CidrBlock": "172.31.0.0/16" if default else f"10.{i % 250}.0.0/16",
                             "State": "available", "IsDefault": default, "InstanceTenancy": "default",
                             "DhcpOptionsId": "dopt-0a1b2c3d", "OwnerId": a,
                             "CidrBlockAssociationSet": [{"AssociationId": f"vpc-cidr-assoc-{i}", "CidrBlock": f"10.{i % 250}.0.0/16",
                                                          "CidrBlockState": {"State": "associated"}}],
                             "Tags": [{"Key": "Name", "Value": f"vpc-{i}"}]}, self.tags(i, f"vpc-{i}"))  # fmt: skip
        for i in self.range("ec2:subnet"):
            r, vid = self.vpcs[i % len(self.vpcs)]
            sid = self.hexid("subnet", i)
            self.subnets.append((r, vid, sid))
            yield self.item("ec2:subnet", self.arn("ec2", r, "subnet", sid), sid, f"subnet-{i}", r,
                            {"SubnetId": sid, "VpcId": vid, "CidrBlock": f"10.{i % 250}.{i % 200}.0/24",
                             "AvailabilityZone": f"{r}{'abc'[i % 3]}", "AvailableIpAddressCount": 250 - i % 200,
                             "MapPublicIpOnLaunch": i % 4 == 0, "DefaultForAz": i < len(REGIONS), "State": "available",
                             "OwnerId": a}, self.tags(i, f"subnet-{i}"))  # fmt: skip
        for i in self.range("ec2:route-table"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            rid = self.hexid("rtb", i)
            yield self.item("ec2:route-table", self.arn("ec2", r, "route-table", rid), rid, f"rtb-{i}", r,
                            {"RouteTableId": rid, "VpcId": vid, "OwnerId": a,
                             "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                                        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": self.hexid("igw", i % 7),
                                         "State": "active"}],
                             "Associations": [{"RouteTableAssociationId": self.hexid("rtbassoc", i), "SubnetId": sid,
                                               "Main": False}]})  # fmt: skip
        for i in self.range("ec2:internet-gateway"):
            r, vid = self.vpcs[i % len(self.vpcs)]
            gid = self.hexid("igw", i)
            yield self.item("ec2:internet-gateway", self.arn("ec2", r, "internet-gateway", gid), gid, gid, r,
                            {"InternetGatewayId": gid, "OwnerId": a,
                             "Attachments": [{"State": "available", "VpcId": vid}]})  # fmt: skip
        for i in self.range("ec2:nat-gateway"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            nid = self.hexid("nat", i)
            yield self.item("ec2:nat-gateway", self.arn("ec2", r, "natgateway", nid), nid, nid, r,
                            {"NatGatewayId": nid, "VpcId": vid, "SubnetId": sid, "State": "available",
                             "ConnectivityType": "public",
                             "NatGatewayAddresses": [{"PublicIp": f"3.{i % 250}.{i % 200}.{i % 100}",
                                                      "PrivateIp": f"10.0.{i % 250}.5"}]})  # fmt: skip
        for i in self.range("ec2:network-acl"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            nid = self.hexid("acl", i)
            default = i % 2 == 0  # AWS's default ACL: allow everything, in and out
            entries = [
                {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": eg, "CidrBlock": "0.0.0.0/0"}
                for eg in (False, True)
            ] if default else [
                {"RuleNumber": 90, "Protocol": "6", "RuleAction": "deny", "Egress": False, "CidrBlock": "0.0.0.0/0",
                 "PortRange": {"From": 22, "To": 22}},
                {"RuleNumber": 95, "Protocol": "6", "RuleAction": "deny", "Egress": False, "CidrBlock": "0.0.0.0/0",
                 "PortRange": {"From": 3389, "To": 3389}},
                {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "0.0.0.0/0",
                 "PortRange": {"From": 1024, "To": 65535}},
                {"RuleNumber": 110, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "0.0.0.0/0",
                 "PortRange": {"From": 443, "To": 443}},
                {"RuleNumber": 120, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "10.0.0.0/8",
                 "PortRange": {"From": 22, "To": 22}},
                {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": True, "CidrBlock": "0.0.0.0/0"},
            ]  # fmt: skip
            entries += [{"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": eg,
                         "CidrBlock": "0.0.0.0/0"} for eg in (False, True)]  # fmt: skip
            yield self.item("ec2:network-acl", self.arn("ec2", r, "network-acl", nid), nid, nid, r,
                            {"NetworkAclId": nid, "VpcId": vid, "IsDefault": default, "OwnerId": a, "Entries": entries,
                             "Associations": [{"NetworkAclAssociationId": self.hexid("aclassoc", i),
                                               "NetworkAclId": nid, "SubnetId": sid}] if rng.random() < 0.9 else []})  # fmt: skip
        for i in self.range("ec2:flow-log"):
            r, vid = self.vpcs[i % len(self.vpcs)]
            if i % 4 == 3:
                r, vid = self.vpcs[(i * 7) % len(self.vpcs)]
            fid = self.hexid("fl", i)
            yield self.item("ec2:flow-log", self.arn("ec2", r, "vpc-flow-log", fid), fid, fid, r,
                            {"FlowLogId": fid, "ResourceId": vid, "FlowLogStatus": "ACTIVE", "TrafficType": "ALL",
                             "LogDestinationType": "s3", "LogDestination": f"arn:aws:s3:::flow-logs-{a}",
                             "DeliverLogsStatus": "SUCCESS", "CreationTime": self.date()})  # fmt: skip
        for i in self.range("ec2:managed-prefix-list"):
            r = ALLOWED_REGIONS[i % len(ALLOWED_REGIONS)]
            pid = self.hexid("pl", i)
            cidrs = [f"198.51.{i % 250}.{k * 16}/28" for k in range(5)]
            if i % 10 == 9:
                cidrs.append("0.0.0.0/0")  # someone "temporarily" opened the office list to the world
            self.prefix_lists.setdefault(r, []).append(pid)
            yield self.item("ec2:managed-prefix-list", self.arn("ec2", r, "prefix-list", pid), pid, f"office-{i}", r,
                            {"PrefixListId": pid, "PrefixListName": f"office-{i}", "AddressFamily": "IPv4",
                             "MaxEntries": 10, "State": "create-complete", "OwnerId": a,
                             "Entries": [{"Cidr": c, "Description": "office"} for c in cidrs]})  # fmt: skip
        for i in self.range("ec2:vpc-endpoint"):
            r, vid = self.vpcs[i % len(self.vpcs)]
            eid = self.hexid("vpce", i)
            yield self.item("ec2:vpc-endpoint", self.arn("ec2", r, "vpc-endpoint", eid), eid, eid, r,
                            {"VpcEndpointId": eid, "VpcId": vid, "VpcEndpointType": "Gateway" if i % 2 else "Interface",
                             "ServiceName": f"com.amazonaws.{r}.{'s3' if i % 2 else 'ssm'}", "State": "available",
                             "PolicyDocument": doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})})  # fmt: skip

    def security_groups(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        for i in self.range("ec2:security-group"):
            r, vid = self.vpcs[i % len(self.vpcs)]
            gid = self.hexid("sg", i)
            self.sgs.append((r, gid))
            if i < len(self.vpcs):
                name = "default"  # one per VPC, with the rules AWS puts there
                ingress = [
                    {
                        "IpProtocol": "-1",
                        "IpRanges": [],
                        "Ipv6Ranges": [],
                        "PrefixListIds": [],
                        "UserIdGroupPairs": [{"GroupId": gid, "UserId": a}],
                    }
                ]
                if i % 3 == 0:
                    ingress = []  # cleaned up, as CIS 5.5 asks
                egress = (
                    []
                    if i % 3 == 0
                    else [
                        {
                            "IpProtocol": "-1",
                            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                            "Ipv6Ranges": [],
                            "PrefixListIds": [],
                            "UserIdGroupPairs": [],
                        }
                    ]
                )
            else:
                name = f"app-{i}"
                ingress = [
                    self._perm("tcp", 443, 443, ["0.0.0.0/0"] if i % 5 == 0 else ["10.0.0.0/8"]),
                    self._perm(
                        "tcp",
                        8080,
                        8080,
                        [],
                        pairs=[self.hexid("sg", (i + 1) % max(1, self.counts["ec2:security-group"]))],
                    ),
                ]
                roll = rng.random()
                if roll < 0.03:
                    ingress.append(self._perm("tcp", 22, 22, ["0.0.0.0/0"]))
                elif roll < 0.05:
                    ingress.append(self._perm("tcp", 3306, 3306, ["0.0.0.0/0"], v6=["::/0"]))
                elif roll < 0.055:
                    ingress.append(self._perm("-1", None, None, ["0.0.0.0/0"]))
                elif roll < 0.3:
                    ingress.append(self._perm("tcp", 22, 22, ["10.20.0.0/16", "192.168.1.0/24"]))
                elif roll < 0.4 and self.prefix_lists.get(r):
                    ingress.append(
                        self._perm(
                            "tcp", 22, 22, [], pls=[self.prefix_lists[r][i % len(self.prefix_lists[r])]]
                        )
                    )
                elif roll < 0.5:
                    ingress.append(self._perm("tcp", 5432, 5432, ["10.0.0.0/8"]))
                if i % 4 == 0:
                    ingress.append(self._perm("tcp", 1024, 65535, ["10.0.0.0/8"]))
                egress = [
                    {
                        "IpProtocol": "-1",
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                        "Ipv6Ranges": [],
                        "PrefixListIds": [],
                        "UserIdGroupPairs": [],
                    }
                ]
            yield self.item("ec2:security-group", self.arn("ec2", r, "security-group", gid), gid, name, r,
                            {"GroupId": gid, "GroupName": name, "Description": f"{name} group", "VpcId": vid,
                             "OwnerId": a, "IpPermissions": ingress, "IpPermissionsEgress": egress,
                             "Tags": [{"Key": "team", "Value": f"team-{i % 23}"}]}, self.tags(i, name))  # fmt: skip

    @staticmethod
    def _perm(proto: str, lo: int | None, hi: int | None, cidrs: list[str], *, v6: Sequence[str] = (),
              pairs: Sequence[str] = (), pls: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
        p: dict[str, Any] = {
            "IpProtocol": proto,
            "IpRanges": [{"CidrIp": c, "Description": "managed by terraform"} for c in cidrs],
            "Ipv6Ranges": [{"CidrIpv6": c} for c in v6],
            "PrefixListIds": [{"PrefixListId": x, "Description": "office"} for x in pls],
            "UserIdGroupPairs": [{"GroupId": g, "UserId": "000000000000"} for g in pairs],
        }
        if lo is not None:
            p["FromPort"], p["ToPort"] = lo, hi
        return p

    # ------------------------------------------------------------------ compute
    def compute(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        for i in self.range("ec2:instance"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            iid = self.hexid("i", i)
            self.instances.append((r, iid))
            state = "running" if rng.random() < 0.85 else rng.choice(("stopped", "terminated"))
            sg = self.sgs[i % len(self.sgs)][1]
            public = i % 6 == 0
            yield self.item("ec2:instance", self.arn("ec2", r, "instance", iid), iid, f"app-{i % 400}-{i}", r,
                            {"InstanceId": iid, "InstanceType": rng.choice(("t3.micro", "m6i.large", "c6g.xlarge", "r6i.2xlarge")),
                             "ImageId": self.hexid("ami", i % 40), "LaunchTime": self.date(1, 900),
                             "State": {"Code": 16 if state == "running" else 80, "Name": state},
                             "PrivateIpAddress": f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}",
                             "PublicIpAddress": f"54.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}" if public else None,
                             "SubnetId": sid, "VpcId": vid, "Architecture": "x86_64", "RootDeviceType": "ebs",
                             "IamInstanceProfile": {"Arn": f"arn:aws:iam::{a}:instance-profile/app-{i % 15}",
                                                    "Id": f"AIPA{i % 15:016d}"},
                             "MetadataOptions": {"State": "applied", "HttpTokens": "required" if rng.random() < 0.7 else "optional",
                                                 "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"},
                             "SecurityGroups": [{"GroupId": sg, "GroupName": f"app-{i % len(self.sgs)}"}],
                             "NetworkInterfaces": [{"NetworkInterfaceId": self.hexid("eni", i), "SubnetId": sid, "VpcId": vid,
                                                    "PrivateIpAddress": f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}",
                                                    "Groups": [{"GroupId": sg}], "Attachment": {"DeviceIndex": 0, "Status": "attached"},
                                                    "Association": {"PublicIp": f"54.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}"}
                                                    if public else None}],
                             "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": self.hexid("vol", i),
                                                                                         "DeleteOnTermination": True,
                                                                                         "Status": "attached"}}],
                             "Monitoring": {"State": "disabled"}, "Placement": {"AvailabilityZone": f"{r}a", "Tenancy": "default"},
                             "Tags": [{"Key": "Name", "Value": f"app-{i % 400}-{i}"}]},
                            self.tags(i, f"app-{i % 400}-{i}"))  # fmt: skip
        for i in self.range("ec2:network-interface"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            eid = self.hexid("eni", 10**6 + i)
            yield self.item("ec2:network-interface", self.arn("ec2", r, "network-interface", eid), eid, eid, r,
                            {"NetworkInterfaceId": eid, "SubnetId": sid, "VpcId": vid, "Status": "in-use",
                             "InterfaceType": rng.choice(("interface", "lambda", "vpc_endpoint", "network_load_balancer")),
                             "PrivateIpAddress": f"10.{i % 250}.{i % 200}.{i % 100 + 10}",
                             "Groups": [{"GroupId": self.sgs[i % len(self.sgs)][1]}],
                             "Association": {"PublicIp": f"35.{i % 250}.{i % 200}.{i % 100}"} if i % 9 == 0 else None,
                             "Attachment": {"AttachmentId": self.hexid("eni-attach", i), "DeviceIndex": 1,
                                            "Status": "attached"}})  # fmt: skip
        for i in self.range("ec2:elastic-ip"):
            r = REGIONS[i % 3]
            alloc = self.hexid("eipalloc", i)
            yield self.item("ec2:elastic-ip", self.arn("ec2", r, "elastic-ip", alloc), alloc, alloc, r,
                            {"AllocationId": alloc, "PublicIp": f"52.{i % 250}.{i % 200}.{i % 100}", "Domain": "vpc",
                             "InstanceId": self.instances[i % len(self.instances)][1] if i % 3 else None})  # fmt: skip
        for i in self.range("ec2:image"):
            r = ALLOWED_REGIONS[i % 3]
            ami = self.hexid("ami", i)
            yield self.item("ec2:image", self.arn("ec2", r, "image", ami), ami, f"golden-{i}", r,
                            {"ImageId": ami, "Name": f"golden-{i}", "State": "available", "Public": False,
                             "CreationDate": self.date(1, 700), "OwnerId": a, "Architecture": "x86_64",
                             "LaunchPermissions": [{"UserId": self.org_ids[(i % 8) + 4]}] if i % 4 == 0 else
                             [{"Group": "all"}] if i % 97 == 13 else []})  # fmt: skip
        for i in self.range("lambda:function"):
            r = self.region()
            name = f"fn-{i % 300}-{i}"
            arn = f"arn:aws:lambda:{r}:{a}:function:{name}"
            roll = rng.random()
            policy = None
            if roll < 0.35:
                policy = doc(
                    {
                        "Sid": "apigw",
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                        "Condition": {"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:{r}:{a}:api{i}/*"}},
                    }
                )
            elif roll < 0.45:
                policy = doc(
                    {
                        "Sid": "s3",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                        "Condition": {"StringEquals": {"AWS:SourceAccount": a}},
                    }
                )
            elif roll < 0.455:
                policy = doc(
                    {
                        "Sid": "anyone",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                    }
                )
            url = None
            if i % 25 == 0:
                url = {
                    "FunctionUrl": f"https://{i:x}.lambda-url.{r}.on.aws/",
                    "AuthType": "NONE" if i % 50 == 0 else "AWS_IAM",
                    "Cors": {"AllowOrigins": ["*"]},
                }
            yield self.item("lambda:function", arn, name, name, r,
                            {"FunctionName": name, "FunctionArn": arn, "Runtime": rng.choice(("python3.12", "nodejs20.x", "java21")),
                             "Role": f"arn:aws:iam::{a}:role/fn-role-{i % 50}", "Handler": "app.handler",
                             "CodeSize": 1000 + i, "MemorySize": 256, "Timeout": 30, "LastModified": self.date(1, 400),
                             "VpcConfig": {"SubnetIds": [self.subnets[i % len(self.subnets)][2]],
                                           "SecurityGroupIds": [self.sgs[i % len(self.sgs)][1]]} if i % 3 == 0 else {},
                             "Environment": {"Variables": {"STAGE": self.env, "TABLE": f"table-{i % 100}"}},
                             "Policy": policy, "FunctionUrl": url}, self.tags(i, name))  # fmt: skip
        for i in self.range("eks:cluster"):
            r = ALLOWED_REGIONS[i % 3]
            name = f"eks-{i}"
            public = i % 2 == 0
            yield self.item("eks:cluster", f"arn:aws:eks:{r}:{a}:cluster/{name}", name, name, r,
                            {"name": name, "arn": f"arn:aws:eks:{r}:{a}:cluster/{name}", "version": "1.30",
                             "status": "ACTIVE", "roleArn": f"arn:aws:iam::{a}:role/eks-cluster-{i}",
                             "resourcesVpcConfig": {"subnetIds": [self.subnets[i % len(self.subnets)][2]],
                                                    "endpointPublicAccess": public, "endpointPrivateAccess": True,
                                                    "publicAccessCidrs": ["0.0.0.0/0"] if i % 4 == 0 else ["203.0.113.0/24"]}})  # fmt: skip
        for i in self.range("elbv2:load-balancer"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            name = f"alb-{i}"
            arn = f"arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/app/{name}/{i:016x}"
            yield self.item("elbv2:load-balancer", arn, name, name, r,
                            {"LoadBalancerArn": arn, "LoadBalancerName": name, "Type": "application", "VpcId": vid,
                             "Scheme": "internet-facing" if i % 2 == 0 else "internal", "State": {"Code": "active"},
                             "DNSName": f"{name}.{r}.elb.amazonaws.com", "SecurityGroups": [self.sgs[i % len(self.sgs)][1]],
                             "AvailabilityZones": [{"ZoneName": f"{r}a", "SubnetId": sid}],
                             "Listeners": [{"Port": 443, "Protocol": "HTTPS"}, {"Port": 80, "Protocol": "HTTP"}],
                             "TargetGroups": [{"TargetGroupArn": f"{arn}/tg", "Port": 8080, "Protocol": "HTTP",
                                               "Targets": [self.instances[(i + k) % len(self.instances)][1] for k in range(3)]}]})  # fmt: skip
        for i in self.range("elb:load-balancer"):
            r, vid, sid = self.subnets[i % len(self.subnets)]
            name = f"classic-{i}"
            yield self.item("elb:load-balancer", f"arn:aws:elasticloadbalancing:{r}:{a}:loadbalancer/{name}", name, name, r,
                            {"LoadBalancerName": name, "Scheme": "internet-facing", "VPCId": vid, "Subnets": [sid],
                             "SecurityGroups": [self.sgs[i % len(self.sgs)][1]],
                             "ListenerDescriptions": [{"Listener": {"Protocol": "HTTP", "LoadBalancerPort": 80,
                                                                    "InstanceProtocol": "HTTP", "InstancePort": 8080}}],
                             "Instances": [{"InstanceId": self.instances[i % len(self.instances)][1]}]})  # fmt: skip

    # ------------------------------------------------------------------ storage
    def storage(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        for i in self.range("ec2:volume"):
            r, iid = self.instances[i % len(self.instances)]
            vid = self.hexid("vol", i)
            encrypted = rng.random() < 0.85
            yield self.item("ec2:volume", self.arn("ec2", r, "volume", vid), vid, vid, r,
                            {"VolumeId": vid, "Size": rng.choice((8, 20, 100, 500)), "VolumeType": "gp3",
                             "State": "in-use" if i % 10 else "available", "Encrypted": encrypted,
                             "KmsKeyId": f"arn:aws:kms:{r}:{a}:key/ebs-default" if encrypted else None,
                             "AvailabilityZone": f"{r}a", "CreateTime": self.date(1, 900), "Iops": 3000,
                             "Attachments": [{"InstanceId": iid, "Device": "/dev/xvda", "State": "attached",
                                              "DeleteOnTermination": True}] if i % 10 else []}, self.tags(i, vid))  # fmt: skip
        for i in self.range("ec2:snapshot"):
            r = self.region()
            sid = self.hexid("snap", i)
            perms: list[dict[str, str]] = []
            if i % 30 == 0:
                perms = [{"UserId": self.org_ids[(i % 10) + 4]}]
            elif i % 500 == 7:
                perms = [{"Group": "all"}]
            yield self.item("ec2:snapshot", self.arn("ec2", r, "snapshot", sid), sid, sid, r,
                            {"SnapshotId": sid, "VolumeId": self.hexid("vol", i), "VolumeSize": 100, "State": "completed",
                             "StartTime": self.date(1, 1200), "Encrypted": rng.random() < 0.8, "OwnerId": a,
                             "Description": f"Created by CreateImage(i-{i:x}) for ami-{i:x}",
                             "CreateVolumePermissions": perms})  # fmt: skip
        for i in self.range("s3:bucket"):
            yield self._bucket(i)
        for i in self.range("rds:db-instance"):
            r = self.region()
            name = f"db-{i}"
            yield self.item("rds:db-instance", f"arn:aws:rds:{r}:{a}:db:{name}", name, name, r,
                            {"DBInstanceIdentifier": name, "DBInstanceArn": f"arn:aws:rds:{r}:{a}:db:{name}",
                             "DBInstanceClass": "db.r6g.large", "Engine": rng.choice(("postgres", "mysql", "aurora-postgresql")),
                             "DBInstanceStatus": "available", "PubliclyAccessible": rng.random() < 0.05,
                             "StorageEncrypted": rng.random() < 0.85, "MultiAZ": i % 2 == 0, "AllocatedStorage": 100,
                             "Endpoint": {"Address": f"{name}.abc.{r}.rds.amazonaws.com", "Port": 5432},
                             "VpcSecurityGroups": [{"VpcSecurityGroupId": self.sgs[i % len(self.sgs)][1], "Status": "active"}],
                             "DBSubnetGroup": {"DBSubnetGroupName": f"sng-{i % 10}", "VpcId": self.vpcs[i % len(self.vpcs)][1]},
                             "BackupRetentionPeriod": 7, "DeletionProtection": i % 3 == 0}, self.tags(i, name))  # fmt: skip
        for i in self.range("rds:db-cluster"):
            r = ALLOWED_REGIONS[i % 3]
            name = f"cluster-{i}"
            yield self.item("rds:db-cluster", f"arn:aws:rds:{r}:{a}:cluster:{name}", name, name, r,
                            {"DBClusterIdentifier": name, "DBClusterArn": f"arn:aws:rds:{r}:{a}:cluster:{name}",
                             "Engine": "aurora-postgresql", "Status": "available", "StorageEncrypted": i % 7 != 3,
                             "KmsKeyId": f"arn:aws:kms:{r}:{a}:key/rds" if i % 7 != 3 else None,
                             "DBClusterMembers": [{"DBInstanceIdentifier": f"db-{i}", "IsClusterWriter": True}]})  # fmt: skip
        for i in self.range("rds:db-snapshot"):
            r = self.region()
            name = f"db-{i % 50}-manual-{i}"
            values = ["all"] if i % 400 == 11 else [self.org_ids[(i % 10) + 4]] if i % 20 == 0 else []
            yield self.item("rds:db-snapshot", f"arn:aws:rds:{r}:{a}:snapshot:{name}", name, name, r,
                            {"DBSnapshotIdentifier": name, "DBInstanceIdentifier": f"db-{i % 50}", "Engine": "postgres",
                             "SnapshotType": "manual", "Status": "available", "Encrypted": i % 5 != 0,
                             "SnapshotCreateTime": self.date(1, 800),
                             "Attributes": [{"AttributeName": "restore", "AttributeValues": values}]})  # fmt: skip
        for i in self.range("rds:db-cluster-snapshot"):
            r = ALLOWED_REGIONS[i % 3]
            name = f"cluster-{i % 10}-manual-{i}"
            yield self.item("rds:db-cluster-snapshot", f"arn:aws:rds:{r}:{a}:cluster-snapshot:{name}", name, name, r,
                            {"DBClusterSnapshotIdentifier": name, "DBClusterIdentifier": f"cluster-{i % 10}",
                             "SnapshotType": "manual", "Status": "available", "StorageEncrypted": True,
                             "Attributes": [{"AttributeName": "restore", "AttributeValues": []}]})  # fmt: skip

    def _bucket(self, i: int) -> Item:
        a, rng = self.a, self.rng
        r = self.region()
        if i == 0:
            name = f"trail-logs-{a}"
        elif i == 1:
            name = f"access-logs-{a}"
        else:
            name = f"{self.env}-{a}-data-{i}"
        self.buckets.append(name)
        grants = [{"Grantee": {"Type": "CanonicalUser", "ID": f"owner-{a}"}, "Permission": "FULL_CONTROL"}]
        if i == 1 or i % 50 == 5:
            grants.append({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
                           "Permission": "WRITE"})  # fmt: skip
        if i % 200 == 17:
            grants.append({"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                           "Permission": "READ"})  # fmt: skip
        statements: list[dict[str, Any]] = []
        if rng.random() < 0.6:
            statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                               "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}})  # fmt: skip
        if i == 0:
            statements.append({"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                               "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/AWSLogs/*",
                               "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}})  # fmt: skip
        roll = rng.random()
        if roll < 0.15:
            statements.append({"Sid": "OrgRead", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
                               "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                               "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}})  # fmt: skip
        elif roll < 0.25:
            statements.append({"Sid": "Analytics", "Effect": "Allow",
                               "Principal": {"AWS": [f"arn:aws:iam::{self.org_ids[(i % 10) + 4]}:role/analytics"]},
                               "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})  # fmt: skip
        elif roll < 0.27:
            statements.append({"Sid": "Vendor", "Effect": "Allow",
                               "Principal": {"AWS": f"arn:aws:iam::{OUTSIDE_ACCOUNTS[i % 3]}:root"},
                               "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{name}/*"})  # fmt: skip
        elif roll < 0.275:
            statements.append({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                               "Resource": f"arn:aws:s3:::{name}/*"})  # fmt: skip
        policy = doc(*statements) if statements else None
        bpa = None if i % 5 == 4 else dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                                      "RestrictPublicBuckets"), True)  # fmt: skip
        return self.item(
            "s3:bucket", f"arn:aws:s3:::{name}", name, name, r,
            {"Name": name, "CreationDate": self.date(), "Region": r,
             "Acl": {"Owner": {"ID": f"owner-{a}", "DisplayName": "ops"}, "Grants": grants},
             "Policy": policy, "PolicyStatus": {"IsPublic": False} if policy else None, "PublicAccessBlock": bpa,
             "Encryption": None if rng.random() < 0.05 else {"Rules": [{"ApplyServerSideEncryptionByDefault":
                                                                        {"SSEAlgorithm": rng.choice(("AES256", "aws:kms"))},
                                                                        "BucketKeyEnabled": True}]},
             "Versioning": {"Status": "Enabled"} if i == 0 or rng.random() < 0.5 else {},
             "Logging": {"TargetBucket": f"access-logs-{a}", "TargetPrefix": f"{name}/"} if i > 1 and rng.random() < 0.3 else None,
             "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]} if rng.random() < 0.6 else None},
            self.tags(i, name),
        )  # fmt: skip

    # ------------------------------------------------------------------ IAM
    def iam(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        # AWS-managed policies first, then customer ones (some careless)
        for name in AWS_POLICIES:
            arn = f"arn:aws:iam::aws:policy/{name}"
            short = name.rsplit("/", 1)[-1]
            yield self.item("iam:policy", arn, short, short, GLOBAL_REGION,
                            {"PolicyName": short, "PolicyId": f"ANPAAWS{AWS_POLICIES.index(name):013d}", "Arn": arn,
                             "Path": "/" if "/" not in name else "/service-role/", "DefaultVersionId": "v1",
                             "AttachmentCount": 3, "IsAttachable": True, "Document": self.aws_docs[name], "AwsManaged": True})  # fmt: skip
        for i in range(self.counts["iam:policy"] - len(AWS_POLICIES)):
            name = f"app-{i}-access"
            arn = f"arn:aws:iam::{a}:policy/{name}"
            self.customer_policies.append(arn)
            bucket = self.buckets[i % len(self.buckets)]
            stmts: list[dict[str, Any]] = [
                {"Sid": "Data", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                 "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]},
                {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                 "Resource": f"arn:aws:dynamodb:*:{a}:table/table-{i % 100}"},
                {"Sid": "Queue", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
                 "Resource": f"arn:aws:sqs:*:{a}:queue-{i % 80}"},
                {"Sid": "Keys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                 "Resource": f"arn:aws:kms:*:{a}:key/*", "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
            ]  # fmt: skip
            roll = rng.random()
            if roll < 0.02:
                stmts.append(
                    {
                        "Sid": "Ops",
                        "Effect": "Allow",
                        "NotAction": ["iam:*", "organizations:*"],
                        "Resource": "*",
                    }
                )
            elif roll < 0.04:
                stmts.append({"Sid": "Deploy", "Effect": "Allow", "Resource": "*",
                              "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction",
                                         "lambda:UpdateFunctionCode"]})  # fmt: skip
            elif roll < 0.05:
                stmts.append({"Sid": "SelfManage", "Effect": "Allow", "Action": ["iam:CreatePolicyVersion"],
                              "Resource": f"arn:aws:iam::{a}:policy/app-*"})  # fmt: skip
            elif roll < 0.06:
                stmts.append({"Sid": "Hop", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
            yield self.item("iam:policy", arn, name, name, GLOBAL_REGION,
                            {"PolicyName": name, "PolicyId": f"ANPA{i:016d}", "Arn": arn, "Path": "/",
                             "DefaultVersionId": f"v{1 + i % 4}", "AttachmentCount": 1 + i % 3, "IsAttachable": True,
                             "CreateDate": self.date(), "UpdateDate": self.date(1, 300), "Document": doc(*stmts),
                             "AwsManaged": False})  # fmt: skip
        yield from self._groups()
        yield from self._roles()
        yield from self._users()
        for i in self.range("iam:instance-profile"):
            name = f"app-{i}"
            role = self.roles[i % len(self.roles)]
            yield self.item("iam:instance-profile", f"arn:aws:iam::{a}:instance-profile/{name}", name, name, GLOBAL_REGION,
                            {"InstanceProfileName": name, "InstanceProfileId": f"AIPA{i:016d}",
                             "Arn": f"arn:aws:iam::{a}:instance-profile/{name}", "Path": "/",
                             "Roles": [{"RoleName": role.rsplit("/", 1)[-1], "Arn": role}]})  # fmt: skip

    def _groups(self) -> Iterator[Item]:
        a = self.a
        base = [
            ("Admins", ["arn:aws:iam::aws:policy/AdministratorAccess"], None),
            ("Developers", ["arn:aws:iam::aws:policy/PowerUserAccess"], None),
            ("Auditors", ["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/ReadOnlyAccess"], None),
            ("EnforceMFA", [], doc(
                {"Sid": "AllowManageOwnMFA", "Effect": "Allow",
                 "Action": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:GetUser"],
                 "Resource": ["arn:aws:iam::*:mfa/*", "arn:aws:iam::*:user/${aws:username}"]},
                {"Sid": "DenyWithoutMFA", "Effect": "Deny", "Resource": "*",
                 "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:GetUser",
                               "sts:GetSessionToken"],
                 "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})),
        ]  # fmt: skip
        n_groups, n_users = self.counts["iam:group"], self.counts["iam:user"]
        self.groups = [base[i][0] if i < len(base) else f"team-{i}" for i in range(n_groups)]
        teams = self.groups[len(base) :]
        # who is in which group: few admins, a third developers, half under the MFA guard, one team each
        self.memberships = []
        members: dict[str, list[str]] = {g: [] for g in self.groups}
        for u in range(n_users):
            mine = [g for g, on in (("Admins", u % 50 == 0), ("Developers", u % 3 == 0), ("Auditors", u % 10 == 1),
                                    ("EnforceMFA", u % 2 == 1)) if on]  # fmt: skip
            if teams:
                mine.append(teams[u % len(teams)])
            self.memberships.append(mine)
            for g in mine:
                members[g].append(f"user-{u}")
        for i, name in enumerate(self.groups):
            if i < len(base):
                _, attached, inline = base[i]
            else:
                attached = [
                    self.customer_policies[(i * 3 + k) % len(self.customer_policies)] for k in range(2)
                ]
                inline = None
            yield self.item("iam:group", f"arn:aws:iam::{a}:group/{name}", name, name, GLOBAL_REGION,
                            {"GroupName": name, "GroupId": f"AGPA{i:016d}", "Arn": f"arn:aws:iam::{a}:group/{name}",
                             "Path": "/", "CreateDate": self.date(),
                             "GroupPolicyList": [{"PolicyName": "mfa", "PolicyDocument": inline}] if inline else [],
                             "AttachedManagedPolicies": [{"PolicyName": p.rsplit("/", 1)[-1], "PolicyArn": p} for p in attached],
                             "Members": members[name]})  # fmt: skip

    def _roles(self) -> Iterator[Item]:
        a, rng, ids = self.a, self.rng, self.org_ids
        aws = "arn:aws:iam::aws:policy/"
        identity, mgmt = ids[1], ids[0]
        fixed = [
            ("AWSReservedSSO_AdministratorAccess_0a1b2c", self._saml_trust(), [aws + "AdministratorAccess"], "/aws-reserved/sso.amazonaws.com/"),
            ("AWSReservedSSO_ReadOnly_3d4e5f", self._saml_trust(), [aws + "ReadOnlyAccess"], "/aws-reserved/sso.amazonaws.com/"),
            ("OrganizationAccountAccessRole", self._account_trust(mgmt), [aws + "AdministratorAccess"], "/"),
            (READ_ROLE, self._account_trust(ids[2], external_id=True), [aws + "SecurityAudit", aws + "ReadOnlyAccess"], "/"),
            ("IncidentSupport", self._account_trust(identity, mfa=True), [aws + "AWSSupportAccess"], "/"),
            ("Breakglass", self._account_trust(identity, mfa=True), [aws + "AdministratorAccess"], "/"),
            ("github-deploy", self._oidc_trust(pinned=True), [aws + "PowerUserAccess"], "/"),
            ("github-ci-legacy", self._oidc_trust(pinned=False), [self.customer_policies[0]], "/"),
            ("AWSServiceRoleForOrganizations", self._service_trust("organizations.amazonaws.com"), [], "/aws-service-role/organizations.amazonaws.com/"),
            ("AWSServiceRoleForSupport", self._service_trust("support.amazonaws.com"), [], "/aws-service-role/support.amazonaws.com/"),
            ("AWSServiceRoleForConfig", self._service_trust("config.amazonaws.com"), [], "/aws-service-role/config.amazonaws.com/"),
            ("AWSServiceRoleForAmazonGuardDuty", self._service_trust("guardduty.amazonaws.com"), [], "/aws-service-role/guardduty.amazonaws.com/"),
        ]  # fmt: skip
        for i in self.range("iam:role"):
            inline: list[dict[str, Any]] = []
            if i < len(fixed):
                name, trust, attached, path = fixed[i]
            else:
                path = "/"
                roll = rng.random()
                kind = "fn" if roll < 0.45 else "ec2" if roll < 0.7 else "ecs" if roll < 0.8 else "x"
                name = f"{kind}-role-{i}"
                if kind == "x":
                    sub = rng.random()
                    if sub < 0.5:
                        trust = self._account_trust(ids[4 + i % (len(ids) - 4)])
                    elif sub < 0.7:
                        trust = self._account_trust(identity, mfa=True)
                    elif sub < 0.85:
                        trust = self._account_trust(OUTSIDE_ACCOUNTS[i % 3], external_id=True)
                    elif sub < 0.9:
                        trust = self._account_trust(OUTSIDE_ACCOUNTS[i % 3])
                    elif sub < 0.95:
                        trust = self._saml_trust()
                    else:
                        trust = doc(
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
                            }
                        )
                else:
                    svc = {"fn": "lambda", "ec2": "ec2", "ecs": "ecs-tasks"}[kind]
                    trust = self._service_trust(f"{svc}.amazonaws.com")
                attached = [self.customer_policies[(i * 7 + k) % len(self.customer_policies)]
                            for k in range(1 + i % 2)]  # fmt: skip
                if kind == "fn":
                    attached.append(aws + "service-role/AWSLambdaBasicExecutionRole")
                elif kind == "ec2":
                    attached.append(aws + "AmazonSSMManagedInstanceCore")
                adm = rng.random()
                if adm < 0.01:
                    attached.append(aws + "AdministratorAccess")  # a CI/CD or "temporary" role
                elif adm < 0.015:
                    inline.append(
                        {
                            "PolicyName": "everything",
                            "PolicyDocument": doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                        }
                    )
                elif adm < 0.02:
                    inline.append(
                        {
                            "PolicyName": "self-service",
                            "PolicyDocument": doc(
                                {
                                    "Effect": "Allow",
                                    "Action": ["iam:AttachRolePolicy", "iam:PutRolePolicy"],
                                    "Resource": f"arn:aws:iam::{a}:role/{name}",
                                }
                            ),
                        }
                    )
                if i % 3 == 0:
                    inline.append(
                        {
                            "PolicyName": "logs",
                            "PolicyDocument": doc(
                                {
                                    "Effect": "Allow",
                                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                    "Resource": f"arn:aws:logs:*:{a}:log-group:/aws/{name}:*",
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": ["secretsmanager:GetSecretValue"],
                                    "Resource": f"arn:aws:secretsmanager:*:{a}:secret:{name}/*",
                                },
                            ),
                        }
                    )
            arn = f"arn:aws:iam::{a}:role{path}{name}"
            self.roles.append(arn)
            yield self.item("iam:role", arn, name, name, GLOBAL_REGION,
                            {"RoleName": name, "RoleId": f"AROA{i:016d}", "Arn": arn, "Path": path,
                             "CreateDate": self.date(), "AssumeRolePolicyDocument": trust, "RolePolicyList": inline,
                             "AttachedManagedPolicies": [{"PolicyName": p.rsplit("/", 1)[-1], "PolicyArn": p} for p in attached],
                             "PermissionsBoundary": None, "MaxSessionDuration": 3600,
                             "RoleLastUsed": {"LastUsedDate": self.date(1, 200), "Region": "us-east-1"} if i % 4 else {},
                             "InstanceProfileList": [], "Tags": [{"Key": "team", "Value": f"team-{i % 23}"}]})  # fmt: skip

    def _service_trust(self, service: str) -> dict[str, Any]:
        return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})

    def _account_trust(self, account: str, *, external_id: bool = False, mfa: bool = False) -> dict[str, Any]:
        s: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                             "Action": "sts:AssumeRole"}  # fmt: skip
        if external_id:
            s["Condition"] = {"StringEquals": {"sts:ExternalId": f"ext-{self.a}"}}
        elif mfa:
            s["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        return doc(s)

    def _saml_trust(self) -> dict[str, Any]:
        return doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{self.a}:saml-provider/Okta"},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})  # fmt: skip

    def _oidc_trust(self, *, pinned: bool) -> dict[str, Any]:
        host = "token.actions.githubusercontent.com"
        cond: dict[str, Any] = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}
        if pinned:
            cond["StringLike"] = {f"{host}:sub": "repo:example-org/infra:ref:refs/heads/main"}
        return doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{self.a}:oidc-provider/{host}"},
                    "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond})  # fmt: skip

    def _users(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        rows = self._report.data["Rows"]
        for i in self.range("iam:user"):
            name = f"user-{i}"
            arn = f"arn:aws:iam::{a}:user/{name}"
            self.users.append(name)
            created = self.date(100, 1500)
            console = rng.random() < 0.6
            mfa = console and rng.random() < 0.9
            keys = []
            if not console or rng.random() < 0.3:
                for k in range(1 if rng.random() < 0.9 else 2):
                    used = rng.random() < 0.85
                    keys.append({"AccessKeyId": f"AKIA{i:012d}{k:04d}", "Status": "Active" if rng.random() < 0.9 else "Inactive",
                                 "CreateDate": created if k == 0 and rng.random() < 0.3 else self.date(1, 600),
                                 "LastUsedDate": self.date(1, 120) if used else None,
                                 "LastUsedService": "s3" if used else None, "LastUsedRegion": "us-east-1" if used else None})  # fmt: skip
            groups = self.memberships[i]
            attached = [self.customer_policies[i % len(self.customer_policies)]] if i % 20 == 0 else []
            inline = [{"PolicyName": "scratch", "PolicyDocument": doc(
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": f"arn:aws:s3:::scratch-{i}/*"})}] if i % 25 == 0 else []  # fmt: skip
            data: dict[str, Any] = {"UserName": name, "UserId": f"AIDA{i:016d}", "Arn": arn, "Path": "/", "CreateDate": created,
                    "GroupList": groups, "AttachedManagedPolicies": [{"PolicyName": p.rsplit("/", 1)[-1], "PolicyArn": p}
                                                                     for p in attached],
                    "UserPolicyList": inline, "PermissionsBoundary": None,
                    "Tags": [{"Key": "email", "Value": f"{name}@example.com"}],
                    "MFADevices": [{"UserName": name, "SerialNumber": f"arn:aws:iam::{a}:mfa/{name}", "EnableDate": created}]
                    if mfa else [],
                    "AccessKeys": keys, "LoginProfile": {"CreateDate": created, "PasswordResetRequired": False} if console else None,
                    "PasswordLastUsed": (self.date(1, 200) if rng.random() < 0.8 else None) if console else None,
                    "CredentialReport": None}  # fmt: skip
            row = {"user": name, "arn": arn, "user_creation_time": created,
                   "password_enabled": "true" if console else "false", "mfa_active": "true" if mfa else "false",
                   "access_key_1_active": "true" if keys and keys[0]["Status"] == "Active" else "false",
                   "access_key_2_active": "true" if len(keys) > 1 and keys[1]["Status"] == "Active" else "false"}  # fmt: skip
            data["CredentialReport"] = row
            rows.append(row)
            yield self.item("iam:user", arn, name, name, GLOBAL_REGION, data)

    # ------------------------------------------------------------------ data services
    def data_services(self) -> Iterator[Item]:
        a, rng = self.a, self.rng
        for i in self.range("kms:key"):
            r = self.region()
            kid = f"{i:08x}-1234-4abc-9def-{int(a) % 10**12:012d}"
            customer = rng.random() < 0.7
            yield self.item("kms:key", f"arn:aws:kms:{r}:{a}:key/{kid}", kid, kid, r,
                            {"KeyId": kid, "Arn": f"arn:aws:kms:{r}:{a}:key/{kid}", "KeyManager": "CUSTOMER" if customer else "AWS",
                             "KeyState": "Enabled" if i % 20 else "PendingDeletion", "KeySpec": "SYMMETRIC_DEFAULT" if i % 15 else "RSA_2048",
                             "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS", "CreationDate": self.date(),
                             "RotationEnabled": (rng.random() < 0.7) if customer else None,
                             "Aliases": [f"alias/app-{i}"] if customer else [f"alias/aws/{rng.choice(('s3', 'ebs', 'rds'))}"],
                             "Policy": doc({"Sid": "Enable IAM policies", "Effect": "Allow",
                                            "Principal": {"AWS": f"arn:aws:iam::{a}:root"}, "Action": "kms:*", "Resource": "*"},
                                           {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "*"},
                                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                                            "Condition": {"StringEquals": {"kms:CallerAccount": a}}})})  # fmt: skip
        for i in self.range("sqs:queue"):
            r = self.region()
            name = f"queue-{i}"
            arn = f"arn:aws:sqs:{r}:{a}:{name}"
            yield self.item("sqs:queue", arn, name, name, r,
                            {"QueueArn": arn, "QueueUrl": f"https://sqs.{r}.amazonaws.com/{a}/{name}",
                             "VisibilityTimeout": "30", "MessageRetentionPeriod": "345600", "SqsManagedSseEnabled": "true",
                             "Policy": self._resource_policy(i, arn, "sqs:SendMessage", "sns.amazonaws.com")})  # fmt: skip
        for i in self.range("sns:topic"):
            r = self.region()
            name = f"topic-{i}"
            arn = f"arn:aws:sns:{r}:{a}:{name}"
            yield self.item("sns:topic", arn, name, name, r,
                            {"TopicArn": arn, "DisplayName": name, "SubscriptionsConfirmed": str(i % 5), "Owner": a,
                             "Policy": self._resource_policy(i, arn, "sns:Publish", "events.amazonaws.com")})  # fmt: skip
        for i in self.range("secretsmanager:secret"):
            r = self.region()
            name = f"app/{i}/db"
            arn = f"arn:aws:secretsmanager:{r}:{a}:secret:{name}-AbCdEf"
            yield self.item("secretsmanager:secret", arn, name, name, r,
                            {"ARN": arn, "Name": name, "RotationEnabled": i % 2 == 0, "LastChangedDate": self.date(1, 300),
                             "ResourcePolicy": None if i % 4 else self._resource_policy(i, arn, "secretsmanager:GetSecretValue", "")})  # fmt: skip
        for i in self.range("dynamodb:table"):
            r = self.region()
            name = f"table-{i}"
            yield self.item("dynamodb:table", f"arn:aws:dynamodb:{r}:{a}:table/{name}", name, name, r,
                            {"TableName": name, "TableArn": f"arn:aws:dynamodb:{r}:{a}:table/{name}", "TableStatus": "ACTIVE",
                             "ItemCount": i * 1000, "TableSizeBytes": i * 10**6, "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
                             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                             "SSEDescription": {"Status": "ENABLED"} if i % 3 else None,
                             "ContinuousBackups": {"ContinuousBackupsStatus": "ENABLED",
                                                   "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED" if i % 2 else "DISABLED"}}})  # fmt: skip
        for i in self.range("ecr:repository"):
            r = self.region()
            name = f"svc-{i}"
            arn = f"arn:aws:ecr:{r}:{a}:repository/{name}"
            yield self.item("ecr:repository", arn, name, name, r,
                            {"repositoryArn": arn, "repositoryName": name, "registryId": a,
                             "repositoryUri": f"{a}.dkr.ecr.{r}.amazonaws.com/{name}", "imageTagMutability": "IMMUTABLE",
                             "imageScanningConfiguration": {"scanOnPush": True},
                             "Policy": None if i % 3 else doc({"Sid": "OrgPull", "Effect": "Allow", "Principal": "*",
                                                               "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                                                               "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}})})  # fmt: skip

    def _resource_policy(self, i: int, arn: str, action: str, service: str) -> dict[str, Any] | None:
        roll = self.rng.random()
        if roll < 0.3:
            return None
        if roll < 0.7 and service:
            return doc({"Sid": "service", "Effect": "Allow", "Principal": {"Service": service}, "Action": action,
                        "Resource": arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:*:*:{self.a}:*"}}})  # fmt: skip
        if roll < 0.99:
            return doc({"Sid": "org", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": action, "Resource": arn,
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}}})  # fmt: skip
        return doc({"Sid": "open", "Effect": "Allow", "Principal": "*", "Action": action, "Resource": arn})

    # ------------------------------------------------------------------ monitoring
    def logging(self) -> Iterator[Item]:
        a = self.a
        home = ALLOWED_REGIONS[0]
        metrics: list[tuple[str, str]] = []
        for i in self.range("logs:metric-filter"):
            if i < len(CIS_PATTERNS) and self.env != "sandbox":
                group, pattern, metric = self.log_group, CIS_PATTERNS[i], f"CIS-{i}"
            else:
                group, pattern, metric = f"/aws/lambda/fn-{i}", '{ $.level = "ERROR" }', f"errors-{i}"
            region = home if group == self.log_group else REGIONS[i % 3]
            metrics.append((region, metric))
            yield self.item("logs:metric-filter", f"arn:aws:logs:{region}:{a}:metric-filter/{group}/{metric}", metric,
                            metric, region,
                            {"filterName": metric, "logGroupName": group, "filterPattern": pattern,
                             "metricTransformations": [{"metricName": metric, "metricNamespace": "CISBenchmark"
                                                        if metric.startswith("CIS") else "App", "metricValue": "1"}],
                             "creationTime": 1700000000000 + i})  # fmt: skip
        for i in self.range("cloudwatch:alarm"):
            region, metric = (
                metrics[i % len(metrics)] if i < 2 * len(metrics) else (REGIONS[i % 3], f"CPUUtilization-{i}")
            )
            name = f"alarm-{i}"
            namespace = (
                "CISBenchmark" if metric.startswith("CIS") else "App" if i < 2 * len(metrics) else "AWS/EC2"
            )
            yield self.item("cloudwatch:alarm", f"arn:aws:cloudwatch:{region}:{a}:alarm:{name}", name, name, region,
                            {"AlarmName": name, "AlarmArn": f"arn:aws:cloudwatch:{region}:{a}:alarm:{name}",
                             "MetricName": metric, "Namespace": namespace, "Statistic": "Sum", "Period": 300,
                             "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                             "ActionsEnabled": True, "AlarmActions": [f"arn:aws:sns:{region}:{a}:topic-0"],
                             "StateValue": "OK", "Dimensions": [{"Name": "InstanceId", "Value": self.hexid("i", i)}]
                             if namespace == "AWS/EC2" else []})  # fmt: skip

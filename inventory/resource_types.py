"""The catalogue of resource types: what each record's ``data`` holds. No Django here.

This is the contract between collectors (which produce it), checks / IAM graph / exposure analysis
(which read it) and the pages (which show it). ``data`` is the item exactly as the named AWS call
returned it (datetimes as ISO-8601 strings, policy documents parsed into dicts), plus the extra keys
listed. Extra keys are always present; where AWS said "there is none" they hold ``None`` (or ``[]``),
never a missing key. Changing a shape means changing every reader: grep for the type string.

When a per-resource call feeding an extra fails (denied, throttled, not implemented...), the resource
is still recorded, that extra holds ``None`` and ``data["Unavailable"]`` maps the extra's name to the
error kind (an ``inventory.aws.errors.ErrorKind`` value, e.g. ``{"Policy": "access-denied"}``). The
key is present only then: readers treat an extra named there as unknown, never as "there is none".

Pseudo-ARNs (for settings that have no ARN of their own) are spelled as given here; ``{a}`` is the
account id and ``{r}`` the region.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class ResourceType:
    type: str
    scope: str  # "global" | "regional"
    title: str
    source: str  # the AWS call(s) the item comes from
    extras: str = ""  # extra keys added to the AWS item
    arn: str = ""  # pseudo-ARN pattern when AWS has none

    @property
    def service(self) -> str:
        return self.type.split(":", 1)[0]


_T = ResourceType

RESOURCE_TYPES: dict[str, ResourceType] = {
    t.type: t
    for t in [
        # ---------------------------------------------------------------- IAM (global)
        _T(
            "iam:user",
            "global",
            "IAM user",
            "get_account_authorization_details UserDetailList item (UserName, UserId, Arn, Path, "
            "CreateDate, GroupList, AttachedManagedPolicies, UserPolicyList[{PolicyName, PolicyDocument}], "
            "PermissionsBoundary, Tags)",
            "MFADevices: list_mfa_devices items; AccessKeys: [{AccessKeyId, Status, CreateDate, "
            "LastUsedDate (str|None), LastUsedService, LastUsedRegion}]; LoginProfile: {CreateDate} | None; "
            "PasswordLastUsed: str | None; CredentialReport: the user's credential-report row (dict) | None",
        ),
        _T(
            "iam:group",
            "global",
            "IAM group",
            "GroupDetailList item (GroupName, GroupId, Arn, Path, GroupPolicyList, AttachedManagedPolicies)",
            "Members: [user name, ...]",
        ),
        _T(
            "iam:role",
            "global",
            "IAM role",
            "RoleDetailList item (RoleName, RoleId, Arn, Path, AssumeRolePolicyDocument (dict), "
            "RolePolicyList, AttachedManagedPolicies, PermissionsBoundary, RoleLastUsed, "
            "InstanceProfileList, Tags, MaxSessionDuration)",
        ),
        _T(
            "iam:policy",
            "global",
            "IAM managed policy",
            "Policies item (PolicyName, PolicyId, Arn, Path, DefaultVersionId, AttachmentCount, "
            "IsAttachable) for customer-managed policies, and for every AWS-managed policy attached "
            "to something in the account",
            "Document: the default version's document (dict); AwsManaged: bool",
        ),
        _T(
            "iam:instance-profile",
            "global",
            "IAM instance profile",
            "list_instance_profiles item (InstanceProfileName, Arn, Roles[{RoleName, Arn}])",
        ),
        _T(
            "iam:password-policy",
            "global",
            "IAM password policy",
            "get_password_policy PasswordPolicy",
            "Present: bool (False when the account has none; the other keys then absent)",
            "arn:aws:iam::{a}:account-password-policy",
        ),
        _T(
            "iam:account-summary",
            "global",
            "IAM account summary",
            "get_account_summary SummaryMap (AccountMFAEnabled, AccountAccessKeysPresent, Users, ...)",
            "AccountAliases: [str]; VirtualMFADevices: list_virtual_mfa_devices items (SerialNumber, "
            "User{Arn}, EnableDate) — a root device has SerialNumber ending ':mfa/root-account-mfa-device' "
            "or User.Arn ending ':root'",
            "arn:aws:iam::{a}:account-summary",
        ),
        _T(
            "iam:credential-report",
            "global",
            "IAM credential report",
            "get_credential_report, parsed CSV",
            "Rows: [dict per row, keys as in the CSV header (user, arn, mfa_active, "
            "access_key_1_active, ...)] — the '<root_account>' row when the endpoint gives one; "
            "GeneratedTime: str",
            "arn:aws:iam::{a}:credential-report",
        ),
        _T(
            "iam:saml-provider",
            "global",
            "IAM SAML provider",
            "list_saml_providers item (Arn, ValidUntil, CreateDate)",
        ),
        _T(
            "iam:oidc-provider",
            "global",
            "IAM OIDC provider",
            "list_open_id_connect_providers + get_open_id_connect_provider (Arn, Url, ClientIDList, ThumbprintList)",
        ),
        # ---------------------------------------------------------------- Organizations (management only)
        _T(
            "organizations:organization",
            "global",
            "Organization",
            "describe_organization Organization (Id, Arn, MasterAccountId, FeatureSet, ...)",
            "Roots: list_roots items (Id, Arn, Name, PolicyTypes)",
        ),
        _T(
            "organizations:account",
            "global",
            "Organization member account",
            "list_accounts item (Id, Arn, Name, Email, Status, JoinedMethod, JoinedTimestamp)",
            "ParentPath: [{Id, Name, Type}] from the root down to the account's parent; "
            "PolicyIds: [SCP ids that apply: direct, via each OU on the path, via the root]",
        ),
        _T(
            "organizations:ou",
            "global",
            "Organizational unit",
            "describe_organizational_unit OrganizationalUnit (Id, Arn, Name)",
            "ParentId: str; Path: 'Root/Workloads/Prod'",
        ),
        _T(
            "organizations:policy",
            "global",
            "Service control policy",
            "describe_policy Policy.PolicySummary (Id, Arn, Name, Description, Type, AwsManaged)",
            "Content: parsed policy document (dict); Targets: [{TargetId, Type, Name}]",
        ),
        # ---------------------------------------------------------------- S3
        _T(
            "s3:bucket",
            "global",
            "S3 bucket",
            "list_buckets item (Name, CreationDate); record.region is the bucket's region",
            "Region: str; Acl: get_bucket_acl {Owner, Grants}; Policy: dict | None; "
            "PolicyStatus: {IsPublic} | None; PublicAccessBlock: PublicAccessBlockConfiguration | None; "
            "Encryption: ServerSideEncryptionConfiguration | None; Versioning: {Status?, MFADelete?}; "
            "Logging: LoggingEnabled | None; OwnershipControls: {Rules} | None",
        ),
        _T(
            "s3:account-public-access-block",
            "global",
            "S3 account Block Public Access",
            "s3control get_public_access_block PublicAccessBlockConfiguration",
            "Present: bool (False: never configured, i.e. all four settings off)",
            "arn:aws:s3::{a}:account-public-access-block",
        ),
        # ---------------------------------------------------------------- EC2 / VPC (regional)
        _T(
            "ec2:instance",
            "regional",
            "EC2 instance",
            "describe_instances Reservations[].Instances[] item (MetadataOptions, PublicIpAddress, "
            "IamInstanceProfile, SecurityGroups, SubnetId, VpcId, NetworkInterfaces, State, ...)",
        ),
        _T("ec2:vpc", "regional", "VPC", "describe_vpcs item"),
        _T("ec2:subnet", "regional", "Subnet", "describe_subnets item"),
        _T("ec2:route-table", "regional", "Route table", "describe_route_tables item (Routes, Associations)"),
        _T(
            "ec2:internet-gateway",
            "regional",
            "Internet gateway",
            "describe_internet_gateways item (Attachments)",
        ),
        _T("ec2:nat-gateway", "regional", "NAT gateway", "describe_nat_gateways item"),
        _T(
            "ec2:security-group",
            "regional",
            "Security group",
            "describe_security_groups item (IpPermissions, IpPermissionsEgress, GroupName, VpcId)",
        ),
        _T(
            "ec2:network-acl",
            "regional",
            "Network ACL",
            "describe_network_acls item (Entries, Associations, IsDefault)",
        ),
        _T(
            "ec2:network-interface",
            "regional",
            "Network interface",
            "describe_network_interfaces item (Association.PublicIp, Groups, SubnetId, Attachment, InterfaceType)",
        ),
        _T("ec2:elastic-ip", "regional", "Elastic IP", "describe_addresses item"),
        _T("ec2:vpc-peering-connection", "regional", "VPC peering", "describe_vpc_peering_connections item"),
        _T(
            "ec2:vpc-endpoint",
            "regional",
            "VPC endpoint",
            "describe_vpc_endpoints item (PolicyDocument parsed to dict)",
        ),
        _T("ec2:flow-log", "regional", "VPC flow log", "describe_flow_logs item"),
        _T("ec2:volume", "regional", "EBS volume", "describe_volumes item"),
        _T(
            "ec2:snapshot",
            "regional",
            "EBS snapshot",
            "describe_snapshots item (owned by the account)",
            "CreateVolumePermissions: describe_snapshot_attribute list ([{Group: 'all'}] means public)",
        ),
        _T(
            "ec2:image",
            "regional",
            "AMI",
            "describe_images(Owners=['self']) item",
            "LaunchPermissions: describe_image_attribute list ([{Group: 'all'}] means public)",
        ),
        _T(
            "ec2:managed-prefix-list",
            "regional",
            "Managed prefix list",
            "describe_managed_prefix_lists item (customer-owned)",
            "Entries: get_managed_prefix_list_entries items (Cidr, Description)",
        ),
        _T(
            "ec2:account-settings",
            "regional",
            "EC2 account settings",
            "get_ebs_encryption_by_default",
            "EbsEncryptionByDefault: bool | None; InstanceMetadataDefaults: "
            "get_instance_metadata_defaults AccountLevel dict | None (None when the endpoint does not serve it)",
            "arn:aws:ec2:{r}:{a}:account-settings",
        ),
        # ---------------------------------------------------------------- RDS
        _T(
            "rds:db-instance",
            "regional",
            "RDS instance",
            "describe_db_instances item (PubliclyAccessible, StorageEncrypted, VpcSecurityGroups, DBSubnetGroup, Endpoint)",
        ),
        _T("rds:db-cluster", "regional", "RDS cluster", "describe_db_clusters item"),
        _T(
            "rds:db-snapshot",
            "regional",
            "RDS snapshot",
            "describe_db_snapshots(SnapshotType='manual') item",
            "Attributes: describe_db_snapshot_attributes DBSnapshotAttributes list "
            "(AttributeName 'restore' with 'all' in AttributeValues means public)",
        ),
        _T(
            "rds:db-cluster-snapshot",
            "regional",
            "RDS cluster snapshot",
            "describe_db_cluster_snapshots(SnapshotType='manual') item",
            "Attributes: DBClusterSnapshotAttributes list",
        ),
        # ---------------------------------------------------------------- load balancers
        _T(
            "elb:load-balancer",
            "regional",
            "Classic load balancer",
            "elb describe_load_balancers item (Scheme, ListenerDescriptions, SecurityGroups, Subnets, Instances)",
        ),
        _T(
            "elbv2:load-balancer",
            "regional",
            "Application/network load balancer",
            "elbv2 describe_load_balancers item (Scheme, Type, SecurityGroups, AvailabilityZones, VpcId)",
            "Listeners: describe_listeners items; TargetGroups: [{TargetGroupArn, Port, Protocol, "
            "Targets: [target id]}]",
        ),
        # ---------------------------------------------------------------- compute & data
        _T(
            "lambda:function",
            "regional",
            "Lambda function",
            "list_functions item (FunctionName, FunctionArn, Runtime, Role, VpcConfig, ...)",
            "Policy: resource policy dict | None; FunctionUrl: get_function_url_config dict | None",
        ),
        _T(
            "ecr:repository",
            "regional",
            "ECR repository",
            "describe_repositories item",
            "Policy: dict | None",
        ),
        _T(
            "eks:cluster",
            "regional",
            "EKS cluster",
            "describe_cluster cluster (resourcesVpcConfig.endpointPublicAccess, ...)",
        ),
        _T(
            "dynamodb:table",
            "regional",
            "DynamoDB table",
            "describe_table Table",
            "ContinuousBackups: dict | None",
        ),
        _T(
            "secretsmanager:secret",
            "regional",
            "Secret",
            "list_secrets item (no secret value, ever)",
            "ResourcePolicy: dict | None",
        ),
        _T("sns:topic", "regional", "SNS topic", "get_topic_attributes Attributes", "Policy: dict | None"),
        _T(
            "sqs:queue",
            "regional",
            "SQS queue",
            "get_queue_attributes(All) Attributes + QueueUrl",
            "Policy: dict | None",
        ),
        _T(
            "kms:key",
            "regional",
            "KMS key",
            "describe_key KeyMetadata (KeyManager, KeyState, KeySpec, ...)",
            "RotationEnabled: bool | None (None for AWS-managed or asymmetric keys); Policy: dict | None; "
            "Aliases: [alias name]",
        ),
        # ---------------------------------------------------------------- logging & detection
        _T(
            "cloudtrail:trail",
            "regional",
            "CloudTrail trail",
            "describe_trails(includeShadowTrails=False) item, recorded in its HomeRegion only "
            "(IsMultiRegionTrail, IsOrganizationTrail, LogFileValidationEnabled, KmsKeyId, S3BucketName)",
            "Status: get_trail_status (IsLogging, ...); EventSelectors: get_event_selectors "
            "{EventSelectors, AdvancedEventSelectors}",
        ),
        _T("guardduty:detector", "regional", "GuardDuty detector", "get_detector answer", "DetectorId: str"),
        _T(
            "config:recorder",
            "regional",
            "Config recorder",
            "describe_configuration_recorders item",
            "Status: describe_configuration_recorder_status item | None",
        ),
        _T(
            "securityhub:hub",
            "regional",
            "Security Hub",
            "describe_hub answer (HubArn, SubscribedAt); none recorded when the account is not subscribed",
        ),
        _T(
            "accessanalyzer:analyzer",
            "regional",
            "IAM Access Analyzer",
            "list_analyzers item (arn, name, type, status)",
        ),
        _T("cloudwatch:alarm", "regional", "CloudWatch alarm", "describe_alarms MetricAlarms item"),
        _T(
            "logs:metric-filter",
            "regional",
            "Log metric filter",
            "describe_metric_filters item (logGroupName, filterPattern, metricTransformations)",
        ),
    ]
}


def resource_type(type_: str) -> ResourceType:
    return RESOURCE_TYPES[type_]

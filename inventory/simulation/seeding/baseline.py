"""What every account gets (read role, account settings, regional services), the log archive and the hub. No Django here."""

from __future__ import annotations

from typing import Any

from inventory.aws.rolepolicy import READ_POLICY_NAME, read_role_policy
from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    HUB_ACCOUNT_KEY,
    HUB_ROLE_NAME,
    HubCredentials,
)
from inventory.simulation.seeding.base import (
    SUPPORT_POLICY,
    SeederBase,
    _Account,
)


class BaselineMixin(SeederBase):
    """Seeding steps: what every account gets (read role, account settings, regional services), the log archive and the hub."""

    def _log_archive(self) -> None:
        """The operations account's central buckets (everyone's logs land here) and the trail key."""
        ops = self.accts["operations"]
        home = self.spec.home_region
        trail_bucket = self._bucket_name(ops, "org-cloudtrail")
        self._bucket(
            ops, home, trail_bucket,
            policy=docs.bucket_policy(trail_bucket, *docs.service_delivery_statements(trail_bucket, "cloudtrail.amazonaws.com", self.org_id)),
        )  # fmt: skip
        flow_bucket = self._bucket_name(ops, "vpc-flow-logs")
        self._bucket(
            ops, home, flow_bucket,
            policy=docs.bucket_policy(flow_bucket, *docs.service_delivery_statements(flow_bucket, "delivery.logs.amazonaws.com", self.org_id)),
        )  # fmt: skip
        config_bucket = self._bucket_name(ops, "aws-config")
        self._bucket(
            ops, home, config_bucket,
            policy=docs.bucket_policy(config_bucket, *docs.service_delivery_statements(config_bucket, "config.amazonaws.com", self.org_id)),
        )  # fmt: skip
        kms = ops.client("kms")
        key = kms.create_key(
            Description="Organisation CloudTrail logs", Tags=[{"TagKey": "Name", "TagValue": "org-trail"}]
        )
        key_arn = key["KeyMetadata"]["Arn"]
        kms.enable_key_rotation(KeyId=key_arn)
        kms.create_alias(AliasName="alias/org-trail", TargetKeyId=key_arn)
        self._use_region(ops, home)
        self.resources.update(
            {
                "operations.bucket.cloudtrail": trail_bucket,
                "operations.bucket.flow_logs": flow_bucket,
                "operations.bucket.config": config_bucket,
                "operations.kms.org_trail": key_arn,
            }
        )

    def _baseline(self, acct: _Account) -> None:
        """What every account gets: the read role, account settings, and per-region services."""
        spec = self.spec
        iam = acct.client("iam")
        hub_id = self.accts[HUB_ACCOUNT_KEY].id
        self._role(
            acct, spec.read_role, docs.trust_account(hub_id, spec.external_id),
            inline={READ_POLICY_NAME: read_role_policy()},
            description="Skyledger: read-only audit of this account",
        )  # fmt: skip
        sandbox = acct.key == "sandbox"
        if sandbox:
            self.plant("iam.support_role", acct, acct.id, "No role has AWSSupportAccess.")
            self.plant(
                "iam.password_policy", acct, f"arn:aws:iam::{acct.id}:account-password-policy",
                "No password policy at all.",
            )  # fmt: skip
            self.plant(
                "iam.root_mfa",
                acct,
                f"arn:aws:iam::{acct.id}:account-summary",
                "Root user has no MFA device.",
            )
        else:
            self._role(
                acct, "CompanySupport", docs.trust_account(self.accts["identity"].id), (SUPPORT_POLICY,)
            )
            weak = acct.key == "dev"
            iam.update_account_password_policy(
                MinimumPasswordLength=8 if weak else 14,
                RequireSymbols=not weak,
                RequireNumbers=True,
                RequireUppercaseCharacters=True,
                RequireLowercaseCharacters=True,
                AllowUsersToChangePassword=True,
                MaxPasswordAge=90,
                PasswordReusePrevention=5 if weak else 24,
            )
            if weak:
                self.plant(
                    "iam.password_policy", acct, f"arn:aws:iam::{acct.id}:account-password-policy",
                    "Minimum length 8 (< 14) and reuse prevention 5 (< 24).",
                )  # fmt: skip
            iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
            if acct.key == "org-root":
                self.plant(
                    "iam.root_hardware_mfa", acct, f"arn:aws:iam::{acct.id}:account-summary",
                    "The management account's root user has a virtual MFA device, not a hardware one.",
                )  # fmt: skip
        if acct.key in ("dev", "sandbox"):
            self.plant(
                "s3.account_public_access_block", acct, f"arn:aws:s3::{acct.id}:account-public-access-block",
                "Account-level S3 Block Public Access was never configured.",
            )  # fmt: skip
        else:
            acct.client("s3control").put_public_access_block(
                AccountId=acct.id,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
                },
            )  # fmt: skip
        for region in spec.regions:
            self._region_baseline(acct, region)
        # Nothing is set up outside the company's regions, but the default VPC AWS makes in every enabled
        # region is deleted there too, as landing zones do: Skyledger collects every enabled region, and
        # a clean account must look clean in all of them.
        for region in self._other_enabled_regions(acct):
            self._delete_default_vpc(acct.client("ec2", region))

    def _other_enabled_regions(self, acct: _Account) -> list[str]:
        """The account's enabled regions outside ``spec.regions`` (what Skyledger also collects)."""
        from inventory.aws.regions import filter_regions

        described = acct.client("ec2", self.spec.home_region).describe_regions(AllRegions=True)["Regions"]
        return [r for r in filter_regions(described) if r not in self.spec.regions]

    def _region_baseline(self, acct: _Account, region: str) -> None:
        sandbox = acct.key == "sandbox"
        ec2 = acct.client("ec2", region)
        if sandbox and region == self.spec.home_region:
            self._keep_default_vpc(acct, region)
        else:
            self._delete_default_vpc(ec2)
        settings_arn = f"arn:aws:ec2:{region}:{acct.id}:account-settings"
        if sandbox:
            self.plant(
                "ec2.ebs_default_encryption", acct, settings_arn, "EBS encryption by default is off.", region
            )
            self.plant("guardduty.enabled", acct, acct.id, "No GuardDuty detector.", region)
            self.plant("securityhub.enabled", acct, acct.id, "Security Hub is not enabled.", region)
        else:
            ec2.enable_ebs_encryption_by_default()
            acct.client("guardduty", region).create_detector(
                Enable=True, FindingPublishingFrequency="SIX_HOURS"
            )
            acct.client("securityhub", region).enable_security_hub(EnableDefaultStandards=False)
        if self._has_recorder(acct.key, region):
            config = acct.client("config", region)
            config.put_configuration_recorder(
                ConfigurationRecorder={
                    "name": "default",
                    "roleARN": f"arn:aws:iam::{acct.id}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
                    "recordingGroup": {
                        "allSupported": True,
                        "includeGlobalResourceTypes": region == self.spec.home_region,
                    },
                }
            )
            config.put_delivery_channel(
                DeliveryChannel={
                    "name": "default",
                    "s3BucketName": self.resources["operations.bucket.config"],
                }
            )
            config.start_configuration_recorder(ConfigurationRecorderName="default")
        else:
            self.missing_recorders.append((acct.key, region))

    def _has_recorder(self, key: str, region: str) -> bool:
        if key in ("dev", "sandbox"):
            return False
        if key == "staging":
            return region == self.spec.home_region
        return True

    def _delete_default_vpc(self, ec2: Any) -> None:
        for vpc in ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]:
            vpc_id = vpc["VpcId"]
            for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
                ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            gateways = ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
            )
            for gateway in gateways["InternetGateways"]:
                ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc_id)
                ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
            ec2.delete_vpc(VpcId=vpc_id)

    def _keep_default_vpc(self, acct: _Account, region: str) -> None:
        """Sandbox keeps its default VPC, as created: default SG rules, allow-all NACL, no flow logs."""
        ec2 = acct.client("ec2", region)
        vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        sg = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        acl = ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}]
        )["NetworkAcls"][0]["NetworkAclId"]
        subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"][0][
            "SubnetId"
        ]
        self.plant(
            "ec2.default_sg_rules",
            acct,
            sg,
            "Default security group of the default VPC keeps its rules.",
            region,
        )
        self.plant("vpc.flow_logs", acct, vpc_id, "Default VPC without flow logs.", region)
        self.plant(
            "ec2.nacl_admin_ports_open",
            acct,
            acl,
            "Default network ACL allows all traffic from 0.0.0.0/0 (22, 3389).",
            region,
        )
        self.resources.update(
            {"sandbox.default_vpc": vpc_id, "sandbox.default_sg": sg, "sandbox.default_subnet": subnet}
        )

    def _hub_role(self) -> None:
        security = self.accts[HUB_ACCOUNT_KEY]
        arn = self._role(
            security,
            HUB_ROLE_NAME,
            docs.trust_service("ecs-tasks.amazonaws.com"),
            inline={
                "AssumeSkyledgerReadRoles": docs.allow(
                    "sts:AssumeRole", f"arn:aws:iam::*:role/{self.spec.read_role}", sid="AssumeReadRoles"
                )
            },
            description="Skyledger's web and worker processes run as this role",
        )
        self.resources["security.role.hub"] = arn

    def _hub_credentials(self) -> HubCredentials:
        security = self.accts[HUB_ACCOUNT_KEY]
        creds = self._assume(security.id, HUB_ROLE_NAME, security.credentials)
        return HubCredentials(
            access_key_id=creds["aws_access_key_id"],
            secret_access_key=creds["aws_secret_access_key"],
            session_token=creds["aws_session_token"],
            account_id=security.id,
            role_arn=self.resources["security.role.hub"],
        )

    def _recorder_gaps(self) -> None:
        for key, region in self.missing_recorders:
            used = region in self.used_regions.get(key, set())
            note = "No Config recorder" + (
                " in a region holding resources." if used else " (no resources here)."
            )
            self.plant("config.recorder", self.accts[key], self.accts[key].id, note, region)

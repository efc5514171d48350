"""The workload accounts, the organisation trail and the monitoring gaps. No Django here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    OUTSIDE_ACCOUNT_ID,
    Exposed,
)
from inventory.simulation.seeding.base import (
    ORG_MISSING_CIS,
    PROD_PARTIAL_CIS,
    _Account,
)
from inventory.simulation.seeding.network import NetworkMixin


class WorkloadsMixin(NetworkMixin):
    """Seeding steps: the workload accounts, the organisation trail and the monitoring gaps."""

    if TYPE_CHECKING:  # steps of IdentityMixin, which the Seeder mixes in beside this one

        def _user(
            self,
            acct: _Account,
            name: str,
            groups: tuple[str, ...] = (),
            *,
            console: bool = False,
            mfa: bool = False,
        ) -> str: ...

        def _access_key(self, acct: _Account, name: str, use: bool = True) -> str: ...

    def _staging(self) -> None:
        stg = self.accts["staging"]
        r0, r1 = self._region(0), self._region(1)
        scale = self.spec.scale
        main = self._vpc(stg, r0, "staging-main", "10.30", public=2, private=2, nat=True)
        ec2 = stg.client("ec2", r0)
        # someone opened Postgres to the world for a BI vendor: SG and NACL both admit 5432
        ec2.create_network_acl_entry(
            NetworkAclId=main.nacl, RuleNumber=140, Protocol="6", RuleAction="allow", Egress=False,
            CidrBlock="0.0.0.0/0", PortRange={"From": 5432, "To": 5432},
        )  # fmt: skip
        app_sg = self._sg(stg, main, "staging-app", [self._tcp(8080, cidr=main.cidr)])
        self._instances(stg, r0, "staging-app", main.private_subnets[0], [app_sg], count=scale)
        db_sg = self._sg(stg, main, "staging-db-open", [self._tcp(5432)], "Postgres for the BI vendor")
        self.plant("ec2.sg_db_ports_open", stg, db_sg, "5432 open to 0.0.0.0/0.", r0)
        rds = stg.client("rds", r0)
        rds.create_db_subnet_group(
            DBSubnetGroupName="staging-public",
            DBSubnetGroupDescription="public subnets",
            SubnetIds=main.public_subnets,
        )
        db = rds.create_db_instance(
            DBInstanceIdentifier="staging-reporting", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="reporting", MasterUserPassword="Staging-Reporting-1", AllocatedStorage=20,
            PubliclyAccessible=True, StorageEncrypted=False, DBSubnetGroupName="staging-public",
            VpcSecurityGroupIds=[db_sg],
        )["DBInstance"]  # fmt: skip
        db_arn = db["DBInstanceArn"]
        self.plant("rds.public_instance", stg, db_arn, "staging-reporting is publicly accessible.", r0)
        self.plant("rds.encryption", stg, db_arn, "staging-reporting storage is not encrypted.", r0)
        self.exposed.append(Exposed(stg.id, r0, "staging-reporting", (5432,), db_arn))
        snapshot = rds.create_db_snapshot(
            DBInstanceIdentifier="staging-reporting", DBSnapshotIdentifier="staging-reporting-before-upgrade"
        )["DBSnapshot"]
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="staging-reporting-before-upgrade",
            AttributeName="restore",
            ValuesToAdd=["all"],
        )
        self.plant(
            "rds.public_snapshot",
            stg,
            snapshot["DBSnapshotArn"],
            "Snapshot restorable by every AWS account.",
            r0,
        )
        exports = self._bucket(stg, r0, self._bucket_name(stg, "staging-exports"), encrypted=False)
        self.plant("s3.encryption", stg, f"arn:aws:s3:::{exports}", "No default encryption.")
        eu = self._vpc(stg, r1, "staging-eu", "10.31", private=1)
        eu_sg = self._sg(stg, eu, "staging-eu-app", [self._tcp(8080, cidr=eu.cidr)])
        self._instances(stg, r1, "staging-eu-app", eu.private_subnets[0], [eu_sg], count=scale)
        self.resources.update(
            {
                "staging.rds.public": db_arn,
                "staging.rds.snapshot.public": snapshot["DBSnapshotArn"],
                "staging.bucket.unencrypted": exports,
            }
        )

    def _prod(self) -> None:
        prod = self.accts["prod"]
        r0, r1 = self._region(0), self._region(1)
        scale = self.spec.scale
        main = self._vpc(prod, r0, "prod-main", "10.20", public=2, private=2, nat=True)
        alb_sg = self._sg(prod, main, "prod-alb", [self._tcp(80), self._tcp(443)], "Public web traffic")
        app_sg = self._sg(prod, main, "prod-app", [self._tcp(8080, group=alb_sg)], "From the load balancer")
        db_sg = self._sg(prod, main, "prod-db", [self._tcp(5432, group=app_sg)], "From the app tier")
        apps = self._instances(prod, r0, "prod-app", main.private_subnets[0], [app_sg], count=2 * scale)
        elb = prod.client("elbv2", r0)
        lb = elb.create_load_balancer(
            Name="prod-web", Subnets=main.public_subnets, SecurityGroups=[alb_sg], Scheme="internet-facing",
            Type="application", IpAddressType="ipv4",
        )["LoadBalancers"][0]  # fmt: skip
        target_group = elb.create_target_group(
            Name="prod-app", Protocol="HTTP", Port=8080, VpcId=main.id, TargetType="instance",
            HealthCheckPath="/health",
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        elb.register_targets(TargetGroupArn=target_group, Targets=[{"Id": i["InstanceId"]} for i in apps])
        certificate = prod.client("acm", r0).request_certificate(DomainName="shop.example.com")[
            "CertificateArn"
        ]
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
            Certificates=[{"CertificateArn": certificate}], SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
        )  # fmt: skip
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
        )  # fmt: skip
        self.exposed.append(Exposed(prod.id, r0, "prod-web", (80, 443), lb["LoadBalancerArn"]))
        rds = prod.client("rds", r0)
        rds.create_db_subnet_group(
            DBSubnetGroupName="prod-private",
            DBSubnetGroupDescription="private subnets",
            SubnetIds=main.private_subnets,
        )
        data_key = self._kms_key(prod, r0, "prod-data")
        db = rds.create_db_instance(
            DBInstanceIdentifier="prod-orders", Engine="postgres", DBInstanceClass="db.r6g.large",
            MasterUsername="orders", MasterUserPassword="Prod-Orders-Secret-1", AllocatedStorage=100,
            PubliclyAccessible=False, StorageEncrypted=True, KmsKeyId=data_key, DBSubnetGroupName="prod-private",
            VpcSecurityGroupIds=[db_sg], MultiAZ=True, BackupRetentionPeriod=14,
        )["DBInstance"]  # fmt: skip
        self._lambda(prod, r0, "prod-invoice-render")
        prod.client("sns", r0).create_topic(Name="prod-orders-events")
        prod.client("sqs", r0).create_queue(
            QueueName="prod-orders-jobs", Attributes={"SqsManagedSseEnabled": "true"}
        )
        assets = self._bucket(prod, r0, self._bucket_name(prod, "prod-assets"))
        for n in range(1, scale):
            self._bucket(prod, r0, self._bucket_name(prod, f"prod-data-{n:02d}"))
        partner = self._bucket_name(prod, "partner-exchange")
        self._bucket(
            prod, r0, partner,
            policy=docs.bucket_policy(partner, docs.account_access_statement(partner, OUTSIDE_ACCOUNT_ID)),
        )  # fmt: skip
        self.plant(
            "s3.cross_account", prod, f"arn:aws:s3:::{partner}",
            f"Bucket policy grants account {OUTSIDE_ACCOUNT_ID} (outside the organisation) read and write.",
        )  # fmt: skip
        vendor = self._role(
            prod, "VendorMonitoring", docs.trust_account(OUTSIDE_ACCOUNT_ID),
            inline={"ReadMetrics": docs.allow(["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], "*")},
            description="Monitoring vendor",
        )  # fmt: skip
        self.plant(
            "iam.trust_outside_org", prod, vendor,
            f"Trusts account {OUTSIDE_ACCOUNT_ID} (outside the organisation) with no ExternalId condition.",
        )  # fmt: skip
        self._legacy_trail(prod)
        eu = self._vpc(prod, r1, "prod-eu", "10.21", public=1, private=1, nat=True)
        eu_app = self._sg(prod, eu, "prod-eu-app", [self._tcp(8080, cidr=eu.cidr)])
        self._instances(prod, r1, "prod-eu-app", eu.private_subnets[0], [eu_app], count=scale)
        rdp = self._sg(prod, eu, "prod-eu-rdp", [self._tcp(3389)], "Windows admin (temporary)")
        windows = self._instances(prod, r1, "prod-eu-win", eu.private_subnets[0], [rdp])[0]["InstanceId"]
        self.plant(
            "ec2.sg_admin_ports_open", prod, rdp, "3389 open to 0.0.0.0/0 (only on a private instance).", r1
        )
        self.resources.update(
            {
                "prod.alb": lb["LoadBalancerArn"],
                "prod.rds.private": db["DBInstanceArn"],
                "prod.bucket.assets": assets,
                "prod.bucket.cross_account": partner,
                "prod.role.vendor": vendor,
                "prod.instance.rdp_private": windows,
            }
        )

    def _legacy_trail(self, prod: _Account) -> None:
        """prod's own single-region trail: no log validation, no KMS, a partial set of CIS alarms."""
        region = self.spec.home_region
        bucket = self._bucket_name(prod, "prod-legacy-trail")
        self._bucket(
            prod, region, bucket,
            policy=docs.bucket_policy(bucket, *docs.service_delivery_statements(bucket, "cloudtrail.amazonaws.com")),
        )  # fmt: skip
        group = "prod-legacy-trail"
        prod.client("logs", region).create_log_group(logGroupName=group)
        role = self._role(prod, "CloudTrailToCloudWatch", docs.trust_service("cloudtrail.amazonaws.com"),
                          inline={"WriteLogs": docs.allow(["logs:CreateLogStream", "logs:PutLogEvents"], "*")})  # fmt: skip
        trail = prod.client("cloudtrail", region)
        arn = trail.create_trail(
            Name="prod-legacy-trail", S3BucketName=bucket, IsMultiRegionTrail=False, EnableLogFileValidation=False,
            IncludeGlobalServiceEvents=False,
            CloudWatchLogsLogGroupArn=prod.arn("logs", f"log-group:{group}:*", region), CloudWatchLogsRoleArn=role,
        )["TrailARN"]  # fmt: skip
        trail.start_logging(Name="prod-legacy-trail")
        self.plant("cloudtrail.log_validation", prod, arn, "Log file validation is off.", region)
        self.plant("cloudtrail.kms", prod, arn, "Logs are not encrypted with a KMS key.", region)
        topic = prod.client("sns", region).create_topic(Name="prod-alerts")["TopicArn"]
        self._cis_alarms(prod, region, group, topic, PROD_PARTIAL_CIS)
        self.resources["prod.trail.legacy"] = arn

    def _dev(self) -> None:
        dev = self.accts["dev"]
        r0, r1 = self._region(0), self._region(1)
        main = self._vpc(dev, r0, "dev-main", "10.40", public=1, private=1, flow_logs=False, harden=False)
        ssh = self._sg(dev, main, "dev-bastion-ssh", [self._tcp(22)], "SSH from anywhere")
        bastion = self._instances(dev, r0, "dev-bastion", main.public_subnets[0], [ssh], imdsv2=False)[0]
        self.plant(
            "ec2.sg_admin_ports_open", dev, ssh, "22 open to 0.0.0.0/0, on an internet-facing bastion.", r0
        )
        self.exposed.append(
            Exposed(
                dev.id,
                r0,
                bastion["InstanceId"],
                (22,),
                dev.arn("ec2", f"instance/{bastion['InstanceId']}", r0),
            )
        )
        everything = self._sg(
            dev,
            main,
            "dev-debug-all",
            [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            "Debugging",
        )
        worker = self._instances(dev, r0, "dev-worker", main.private_subnets[0], [everything])[0]
        self.plant(
            "ec2.sg_all_open", dev, everything, "All ports open to 0.0.0.0/0 (on a private instance).", r0
        )
        app = self._sg(dev, main, "dev-app", [self._tcp(8080, cidr=main.cidr)])
        self._instances(dev, r0, "dev-app", main.private_subnets[0], [app], count=self.spec.scale)
        site = self._bucket_name(dev, "dev-static-site")
        self._bucket(
            dev,
            r0,
            site,
            block_public=False,
            policy=docs.bucket_policy(site, docs.public_read_statement(site)),
        )
        self.plant(
            "s3.public_policy", dev, f"arn:aws:s3:::{site}", "Bucket policy lets Principal '*' read objects."
        )
        webhook = self._lambda(dev, r0, "dev-webhook", public=True)
        legacy = self._user(dev, "legacy-deploy")
        self._access_key(dev, "legacy-deploy")
        self.plant(
            "iam.user_outside_identity", dev, legacy, "IAM user in a workload account (belongs in identity)."
        )
        eu = self._vpc(dev, r1, "dev-eu", "10.41", private=1, flow_logs=False)
        eu_sg = self._sg(dev, eu, "dev-eu-app", [self._tcp(8080, cidr=eu.cidr)])
        self._instances(dev, r1, "dev-eu-app", eu.private_subnets[0], [eu_sg])
        self.resources.update(
            {
                "dev.instance.bastion": bastion["InstanceId"],
                "dev.instance.worker_all_open": worker["InstanceId"],
                "dev.bucket.public_policy": site,
                "dev.lambda.public": webhook,
                "dev.user.legacy_deploy": legacy,
            }
        )

    def _sandbox(self) -> None:
        box = self.accts["sandbox"]
        r0 = self._region(0)
        ec2 = box.client("ec2", r0)
        test = self._instances(
            box, r0, "sandbox-test", self.resources["sandbox.default_subnet"], [self.resources["sandbox.default_sg"]],
            imdsv2=False,
        )[0]  # fmt: skip
        volume = ec2.create_volume(
            AvailabilityZone=f"{r0}a", Size=20, Encrypted=False,
            TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "sandbox-scratch"}]}],
        )["VolumeId"]  # fmt: skip
        snapshot = ec2.create_snapshot(VolumeId=volume, Description="scratch copy")["SnapshotId"]
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
        )
        self.plant("ec2.public_snapshot", box, snapshot, "EBS snapshot shared with all AWS accounts.", r0)
        image = ec2.create_image(
            InstanceId=test["InstanceId"], Name="sandbox-golden", Description="golden image"
        )["ImageId"]
        ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"Group": "all"}]})
        self.plant("ec2.public_ami", box, image, "AMI launchable by all AWS accounts.", r0)
        self._kms_key(box, r0, "sandbox-experiments", rotation=False)
        public = self._bucket_name(box, "sandbox-public")
        self._bucket(box, r0, public, block_public=False, acl="public-read")
        self.plant("s3.public_acl", box, f"arn:aws:s3:::{public}", "ACL grants READ to AllUsers.")
        stray = self._bucket_name(box, f"experiments-{self.spec.stray_region}")
        self._bucket(box, self.spec.stray_region, stray)
        self.plant(
            "inventory.unexpected_region", box, f"arn:aws:s3:::{stray}",
            f"Bucket in {self.spec.stray_region}, outside the allowed regions {', '.join(self.spec.regions)}.",
            self.spec.stray_region,
        )  # fmt: skip
        # Beside it, a forgotten experiment: a VPC whose security group opens SSH to the world, in the
        # same region outside the allow-list. Only a collection of every enabled region sees it.
        far = self._vpc(
            box, self.spec.stray_region, "sandbox-forgotten", "10.77", public=1, private=0, flow_logs=False
        )
        ssh = self._sg(box, far, "forgotten-ssh", [self._tcp(22)], "SSH from anywhere, for a test")
        self.plant(
            "ec2.sg_admin_ports_open", box, ssh, "22 open to 0.0.0.0/0, in a region outside the allow-list.",
            self.spec.stray_region,
        )  # fmt: skip
        self.plant(
            "inventory.unexpected_region", box, f"arn:aws:ec2:{self.spec.stray_region}:{box.id}:security-group/{ssh}",
            f"Security group open to SSH in {self.spec.stray_region}, outside the allowed regions.",
            self.spec.stray_region,
        )  # fmt: skip
        self.resources["sandbox.sg.forgotten_ssh"] = ssh
        anyone = self._role(
            box, "LegacyPublicRole", docs.trust_anyone(),
            inline={"ReadScratch": docs.allow("s3:GetObject", f"arn:aws:s3:::{public}/*")},
        )  # fmt: skip
        self.plant(
            "iam.trust_anyone", box, anyone, "Trust policy allows Principal AWS '*' with no condition."
        )
        self.resources.update(
            {
                "sandbox.instance.test": test["InstanceId"],
                "sandbox.volume.unencrypted": volume,
                "sandbox.snapshot.public": snapshot,
                "sandbox.ami.public": image,
                "sandbox.bucket.public_acl": public,
                "sandbox.bucket.stray_region": stray,
                "sandbox.role.trust_anyone": anyone,
            }
        )

    def _operations_and_security_workloads(self) -> None:
        for key, name, prefix in (
            ("operations", "ops-tools", "10.50"),
            ("security", "security-tools", "10.60"),
        ):
            acct = self.accts[key]
            region = self._region(0)
            vpc = self._vpc(acct, region, name, prefix, private=2)
            sg = self._sg(acct, vpc, f"{name}-app", [self._tcp(443, cidr=vpc.cidr)])
            self._instances(acct, region, name, vpc.private_subnets[0], [sg], count=self.spec.scale)
        security = self.accts["security"]
        topic = security.client("sns", self._region(0)).create_topic(Name="security-findings")["TopicArn"]
        security.client("sqs", self._region(0)).create_queue(
            QueueName="security-findings-intake", Attributes={"SqsManagedSseEnabled": "true"}
        )
        self.resources["security.sns.findings"] = topic
        ops = self.accts["operations"]
        vpc = self._vpc(ops, self._region(1), "ops-tools-eu", "10.51", private=1)
        sg = self._sg(ops, vpc, "ops-tools-eu-app", [self._tcp(443, cidr=vpc.cidr)])
        self._instances(ops, self._region(1), "ops-tools-eu", vpc.private_subnets[0], [sg])

    def _management_trail(self) -> None:
        """The organisation trail (management account) with CIS alarms for all but ``ORG_MISSING_CIS``."""
        mgmt = self.accts["org-root"]
        region = self.spec.home_region
        group = "aws-cloudtrail-logs-org"
        mgmt.client("logs", region).create_log_group(logGroupName=group)
        role = self._role(mgmt, "CloudTrailToCloudWatch", docs.trust_service("cloudtrail.amazonaws.com"),
                          inline={"WriteLogs": docs.allow(["logs:CreateLogStream", "logs:PutLogEvents"], "*")})  # fmt: skip
        trail = mgmt.client("cloudtrail", region)
        self.trail_arn = trail.create_trail(
            Name="org-trail", S3BucketName=self.resources["operations.bucket.cloudtrail"], IsMultiRegionTrail=True,
            IsOrganizationTrail=True, EnableLogFileValidation=True, IncludeGlobalServiceEvents=True,
            KmsKeyId=self.resources["operations.kms.org_trail"],
            CloudWatchLogsLogGroupArn=mgmt.arn("logs", f"log-group:{group}:*", region), CloudWatchLogsRoleArn=role,
        )["TrailARN"]  # fmt: skip
        trail.start_logging(Name="org-trail")
        topic = mgmt.client("sns", region).create_topic(Name="org-cis-alarms")["TopicArn"]
        self._cis_alarms(
            mgmt, region, group, topic, tuple(n for n in docs.CIS_METRIC_FILTERS if n not in ORG_MISSING_CIS)
        )
        self.resources["org-root.trail.organization"] = self.trail_arn

    def _cis_alarms(
        self, acct: _Account, region: str, group: str, topic: str, names: tuple[str, ...]
    ) -> None:
        logs, cloudwatch = acct.client("logs", region), acct.client("cloudwatch", region)
        for name in names:
            logs.put_metric_filter(
                logGroupName=group, filterName=name, filterPattern=docs.CIS_METRIC_FILTERS[name],
                metricTransformations=[{"metricName": name, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
            )  # fmt: skip
            cloudwatch.put_metric_alarm(
                AlarmName=f"cis-{name}", MetricName=name, Namespace="CISBenchmark", Statistic="Sum", Period=300,
                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                AlarmActions=[topic], TreatMissingData="notBreaching",
            )  # fmt: skip
        self.cis_done[acct.key] = set(names)

    def _cis_alarm_gaps(self) -> None:
        """CIS monitoring is judged where the organisation trail delivers: the management account.

        Members have no multi-region trail of their own; the organisation trail covers them, so its
        gaps are one finding on the management account, not one per member.
        """
        mgmt = self.accts["org-root"]
        missing = [
            name for name in docs.CIS_METRIC_FILTERS if name not in self.cis_done.get("org-root", set())
        ]
        if missing:
            self.plant(
                "cloudwatch.cis_alarms", mgmt, mgmt.id,
                f"The organisation trail's log group has no metric filter and alarm for: {', '.join(missing)}.",
                self.spec.home_region,
            )  # fmt: skip

    def _extra_workload(self, acct: _Account) -> None:
        """A clean workload account: one private VPC with a few instances and a bucket."""
        region = self._region(0)
        number = int(acct.key.rsplit("-", 1)[1])
        vpc = self._vpc(
            acct, region, f"{self.info[acct.key].name}-vpc", f"10.{100 + number % 150}", private=1
        )
        sg = self._sg(acct, vpc, "app", [self._tcp(8080, cidr=vpc.cidr)])
        self._instances(
            acct,
            region,
            f"{self.info[acct.key].name}-app",
            vpc.private_subnets[0],
            [sg],
            count=self.spec.scale,
        )
        for n in range(self.spec.scale):
            self._bucket(acct, region, self._bucket_name(acct, f"data-{n:02d}"))

    def _management_mistake(self) -> None:
        if not self.spec.org_root_mistake:
            return
        mgmt = self.accts["org-root"]
        bucket = self._bucket(mgmt, self._region(0), self._bucket_name(mgmt, "mgmt-scratch"))
        self.plant(
            "org.root_has_resources", mgmt, f"arn:aws:s3:::{bucket}",
            "A workload bucket in the management account (it should hold only the organisation).",
        )  # fmt: skip
        self.resources["org-root.bucket.mistake"] = bucket

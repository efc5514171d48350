"""Every way in that is not a network path, each beside a private decoy. No Django here.

Runs after every other step (the order of calls fixes moto's ids: appending calls here leaves the
ids of everything seeded before unchanged). It lists in the manifest the ways in planted earlier
(the public bucket policy and ACL, the public Lambda policy, snapshots and AMI, the roles trusting
anyone or an outside account) and plants, in dev's home region, one public resource policy of each
kind moto supports (SQS, SNS, KMS, ECR, Secrets Manager), a function URL without auth, and next to
each a decoy that looks alike but is private: Principal ``*`` narrowed by aws:PrincipalOrgID, a
source ARN / account / VPC endpoint or an office IP range, a URL with IAM auth, snapshots shared
with one account of the organisation. A decoy's key in :attr:`Estate.resources` holds ``.decoy.``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from inventory.simulation import documents as docs
from inventory.simulation.estate import Exposed
from inventory.simulation.seeding.base import SeederBase, _Account

OFFICE_RANGE = "203.0.113.0/24"  # TEST-NET-3: an office's egress range, narrower than the internet
DECOY_VPCE = "vpce-0a1b2c3d4e5f60718"


class ExposuresMixin(SeederBase):
    """Seeding step: the non-network ways in and their decoys, and their manifest entries."""

    def _ways_in(self) -> None:
        self._listed_ways_in()
        self._public_policies(self.accts["dev"], self._region(0))
        self._sharing_decoys()

    def _way_in(
        self, acct: _Account, region: str, resource_id: str, arn: str, vector: str, note: str
    ) -> None:
        self.exposed.append(Exposed(acct.id, region, resource_id, (), arn, vector, note))

    def _listed_ways_in(self) -> None:
        """Manifest entries for the ways in the workload steps planted."""
        r0 = self._region(0)
        dev, box, stg, prod = (self.accts[k] for k in ("dev", "sandbox", "staging", "prod"))
        site = self.resources["dev.bucket.public_policy"]
        self._way_in(
            dev, r0, site, f"arn:aws:s3:::{site}", "resource-policy", "Bucket policy: Principal '*' reads."
        )
        webhook = self.resources["dev.lambda.public"]
        self._way_in(
            dev, r0, webhook.rsplit(":", 1)[-1], webhook, "resource-policy", "Anyone may invoke the function."
        )
        self.plant("lambda.public_policy", dev, webhook, "Resource policy lets Principal '*' invoke it.", r0)
        public = self.resources["sandbox.bucket.public_acl"]
        self._way_in(box, r0, public, f"arn:aws:s3:::{public}", "acl", "ACL grants READ to AllUsers.")
        snapshot, image = self.resources["sandbox.snapshot.public"], self.resources["sandbox.ami.public"]
        self._way_in(
            box,
            r0,
            snapshot,
            f"arn:aws:ec2:{r0}::snapshot/{snapshot}",
            "sharing",
            "createVolumePermission all.",
        )
        self._way_in(box, r0, image, f"arn:aws:ec2:{r0}::image/{image}", "sharing", "launchPermission all.")
        rds_snapshot = self.resources["staging.rds.snapshot.public"]
        self._way_in(
            stg, r0, rds_snapshot.rsplit(":", 1)[-1], rds_snapshot, "sharing", "restore attribute all."
        )
        anyone = self.resources["sandbox.role.trust_anyone"]
        self._way_in(box, "global", anyone.rsplit("/", 1)[-1], anyone, "trust", "Trusts Principal AWS '*'.")
        vendor = self.resources["prod.role.vendor"]
        self._way_in(prod, "global", vendor.rsplit("/", 1)[-1], vendor, "trust", "Trusts an outside account.")

    def _public_policies(self, dev: _Account, region: str) -> None:
        condition: Mapping[str, Any] | None  # each loop below plants one public case and its decoy
        org = {"StringEquals": {"aws:PrincipalOrgID": self.org_id}}
        # S3: the public bucket (dev-static-site) has two decoys: the organisation, an office range
        for purpose, condition in (
            ("dev-org-share", org),
            ("dev-office-share", {"IpAddress": {"aws:SourceIp": OFFICE_RANGE}}),
        ):
            name = self._bucket_name(dev, purpose)
            statement = docs.anyone_statement(
                "s3:GetObject", f"arn:aws:s3:::{name}/*", "ReadNarrowed", condition
            )
            self._bucket(dev, region, name, block_public=False, policy=docs.bucket_policy(name, statement))
            self.resources[f"dev.decoy.bucket.{purpose}"] = f"arn:aws:s3:::{name}"

        # SNS first: the private queue accepts messages from the private topic only
        sns = dev.client("sns", region)
        topics = {}
        for name, condition in (
            # a condition that does not narrow who: still public
            ("dev-alerts-public", {"Bool": {"aws:SecureTransport": "true"}}),
            ("dev-alerts-private", {"StringEquals": {"aws:SourceAccount": dev.id}}),
        ):
            arn = sns.create_topic(Name=name)["TopicArn"]
            policy = docs.resource_policy(docs.anyone_statement("SNS:Publish", arn, "Publish", condition))
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
            topics[name] = arn
        self._planted_policy(dev, region, "sns", topics["dev-alerts-public"], "dev-alerts-public")
        self.resources["dev.decoy.sns.dev-alerts-private"] = topics["dev-alerts-private"]

        sqs = dev.client("sqs", region)
        for name, condition in (
            ("dev-ingest-public", None),
            ("dev-ingest-private", {"ArnEquals": {"aws:SourceArn": topics["dev-alerts-private"]}}),
        ):
            arn = dev.arn("sqs", name, region)
            policy = docs.resource_policy(docs.anyone_statement("sqs:SendMessage", arn, "Send", condition))
            sqs.create_queue(
                QueueName=name, Attributes={"SqsManagedSseEnabled": "true", "Policy": json.dumps(policy)}
            )
            self._planted_or_decoy(dev, region, "sqs", arn, name, condition)

        kms = dev.client("kms", region)
        for alias, condition in (
            ("dev-shared-public", None),
            ("dev-shared-private", {"StringEquals": {"kms:CallerAccount": dev.id}}),
        ):
            arn = self._kms_key(dev, region, alias)
            statement = docs.anyone_statement(["kms:Decrypt", "kms:DescribeKey"], "*", "UseTheKey", condition)
            kms.put_key_policy(
                KeyId=arn, PolicyName="default", Policy=json.dumps(docs.key_policy(dev.id, statement))
            )
            self._planted_or_decoy(dev, region, "kms", arn, arn.rsplit("/", 1)[-1], condition, alias)

        ecr = dev.client("ecr", region)
        for name, condition in (("dev-base-images", None), ("dev-internal-images", org)):
            arn = ecr.create_repository(repositoryName=name)["repository"]["repositoryArn"]
            pull = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
            policy = docs.resource_policy(docs.anyone_statement(pull, arn, "Pull", condition))
            ecr.set_repository_policy(repositoryName=name, policyText=json.dumps(policy))
            self._planted_or_decoy(dev, region, "ecr", arn, name, condition)

        secrets = dev.client("secretsmanager", region)
        for name, condition in (
            ("dev/api-token", None),
            ("dev/db-password", {"StringEquals": {"aws:SourceVpce": DECOY_VPCE}}),
        ):
            arn = secrets.create_secret(Name=name, SecretString="not-a-real-secret")["ARN"]
            policy = docs.resource_policy(
                docs.anyone_statement("secretsmanager:GetSecretValue", "*", "Read", condition)
            )
            secrets.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))
            self._planted_or_decoy(dev, region, "secretsmanager", arn, name, condition)

        # Lambda: a function URL without auth, and a decoy with IAM auth whose policy lets in
        # Principal '*' from dev's own account only
        preview = self._lambda(dev, region, "dev-preview")
        lam = dev.client("lambda", region)
        lam.create_function_url_config(FunctionName="dev-preview", AuthType="NONE")
        self._way_in(dev, region, "dev-preview", preview, "function-url", "Function URL with AuthType NONE.")
        self.plant("lambda.public_url", dev, preview, "Function URL with AuthType NONE.", region)
        internal = self._lambda(dev, region, "dev-internal-api")
        lam.create_function_url_config(FunctionName="dev-internal-api", AuthType="AWS_IAM")
        lam.add_permission(
            FunctionName="dev-internal-api",
            StatementId="OwnAccountOnly",
            Action="lambda:InvokeFunction",
            Principal="*",
            SourceAccount=dev.id,
        )
        self.resources["dev.decoy.lambda.dev-internal-api"] = internal

    def _planted_or_decoy(
        self,
        acct: _Account,
        region: str,
        service: str,
        arn: str,
        resource_id: str,
        condition: Mapping[str, Any] | None,
        name: str = "",
    ) -> None:
        if condition:
            self.resources[f"{acct.key}.decoy.{service}.{name or resource_id}"] = arn
        else:
            self._planted_policy(acct, region, service, arn, resource_id)

    def _planted_policy(self, acct: _Account, region: str, service: str, arn: str, resource_id: str) -> None:
        note = "Resource policy allows Principal '*' with no condition narrowing who."
        self.plant(f"{service}.public_policy", acct, arn, note, region)
        self._way_in(acct, region, resource_id, arn, "resource-policy", note)
        self.resources[f"{acct.key}.{service}.public"] = arn

    def _sharing_decoys(self) -> None:
        """An EBS and an RDS snapshot shared with one account of the organisation: private."""
        r0 = self._region(0)
        box, stg = self.accts["sandbox"], self.accts["staging"]
        ec2 = box.client("ec2", r0)
        snapshot = ec2.create_snapshot(
            VolumeId=self.resources["sandbox.volume.unencrypted"], Description="copy for the security team"
        )["SnapshotId"]
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot,
            Attribute="createVolumePermission",
            OperationType="add",
            UserIds=[self.accts["security"].id],
        )
        self.resources["sandbox.decoy.snapshot.shared"] = f"arn:aws:ec2:{r0}::snapshot/{snapshot}"
        rds = stg.client("rds", r0)
        shared = rds.create_db_snapshot(
            DBInstanceIdentifier="staging-reporting", DBSnapshotIdentifier="staging-reporting-for-prod"
        )["DBSnapshot"]["DBSnapshotArn"]
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="staging-reporting-for-prod",
            AttributeName="restore",
            ValuesToAdd=[self.accts["prod"].id],
        )
        self.resources["staging.decoy.rds.snapshot.shared"] = shared

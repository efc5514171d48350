"""Builds the simulated estate described in :mod:`inventory.simulation.estate`. No Django here.

Seeding is not production code: it talks to moto with plain boto3 clients. It runs serially on
purpose: moto draws every generated id (VPC, instance, key...) from one seeded random generator, so
a fixed call order is what makes the ids repeat from one run to the next.

Speed (moto answers a light call in ~6.5 ms; a boto3 client costs ~20 ms of CPU to create): one
boto3 session shares its loaded service models with all clients, a client is created once per
(account, service, region), and instances are launched in batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import re
import time
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    CORE_ACCOUNTS,
    HUB_ACCOUNT_KEY,
    HUB_ROLE_NAME,
    MANAGEMENT_DISPLAY_NAME,
    OUTSIDE_ACCOUNT_ID,
    AccountInfo,
    Estate,
    EstateSpec,
    Exposed,
    HubCredentials,
    IamStory,
    Planted,
)

log = logging.getLogger(__name__)

SEED_ROLE = "OrganizationAccountAccessRole"  # created by Organizations in every new account
CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=120)
AMI = "ami-0c02fb55956c7d316"  # any id: moto accepts it without default AMIs loaded
OLD_DAYS = 400  # age of the "old" access key

MANAGED = "arn:aws:iam::aws:policy/"
READ_ROLE_POLICIES = (MANAGED + "SecurityAudit", MANAGED + "job-function/ViewOnlyAccess")
SUPPORT_POLICY = MANAGED + "AWSSupportAccess"
LAMBDA_BASIC = MANAGED + "service-role/AWSLambdaBasicExecutionRole"
# CIS filters (and alarms) of prod's own single-region legacy trail: not a finding (a single-region
# trail is not what CIS monitoring is judged on; the organisation trail covers prod)
PROD_PARTIAL_CIS = ("RootAccountUsage", "ConsoleSignInWithoutMFA")
# CIS controls the organisation trail's log group lacks (planted on the management account)
ORG_MISSING_CIS = ("NetworkGatewayChanges", "VPCChanges")
# extra workload accounts: team names, each paired with an environment in turn
EXTRA_TEAMS = (
    "payments",
    "search",
    "mobile",
    "data",
    "platform",
    "billing",
    "media",
    "identity-api",
    "ml",
    "web",
)
EXTRA_ENVS = (
    ("dev", "Root/Workloads/NonProd"),
    ("staging", "Root/Workloads/NonProd"),
    ("prod", "Root/Workloads/Prod"),
)


@dataclasses.dataclass
class _Vpc:
    id: str
    region: str
    cidr: str
    public_subnets: list[str]
    private_subnets: list[str]
    default_sg: str
    nacl: str


class _Bound:
    """A shared boto3 client whose calls are made as one account (see ``Seeder.client``)."""

    def __init__(self, seeder: Seeder, client: Any, credentials: dict[str, str]) -> None:
        self._seeder = seeder
        self._client = client
        self._credentials = credentials
        self.meta = client.meta
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name.startswith("_") or not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            self._seeder.acting_as = self._credentials
            return method(*args, **kwargs)

        return call


class _Account:
    """One account: its (assumed-role) credentials and a way to call AWS as it."""

    def __init__(self, seeder: Seeder, key: str, account_id: str, credentials: dict[str, str]) -> None:
        self.seeder = seeder
        self.key = key
        self.id = account_id
        self.credentials = credentials

    def client(self, service: str, region: str | None = None) -> Any:
        return self.seeder.client(service, region or self.seeder.spec.home_region, self.credentials)

    def arn(self, service: str, resource: str, region: str = "") -> str:
        return f"arn:aws:{service}:{region}:{self.id}:{resource}"


class Seeder:
    """Builds one estate; ``run()`` returns its manifest. Use :func:`estate.seed`."""

    def __init__(self, endpoint_url: str, spec: EstateSpec) -> None:
        self.url = endpoint_url.rstrip("/")
        self.spec = spec
        self.session = boto3.session.Session()
        self.shared: dict[tuple[str, str], Any] = {}
        self.acting_as: dict[str, str] = _BOOTSTRAP_CREDENTIALS
        self.calls: Counter[str] = Counter()
        self.accts: dict[str, _Account] = {}
        self.info: dict[str, AccountInfo] = {}
        self.planted: list[Planted] = []
        self.exposed: list[Exposed] = []
        self.resources: dict[str, str] = {}
        self.notes: list[str] = []
        self.ous: dict[str, str] = {}
        self.scps: dict[str, str] = {}
        self.scp_targets: dict[str, list[str]] = {}  # target id -> SCP names attached to it
        self.used_regions: dict[str, set[str]] = {}
        self.missing_recorders: list[tuple[str, str]] = []
        self.org_id = ""
        self.trail_arn = ""
        self.story: IamStory | None = None
        self.cis_done: dict[str, set[str]] = {}  # account key -> CIS metric filters it has

    # ------------------------------------------------------------------------------ plumbing
    def client(self, service: str, region: str, credentials: dict[str, str]) -> Any:
        """A client for ``service`` in ``region`` that acts as the owner of ``credentials``.

        Creating a boto3 client costs ~20 ms of CPU (far more on a busy machine), and an estate
        needs one per account, service and region: hundreds. moto identifies the account by the
        access key in the request's Authorization header alone (it verifies no signature), so
        seeding keeps one client per (service, region) and puts the acting account's access key
        and session token into each request just before it is sent.
        """
        key = (service, region)
        if key not in self.shared:
            client = self.session.client(
                service, region_name=region, endpoint_url=self.url, config=CONFIG, **_BOOTSTRAP_CREDENTIALS
            )
            client.meta.events.register("before-send", self._act_as)
            client.meta.events.register("after-call", self._count)
            self.shared[key] = client
        return _Bound(self, self.shared[key], credentials)

    def _act_as(self, request: Any, **_: Any) -> None:
        credentials = self.acting_as
        headers = request.headers
        authorization = headers.get("Authorization")
        if authorization:
            if isinstance(authorization, bytes):
                authorization = authorization.decode()
            headers["Authorization"] = _CREDENTIAL_RE.sub(
                f"Credential={credentials['aws_access_key_id']}/", authorization, count=1
            )
        if "X-Amz-Security-Token" in headers:
            del headers["X-Amz-Security-Token"]
        if credentials.get("aws_session_token"):
            headers["X-Amz-Security-Token"] = credentials["aws_session_token"]
        # s3control: botocore prefixes the host with the account id (<id>.127.0.0.1), which
        # does not resolve; the local endpoint serves it without the prefix
        request.url = _ACCOUNT_HOST_RE.sub("://", request.url, count=1)

    def _count(self, model: Any = None, **_: Any) -> None:
        self.calls[getattr(model, "name", "?")] += 1

    def _moto_api(self, path: str) -> bool:
        request = urllib.request.Request(f"{self.url}{path}", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
                response.read()
            return True
        except urllib.error.HTTPError:
            return False

    def _set_clock(self, offset_seconds: int) -> bool:
        """Shift moto's clock (inventory/simulation/moto_main.py); False if this server cannot."""
        return self._moto_api(f"/moto-api/skyledger/clock?offset_seconds={offset_seconds}")

    @contextlib.contextmanager
    def _days_ago(self, days: int) -> Iterator[bool]:
        shifted = self._set_clock(-days * 86400)
        try:
            yield shifted
        finally:
            if shifted:
                self._set_clock(0)

    def _assume(self, account_id: str, role: str, via: dict[str, str] | None = None) -> dict[str, str]:
        sts = self.client("sts", self.spec.home_region, via or _BOOTSTRAP_CREDENTIALS)
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="estate-seed"
        )["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def plant(self, check_id: str, acct: _Account, subject: str, note: str, region: str = "") -> None:
        self.planted.append(Planted(check_id, acct.id, subject, note, region))

    def _use_region(self, acct: _Account, region: str) -> None:
        self.used_regions.setdefault(acct.key, set()).add(region)

    def _region(self, index: int) -> str:
        """The index-th region of the spec (folding onto the last one when there are fewer)."""
        return self.spec.regions[min(index, len(self.spec.regions) - 1)]

    def _bucket_name(self, acct: _Account, purpose: str) -> str:
        return f"{self.spec.company}-{purpose}-{acct.id}"[:63]

    # ------------------------------------------------------------------------------ the run
    def run(self) -> Estate:
        started = time.monotonic()
        if not self._moto_api("/moto-api/reset"):
            raise RuntimeError(f"{self.url} is not a moto server (POST /moto-api/reset failed)")
        self._warm_up()
        self._moto_api("/moto-api/reset")
        self._moto_api(f"/moto-api/seed?a={self.spec.seed}")
        self._organization()
        self._log_archive()
        for key in ["org-root", *CORE_ACCOUNTS, *self._extra_keys()]:
            self._baseline(self.accts[key])
        self._hub_role()
        self._identity()
        self._story_and_staging()
        self._prod()
        self._dev()
        self._sandbox()
        self._operations_and_security_workloads()
        self._management_trail()
        for key in self._extra_keys():
            self._extra_workload(self.accts[key])
        self._management_mistake()
        self._cis_alarm_gaps()
        self._recorder_gaps()
        hub = self._hub_credentials()
        seconds = round(time.monotonic() - started, 2)
        log.info(
            "seeded %d accounts in %.1f s with %d calls", len(self.accts), seconds, sum(self.calls.values())
        )
        assert self.story is not None
        return Estate(
            endpoint_url=self.url,
            spec=self.spec,
            organization_id=self.org_id,
            management_account_id=self.accts["org-root"].id,
            hub=hub,
            accounts=dict(self.info),
            ous=dict(self.ous),
            scps=dict(self.scps),
            iam_story=self.story,
            organization_trail_arn=self.trail_arn,
            resources=dict(self.resources),
            planted=list(self.planted),
            exposed=list(self.exposed),
            notes=list(self.notes),
            seconds=seconds,
        )

    def _warm_up(self) -> None:
        """Touch every service once before seeding the random generator.

        moto imports a service's code on its first request, and some modules draw random numbers
        when imported: on a fresh server those draws would shift every id generated afterwards.
        """
        for service, operation, kwargs in _WARM_UP:
            regions = self.spec.regions if service in ("ec2", "s3") else (self.spec.home_region,)
            for region in regions:
                with contextlib.suppress(ClientError, BotoCoreError):
                    getattr(self.client(service, region, _BOOTSTRAP_CREDENTIALS), operation)(**kwargs)

    def _extra_keys(self) -> list[str]:
        return [f"workload-{n:02d}" for n in range(1, self.spec.extra_accounts + 1)]

    # ------------------------------------------------------------------------------ organisation
    def _organization(self) -> None:
        spec = self.spec
        mgmt = _Account(
            self, "org-root", spec.management_account_id, self._assume(spec.management_account_id, SEED_ROLE)
        )
        self.accts["org-root"] = mgmt
        org = mgmt.client("organizations")
        self.org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        self.ous["Root"] = root_id
        for path in [
            "Root/Security",
            "Root/Workloads",
            "Root/Workloads/NonProd",
            "Root/Workloads/Prod",
            "Root/Sandbox",
        ]:
            parent, name = path.rsplit("/", 1)
            ou = org.create_organizational_unit(ParentId=self.ous[parent], Name=name)["OrganizationalUnit"]
            self.ous[path] = ou["Id"]

        # moto attaches FullAWSAccess to the root and to every account it creates, as AWS does
        self.scps["FullAWSAccess"] = "p-FullAWSAccess"
        self.scp_targets[root_id] = ["FullAWSAccess"]
        self.scp_targets[mgmt.id] = ["FullAWSAccess"]
        master_email = org.describe_organization()["Organization"].get("MasterAccountEmail", "")
        self.info["org-root"] = AccountInfo(
            "org-root", mgmt.id, MANAGEMENT_DISPLAY_NAME, "master", master_email, "org-root", "Root"
        )

        accounts: list[tuple[str, str, str, str]] = [
            (k, k, env, ou) for k, (env, ou) in CORE_ACCOUNTS.items()
        ]
        for n, key in enumerate(self._extra_keys()):
            env, ou = EXTRA_ENVS[n % len(EXTRA_ENVS)]
            team = EXTRA_TEAMS[(n // len(EXTRA_ENVS)) % len(EXTRA_TEAMS)]
            cycle = n // (len(EXTRA_ENVS) * len(EXTRA_TEAMS))
            name = f"{team}-{env}" + (f"-{cycle + 1}" if cycle else "")
            accounts.append((key, name, env, ou))
        for key, name, env, ou_path in accounts:
            email = f"aws+{name}@{self.spec.email_domain}"
            status = org.create_account(AccountName=name, Email=email)["CreateAccountStatus"]
            account_id = status["AccountId"]
            org.move_account(
                AccountId=account_id, SourceParentId=root_id, DestinationParentId=self.ous[ou_path]
            )
            self.scp_targets[account_id] = ["FullAWSAccess"]
            self.accts[key] = _Account(
                self, key, account_id, self._assume(account_id, SEED_ROLE, mgmt.credentials)
            )
            self.info[key] = AccountInfo(key, account_id, name, name, email, env, ou_path)

        regions = list(spec.regions)
        policies = {
            "DenyLeaveOrganization": (
                "Members cannot leave the organisation.",
                docs.scp_deny_leave_org(),
                ["Root"],
            ),
            "ProtectSecurityServices": (
                "CloudTrail, GuardDuty, Config, Security Hub and Access Analyzer cannot be switched off.",
                docs.scp_protect_security_services(),
                ["Root"],
            ),
            "RegionAllowList": (
                f"Regional services only in {', '.join(regions)}.",
                docs.scp_region_allow_list(regions),
                ["Root/Workloads", "Root/Sandbox"],
            ),
        }
        for name, (description, content, targets) in policies.items():
            policy_id = org.create_policy(
                Name=name, Description=description, Type="SERVICE_CONTROL_POLICY", Content=json.dumps(content)
            )["Policy"]["PolicySummary"]["Id"]
            self.scps[name] = policy_id
            for path in targets:
                org.attach_policy(PolicyId=policy_id, TargetId=self.ous[path])
                self.scp_targets.setdefault(self.ous[path], []).append(name)

        for key, info in self.info.items():
            self.info[key] = dataclasses.replace(info, scps=tuple(sorted(set(self._scps_applying(info)))))

    def _scps_applying(self, info: AccountInfo) -> list[str]:
        names = list(self.scp_targets.get(info.id, []))
        parts = info.ou_path.split("/")
        for depth in range(1, len(parts) + 1):
            names += self.scp_targets.get(self.ous["/".join(parts[:depth])], [])
        return names

    # ------------------------------------------------------------------------------ baseline
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
            acct, spec.read_role, docs.trust_account(hub_id, spec.external_id), READ_ROLE_POLICIES,
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

    def _role(
        self, acct: _Account, name: str, trust: dict[str, Any], managed: tuple[str, ...] = (),
        inline: dict[str, dict[str, Any]] | None = None, description: str = "",
    ) -> str:  # fmt: skip
        iam = acct.client("iam")
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=description
        )["Role"]["Arn"]
        for policy_arn in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        for policy_name, document in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        return arn

    def _policy(self, acct: _Account, name: str, document: dict[str, Any], description: str = "") -> str:
        return acct.client("iam").create_policy(
            PolicyName=name, PolicyDocument=json.dumps(document), Description=description
        )["Policy"]["Arn"]

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

    # ------------------------------------------------------------------------------ identity
    def _identity(self) -> None:
        """Every IAM user and group of the company, with a believable mix of mistakes."""
        idn = self.accts["identity"]
        iam = idn.client("iam")
        mfa_policy = self._policy(
            idn, "EnforceMFA", docs.enforce_mfa(), "Deny everything but MFA set-up without MFA"
        )
        self.resources["identity.policy.enforce_mfa"] = mfa_policy

        def group(name: str, *policy_arns: str) -> str:
            arn = iam.create_group(GroupName=name)["Group"]["Arn"]
            for policy_arn in policy_arns:
                iam.attach_group_policy(GroupName=name, PolicyArn=policy_arn)
            return arn

        admins = group("Admins", MANAGED + "AdministratorAccess", mfa_policy)
        marketing_policy = self._policy(
            idn, "MarketingReadCampaigns",
            docs.allow(["s3:GetObject", "s3:ListBucket"], f"arn:aws:s3:::{self.spec.company}-campaigns-*"),
        )  # fmt: skip
        group("Marketing", marketing_policy)
        deploy_roles = [f"arn:aws:iam::{self.accts[k].id}:role/Deploy" for k in ("staging", "prod")]
        group(
            "Deployers",
            self._policy(idn, "DeployersAssumeDeployRole", docs.allow("sts:AssumeRole", deploy_roles)),
        )
        notaction = self._policy(idn, "OperatorsPowerUser", docs.power_user_not_action())
        assume_any = self._policy(idn, "CrossAccountAssumeAny", docs.allow("sts:AssumeRole", "*"))
        operators = group("Operators", notaction, assume_any)
        escalate = self._policy(idn, "BuildRunnerPassRole", docs.pass_role_run_instances())
        builders = group("Builders", escalate)
        self.plant(
            "iam.admin_policy",
            idn,
            admins,
            "AdministratorAccess attached to group Admins (alice.admin, bob.admin).",
        )
        self.plant(
            "iam.blanket_managed_policy",
            idn,
            admins,
            "AWS managed AdministratorAccess attached to group Admins.",
        )
        self.plant(
            "iam.notaction_allow",
            idn,
            notaction,
            "Allow with NotAction iam:*, organizations:*, account:*, sts:*.",
        )
        self.plant(
            "iam.assume_any_role", idn, assume_any, "Allows sts:AssumeRole on Resource '*' (group Operators)."
        )
        # the role build-runner can pass to an instance it launches: admin, so it can become admin
        build_admin = self._role(
            idn, "BuildBoxAdmin", docs.trust_service("ec2.amazonaws.com"), (MANAGED + "AdministratorAccess",),
            description="Build machines (temporary, they said)",
        )  # fmt: skip
        iam.create_instance_profile(InstanceProfileName="BuildBoxAdmin")
        iam.add_role_to_instance_profile(InstanceProfileName="BuildBoxAdmin", RoleName="BuildBoxAdmin")
        self.plant(
            "iam.admin_policy", idn, build_admin, "AdministratorAccess attached to role BuildBoxAdmin."
        )
        self.plant(
            "iam.blanket_managed_policy",
            idn,
            build_admin,
            "AWS managed AdministratorAccess on role BuildBoxAdmin.",
        )
        self.plant(
            "iam.privilege_escalation", idn, f"arn:aws:iam::{idn.id}:user/build-runner",
            "iam:PassRole on '*' plus ec2:RunInstances (group Builders, policy BuildRunnerPassRole): it can launch "
            "an instance with role BuildBoxAdmin (AdministratorAccess).",
        )  # fmt: skip
        self.resources.update(
            {
                "identity.role.build_admin": build_admin,
                "identity.group.admins": admins,
                "identity.group.operators": operators,
                "identity.group.builders": builders,
            }
        )

        def user(name: str, groups: tuple[str, ...] = (), console: bool = False, mfa: bool = False) -> str:
            return self._user(idn, name, groups, console=console, mfa=mfa)

        def key(name: str, use: bool = True) -> str:
            return self._access_key(idn, name, use=use)

        for admin in ("alice.admin", "bob.admin"):
            user(admin, ("Admins",), console=True, mfa=True)
        marketing = user("marketing.console", ("Marketing",), console=True)
        self.plant("iam.console_user_no_mfa", idn, marketing, "Console password, no MFA device.")
        ci = user("ci-deploy", ("Deployers",))
        keys = [key("ci-deploy"), key("ci-deploy")]
        self.plant("iam.multiple_active_keys", idn, ci, f"Two active access keys: {', '.join(keys)}.")
        with self._days_ago(OLD_DAYS) as shifted:
            old = user("legacy-batch")
            old_key = key("legacy-batch")
        if shifted:
            self.plant(
                "iam.key_rotation",
                idn,
                old,
                f"Access key {old_key} created {OLD_DAYS} days ago, never rotated.",
            )
            self.plant(
                "iam.credentials_unused", idn, old, f"Access key {old_key} last used {OLD_DAYS} days ago."
            )
        else:
            self.notes.append(
                "This moto server cannot shift its clock: legacy-batch's access key is new, not old."
            )
        reporting = user("reporting-bot")
        key("reporting-bot")
        reporting_policy = self._policy(
            idn,
            "ReportingS3Read",
            docs.allow("s3:GetObject", f"arn:aws:s3:::{self.spec.company}-reports-*/*"),
        )
        iam.attach_user_policy(UserName="reporting-bot", PolicyArn=reporting_policy)
        self.plant(
            "iam.user_direct_policy", idn, reporting, "Policy ReportingS3Read attached to the user directly."
        )
        new_hire = user("new.hire", ("Marketing",), console=True, mfa=True)
        unused_key = key("new.hire", use=False)
        self.plant(
            "iam.key_never_used", idn, new_hire, f"Access key {unused_key} created with the user, never used."
        )
        user("ops-automation", ("Operators",))
        key("ops-automation")
        user("build-runner", ("Builders",))
        key("build-runner")

    def _user(
        self,
        acct: _Account,
        name: str,
        groups: tuple[str, ...] = (),
        *,
        console: bool = False,
        mfa: bool = False,
    ) -> str:
        iam = acct.client("iam")
        arn = str(iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "company"}])["User"]["Arn"])
        for group_name in groups:
            iam.add_user_to_group(GroupName=group_name, UserName=name)
        if console:
            iam.create_login_profile(
                UserName=name, Password="Correct-Horse-Battery-9", PasswordResetRequired=False
            )
        if mfa:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"][
                "SerialNumber"
            ]
            iam.enable_mfa_device(
                UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
            )
        self.resources[f"{acct.key}.user.{name}"] = arn
        return arn

    def _access_key(self, acct: _Account, name: str, use: bool = True) -> str:
        created = acct.client("iam").create_access_key(UserName=name)["AccessKey"]
        if use:  # a request signed with the key sets its last-used date
            credentials = {
                "aws_access_key_id": created["AccessKeyId"],
                "aws_secret_access_key": created["SecretAccessKey"],
            }
            self.client("sts", self.spec.home_region, credentials).get_caller_identity()
        return str(created["AccessKeyId"])

    def _story_and_staging(self) -> None:
        """Developer -> StagingReadOnly -> CompanyAssumeRoleStagingReadOnly -> staging CompanyReadOnly."""
        idn, stg = self.accts["identity"], self.accts["staging"]
        iam = idn.client("iam")
        role_arn = f"arn:aws:iam::{stg.id}:role/CompanyReadOnly"
        assume_policy = self._policy(
            idn, "CompanyAssumeRoleStagingReadOnly", docs.allow("sts:AssumeRole", role_arn, sid="AssumeStagingReadOnly"),
            "Lets the group assume the read-only role in staging",
        )  # fmt: skip
        group_arn = iam.create_group(GroupName="StagingReadOnly")["Group"]["Arn"]
        iam.attach_group_policy(GroupName="StagingReadOnly", PolicyArn=assume_policy)
        iam.attach_group_policy(
            GroupName="StagingReadOnly", PolicyArn=self.resources["identity.policy.enforce_mfa"]
        )
        developer = self._user(idn, "Developer", ("StagingReadOnly",), console=True, mfa=True)
        analyst = self._user(idn, "data-analyst", ("StagingReadOnly",))
        self._access_key(idn, "data-analyst")
        self.plant(
            "iam.user_no_mfa",
            idn,
            analyst,
            "Programmatic user without MFA in group StagingReadOnly (EnforceMFA applies).",
        )
        created = self._role(
            stg, "CompanyReadOnly", docs.trust_account(idn.id), (MANAGED + "ReadOnlyAccess",),
            description="Read-only access for engineers from the identity account",
        )  # fmt: skip
        assert created == role_arn
        self.plant(
            "iam.blanket_managed_policy", stg, role_arn, "AWS managed ReadOnlyAccess on role CompanyReadOnly."
        )
        self.story = IamStory(
            identity_account_id=idn.id,
            staging_account_id=stg.id,
            user_arn=developer,
            group_arn=group_arn,
            assume_policy_arn=assume_policy,
            mfa_policy_arn=self.resources["identity.policy.enforce_mfa"],
            role_arn=role_arn,
        )
        for key in ("staging", "prod"):
            self._role(
                self.accts[key], "Deploy", docs.trust_account(idn.id),
                inline={"DeployApplications": docs.allow(
                    ["ecs:UpdateService", "ecs:DescribeServices", "lambda:UpdateFunctionCode"], "*")},
                description="CI deployments from the identity account",
            )  # fmt: skip
        self._staging()

    # ------------------------------------------------------------------------------ networks
    def _vpc(
        self, acct: _Account, region: str, name: str, cidr_prefix: str, *, public: int = 0, private: int = 1,
        nat: bool = False, flow_logs: bool = True, harden: bool = True,
    ) -> _Vpc:  # fmt: skip
        """A VPC with ``public`` subnets (routed to an internet gateway) and ``private`` ones."""
        ec2 = acct.client("ec2", region)
        cidr = f"{cidr_prefix}.0.0/16"
        tags = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}]
        vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tags)["Vpc"]["VpcId"]
        azs = [f"{region}a", f"{region}b"]

        def subnet(index: int, kind: str, az: str) -> str:
            third = index if kind == "public" else 10 + index
            tag = [{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": f"{name}-{kind}-{az[-1]}"}]}]
            return str(
                ec2.create_subnet(
                    VpcId=vpc_id,
                    CidrBlock=f"{cidr_prefix}.{third}.0/24",
                    AvailabilityZone=az,
                    TagSpecifications=tag,
                )["Subnet"]["SubnetId"]
            )

        publics = [subnet(i, "public", azs[i % 2]) for i in range(public)]
        privates = [subnet(i, "private", azs[i % 2]) for i in range(private)]
        if publics:
            igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
            public_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
            ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
            for subnet_id in publics:
                ec2.associate_route_table(RouteTableId=public_rt, SubnetId=subnet_id)
                ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
            if nat and privates:
                eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
                nat_id = ec2.create_nat_gateway(SubnetId=publics[0], AllocationId=eip)["NatGateway"][
                    "NatGatewayId"
                ]
                private_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
                ec2.create_route(
                    RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id
                )
                for subnet_id in privates:
                    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=subnet_id)
        sg = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]
        # CIS 5.5: the default security group admits nothing and sends nothing
        if sg["IpPermissions"]:
            ec2.revoke_security_group_ingress(GroupId=sg["GroupId"], IpPermissions=sg["IpPermissions"])
        if sg["IpPermissionsEgress"]:
            ec2.revoke_security_group_egress(GroupId=sg["GroupId"], IpPermissions=sg["IpPermissionsEgress"])
        acl = ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}]
        )["NetworkAcls"][0]["NetworkAclId"]
        if harden:
            # web ports, return traffic on Linux ephemeral ports (above 3389), and the VPC itself
            rules = [(100, "6", 443, 443, "0.0.0.0/0"), (110, "6", 80, 80, "0.0.0.0/0"),
                     (120, "6", 32768, 65535, "0.0.0.0/0"), (130, "-1", 0, 0, cidr)]  # fmt: skip
            for number, protocol, low, high, source in rules:
                entry = {
                    "NetworkAclId": acl, "RuleNumber": number, "Protocol": protocol, "RuleAction": "allow",
                    "Egress": False, "CidrBlock": source,
                }  # fmt: skip
                if protocol != "-1":
                    entry["PortRange"] = {"From": low, "To": high}
                (ec2.replace_network_acl_entry if number == 100 else ec2.create_network_acl_entry)(**entry)
        else:
            self.plant(
                "ec2.nacl_admin_ports_open", acct, acl,
                f"Default network ACL of {name} still allows all traffic from 0.0.0.0/0 (22, 3389).", region,
            )  # fmt: skip
        if flow_logs:
            answer = ec2.create_flow_logs(
                ResourceIds=[vpc_id],
                ResourceType="VPC",
                TrafficType="ALL",
                LogDestinationType="s3",
                LogDestination=f"arn:aws:s3:::{self.resources['operations.bucket.flow_logs']}",
            )
            if answer.get("Unsuccessful"):  # reported in the answer, not raised
                raise RuntimeError(f"flow logs for {vpc_id}: {answer['Unsuccessful']}")
        else:
            self.plant("vpc.flow_logs", acct, vpc_id, f"VPC {name} has no flow logs.", region)
        self._use_region(acct, region)
        self.resources[f"{acct.key}.vpc.{name}"] = vpc_id
        return _Vpc(vpc_id, region, cidr, publics, privates, sg["GroupId"], acl)

    def _sg(
        self, acct: _Account, vpc: _Vpc, name: str, rules: list[dict[str, Any]], description: str = ""
    ) -> str:
        ec2 = acct.client("ec2", vpc.region)
        group_id = str(
            ec2.create_security_group(GroupName=name, Description=description or name, VpcId=vpc.id)[
                "GroupId"
            ]
        )
        if rules:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=rules)
        self.resources[f"{acct.key}.sg.{name}"] = group_id
        return group_id

    def _instances(
        self, acct: _Account, region: str, name: str, subnet: str, groups: list[str], count: int = 1,
        imdsv2: bool = True,
    ) -> list[dict[str, Any]]:  # fmt: skip
        ec2 = acct.client("ec2", region)
        launched = ec2.run_instances(
            ImageId=AMI, InstanceType="t3.micro", MinCount=count, MaxCount=count, SubnetId=subnet,
            SecurityGroupIds=groups,
            MetadataOptions={"HttpTokens": "required" if imdsv2 else "optional", "HttpEndpoint": "enabled"},
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )["Instances"]  # fmt: skip
        if not imdsv2:
            for instance in launched:
                self.plant(
                    "ec2.imdsv2", acct, instance["InstanceId"], f"Instance {name} allows IMDSv1 (HttpTokens optional).",
                    region,
                )  # fmt: skip
        self._use_region(acct, region)
        return list(launched)

    @staticmethod
    def _tcp(port: int, to: int | None = None, cidr: str = "0.0.0.0/0", group: str = "") -> dict[str, Any]:
        rule: dict[str, Any] = {
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": to if to is not None else port,
        }
        if group:
            rule["UserIdGroupPairs"] = [{"GroupId": group}]
        else:
            rule["IpRanges"] = [{"CidrIp": cidr, "Description": "internet" if cidr == "0.0.0.0/0" else ""}]
        return rule

    def _bucket(
        self, acct: _Account, region: str, name: str, *, encrypted: bool = True, block_public: bool = True,
        policy: dict[str, Any] | None = None, acl: str = "",
    ) -> str:  # fmt: skip
        s3 = acct.client("s3", region)
        create: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**create)
        if encrypted:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
            )
        if block_public:
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
                },
            )  # fmt: skip
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy or docs.bucket_policy(name)))
        if acl:
            s3.put_bucket_acl(Bucket=name, ACL=acl)
        return name

    def _kms_key(self, acct: _Account, region: str, alias: str, rotation: bool = True) -> str:
        kms = acct.client("kms", region)
        arn = str(
            kms.create_key(Description=alias, Tags=[{"TagKey": "Name", "TagValue": alias}])["KeyMetadata"][
                "Arn"
            ]
        )
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=arn)
        if rotation:
            kms.enable_key_rotation(KeyId=arn)
        else:
            self.plant(
                "kms.rotation", acct, arn, f"Customer managed key alias/{alias} has rotation off.", region
            )
        self.resources[f"{acct.key}.kms.{alias}"] = arn
        return arn

    def _lambda(self, acct: _Account, region: str, name: str, public: bool = False) -> str:
        role_name = f"{name}-exec"
        role = self._role(acct, role_name, docs.trust_service("lambda.amazonaws.com"), (LAMBDA_BASIC,))
        client = acct.client("lambda", region)
        arn = str(
            client.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                Code={"ZipFile": _LAMBDA_ZIP}, Description=name, Timeout=10,
            )["FunctionArn"]
        )  # fmt: skip
        if public:
            client.add_permission(
                FunctionName=name,
                StatementId="AnyoneMayInvoke",
                Action="lambda:InvokeFunction",
                Principal="*",
            )
        self.resources[f"{acct.key}.lambda.{name}"] = arn
        self._use_region(acct, region)
        return arn

    # ------------------------------------------------------------------------------ workloads
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

    def _recorder_gaps(self) -> None:
        for key, region in self.missing_recorders:
            used = region in self.used_regions.get(key, set())
            note = "No Config recorder" + (
                " in a region holding resources." if used else " (no resources here)."
            )
            self.plant("config.recorder", self.accts[key], self.accts[key].id, note, region)

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


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


_LAMBDA_ZIP = _lambda_zip()
# Any key works for the first call: moto files unknown keys under its default account, and the
# assumed-role credentials it returns belong to the account named in the role ARN.
_BOOTSTRAP_CREDENTIALS = {"aws_access_key_id": "AKIASEEDESTATE000000", "aws_secret_access_key": "seed"}
# one cheap request per service the estate uses (see Seeder._warm_up)
_WARM_UP: list[tuple[str, str, dict[str, Any]]] = [
    ("sts", "get_caller_identity", {}),
    ("organizations", "describe_organization", {}),
    ("iam", "list_users", {}),
    ("s3", "list_buckets", {}),
    ("s3control", "get_public_access_block", {"AccountId": "123456789012"}),
    ("ec2", "describe_vpcs", {}),
    ("elbv2", "describe_load_balancers", {}),
    ("acm", "list_certificates", {}),
    ("rds", "describe_db_instances", {}),
    ("kms", "list_keys", {}),
    ("lambda", "list_functions", {}),
    ("sns", "list_topics", {}),
    ("sqs", "list_queues", {}),
    ("logs", "describe_log_groups", {}),
    ("cloudwatch", "describe_alarms", {}),
    ("cloudtrail", "describe_trails", {}),
    ("guardduty", "list_detectors", {}),
    ("securityhub", "describe_hub", {}),
    ("config", "describe_configuration_recorders", {}),
]
_CREDENTIAL_RE = re.compile(r"Credential=[^/,\s]+/")
_ACCOUNT_HOST_RE = re.compile(r"://\d{12}\.")

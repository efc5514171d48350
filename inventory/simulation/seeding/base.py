"""Seeding plumbing: clients that act as an account, the moto API, and shared resource helpers.

No Django here. See :mod:`inventory.simulation.seeding` for the order of things.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import re
import urllib.error
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

from inventory.aws.session import local_s3control_url
from inventory.simulation import documents as docs
from inventory.simulation.estate import (
    AccountInfo,
    EstateSpec,
    Exposed,
    IamStory,
    Planted,
)

log = logging.getLogger("inventory.simulation.seeding")

SEED_ROLE = "OrganizationAccountAccessRole"  # created by Organizations in every new account
CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=120)
AMI = "ami-0c02fb55956c7d316"  # any id: moto accepts it without default AMIs loaded
OLD_DAYS = 400  # age of the "old" access key

MANAGED = "arn:aws:iam::aws:policy/"
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

    def __init__(self, seeder: SeederBase, client: Any, credentials: dict[str, str]) -> None:
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

    def __init__(self, seeder: SeederBase, key: str, account_id: str, credentials: dict[str, str]) -> None:
        self.seeder = seeder
        self.key = key
        self.id = account_id
        self.credentials = credentials

    def client(self, service: str, region: str | None = None) -> Any:
        return self.seeder.client(service, region or self.seeder.spec.home_region, self.credentials)

    def arn(self, service: str, resource: str, region: str = "") -> str:
        return f"arn:aws:{service}:{region}:{self.id}:{resource}"


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


class SeederBase:
    """State and helpers shared by the seeding steps (each step is a mixin over this class)."""

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
        request.url = local_s3control_url(request.url)

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

    def _refresh_scps(self) -> None:
        """Each account's manifest entry lists the SCPs that apply to it now."""
        for key, info in self.info.items():
            self.info[key] = dataclasses.replace(info, scps=tuple(sorted(set(self._scps_applying(info)))))

    def _scps_applying(self, info: AccountInfo) -> list[str]:
        names = list(self.scp_targets.get(info.id, []))
        parts = info.ou_path.split("/")
        for depth in range(1, len(parts) + 1):
            names += self.scp_targets.get(self.ous["/".join(parts[:depth])], [])
        return names

    def _use_region(self, acct: _Account, region: str) -> None:
        self.used_regions.setdefault(acct.key, set()).add(region)

    def _region(self, index: int) -> str:
        """The index-th region of the spec (folding onto the last one when there are fewer)."""
        return self.spec.regions[min(index, len(self.spec.regions) - 1)]

    def _bucket_name(self, acct: _Account, purpose: str) -> str:
        return f"{self.spec.company}-{purpose}-{acct.id}"[:63]

    def _extra_keys(self) -> list[str]:
        return [f"workload-{n:02d}" for n in range(1, self.spec.extra_accounts + 1)]

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

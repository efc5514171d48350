"""The simulated AWS estate: a deterministic AWS Organization seeded into a moto server. No Django here.

``seed(endpoint_url, spec)`` resets the server, builds an organisation that looks like a real
company's, and returns an :class:`Estate` manifest: the accounts, the credentials Skyledger runs
with, the IAM story, and exactly which misconfigurations were planted (``planted``, using the check
ids of CHECKS.md) and which resources are reachable from the internet (``exposed``). Tests of the
collectors, the checks, the IAM graph and the exposure analysis assert against the manifest:
every planted item is found, and everything else is clean.

The organisation (account key -> OU path):

- ``org-root`` (management; moto always names it "master"): the organisation, OUs, SCPs, the
  organisation CloudTrail trail and its CloudWatch CIS alarms. No workload resources.
- ``identity`` (Root/Security), named ``corp-directory``: every IAM user and group of the company.
- ``operations`` (Root/Security): the log archive (CloudTrail, Config and flow-log buckets).
- ``security`` (Root/Security): **Skyledger's home ("hub")**. Skyledger runs as the role
  ``SkyledgerHub`` of this account; :attr:`Estate.hub` holds that role's session credentials, which
  moto attributes to the security account (it picks the account from the access key).
- ``dev``, ``staging`` (Root/Workloads/NonProd), ``prod`` (Root/Workloads/Prod), ``sandbox``
  (Root/Sandbox), ``shared-services`` (directly under Root, outside every OU), and
  ``spec.extra_accounts`` more workload accounts (clean, for scale).
- Policy edge cases and organisation shapes (a Deny with NotAction, an SCP on a nested OU, the
  identity account under another name, an account outside every OU), each with a decoy: see
  :mod:`inventory.simulation.seeding.org_cases`.

Every account (the management account too) has the read role ``spec.read_role`` trusting the hub
account (with an ``sts:ExternalId`` condition when ``spec.external_id`` is set), with the inline
policy ``SkyledgerRead``: exactly the actions Skyledger's code declares it calls
(:func:`inventory.aws.rolepolicy.read_role_policy`, the policy committed as
``deploy/aws/read-role-policy.json``), all List/Read, no data-plane read. A security tool needs
configuration, not data: ``ReadOnlyAccess`` would let it read objects and items (and is itself a
finding, ``iam.blanket_managed_policy``), and even ``SecurityAudit`` + ``ViewOnlyAccess`` grant
hundreds of actions Skyledger never calls.

Every member has ``OrganizationAccountAccessRole``, trusting the management account's root with
``AdministratorAccess``, as Organizations creates it (moto creates the role without the policy:
seeding attaches it). It is an administrator role in every member, planted as such
(``iam.admin_policy``, ``iam.blanket_managed_policy``), and the way in from the management account
that the access paths show.

How the estate models the organisation-wide controls (what "clean" means here):

- CloudTrail: one organisation trail (multi-region, log validation, KMS, CloudWatch Logs) in the
  management account covers every member (``cloudtrail.multi_region`` is not planted for members;
  moto does not show members the organisation trail, so the check needs organisation facts).
- CloudWatch CIS alarms (CIS 4.1-4.15) are judged where the organisation trail delivers, in the
  management account: its log group lacks two of them (planted there, once). prod's own
  single-region legacy trail has a partial set, which CIS does not judge.
- GuardDuty, Security Hub, Config and EBS encryption by default are set per account and region.
- Default VPCs are deleted in every account and enabled region (sandbox keeps one in its home region,
  planted); every other VPC's default security group has no rules and its default network ACL is
  replaced by one that admits only 80, 443, ephemeral ports and the VPC itself.
- Root MFA: AWS lets a root user enable MFA only in the console; the estate stands for it with a
  virtual MFA device named ``root-account-mfa-device`` (sandbox has none; the management account's
  is virtual, not hardware: both planted). The launcher makes moto's account summary agree.
- ``exposed`` lists every planted way in, each with its vector. ``network``: what is *directly*
  reachable (a public address, a route to an internet gateway, and a security group and network ACL
  both admitting the ports from 0.0.0.0/0); instances behind the internet-facing load balancer are
  not listed; open groups on private instances are planted (``ec2.sg_*``) but not exposed. The
  other vectors (a Lambda function URL without auth, public resource policies of S3, SQS, SNS, KMS,
  ECR, Secrets Manager and Lambda, a public bucket ACL, public snapshots and AMIs, roles trusting
  anyone or an outside account) each stand beside a private decoy that looks alike but is narrowed
  by a condition (aws:PrincipalOrgID, a source ARN / account / VPC endpoint, an office IP range) or
  shared with one account of the organisation; :attr:`Estate.resources` names the decoys
  (``*.decoy.*``). moto implements every API these need.
- Not modelled (moto does not implement them): IAM Access Analyzer, Security Hub standards,
  account-level instance metadata defaults. Checks answer "unknown" there; nothing is planted.

The server must be started by :mod:`inventory.simulation.server` (it runs ``moto_main``): seeding
uses its clock offset for the old access key, and relies on its fixes to moto (see there). The IAM
story (Developer -> StagingReadOnly -> CompanyAssumeRoleStagingReadOnly -> staging CompanyReadOnly)
is in :attr:`Estate.iam_story`; notable resources by a stable key in :attr:`Estate.resources`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")
DEFAULT_MANAGEMENT_ACCOUNT_ID = "111122223333"
OUTSIDE_ACCOUNT_ID = "999988887777"  # a partner/vendor account outside the organisation
HUB_ACCOUNT_KEY = "security"
HUB_ROLE_NAME = "SkyledgerHub"
MANAGEMENT_DISPLAY_NAME = "org-root"

# key -> (environment, OU path) of the core accounts, in creation order
CORE_ACCOUNTS: dict[str, tuple[str, str]] = {
    "identity": ("identity", "Root/Security"),
    "operations": ("operations", "Root/Security"),
    "security": ("security", "Root/Security"),
    "dev": ("dev", "Root/Workloads/NonProd"),
    "staging": ("staging", "Root/Workloads/NonProd"),
    "prod": ("prod", "Root/Workloads/Prod"),
    "sandbox": ("sandbox", "Root/Sandbox"),
    # left directly under Root, outside every OU (org.account_outside_ou; see seeding/org_cases.py)
    "shared-services": ("other", "Root"),
}
# Core accounts whose AWS name is not their key: the identity account is called otherwise, so nothing
# can take it for the identity account by its name (the security team designates it).
CORE_NAMES: dict[str, str] = {"identity": "corp-directory"}


@dataclasses.dataclass(frozen=True)
class EstateSpec:
    """What to build. The defaults are the demo estate; tests may shrink regions and scale."""

    regions: tuple[str, ...] = DEFAULT_REGIONS
    extra_accounts: int = 0  # more (clean) workload accounts, for scale
    scale: int = 1  # multiplier of instances and buckets per account-region
    read_role: str = "SkyledgerReadOnly"
    external_id: str = ""
    management_account_id: str = DEFAULT_MANAGEMENT_ACCOUNT_ID
    seed: int = 42  # moto's random seed: same seed, same account and resource ids
    stray_region: str = "ap-southeast-2"  # one bucket lives here, outside the allow-list
    org_root_mistake: bool = False  # plant a workload bucket in the management account
    company: str = "company"  # prefix of bucket names (bucket names are global)
    email_domain: str = "example.com"

    def __post_init__(self) -> None:
        regions = tuple(self.regions)
        object.__setattr__(self, "regions", regions)
        if len(regions) < 2 or len(set(regions)) != len(regions):
            raise ValueError(
                "An estate needs at least two distinct regions (some mistakes live in a second one)."
            )
        if self.stray_region in regions:
            raise ValueError("stray_region must be outside the allowed regions.")
        if not (0 <= self.extra_accounts <= 500):
            raise ValueError("extra_accounts must be between 0 and 500.")
        if not (1 <= self.scale <= 50):
            raise ValueError("scale must be between 1 and 50.")
        if len(self.management_account_id) != 12 or not self.management_account_id.isdigit():
            raise ValueError("management_account_id must be 12 digits.")
        if not self.company.replace("-", "").isalnum() or self.company != self.company.lower():
            raise ValueError("company must be lowercase letters, digits and dashes (it names buckets).")

    @property
    def home_region(self) -> str:
        return self.regions[0]


@dataclasses.dataclass(frozen=True)
class AccountInfo:
    """One account of the organisation as the estate built it."""

    key: str  # "prod", "identity", "org-root", "workload-03"...
    id: str
    name: str  # our intended display name ("org-root" for the management account)
    aws_name: str  # the name AWS Organizations reports ("master" for the management account in moto)
    email: str
    env: str  # an accounts.choices.Environment value
    ou_path: str  # "Root/Workloads/Prod"
    scps: tuple[str, ...] = ()  # names of the SCPs that apply (direct, via each OU, via the root)


@dataclasses.dataclass(frozen=True)
class HubCredentials:
    """Skyledger's own credentials: the ``SkyledgerHub`` role session in the hub account."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    account_id: str
    role_arn: str

    def environ(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


@dataclasses.dataclass(frozen=True)
class IamStory:
    """Developer (identity) -> group StagingReadOnly -> policy -> role CompanyReadOnly (staging)."""

    identity_account_id: str
    staging_account_id: str
    user_arn: str  # arn:aws:iam::<identity>:user/Developer
    group_arn: str  # .../group/StagingReadOnly
    assume_policy_arn: str  # .../policy/CompanyAssumeRoleStagingReadOnly
    mfa_policy_arn: str  # .../policy/EnforceMFA (attached to the group)
    role_arn: str  # arn:aws:iam::<staging>:role/CompanyReadOnly (ReadOnlyAccess, trusts identity root)
    role_policy_arn: str = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@dataclasses.dataclass(frozen=True)
class Planted:
    """One deliberate misconfiguration that check ``check_id`` must report.

    ``subject`` is the resource's ARN where it has one, else its id (security group id, bucket
    name...), else the account id for account-level settings (with ``region`` set when the setting
    is regional).
    """

    check_id: str
    account_id: str
    subject: str
    note: str
    region: str = ""


class Exposed(NamedTuple):
    """One planted way into a resource (``vector``, as ``inventory.exposure.results.VECTORS``).

    ``network``: reachable from the internet (public address, a route to an internet gateway, and
    security group plus network ACL both admitting ``ports`` from 0.0.0.0/0). The other vectors
    (``function-url``, ``resource-policy``, ``acl``, ``sharing``, ``trust``) have no ports; ``note``
    says what opens the resource. A resource open in two ways is listed twice.
    """

    account_id: str
    region: str
    resource_id: str  # instance id, DB instance identifier, load balancer name, bucket name...
    ports: tuple[int, ...]
    arn: str = ""
    vector: str = "network"
    note: str = ""


@dataclasses.dataclass
class Estate:
    """The manifest of a seeded estate (``to_json`` / ``from_json`` round-trip it)."""

    endpoint_url: str
    spec: EstateSpec
    organization_id: str
    management_account_id: str
    hub: HubCredentials
    accounts: dict[str, AccountInfo]
    ous: dict[str, str]  # OU path -> OU id ("Root" -> r-...)
    scps: dict[str, str]  # SCP name -> policy id
    iam_story: IamStory
    organization_trail_arn: str
    resources: dict[str, str]  # notable resources by a stable key ("prod.alb" -> ARN...)
    planted: list[Planted]
    exposed: list[Exposed]
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # how long seeding took

    @property
    def hub_account_id(self) -> str:
        return self.hub.account_id

    @property
    def hub_credentials(self) -> HubCredentials:
        """Skyledger's own credentials (the name the rest of the code base uses for ``hub``)."""
        return self.hub

    def account(self, key: str) -> AccountInfo:
        return self.accounts[key]

    def account_by_id(self, account_id: str) -> AccountInfo:
        for info in self.accounts.values():
            if info.id == account_id:
                return info
        raise KeyError(account_id)

    def read_role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.spec.read_role}"

    def planted_for(self, check_id: str) -> list[Planted]:
        return [p for p in self.planted if p.check_id == check_id]

    def exposed_by(self, *vectors: str) -> list[Exposed]:
        """The planted ways in of these vectors."""
        return [e for e in self.exposed if e.vector in vectors]

    def decoys(self) -> dict[str, str]:
        """The private look-alikes (stable key -> ARN) that must never be reported exposed."""
        return {k: v for k, v in self.resources.items() if ".decoy." in k}

    def environ(self) -> dict[str, str]:
        """The environment the web and worker processes need to reach this estate as Skyledger."""
        env = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **self.hub.environ(),
            "AWS_DEFAULT_REGION": self.spec.home_region,
            "SKYLEDGER_HOME_REGION": self.spec.home_region,
            "SKYLEDGER_READ_ROLE": self.spec.read_role,
            "SKYLEDGER_ALLOWED_REGIONS": ",".join(self.spec.regions),
        }
        if self.spec.external_id:
            env["SKYLEDGER_EXTERNAL_ID"] = self.spec.external_id
        return env

    # ------------------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["exposed"] = [e._asdict() for e in self.exposed]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estate:
        spec = dict(data["spec"])
        spec["regions"] = tuple(spec["regions"])
        return cls(
            endpoint_url=data["endpoint_url"],
            spec=EstateSpec(**spec),
            organization_id=data["organization_id"],
            management_account_id=data["management_account_id"],
            hub=HubCredentials(**data["hub"]),
            accounts={
                key: AccountInfo(**{**value, "scps": tuple(value.get("scps", ()))})
                for key, value in data["accounts"].items()
            },
            ous=dict(data["ous"]),
            scps=dict(data["scps"]),
            iam_story=IamStory(**data["iam_story"]),
            organization_trail_arn=data["organization_trail_arn"],
            resources=dict(data["resources"]),
            planted=[Planted(**p) for p in data["planted"]],
            exposed=[Exposed(**{**e, "ports": tuple(e["ports"])}) for e in data["exposed"]],
            notes=list(data.get("notes", [])),
            seconds=float(data.get("seconds", 0.0)),
        )

    @classmethod
    def from_json(cls, text: str) -> Estate:
        return cls.from_dict(json.loads(text))


def seed(endpoint_url: str, spec: EstateSpec | None = None) -> Estate:
    """Reset the moto server at ``endpoint_url`` and build the estate described by ``spec``.

    Deterministic: the same spec against the same server code gives the same account ids,
    resource ids and manifest (apart from credentials and timestamps).
    """
    from inventory.simulation.seeding import Seeder

    return Seeder(endpoint_url, spec or EstateSpec()).run()

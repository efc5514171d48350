"""The simulated estate, read back over HTTP through Skyledger's own access layer (the read roles)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from inventory.aws.rolepolicy import READ_POLICY_NAME, read_role_policy
from inventory.simulation.estate import (
    CORE_ACCOUNTS,
    CORE_NAMES,
    OUTSIDE_ACCOUNT_ID,
    Estate,
    EstateSpec,
    Exposed,
)
from tests.inventory.simulation.support import TEST_SPEC

pytestmark = pytest.mark.moto

Client = Callable[..., Any]
ADMIN_PORTS = (22, 3389)
DB_PORTS = (1433, 1521, 3306, 5432, 6379, 9200, 11211, 27017)


def planted(estate: Estate, check_id: str, account_key: str | None = None) -> set[tuple[str, str]]:
    """(subject, region) of what ``check_id`` must report (in one account when given)."""
    account_id = estate.account(account_key).id if account_key else None
    return {
        (p.subject, p.region)
        for p in estate.planted
        if p.check_id == check_id and (account_id is None or p.account_id == account_id)
    }


def subjects(estate: Estate, check_id: str, account_key: str) -> set[str]:
    return {subject for subject, _ in planted(estate, check_id, account_key)}


# --------------------------------------------------------------------------------- the manifest
def test_manifest_round_trips_through_json(estate: Estate) -> None:
    again = Estate.from_json(estate.to_json())
    assert again == estate
    assert isinstance(again.exposed[0], Exposed) and isinstance(again.exposed[0].ports, tuple)
    assert json.loads(again.to_json()) == json.loads(estate.to_json())


@pytest.mark.parametrize(
    "bad",
    [
        {"regions": ("us-east-1",)},
        {"regions": ("us-east-1", "us-east-1")},
        {"stray_region": "us-east-1"},
        {"extra_accounts": -1},
        {"scale": 0},
        {"management_account_id": "12345"},
        {"company": "Upper Case"},
    ],
)
def test_spec_rejects_what_cannot_be_built(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EstateSpec(**bad)


def test_manifest_names_every_account_with_its_environment_and_ou(estate: Estate) -> None:
    assert set(estate.accounts) == {"org-root", *CORE_ACCOUNTS}
    for key, (env, ou) in CORE_ACCOUNTS.items():
        info = estate.account(key)
        # the identity account is called otherwise: nothing may take it for the identity account by name
        assert (info.env, info.ou_path, info.name) == (env, ou, CORE_NAMES.get(key, key))
        assert len(info.id) == 12 and info.id.isdigit()
    root = estate.account("org-root")
    assert (root.name, root.aws_name, root.env, root.id) == (
        "org-root",
        "master",
        "org-root",
        estate.management_account_id,
    )
    assert len({info.id for info in estate.accounts.values()}) == len(estate.accounts)
    assert estate.hub_account_id == estate.account("security").id
    assert estate.environ()["SKYLEDGER_ALLOWED_REGIONS"] == "us-east-1,eu-west-1"
    assert estate.environ()["AWS_ACCESS_KEY_ID"] == estate.hub.access_key_id


# --------------------------------------------------------------------------------- organisation
def test_issue_25_shapes_are_in_the_organisation(estate: Estate, account_client: Any) -> None:
    org = account_client("org-root", "organizations")
    root = estate.ous["Root"]
    shared = estate.account("shared-services")
    assert [p["Id"] for p in org.list_parents(ChildId=shared.id)["Parents"]] == [root]
    planted = estate.planted_for("org.account_outside_ou")
    assert [(p.account_id, p.subject) for p in planted] == [(shared.id, shared.id)]
    nonprod = estate.ous["Root/Workloads/NonProd"]
    targets = org.list_targets_for_policy(PolicyId=estate.scps["DenyReleaseDeployer"])["Targets"]
    assert [t["TargetId"] for t in targets] == [nonprod]
    assert "DenyReleaseDeployer" in estate.account("dev").scps
    assert "DenyReleaseDeployer" not in estate.account("prod").scps
    assert estate.account("identity").aws_name == "corp-directory"
    iam = account_client("identity", "iam")
    assert [u["UserName"] for u in iam.get_group(GroupName="S3Readers")["Users"]] == ["s3.auditor"]
    # its NotAction deny leaves it S3 reads: nothing is planted on it (iam.admin_policy must stay quiet)
    assert not [p for p in estate.planted if "s3.auditor" in p.subject or "S3Readers" in p.subject]


def test_hub_credentials_act_in_the_security_account(estate: Estate) -> None:
    hub = estate.hub
    sts = boto3.client(
        "sts", endpoint_url=estate.endpoint_url, region_name="us-east-1",
        aws_access_key_id=hub.access_key_id, aws_secret_access_key=hub.secret_access_key,
        aws_session_token=hub.session_token,
    )  # fmt: skip
    identity = sts.get_caller_identity()
    assert identity["Account"] == estate.account("security").id
    assert ":assumed-role/SkyledgerHub/" in identity["Arn"]


def test_organization_matches_the_manifest(estate: Estate, account_client: Client) -> None:
    org = account_client("org-root", "organizations")
    described = org.describe_organization()["Organization"]
    assert (described["Id"], described["MasterAccountId"]) == (
        estate.organization_id,
        estate.management_account_id,
    )
    listed = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
    assert set(listed) == {info.id for info in estate.accounts.values()}
    for info in estate.accounts.values():
        assert listed[info.id]["Name"] == info.aws_name and listed[info.id]["Email"] == info.email
        parent = org.list_parents(ChildId=info.id)["Parents"][0]["Id"]
        assert parent == estate.ous[info.ou_path]
    scps = {p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert scps == estate.scps
    assert {"DenyLeaveOrganization", "RegionAllowList", "ProtectSecurityServices"} <= set(scps)
    allow_list = json.loads(org.describe_policy(PolicyId=scps["RegionAllowList"])["Policy"]["Content"])
    assert allow_list["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"] == sorted(
        TEST_SPEC.regions
    )
    targets = {t["Name"] for t in org.list_targets_for_policy(PolicyId=scps["RegionAllowList"])["Targets"]}
    assert targets == {"Workloads", "Sandbox"}
    assert estate.account("prod").scps == (
        "DenyLeaveOrganization",
        "FullAWSAccess",
        "ProtectSecurityServices",
        "RegionAllowList",
    )
    assert "RegionAllowList" not in estate.account("identity").scps


def test_every_account_has_the_read_role_trusting_the_hub(estate: Estate, account_client: Client) -> None:
    for key in estate.accounts:
        iam = account_client(key, "iam")
        role = iam.get_role(RoleName=estate.spec.read_role)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{estate.hub_account_id}:root"}, (
            key
        )
        attached = iam.list_attached_role_policies(RoleName=estate.spec.read_role)["AttachedPolicies"]
        assert attached == [], key  # no managed policy: least privilege, made from the declared calls
        inline = iam.get_role_policy(RoleName=estate.spec.read_role, PolicyName=READ_POLICY_NAME)
        document = inline["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        assert document == read_role_policy(), key


# --------------------------------------------------------------------------------- the IAM story
def _document(iam: Any, policy_arn: str) -> dict[str, Any]:
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=policy["DefaultVersionId"])[
        "PolicyVersion"
    ]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def test_iam_story_exists_with_exact_names_and_links(estate: Estate, account_client: Client) -> None:
    story = estate.iam_story
    identity, staging = estate.account("identity"), estate.account("staging")
    assert story.user_arn == f"arn:aws:iam::{identity.id}:user/Developer"
    assert story.group_arn == f"arn:aws:iam::{identity.id}:group/StagingReadOnly"
    assert story.assume_policy_arn == f"arn:aws:iam::{identity.id}:policy/CompanyAssumeRoleStagingReadOnly"
    assert story.role_arn == f"arn:aws:iam::{staging.id}:role/CompanyReadOnly"

    iam = account_client("identity", "iam")
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName="Developer")["Groups"]]
    assert groups == ["StagingReadOnly"]
    attached = {
        p["PolicyArn"]
        for p in iam.list_attached_group_policies(GroupName="StagingReadOnly")["AttachedPolicies"]
    }
    assert attached == {story.assume_policy_arn, story.mfa_policy_arn}
    statement = _document(iam, story.assume_policy_arn)["Statement"][0]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "sts:AssumeRole",
        story.role_arn,
    )
    deny = [s for s in _document(iam, story.mfa_policy_arn)["Statement"] if s["Effect"] == "Deny"][0]
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert "sts:GetSessionToken" in deny["NotAction"] and deny["Resource"] == "*"

    role_iam = account_client("staging", "iam")
    role = role_iam.get_role(RoleName="CompanyReadOnly")["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{identity.id}:root"}
    policies = role_iam.list_attached_role_policies(RoleName="CompanyReadOnly")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in policies] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_users_live_in_identity_except_the_planted_one(estate: Estate, account_client: Client) -> None:
    users = {u["UserName"] for u in account_client("identity", "iam").list_users()["Users"]}
    assert {"Developer", "alice.admin", "bob.admin", "marketing.console", "ci-deploy", "legacy-batch",
            "reporting-bot", "data-analyst", "new.hire", "ops-automation", "build-runner"} <= users  # fmt: skip
    outside = {
        user["Arn"]
        for key in estate.accounts
        if key != "identity"
        for user in account_client(key, "iam").list_users()["Users"]
    }
    assert (
        outside
        == subjects(estate, "iam.user_outside_identity", "dev")
        == {f"arn:aws:iam::{estate.account('dev').id}:user/legacy-deploy"}
    )


def test_the_old_key_is_old_and_unused_for_as_long(estate: Estate, account_client: Client) -> None:
    iam = account_client("identity", "iam")
    key = iam.list_access_keys(UserName="legacy-batch")["AccessKeyMetadata"][0]
    now = dt.datetime.now(dt.UTC)
    assert now - key["CreateDate"] > dt.timedelta(days=300)
    last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"][
        "LastUsedDate"
    ]
    assert now - last_used > dt.timedelta(days=300)
    fresh = iam.list_access_keys(UserName="ci-deploy")["AccessKeyMetadata"]
    assert len(fresh) == 2 and all(k["Status"] == "Active" for k in fresh)
    assert all(now - k["CreateDate"] < dt.timedelta(days=1) for k in fresh)


# --------------------------------------------------------------------------------- exposure
def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _routes_to_igw(ec2: Any, subnet_id: str, vpc_id: str) -> bool:
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])[
        "RouteTables"
    ]
    if not tables:
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
    return any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0" and str(r.get("GatewayId", "")).startswith("igw-")
        for t in tables
        for r in t["Routes"]
    )


def _open_ports(ec2: Any, group_ids: list[str]) -> set[int]:
    ports: set[int] = set()
    for group in ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]:
        for rule in group["IpPermissions"]:
            if any(r.get("CidrIp") == "0.0.0.0/0" for r in rule.get("IpRanges", [])):
                ports.update(range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1))
    return ports


def test_exposed_resources_meet_every_condition_of_reachability(
    estate: Estate, account_client: Client
) -> None:
    by_key = {info.id: key for key, info in estate.accounts.items()}
    assert {(by_key[e.account_id], e.ports) for e in estate.exposed_by("network")} == {
        ("dev", (22,)), ("prod", (80, 443)), ("staging", (5432,)),
    }  # fmt: skip
    for item in estate.exposed_by("network"):
        key = by_key[item.account_id]
        ec2 = account_client(key, "ec2", item.region)
        if item.resource_id.startswith("i-"):
            instance = _instance(ec2, item.resource_id)
            assert instance.get("PublicIpAddress")
            assert _routes_to_igw(ec2, instance["SubnetId"], instance["VpcId"])
            assert set(item.ports) <= _open_ports(ec2, [g["GroupId"] for g in instance["SecurityGroups"]])
        elif item.arn.startswith("arn:aws:rds:"):
            db = account_client(key, "rds", item.region).describe_db_instances(
                DBInstanceIdentifier=item.resource_id
            )
            db = db["DBInstances"][0]
            assert db["PubliclyAccessible"]
            subnets = [s["SubnetIdentifier"] for s in db["DBSubnetGroup"]["Subnets"]]
            assert all(_routes_to_igw(ec2, s, db["DBSubnetGroup"]["VpcId"]) for s in subnets)
            assert set(item.ports) <= _open_ports(
                ec2, [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]]
            )
        else:
            elb = account_client(key, "elbv2", item.region)
            lb = elb.describe_load_balancers(LoadBalancerArns=[item.arn])["LoadBalancers"][0]
            assert lb["Scheme"] == "internet-facing" and lb["LoadBalancerName"] == item.resource_id
            listeners = {ls["Port"] for ls in elb.describe_listeners(LoadBalancerArn=item.arn)["Listeners"]}
            assert listeners == set(item.ports)
            assert set(item.ports) <= _open_ports(ec2, lb["SecurityGroups"])


def test_open_groups_on_private_instances_are_not_exposed(estate: Estate, account_client: Client) -> None:
    regions = estate.spec.regions
    for key, resource, region in (
        ("prod", "prod.instance.rdp_private", regions[1]),
        ("dev", "dev.instance.worker_all_open", regions[0]),
    ):
        instance_id = estate.resources[resource]
        ec2 = account_client(key, "ec2", region)
        instance = _instance(ec2, instance_id)
        groups = [g["GroupId"] for g in instance["SecurityGroups"]]
        assert _open_ports(ec2, groups), "its security group is open to the internet"
        assert not instance.get("PublicIpAddress")
        assert not _routes_to_igw(ec2, instance["SubnetId"], instance["VpcId"])
        assert instance_id not in {e.resource_id for e in estate.exposed}


# --------------------------------------------------------------------------------- planted == found
def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else (value or {})


def _covers(low: Any, high: Any, port: int) -> bool:
    return low is None or (int(low) <= port <= int(high))


def _outside_findings(estate: Estate, key: str, client: Client) -> set[tuple[str, str, str]]:
    """The stray region, outside the allow-list (Skyledger collects it like any other): what is there
    is unexpected, and its resources are judged as anywhere; account settings are judged only in the
    allowed regions (``expected_regions``), so they are left out here."""
    region = estate.spec.stray_region
    account_id = estate.account(key).id
    found = {
        item
        for item in _region_findings(estate, key, region, client)
        if item[1] != account_id and not item[1].endswith(":account-settings")
    }
    for group in client(key, "ec2", region).describe_security_groups()["SecurityGroups"]:
        if group["GroupName"] != "default":
            found.add(
                (
                    "inventory.unexpected_region",
                    f"arn:aws:ec2:{region}:{account_id}:security-group/{group['GroupId']}",
                    region,
                )
            )
    return found


def _region_findings(estate: Estate, key: str, region: str, client: Client) -> set[tuple[str, str, str]]:
    """What the checks of CHECKS.md would say about one account-region, computed independently."""
    found: set[tuple[str, str, str]] = set()
    ec2 = client(key, "ec2", region)
    account_id = estate.account(key).id
    flow_logged = {f["ResourceId"] for f in ec2.describe_flow_logs()["FlowLogs"]}
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        if vpc["VpcId"] not in flow_logged:
            found.add(("vpc.flow_logs", vpc["VpcId"], region))
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        if group["GroupName"] == "default" and (group["IpPermissions"] or group["IpPermissionsEgress"]):
            found.add(("ec2.default_sg_rules", group["GroupId"], region))
        for rule in group["IpPermissions"]:
            if not any(r.get("CidrIp") == "0.0.0.0/0" for r in rule.get("IpRanges", [])):
                continue
            low, high = rule.get("FromPort"), rule.get("ToPort")
            if rule["IpProtocol"] == "-1" or (low, high) == (0, 65535):
                found.add(("ec2.sg_all_open", group["GroupId"], region))
            elif any(_covers(low, high, p) for p in ADMIN_PORTS):
                found.add(("ec2.sg_admin_ports_open", group["GroupId"], region))
            elif any(_covers(low, high, p) for p in DB_PORTS):
                found.add(("ec2.sg_db_ports_open", group["GroupId"], region))
    for acl in ec2.describe_network_acls()["NetworkAcls"]:
        for entry in sorted(acl["Entries"], key=lambda e: e["RuleNumber"]):
            if entry["Egress"] or entry.get("CidrBlock") != "0.0.0.0/0" or entry["RuleAction"] != "allow":
                continue
            port_range = entry.get("PortRange") or {}
            if entry["Protocol"] == "-1" or any(
                _covers(port_range.get("From"), port_range.get("To"), p) for p in ADMIN_PORTS
            ):
                found.add(("ec2.nacl_admin_ports_open", acl["NetworkAclId"], region))
    for reservation in ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            if instance["MetadataOptions"]["HttpTokens"] != "required":
                found.add(("ec2.imdsv2", instance["InstanceId"], region))
    if not ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"]:
        found.add(
            ("ec2.ebs_default_encryption", f"arn:aws:ec2:{region}:{account_id}:account-settings", region)
        )
    for snapshot in ec2.describe_snapshots(Filters=[{"Name": "owner-id", "Values": [account_id]}])[
        "Snapshots"
    ]:
        permissions = ec2.describe_snapshot_attribute(
            SnapshotId=snapshot["SnapshotId"], Attribute="createVolumePermission"
        )
        if {"Group": "all"} in permissions["CreateVolumePermissions"]:
            found.add(("ec2.public_snapshot", snapshot["SnapshotId"], region))
    for image in ec2.describe_images(Owners=["self"])["Images"]:
        permissions = ec2.describe_image_attribute(ImageId=image["ImageId"], Attribute="launchPermission")
        if {"Group": "all"} in permissions["LaunchPermissions"]:
            found.add(("ec2.public_ami", image["ImageId"], region))
    rds = client(key, "rds", region)
    for db in rds.describe_db_instances()["DBInstances"]:
        if db["PubliclyAccessible"]:
            found.add(("rds.public_instance", db["DBInstanceArn"], region))
        if not db["StorageEncrypted"]:
            found.add(("rds.encryption", db["DBInstanceArn"], region))
    for snapshot in rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]:
        attributes = rds.describe_db_snapshot_attributes(
            DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"]
        )
        for attribute in attributes["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]:
            if attribute["AttributeName"] == "restore" and "all" in attribute["AttributeValues"]:
                found.add(("rds.public_snapshot", snapshot["DBSnapshotArn"], region))
    kms = client(key, "kms", region)
    for key_item in kms.list_keys()["Keys"]:
        if kms.describe_key(KeyId=key_item["KeyId"])["KeyMetadata"]["KeyManager"] != "CUSTOMER":
            continue  # AWS rotates its own keys
        if not kms.get_key_rotation_status(KeyId=key_item["KeyId"])["KeyRotationEnabled"]:
            found.add(("kms.rotation", key_item["KeyArn"], region))
    if not client(key, "guardduty", region).list_detectors()["DetectorIds"]:
        found.add(("guardduty.enabled", account_id, region))
    try:
        client(key, "securityhub", region).describe_hub()
    except ClientError:
        found.add(("securityhub.enabled", account_id, region))
    recording = client(key, "config", region).describe_configuration_recorder_status()[
        "ConfigurationRecordersStatus"
    ]
    if not any(r.get("recording") for r in recording):
        found.add(("config.recorder", account_id, region))
    return found


def _narrows_who(statement: dict[str, Any]) -> bool:
    """The estate's decoys narrow Principal '*' by organisation, source ARN / account / VPC endpoint,
    or an IP range other than the whole internet (this reading knows no more than that)."""
    for block in statement.get("Condition", {}).values():
        for key, value in block.items():
            if key.lower() in ("aws:principalorgid", "aws:sourcearn", "aws:sourceaccount", "aws:sourcevpce"):
                return True
            if key.lower() == "aws:sourceip" and value not in ("0.0.0.0/0", ["0.0.0.0/0"]):
                return True
    return False


def _account_findings(estate: Estate, key: str, client: Client) -> set[tuple[str, str, str]]:
    found: set[tuple[str, str, str]] = set()
    account_id = estate.account(key).id
    org_ids = {info.id for info in estate.accounts.values()}
    s3 = client(key, "s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name, arn = bucket["Name"], f"arn:aws:s3:::{bucket['Name']}"
        try:
            s3.get_bucket_encryption(Bucket=name)
        except ClientError:
            found.add(("s3.encryption", arn, ""))
        grants = s3.get_bucket_acl(Bucket=name)["Grants"]
        if any(g["Grantee"].get("URI", "").endswith("/global/AllUsers") for g in grants):
            found.add(("s3.public_acl", arn, ""))
        statements = _doc(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]
        if not any(
            s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in statements
        ):
            found.add(("s3.tls_only", arn, ""))
        for statement in (s for s in statements if s["Effect"] == "Allow"):
            principal = statement.get("Principal")
            if (principal == "*" or principal == {"AWS": "*"}) and not _narrows_who(statement):
                found.add(("s3.public_policy", arn, ""))
            elif isinstance(principal, dict) and "AWS" in principal:
                if any(
                    p.split(":")[4] not in org_ids
                    for p in ([principal["AWS"]] if isinstance(principal["AWS"], str) else principal["AWS"])
                ):
                    found.add(("s3.cross_account", arn, ""))
        region = s3.get_bucket_location(Bucket=name)["LocationConstraint"] or "us-east-1"
        if region not in estate.spec.regions:
            found.add(("inventory.unexpected_region", arn, region))
    try:
        client(key, "s3control").get_public_access_block(AccountId=account_id)
    except ClientError:
        found.add(
            ("s3.account_public_access_block", f"arn:aws:s3::{account_id}:account-public-access-block", "")
        )

    iam = client(key, "iam")
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        if policy["MinimumPasswordLength"] < 14 or policy.get("PasswordReusePrevention", 0) < 24:
            found.add(("iam.password_policy", f"arn:aws:iam::{account_id}:account-password-policy", ""))
    except ClientError:
        found.add(("iam.password_policy", f"arn:aws:iam::{account_id}:account-password-policy", ""))
    devices = [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    root_mfa = iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    assert root_mfa == (f"arn:aws:iam::{account_id}:mfa/root-account-mfa-device" in devices)
    if not root_mfa:
        found.add(("iam.root_mfa", f"arn:aws:iam::{account_id}:account-summary", ""))
    elif key == "org-root":
        found.add(("iam.root_hardware_mfa", f"arn:aws:iam::{account_id}:account-summary", ""))
    support = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")[
        "PolicyRoles"
    ]
    if not support:
        found.add(("iam.support_role", account_id, ""))
    for role in iam.list_roles()["Roles"]:
        for statement in _doc(role["AssumeRolePolicyDocument"])["Statement"]:
            principal = statement.get("Principal", {}).get("AWS")
            for p in [principal] if isinstance(principal, str) else (principal or []):
                if p == "*" and not statement.get("Condition"):
                    found.add(("iam.trust_anyone", role["Arn"], ""))
                elif (
                    p != "*"
                    and p.split(":")[4] not in org_ids
                    and "sts:ExternalId" not in json.dumps(statement.get("Condition", {}))
                ):
                    found.add(("iam.trust_outside_org", role["Arn"], ""))
    for user in iam.list_users()["Users"]:
        name, arn = user["UserName"], user["Arn"]
        if key != "identity":
            found.add(("iam.user_outside_identity", arn, ""))
        if (
            iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
            or iam.list_user_policies(UserName=name)["PolicyNames"]
        ):
            found.add(("iam.user_direct_policy", arn, ""))
        try:
            iam.get_login_profile(UserName=name)
            console = True
        except ClientError:
            console = False
        if console and not iam.list_mfa_devices(UserName=name)["MFADevices"]:
            found.add(("iam.console_user_no_mfa", arn, ""))
        keys = [
            k for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"] if k["Status"] == "Active"
        ]
        if len(keys) > 1:
            found.add(("iam.multiple_active_keys", arn, ""))
    trails = client(key, "cloudtrail").describe_trails(includeShadowTrails=False)["trailList"]
    for trail in trails:
        if not trail.get("LogFileValidationEnabled"):
            found.add(("cloudtrail.log_validation", trail["TrailARN"], trail["HomeRegion"]))
        if not trail.get("KmsKeyId"):
            found.add(("cloudtrail.kms", trail["TrailARN"], trail["HomeRegion"]))
    return found


# what the independent reading above covers; the other planted checks are asserted elsewhere
COMPUTED = {
    "vpc.flow_logs", "ec2.default_sg_rules", "ec2.sg_all_open", "ec2.sg_admin_ports_open", "ec2.sg_db_ports_open",
    "ec2.nacl_admin_ports_open", "ec2.imdsv2", "ec2.ebs_default_encryption", "ec2.public_snapshot",
    "ec2.public_ami", "rds.public_instance", "rds.encryption", "rds.public_snapshot", "kms.rotation",
    "guardduty.enabled", "securityhub.enabled", "config.recorder", "s3.encryption", "s3.public_acl",
    "s3.tls_only", "s3.public_policy", "s3.cross_account", "inventory.unexpected_region",
    "s3.account_public_access_block", "iam.password_policy", "iam.root_mfa", "iam.root_hardware_mfa",
    "iam.support_role", "iam.trust_anyone", "iam.trust_outside_org", "iam.user_outside_identity",
    "iam.user_direct_policy", "iam.console_user_no_mfa", "iam.multiple_active_keys",
    "cloudtrail.log_validation", "cloudtrail.kms",
}  # fmt: skip


@pytest.mark.slow
def test_planted_items_are_exactly_what_an_independent_reading_finds(
    estate: Estate, account_client: Client
) -> None:
    """Every planted item is there, and nothing these readings look at is wrong unless planted."""
    found: set[tuple[str, str, str]] = set()
    for key in estate.accounts:
        found |= {
            (check, estate.account(key).id, subject, region)
            for check, subject, region in _account_findings(estate, key, account_client)
        }  # type: ignore[misc]
        for region in estate.spec.regions:
            found |= {
                (check, estate.account(key).id, subject, reg)
                for check, subject, reg in _region_findings(estate, key, region, account_client)
            }  # type: ignore[misc]
        found |= {
            (check, estate.account(key).id, subject, reg)
            for check, subject, reg in _outside_findings(estate, key, account_client)
        }  # type: ignore[misc]
    expected = {
        (p.check_id, p.account_id, p.subject, p.region) for p in estate.planted if p.check_id in COMPUTED
    }
    # the outside-account trust is in prod; the cross-account bucket names an account outside the org
    assert OUTSIDE_ACCOUNT_ID not in {info.id for info in estate.accounts.values()}
    assert sorted(found - expected) == [], "found but not planted"
    assert sorted(expected - found) == [], "planted but not found"


def test_every_planted_check_id_is_in_the_catalogue_and_each_mistake_is_planted(estate: Estate) -> None:
    catalogue = {
        "iam.root_mfa", "iam.root_hardware_mfa", "iam.password_policy", "iam.console_user_no_mfa", "iam.user_no_mfa",
        "iam.key_never_used", "iam.credentials_unused", "iam.multiple_active_keys", "iam.key_rotation",
        "iam.user_direct_policy", "iam.admin_policy", "iam.support_role", "iam.notaction_allow",
        "iam.assume_any_role", "iam.trust_anyone", "iam.trust_outside_org", "iam.user_outside_identity",
        "iam.blanket_managed_policy", "iam.privilege_escalation", "s3.account_public_access_block", "s3.public_acl",
        "s3.public_policy", "s3.cross_account", "s3.encryption", "ec2.sg_admin_ports_open", "ec2.sg_all_open",
        "ec2.sg_db_ports_open", "ec2.nacl_admin_ports_open", "ec2.default_sg_rules", "ec2.imdsv2",
        "ec2.ebs_default_encryption", "ec2.public_snapshot", "ec2.public_ami", "vpc.flow_logs",
        "rds.public_instance", "rds.encryption", "rds.public_snapshot", "cloudtrail.log_validation",
        "cloudtrail.kms", "config.recorder", "guardduty.enabled", "securityhub.enabled", "kms.rotation",
        "cloudwatch.cis_alarms", "inventory.unexpected_region", "lambda.public_policy", "lambda.public_url",
        "sqs.public_policy", "sns.public_policy", "kms.public_policy", "ecr.public_policy",
        "secretsmanager.public_policy", "org.account_outside_ou",
    }  # fmt: skip
    assert {p.check_id for p in estate.planted} == catalogue
    identity = estate.account("identity").id
    by_check = {p.check_id: p for p in estate.planted if p.account_id == identity}
    assert by_check["iam.key_never_used"].subject.endswith(":user/new.hire")
    assert by_check["iam.user_no_mfa"].subject.endswith(":user/data-analyst")
    assert by_check["iam.privilege_escalation"].subject.endswith(":user/build-runner")
    assert by_check["iam.notaction_allow"].subject.endswith(":policy/OperatorsPowerUser")
    assert by_check["iam.assume_any_role"].subject.endswith(":policy/CrossAccountAssumeAny")
    admins = {p.subject.rsplit(":", 1)[1] for p in estate.planted_for("iam.admin_policy")}
    assert admins == {"group/Admins", "role/BuildBoxAdmin", "role/OrganizationAccountAccessRole"}
    # Organizations' role is an administrator in every member (and not in the management account)
    members = {info.id for info in estate.accounts.values()} - {estate.management_account_id}
    organisation_roles = {
        p.account_id
        for p in estate.planted_for("iam.admin_policy")
        if p.subject.endswith("OrganizationAccountAccessRole")
    }
    assert organisation_roles == members
    # CIS monitoring is judged once, where the organisation trail delivers: the management account
    [cis] = estate.planted_for("cloudwatch.cis_alarms")
    assert cis.account_id == estate.management_account_id
    assert "NetworkGatewayChanges" in cis.note and "VPCChanges" in cis.note


def test_policies_behind_the_iam_mistakes_say_what_the_manifest_says(
    estate: Estate, account_client: Client
) -> None:
    iam = account_client("identity", "iam")
    identity = estate.account("identity").id
    notaction = _document(iam, f"arn:aws:iam::{identity}:policy/OperatorsPowerUser")["Statement"][0]
    assert notaction["Effect"] == "Allow" and "NotAction" in notaction and notaction["Resource"] == "*"
    anything = _document(iam, f"arn:aws:iam::{identity}:policy/CrossAccountAssumeAny")["Statement"][0]
    assert (anything["Action"], anything["Resource"]) == ("sts:AssumeRole", "*")
    escalate = _document(iam, f"arn:aws:iam::{identity}:policy/BuildRunnerPassRole")["Statement"]
    profile = iam.get_instance_profile(InstanceProfileName="BuildBoxAdmin")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["BuildBoxAdmin"]
    passable = iam.list_attached_role_policies(RoleName="BuildBoxAdmin")["AttachedPolicies"]
    assert [p["PolicyName"] for p in passable] == ["AdministratorAccess"]
    assert {a for s in escalate for a in s["Action"]} == {"iam:PassRole", "ec2:RunInstances"}
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="build-runner")["Groups"]] == [
        "Builders"
    ]
    admins = iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in {p["PolicyArn"] for p in admins}
    new_key = iam.list_access_keys(UserName="new.hire")["AccessKeyMetadata"][0]["AccessKeyId"]
    assert "LastUsedDate" not in iam.get_access_key_last_used(AccessKeyId=new_key)["AccessKeyLastUsed"]


def test_cis_alarms_of_the_organisation_trail_lack_exactly_what_is_planted(
    estate: Estate, account_client: Client
) -> None:
    from inventory.simulation.documents import CIS_METRIC_FILTERS
    from inventory.simulation.seeding import ORG_MISSING_CIS

    def filters(key: str) -> set[str]:
        return {
            f["filterName"] for f in account_client(key, "logs").describe_metric_filters()["metricFilters"]
        }

    assert len(CIS_METRIC_FILTERS) == 15
    assert filters("org-root") == set(CIS_METRIC_FILTERS) - set(ORG_MISSING_CIS)
    assert filters("prod") == {"RootAccountUsage", "ConsoleSignInWithoutMFA"}
    assert all(
        not filters(key) for key in ("identity", "operations", "security", "dev", "staging", "sandbox")
    )
    alarms = account_client("org-root", "cloudwatch").describe_alarms()["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} == filters("org-root")
    assert all(a["AlarmActions"] for a in alarms)
    trail = account_client("org-root", "cloudtrail").describe_trails()["trailList"][0]
    assert trail["TrailARN"] == estate.organization_trail_arn
    assert trail["IsOrganizationTrail"] and trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    assert trail["CloudWatchLogsLogGroupArn"].split(":log-group:")[1].startswith("aws-cloudtrail-logs-org")


def test_the_management_account_holds_no_workload_resources(estate: Estate, account_client: Client) -> None:
    assert not account_client("org-root", "s3").list_buckets()["Buckets"]
    for region in estate.spec.regions:
        ec2 = account_client("org-root", "ec2", region)
        assert not ec2.describe_instances()["Reservations"]
        assert not ec2.describe_vpcs()["Vpcs"]
        assert not account_client("org-root", "rds", region).describe_db_instances()["DBInstances"]
        assert not account_client("org-root", "lambda", region).list_functions()["Functions"]
    assert not planted(estate, "org.root_has_resources")

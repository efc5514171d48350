"""EC2, VPC, RDS and KMS checks: rule evidence, not-applicable subjects, per-region account settings."""

from __future__ import annotations

from iam_audit.checks.base import Exposure, Status
from tests.iam_audit.checks.factories import (
    ACCOUNT,
    account_settings,
    make_item,
    make_snapshot,
    nacl_entry,
    network_acl,
    only,
    perm,
    run,
    security_group,
)


def test_sg_port_range_covering_ssh_fails_with_the_rule_as_evidence() -> None:
    sg = security_group("sg-1", ingress=[perm("tcp", 20, 30, cidrs=["0.0.0.0/0"], v6=["::/0"])])
    [r] = run("ec2.sg_admin_ports_open", make_snapshot([sg]))
    assert r.status == Status.FAIL and r.exposure == Exposure.INTERNET and r.region == "us-east-1"
    assert r.resource_type == "ec2:security-group" and r.subject.endswith("security-group/sg-1")
    assert {(e["cidr"], e["from_port"], e["to_port"], e["port"]) for e in r.evidence["rules"]} == {
        ("0.0.0.0/0", 20, 30, 22),
        ("::/0", 20, 30, 22),
    }
    assert "sg-1 (web) allows" in r.summary


def test_sg_all_traffic_rule_fails_admin_db_and_all_ports_checks() -> None:
    snap = make_snapshot([security_group("sg-1", ingress=[perm("-1", v6=["::/0"])])])
    for check_id in ("ec2.sg_admin_ports_open", "ec2.sg_db_ports_open", "ec2.sg_all_open"):
        assert run(check_id, snap)[0].status == Status.FAIL, check_id
    assert run("ec2.sg_all_open", snap)[0].evidence["rules"][0]["rule"] == "all traffic from ::/0"


def test_sg_rdp_over_udp_and_restricted_ssh() -> None:
    udp = security_group("sg-1", ingress=[perm("udp", 3389, cidrs=["0.0.0.0/0"])])
    assert run("ec2.sg_admin_ports_open", make_snapshot([udp]))[0].evidence["rules"][0]["protocol"] == "udp"
    office = security_group("sg-2", ingress=[perm("tcp", 22, cidrs=["203.0.113.0/24"])])
    assert run("ec2.sg_admin_ports_open", make_snapshot([office]))[0].status == Status.PASS


def test_sg_open_through_a_customer_prefix_list() -> None:
    pl = make_item(
        "ec2:managed-prefix-list",
        {"PrefixListId": "pl-1", "Entries": [{"Cidr": "0.0.0.0/0"}]},
        resource_id="pl-1",
    )
    sg = security_group("sg-1", ingress=[perm("tcp", 3306, prefix_lists=["pl-1"])])
    [r] = run("ec2.sg_db_ports_open", make_snapshot([pl, sg]))
    assert r.status == Status.FAIL and r.evidence["rules"][0]["prefix_list"] == "pl-1"


def test_only_default_groups_are_subjects_of_the_default_group_check() -> None:
    assert (
        run(
            "ec2.default_sg_rules",
            make_snapshot([security_group("sg-1", ingress=[perm("-1", cidrs=["10.0.0.0/8"])])]),
        )
        == []
    )


def test_nacl_deny_before_allow_passes_and_unassociated_acl_is_not_applicable() -> None:
    closed = network_acl(
        "acl-1", [nacl_entry(100, "allow", protocol="-1"), nacl_entry(10, "deny", protocol="-1")]
    )
    assert run("ec2.nacl_admin_ports_open", make_snapshot([closed]))[0].status == Status.PASS
    loose = network_acl("acl-2", [nacl_entry(100, "allow", protocol="-1")], associated=False)
    assert run("ec2.nacl_admin_ports_open", make_snapshot([loose]))[0].status == Status.NOT_APPLICABLE


def test_nacl_open_over_ipv6_only() -> None:
    acl = network_acl("acl-1", [nacl_entry(100, "allow", protocol="6", ports=(22, 22), cidr="::/0")])
    [r] = run("ec2.nacl_admin_ports_open", make_snapshot([acl]))
    assert r.status == Status.FAIL and r.evidence["open"][0]["ip_version"] == 6 and "#100 allow" in r.summary


def instance(state: str = "running", **options: str) -> object:
    return make_item(
        "ec2:instance",
        {"InstanceId": "i-1", "State": {"Name": state}, "MetadataOptions": options},
        resource_id="i-1",
    )


def test_imds_instance_states_and_account_defaults() -> None:
    assert (
        run("ec2.imdsv2", make_snapshot([instance("terminated", HttpTokens="optional")]))[0].status
        == Status.NOT_APPLICABLE
    )
    assert (
        run("ec2.imdsv2", make_snapshot([instance(HttpEndpoint="disabled", HttpTokens="optional")]))[0].status
        == Status.PASS
    )
    res = run(
        "ec2.imdsv2",
        make_snapshot(
            [
                account_settings("us-east-1", imds=None),
                account_settings("eu-west-1", imds={"HttpTokens": "no-preference"}),
                account_settings("ap-south-1", imds={"HttpTokens": "required"}),
            ]
        ),
    )
    assert [(r.region, r.status) for r in res] == [
        ("ap-south-1", Status.PASS),
        ("eu-west-1", Status.FAIL),
        ("us-east-1", Status.UNKNOWN),
    ]


def test_ebs_default_encryption_unknown_region_and_allowed_regions() -> None:
    snap = make_snapshot([account_settings("us-east-1"), account_settings("eu-west-1", ebs=None)])
    r = only(run("ec2.ebs_default_encryption", snap))
    assert r.status == Status.UNKNOWN and r.evidence["unknown"] == ["eu-west-1"]
    snap = make_snapshot(
        [account_settings("us-east-1"), account_settings("eu-west-1", ebs=False)],
        allowed_regions=["us-east-1"],
    )
    assert only(run("ec2.ebs_default_encryption", snap)).status == Status.PASS


def test_flow_log_must_be_active_and_in_the_vpcs_region() -> None:
    vpc = make_item("ec2:vpc", {"VpcId": "vpc-1", "IsDefault": True})
    failed = make_item(
        "ec2:flow-log", {"FlowLogId": "fl-1", "ResourceId": "vpc-1", "FlowLogStatus": "FAILED"}
    )
    [r] = run("vpc.flow_logs", make_snapshot([vpc, failed]))
    assert r.status == Status.FAIL and "(default VPC)" in r.summary


def test_rds_public_instance_is_internet_exposed() -> None:
    [r] = run(
        "rds.public_instance",
        make_snapshot(
            [
                make_item(
                    "rds:db-instance", {"PubliclyAccessible": True, "Endpoint": {"Address": "db.example"}}
                )
            ]
        ),
    )
    assert r.exposure == Exposure.INTERNET and r.evidence["Endpoint"] == {"Address": "db.example"}


def test_kms_rotation_applies_to_enabled_customer_symmetric_keys_only() -> None:
    def k(**data: object) -> object:
        base = {
            "KeyManager": "CUSTOMER",
            "KeyState": "Enabled",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "Origin": "AWS_KMS",
            "RotationEnabled": False,
        }
        return make_item(
            "kms:key", {**base, **data}, arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{len(data)}-{sorted(data)}"
        )

    statuses = [
        r.status
        for r in run(
            "kms.rotation",
            make_snapshot(
                [
                    k(KeyManager="AWS"),
                    k(KeySpec="RSA_2048"),
                    k(KeyState="PendingDeletion"),
                    k(Origin="EXTERNAL"),
                    k(RotationEnabled=None),
                ]
            ),
        )
    ]
    assert sorted(statuses) == sorted([Status.NOT_APPLICABLE] * 4 + [Status.UNKNOWN])


def test_eks_public_endpoint_restricted_to_office_cidrs_passes() -> None:
    c = make_item(
        "eks:cluster",
        {"resourcesVpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
    )
    assert run("eks.public_endpoint", make_snapshot([c]))[0].status == Status.PASS


def test_public_snapshot_evidence_lists_shared_accounts() -> None:
    s = make_item(
        "ec2:snapshot",
        {"SnapshotId": "snap-1", "CreateVolumePermissions": [{"Group": "all"}, {"UserId": "999900001111"}]},
    )
    [r] = run("ec2.public_snapshot", make_snapshot([s]))
    assert r.exposure == Exposure.PUBLIC and r.evidence["shared_with_accounts"] == ["999900001111"]

"""EC2 checks: security groups and network ACLs open to the internet, IMDSv2, EBS encryption,
public snapshots and AMIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iam_audit.checks.base import Exposure, Item, Result, Severity, Snapshot, Status, check
from iam_audit.checks.common import (
    account_result,
    as_dict,
    dicts,
    expected_regions,
    join_limited,
    label,
    resource_result,
    truthy,
    unread_result,
)
from iam_audit.checks.network import (
    ADMIN_PORT_PROTOCOLS,
    ADMIN_PORTS,
    DB_PORTS,
    SgRule,
    internet_ingress,
    nacl_entries,
    nacl_internet_ingress,
    prefix_list_cidrs,
    rules_on_ports,
)

DOC_SG = "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html"
DOC_DEFAULT_SG = "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html"
DOC_NACL = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"
DOC_IMDS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html"
DOC_IMDS_DEFAULTS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html"
DOC_EBS_DEFAULT = "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html"
DOC_EBS = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"
DOC_SNAPSHOT_SHARE = (
    "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html"
)
DOC_AMI_SHARE = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html"
GONE_STATES = ("terminated", "shutting-down")
DB_PORT_PROTOCOLS = tuple((p, "tcp") for p in DB_PORTS)


def _groups(snap: Snapshot) -> list[Item]:
    return sorted(snap.of("ec2:security-group"), key=lambda i: i.arn)


def _sg_label(item: Item) -> str:
    gid = as_dict(item.data).get("GroupId") or item.resource_id
    name = as_dict(item.data).get("GroupName") or item.name
    return f"{gid} ({name})" if name and name != gid else str(gid)


def _open_rules(snap: Snapshot, item: Item, prefix_lists: dict[str, Any]) -> list[SgRule]:
    """Rules open to the internet; ``prefix_lists`` memoises each region's prefix-list CIDRs for
    one check run (rebuilding them per group made the check quadratic on large accounts)."""
    if item.region not in prefix_lists:
        prefix_lists[item.region] = prefix_list_cidrs(snap.of("ec2:managed-prefix-list", item.region))
    return internet_ingress(as_dict(item.data), prefix_lists[item.region])


def _port_findings(matches: list[tuple[SgRule, int, str]], names: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {"port": port, "protocol": proto, "service": names.get(port, ""), **rule.evidence()}
        for rule, port, proto in matches
    ]


def _sg_port_check(
    snap: Snapshot, ports: tuple[tuple[int, str], ...], names: dict[int, str], what: str
) -> Iterator[Result]:
    prefix_lists: dict[str, Any] = {}
    for sg in _groups(snap):
        matches = rules_on_ports(_open_rules(snap, sg, prefix_lists), ports)
        if matches:
            found = _port_findings(matches, names)
            opened = sorted({f"{f['port']}" for f in found}, key=int)
            sources = sorted({f["cidr"] for f in found})
            yield resource_result(
                sg,
                Status.FAIL,
                f"{_sg_label(sg)} allows {join_limited(sources)} on {what} {join_limited(opened)}",
                {"rules": found},
                Exposure.INTERNET,
            )
        else:
            yield resource_result(sg, Status.PASS, f"{_sg_label(sg)} does not open {what} to the internet")


@check(
    id="ec2.sg_admin_ports_open",
    title="No security group opens SSH/RDP to the internet",
    service="EC2",
    scope="resource",
    severity=Severity.HIGH,
    description="A security group allows ingress from 0.0.0.0/0 or ::/0 (directly or through a customer-managed "
    "prefix list) to TCP 22, TCP/UDP 3389, including through port ranges and all-traffic rules.",
    risk="Remote administration services exposed to the internet are brute-forced and exploited within hours.",
    remediation=(
        "1. Use Session Manager or EC2 Instance Connect Endpoint instead of open SSH/RDP.\n"
        "2. aws ec2 revoke-security-group-ingress --group-id <sg> --ip-permissions "
        "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}] (and Ipv6Ranges=[{CidrIpv6=::/0}]).\n"
        "3. If needed, allow only your office/VPN CIDR. Console: EC2 > Security Groups > <sg> > Inbound rules > Edit."
    ),
    references=("CIS 5.3", "CIS 5.4", DOC_SG),
    requires=("ec2:security-group", "ec2:managed-prefix-list"),
)
def sg_admin_ports_open(snap: Snapshot) -> Iterator[Result]:
    yield from _sg_port_check(snap, ADMIN_PORT_PROTOCOLS, ADMIN_PORTS, "admin port")


@check(
    id="ec2.sg_db_ports_open",
    title="No security group opens database ports to the internet",
    service="EC2",
    scope="resource",
    severity=Severity.HIGH,
    description="A security group allows ingress from the internet to a database or cache port "
    f"({', '.join(f'{p} {n}' for p, n in DB_PORTS.items())}), including through ranges and all-traffic rules.",
    risk="Databases and caches reachable from the internet are scanned continuously; many ship without auth.",
    remediation=(
        "1. Allow the port only from the application's security group (UserIdGroupPairs), not a CIDR.\n"
        "2. aws ec2 revoke-security-group-ingress --group-id <sg> --ip-permissions "
        "IpProtocol=tcp,FromPort=<port>,ToPort=<port>,IpRanges=[{CidrIp=0.0.0.0/0}]\n"
        "Console: EC2 > Security Groups > <sg> > Inbound rules > Edit."
    ),
    references=(DOC_SG,),
    requires=("ec2:security-group", "ec2:managed-prefix-list"),
)
def sg_db_ports_open(snap: Snapshot) -> Iterator[Result]:
    yield from _sg_port_check(snap, DB_PORT_PROTOCOLS, DB_PORTS, "database port")


@check(
    id="ec2.sg_all_open",
    title="No security group opens all ports to the internet",
    service="EC2",
    scope="resource",
    severity=Severity.CRITICAL,
    description="A security group allows all traffic (protocol -1) or every TCP/UDP port from 0.0.0.0/0 or ::/0.",
    risk="Every service on every attached interface, including ones nobody meant to expose, is reachable from the internet.",
    remediation=(
        "1. Replace the rule with the specific ports the workload serves.\n"
        "2. aws ec2 revoke-security-group-ingress --group-id <sg> --ip-permissions IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]\n"
        "Console: EC2 > Security Groups > <sg> > Inbound rules > Edit."
    ),
    references=("CIS 5.3", DOC_SG),
    requires=("ec2:security-group", "ec2:managed-prefix-list"),
)
def sg_all_open(snap: Snapshot) -> Iterator[Result]:
    prefix_lists: dict[str, Any] = {}
    for sg in _groups(snap):
        wide = [r for r in _open_rules(snap, sg, prefix_lists) if r.all_ports]
        if wide:
            yield resource_result(
                sg,
                Status.FAIL,
                f"{_sg_label(sg)} allows {wide[0].describe()}",
                {"rules": [r.evidence() for r in wide]},
                Exposure.INTERNET,
            )
        else:
            yield resource_result(sg, Status.PASS, f"{_sg_label(sg)} does not open all ports to the internet")


@check(
    id="ec2.default_sg_rules",
    title="Default security groups allow no traffic",
    service="EC2",
    scope="resource",
    severity=Severity.HIGH,
    description="A VPC's default security group has inbound or outbound rules.",
    risk="Resources launched without an explicit group land in the default one and silently get its access.",
    remediation=(
        "1. Move resources to purpose-made security groups.\n"
        "2. aws ec2 revoke-security-group-ingress --group-id <default-sg> --ip-permissions '<each rule>' and "
        "aws ec2 revoke-security-group-egress --group-id <default-sg> --ip-permissions '<each rule>'\n"
        "Console: VPC > Security groups > default > Inbound/Outbound rules > Edit > Delete all."
    ),
    references=("CIS 5.5", DOC_DEFAULT_SG),
    requires=("ec2:security-group",),
)
def default_sg_rules(snap: Snapshot) -> Iterator[Result]:
    for sg in _groups(snap):
        data = as_dict(sg.data)
        if data.get("GroupName") != "default":
            continue  # only default groups are subjects
        ingress, egress = dicts(data.get("IpPermissions")), dicts(data.get("IpPermissionsEgress"))
        evidence = {"inbound": ingress, "outbound": egress, "vpc": data.get("VpcId")}
        if ingress or egress:
            yield resource_result(
                sg,
                Status.FAIL,
                f"Default group {_sg_label(sg)} has {len(ingress)} inbound and {len(egress)} outbound rule(s)",
                evidence,
            )
        else:
            yield resource_result(sg, Status.PASS, f"Default group {_sg_label(sg)} has no rules", evidence)


@check(
    id="ec2.nacl_admin_ports_open",
    title="No network ACL admits SSH/RDP from the internet",
    service="EC2",
    scope="resource",
    severity=Severity.MEDIUM,
    description="A network ACL associated with subnets lets TCP 22 or TCP/UDP 3389 in from 0.0.0.0/0 or ::/0: "
    "evaluating entries in rule-number order, an allow for the whole internet is reached before a deny covers it.",
    risk="The subnet-level guard is open, leaving only security groups between the internet and admin services.",
    remediation=(
        "1. Add deny entries numbered below the allow: aws ec2 create-network-acl-entry --network-acl-id <acl> "
        "--ingress --rule-number 50 --protocol tcp --port-range From=22,To=22 --cidr-block 0.0.0.0/0 --rule-action deny "
        "(repeat for 3389 and for --ipv6-cidr-block ::/0).\n"
        "2. Or narrow the allow entry to known CIDRs. Console: VPC > Network ACLs > <acl> > Inbound rules > Edit."
    ),
    references=("CIS 5.2", DOC_NACL),
    requires=("ec2:network-acl",),
)
def nacl_admin_ports_open(snap: Snapshot) -> Iterator[Result]:
    for acl in sorted(snap.of("ec2:network-acl"), key=lambda i: i.arn):
        data = as_dict(acl.data)
        name = data.get("NetworkAclId") or acl.resource_id
        if not dicts(data.get("Associations")):
            yield resource_result(acl, Status.NOT_APPLICABLE, f"{name} is not associated with any subnet")
            continue
        entries = nacl_entries(data)
        verdicts = [
            nacl_internet_ingress(entries, port, proto, family)
            for port, proto in ADMIN_PORT_PROTOCOLS
            for family in (4, 6)
        ]
        open_ = [v for v in verdicts if v.open]
        if open_:
            ports = sorted({str(v.port) for v in open_}, key=int)
            yield resource_result(
                acl,
                Status.FAIL,
                f"{name} admits port {join_limited(ports)} from the internet ({open_[0].deciding.describe() if open_[0].deciding else ''})",
                {"open": [v.evidence() for v in open_]},
                Exposure.INTERNET,
            )
        else:
            yield resource_result(
                acl,
                Status.PASS,
                f"{name} does not admit SSH/RDP from the internet",
                {"checked": [v.evidence() for v in verdicts]},
            )


@check(
    id="ec2.imdsv2",
    title="Instances and account defaults require IMDSv2",
    service="EC2",
    scope="resource",
    severity=Severity.HIGH,
    description="A running or stopped instance has MetadataOptions.HttpTokens other than 'required' (with the "
    "endpoint enabled), or the region's account-level instance-metadata default does not require IMDSv2.",
    risk="IMDSv1 answers plain GET requests, so an SSRF bug in any application hands out the instance role's credentials.",
    remediation=(
        "1. Instance: aws ec2 modify-instance-metadata-options --instance-id <id> --http-tokens required --http-endpoint enabled\n"
        "2. Account default per region: aws ec2 modify-instance-metadata-defaults --http-tokens required --region <region>\n"
        "Console: EC2 > Instances > <id> > Actions > Instance settings > Modify instance metadata options; "
        "EC2 > Dashboard > Account attributes > Data protection and security > IMDS defaults."
    ),
    references=("CIS 5.7", DOC_IMDS, DOC_IMDS_DEFAULTS),
    requires=("ec2:instance", "ec2:account-settings"),
)
def imdsv2(snap: Snapshot) -> Iterator[Result]:
    for inst in sorted(snap.of("ec2:instance"), key=lambda i: i.arn):
        data = as_dict(inst.data)
        state = str(as_dict(data.get("State")).get("Name", "")).lower()
        name = data.get("InstanceId") or inst.resource_id
        if state in GONE_STATES:
            yield resource_result(inst, Status.NOT_APPLICABLE, f"{name} is {state}")
            continue
        options = as_dict(data.get("MetadataOptions"))
        evidence = {"MetadataOptions": dict(options), "state": state}
        if str(options.get("HttpEndpoint", "enabled")).lower() == "disabled":
            yield resource_result(inst, Status.PASS, f"{name} has the metadata endpoint disabled", evidence)
        elif str(options.get("HttpTokens", "")).lower() == "required":
            yield resource_result(inst, Status.PASS, f"{name} requires IMDSv2", evidence)
        else:
            yield resource_result(
                inst,
                Status.FAIL,
                f"{name} allows IMDSv1 (HttpTokens={options.get('HttpTokens') or 'unset'})",
                evidence,
            )
    for settings in sorted(snap.of("ec2:account-settings"), key=lambda i: i.arn):
        defaults = as_dict(settings.data).get("InstanceMetadataDefaults")
        if defaults is None:
            yield resource_result(
                settings, Status.UNKNOWN, f"IMDS account default not available in {settings.region}"
            )
            continue
        tokens = as_dict(defaults).get("HttpTokens")
        evidence = {"InstanceMetadataDefaults": dict(as_dict(defaults))}
        if str(tokens or "").lower() == "required":
            yield resource_result(
                settings, Status.PASS, f"{settings.region}: new instances require IMDSv2 by default", evidence
            )
        else:
            yield resource_result(
                settings,
                Status.FAIL,
                f"{settings.region}: account default allows IMDSv1 (HttpTokens={tokens or 'no-preference'})",
                evidence,
            )


@check(
    id="ec2.ebs_default_encryption",
    title="EBS encryption by default on in every region",
    service="EC2",
    scope="account",
    severity=Severity.HIGH,
    description="EBS encryption by default is on in every region in use.",
    risk="New volumes and snapshot copies are created unencrypted unless every launch remembers to ask.",
    remediation=(
        "1. Per region: aws ec2 enable-ebs-encryption-by-default --region <region>\n"
        "2. Optionally choose the key: aws ec2 modify-ebs-default-kms-key-id --kms-key-id <key> --region <region>\n"
        "Console: EC2 > Dashboard > Account attributes > Data protection and security > EBS encryption > Manage."
    ),
    references=("CIS 5.1.1", DOC_EBS_DEFAULT),
    requires=("ec2:account-settings",),
    baseline=True,
)
def ebs_default_encryption(snap: Snapshot) -> Iterator[Result]:
    regions = expected_regions(snap, "ec2:account-settings")
    state = {i.region: as_dict(i.data).get("EbsEncryptionByDefault") for i in snap.of("ec2:account-settings")}
    off = [r for r in regions if r in state and state[r] is not None and not truthy(state[r])]
    unknown = [r for r in regions if state.get(r) is None]
    evidence = {"regions": {r: state.get(r) for r in regions}, "off": off, "unknown": unknown}
    if off:
        yield account_result(
            snap, Status.FAIL, "EBS encryption by default off in " + join_limited(off), evidence
        )
    elif unknown or not regions:
        yield account_result(
            snap,
            Status.UNKNOWN,
            "EBS default encryption not known in " + (join_limited(unknown) or "any region"),
            evidence,
        )
    else:
        yield account_result(
            snap, Status.PASS, f"EBS encryption by default on in all {len(regions)} regions", evidence
        )


@check(
    id="ec2.ebs_volume_encryption",
    title="EBS volumes are encrypted",
    service="EC2",
    scope="resource",
    severity=Severity.MEDIUM,
    description="An EBS volume is not encrypted.",
    risk="Data on the volume, and every snapshot made from it, is stored and shared unencrypted.",
    remediation=(
        "1. Snapshot the volume: aws ec2 create-snapshot --volume-id <vol>\n"
        "2. Copy it encrypted: aws ec2 copy-snapshot --source-snapshot-id <snap> --source-region <region> --encrypted\n"
        "3. Create a volume from the copy, swap it in, delete the old one; turn on EBS encryption by default.\n"
        "Console: EC2 > Elastic Block Store > Volumes."
    ),
    references=(DOC_EBS, DOC_EBS_DEFAULT),
    requires=("ec2:volume",),
)
def ebs_volume_encryption(snap: Snapshot) -> Iterator[Result]:
    for vol in sorted(snap.of("ec2:volume"), key=lambda i: i.arn):
        data = as_dict(vol.data)
        name = data.get("VolumeId") or vol.resource_id
        evidence = {
            "Encrypted": data.get("Encrypted"),
            "KmsKeyId": data.get("KmsKeyId"),
            "attachments": [a.get("InstanceId") for a in dicts(data.get("Attachments"))],
        }
        if truthy(data.get("Encrypted")):
            yield resource_result(vol, Status.PASS, f"{name} is encrypted", evidence)
        else:
            yield resource_result(vol, Status.FAIL, f"{name} is not encrypted", evidence)


def public_permissions(perms: Any) -> list[dict[str, Any]]:
    """The create-volume / launch permissions granted to the group "all" (every AWS account)."""
    return [dict(p) for p in dicts(perms) if str(p.get("Group", "")).lower() == "all"]


@check(
    id="ec2.public_snapshot",
    title="No EBS snapshot is public",
    service="EC2",
    scope="resource",
    severity=Severity.CRITICAL,
    description="An EBS snapshot's create-volume permission includes the group 'all'.",
    risk="Anyone with an AWS account can create a volume from the snapshot and read every byte on it.",
    remediation=(
        "1. aws ec2 modify-snapshot-attribute --snapshot-id <snap> --attribute createVolumePermission "
        "--operation-type remove --group-names all\n"
        "2. Prevent it account-wide: aws ec2 enable-snapshot-block-public-access --state block-all-sharing --region <region>\n"
        "Console: EC2 > Snapshots > <snap> > Actions > Snapshot settings > Modify permissions > Private."
    ),
    references=(DOC_SNAPSHOT_SHARE,),
    requires=("ec2:snapshot",),
)
def public_snapshot(snap: Snapshot) -> Iterator[Result]:
    for s in sorted(snap.of("ec2:snapshot"), key=lambda i: i.arn):
        if (unread := unread_result(s, ("CreateVolumePermissions",))) is not None:
            yield unread
            continue
        data = as_dict(s.data)
        name = data.get("SnapshotId") or s.resource_id
        public = public_permissions(data.get("CreateVolumePermissions"))
        shared = [p.get("UserId") for p in dicts(data.get("CreateVolumePermissions")) if p.get("UserId")]
        evidence = {
            "public_permissions": public,
            "shared_with_accounts": shared,
            "Encrypted": data.get("Encrypted"),
        }
        if public:
            yield resource_result(s, Status.FAIL, f"Snapshot {name} is public", evidence, Exposure.PUBLIC)
        else:
            yield resource_result(s, Status.PASS, f"Snapshot {name} is not public", evidence)


@check(
    id="ec2.public_ami",
    title="No AMI is public",
    service="EC2",
    scope="resource",
    severity=Severity.CRITICAL,
    description="An AMI owned by the account has a launch permission for the group 'all' (or is flagged Public).",
    risk="Anyone can launch the image and read what was baked into it: keys, configuration, code.",
    remediation=(
        '1. aws ec2 modify-image-attribute --image-id <ami> --launch-permission "Remove=[{Group=all}]"\n'
        "2. Prevent it: aws ec2 enable-image-block-public-access --image-block-public-access-state block-new-sharing --region <region>\n"
        "Console: EC2 > AMIs > <ami> > Actions > Edit AMI permissions > Private."
    ),
    references=(DOC_AMI_SHARE,),
    requires=("ec2:image",),
)
def public_ami(snap: Snapshot) -> Iterator[Result]:
    for img in sorted(snap.of("ec2:image"), key=lambda i: i.arn):
        if (unread := unread_result(img, ("LaunchPermissions",))) is not None:
            yield unread
            continue
        data = as_dict(img.data)
        name = data.get("ImageId") or img.resource_id
        public = public_permissions(data.get("LaunchPermissions"))
        evidence = {"public_permissions": public, "Public": data.get("Public")}
        if public or truthy(data.get("Public")):
            yield resource_result(
                img, Status.FAIL, f"AMI {name} ({label(img)}) is public", evidence, Exposure.PUBLIC
            )
        else:
            yield resource_result(img, Status.PASS, f"AMI {name} is not public", evidence)

"""VPCs, security groups and instances. No Django here."""

from __future__ import annotations

from typing import Any

from inventory.simulation.seeding.base import (
    AMI,
    SeederBase,
    _Account,
    _Vpc,
)


class NetworkMixin(SeederBase):
    """Seeding steps: vPCs, security groups and instances."""

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

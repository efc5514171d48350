"""Benchmark: exposure analysis + network map for synthetic accounts of 200, 2,000 and 20,000 resources.

Run from the repository root:  .venv/bin/python bench/map/run.py [--sizes 200,2000,20000] [--json out.json]

Each account is one region with a realistic mix: VPCs with public / private / data subnets in three
AZs, an internet gateway, NAT gateways, route tables and ACLs; "applications" made of an
internet-facing ALB in the public subnets, an auto-scaling group of instances (with their network
interfaces) spread over the private subnets, often an RDS instance in the data subnets, security
groups chaining ALB -> app -> DB; plus bastion hosts with public IPs, a few hand-made legacy
instances, Lambda functions (some with public function URLs, some in the VPC), a VPC peering and a
customer prefix list. Sizes of the auto-scaling groups follow a skewed distribution.

For each size it prints the number of stored resources, the map's nodes / edges / grouped members,
the figure's JSON size and the server time split into analysis (index + exposure report) and map
(grouping + edges + layout + plotly figure). No network, no Django: pure functions over items.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from iam_audit.checks.base import Item  # noqa: E402
from inventory.exposure.analysis import build_model  # noqa: E402
from inventory.exposure.mapgraph import build_map  # noqa: E402

ACCOUNT = "123456789012"
REGION = "eu-west-1"
AZS = ("a", "b", "c")
ASG_SIZES = (2, 2, 3, 4, 4, 6, 8, 10, 12, 20, 30, 50, 80, 150, 300)


class Estate:
    """Builds items shaped like the collectors' records (inventory/resource_types.py)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.items: list[Item] = []
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:08x}"

    def add(
        self, type_: str, rid: str, data: dict[str, Any], tags: dict[str, str] | None = None, arn: str = ""
    ) -> Item:
        service, kind = type_.split(":", 1)
        it = Item(
            type=type_,
            arn=arn or f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}/{rid}",
            resource_id=rid,
            name=(tags or {}).get("Name", rid),
            region=REGION,
            tags=tags or {},
            data=data,
        )
        self.items.append(it)
        return it

    # ------------------------------------------------------------------ network
    def vpc(self, index: int) -> dict[str, Any]:
        vpc_id = self.next_id("vpc")
        cidr = f"10.{index}.0.0/16"
        self.add(
            "ec2:vpc",
            vpc_id,
            {
                "VpcId": vpc_id,
                "CidrBlock": cidr,
                "IsDefault": False,
                "CidrBlockAssociationSet": [{"CidrBlock": cidr}],
            },
            {"Name": f"vpc-{index}"},
        )
        igw = self.next_id("igw")
        self.add(
            "ec2:internet-gateway",
            igw,
            {"InternetGatewayId": igw, "Attachments": [{"VpcId": vpc_id, "State": "available"}]},
        )
        subnets: dict[str, list[str]] = {"public": [], "private": [], "data": []}
        third = 0
        for tier in ("public", "private", "data"):
            for az in AZS:
                sid = self.next_id("subnet")
                self.add(
                    "ec2:subnet",
                    sid,
                    {
                        "SubnetId": sid,
                        "VpcId": vpc_id,
                        "CidrBlock": f"10.{index}.{third}.0/24",
                        "AvailabilityZone": f"{REGION}{az}",
                    },
                    {"Name": f"{tier}-{az}"},
                )
                subnets[tier].append(sid)
                third += 1
        local = {"DestinationCidrBlock": cidr, "GatewayId": "local", "State": "active"}
        rtb = self.next_id("rtb")
        self.add(
            "ec2:route-table",
            rtb,
            {
                "RouteTableId": rtb,
                "VpcId": vpc_id,
                "Routes": [local, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "State": "active"}],
                "Associations": [{"SubnetId": s, "Main": False} for s in subnets["public"]],
            },
        )
        for az, priv, data in zip(AZS, subnets["private"], subnets["data"], strict=True):
            nat = self.next_id("nat")
            self.add(
                "ec2:nat-gateway",
                nat,
                {
                    "NatGatewayId": nat,
                    "SubnetId": subnets["public"][AZS.index(az)],
                    "VpcId": vpc_id,
                    "State": "available",
                },
            )
            rtb = self.next_id("rtb")
            self.add(
                "ec2:route-table",
                rtb,
                {
                    "RouteTableId": rtb,
                    "VpcId": vpc_id,
                    "Routes": [
                        local,
                        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat, "State": "active"},
                    ],
                    "Associations": [{"SubnetId": priv, "Main": False}, {"SubnetId": data, "Main": False}],
                },
            )
        main = self.next_id("rtb")
        self.add(
            "ec2:route-table",
            main,
            {"RouteTableId": main, "VpcId": vpc_id, "Routes": [local], "Associations": [{"Main": True}]},
        )
        allow_all = [
            {
                "RuleNumber": 100,
                "Protocol": "-1",
                "RuleAction": "allow",
                "Egress": e,
                "CidrBlock": "0.0.0.0/0",
            }
            for e in (False, True)
        ] + [
            {
                "RuleNumber": 32767,
                "Protocol": "-1",
                "RuleAction": "deny",
                "Egress": e,
                "CidrBlock": "0.0.0.0/0",
            }
            for e in (False, True)
        ]
        acl = self.next_id("acl")
        self.add(
            "ec2:network-acl",
            acl,
            {
                "NetworkAclId": acl,
                "VpcId": vpc_id,
                "IsDefault": True,
                "Entries": allow_all,
                "Associations": [{"SubnetId": s} for s in subnets["public"] + subnets["private"]],
            },
        )
        data_acl = self.next_id("acl")
        self.add(
            "ec2:network-acl",
            data_acl,
            {
                "NetworkAclId": data_acl,
                "VpcId": vpc_id,
                "IsDefault": False,
                "Entries": [
                    {
                        "RuleNumber": 100,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "Egress": False,
                        "CidrBlock": cidr,
                        "PortRange": {"From": 5432, "To": 5432},
                    },
                    {
                        "RuleNumber": 110,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "Egress": False,
                        "CidrBlock": cidr,
                        "PortRange": {"From": 3306, "To": 3306},
                    },
                    *allow_all[1:2],
                    *allow_all[2:],
                ],
                "Associations": [{"SubnetId": s} for s in subnets["data"]],
            },
        )
        return {"id": vpc_id, "cidr": cidr, "subnets": subnets, "index": index}

    def sg(self, vpc: dict[str, Any], name: str, ingress: list[dict[str, Any]]) -> str:
        gid = self.next_id("sg")
        self.add(
            "ec2:security-group",
            gid,
            {
                "GroupId": gid,
                "GroupName": name,
                "VpcId": vpc["id"],
                "OwnerId": ACCOUNT,
                "IpPermissions": ingress,
                "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            },
            {"Name": name},
        )
        return gid

    def instance(
        self, vpc: dict[str, Any], subnet: str, groups: list[str], tags: dict[str, str], public_ip: str = ""
    ) -> str:
        iid = self.next_id("i")
        eni = self.next_id("eni")
        private = f"10.{vpc['index']}.{self.rng.randrange(0, 9)}.{self.rng.randrange(4, 250)}"
        nic: dict[str, Any] = {
            "NetworkInterfaceId": eni,
            "SubnetId": subnet,
            "VpcId": vpc["id"],
            "Groups": [{"GroupId": g} for g in groups],
            "PrivateIpAddress": private,
            "Attachment": {"DeviceIndex": 0, "InstanceId": iid},
        }
        if public_ip:
            nic["Association"] = {"PublicIp": public_ip}
        self.add(
            "ec2:instance",
            iid,
            {
                "InstanceId": iid,
                "SubnetId": subnet,
                "VpcId": vpc["id"],
                "State": {"Name": "running"},
                "SecurityGroups": [{"GroupId": g} for g in groups],
                "PrivateIpAddress": private,
                "PublicIpAddress": public_ip or None,
                "NetworkInterfaces": [nic],
                "MetadataOptions": {"HttpTokens": "required"},
            },
            tags,
        )
        self.add("ec2:network-interface", eni, {**nic, "InterfaceType": "interface", "Status": "in-use"})
        return iid

    # ------------------------------------------------------------------ workloads
    def application(self, vpc: dict[str, Any], n: int, budget: int, fleet: int | None = None) -> None:
        rng = self.rng
        name = f"app{n}"
        alb_sg = self.sg(
            vpc,
            f"{name}-alb",
            [
                {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                for p in (80, 443)
            ],
        )
        app_sg = self.sg(
            vpc,
            f"{name}-app",
            [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 8080,
                    "ToPort": 8080,
                    "UserIdGroupPairs": [{"GroupId": alb_sg}],
                },
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": vpc["cidr"]}]},
            ],
        )
        size = max(2, min(fleet or rng.choice(ASG_SIZES), budget // 3))  # two items per instance
        asg = f"{name}-asg"
        targets = []
        for k in range(size):
            subnet = vpc["subnets"]["private"][k % 3]
            targets.append(
                self.instance(
                    vpc,
                    subnet,
                    [app_sg],
                    {"aws:autoscaling:groupName": asg, "app": name, "Name": f"{name}-node"},
                )
            )
        lb_arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{name}/{n:016x}"
        self.add(
            "elbv2:load-balancer",
            name,
            {
                "LoadBalancerArn": lb_arn,
                "LoadBalancerName": name,
                "DNSName": f"{name}.{REGION}.elb.amazonaws.com",
                "Scheme": "internet-facing" if rng.random() < 0.7 else "internal",
                "Type": "application",
                "VpcId": vpc["id"],
                "IpAddressType": "ipv4",
                "SecurityGroups": [alb_sg],
                "AvailabilityZones": [
                    {"ZoneName": f"{REGION}{az}", "SubnetId": s}
                    for az, s in zip(AZS, vpc["subnets"]["public"], strict=True)
                ],
                "Listeners": [{"Port": 80, "Protocol": "HTTP"}, {"Port": 443, "Protocol": "HTTPS"}],
                "TargetGroups": [
                    {
                        "TargetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/1",
                        "Port": 8080,
                        "Protocol": "HTTP",
                        "Targets": targets,
                    }
                ],
            },
            {"app": name},
            arn=lb_arn,
        )
        if rng.random() < 0.6:
            db_sg = self.sg(
                vpc,
                f"{name}-db",
                [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 5432,
                        "ToPort": 5432,
                        "UserIdGroupPairs": [{"GroupId": app_sg}],
                    }
                ],
            )
            public = rng.random() < 0.1
            if public:  # the classic mistake: a public DB with a world-open group, in public subnets
                db_sg = self.sg(
                    vpc,
                    f"{name}-db-open",
                    [
                        {
                            "IpProtocol": "tcp",
                            "FromPort": 5432,
                            "ToPort": 5432,
                            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                        }
                    ],
                )
            subnets = vpc["subnets"]["public" if public else "data"]
            db = f"{name}-db"
            self.add(
                "rds:db-instance",
                db,
                {
                    "DBInstanceIdentifier": db,
                    "DBInstanceStatus": "available",
                    "PubliclyAccessible": public,
                    "Engine": "postgres",
                    "Endpoint": {"Address": f"{db}.rds.amazonaws.com", "Port": 5432},
                    "VpcSecurityGroups": [{"VpcSecurityGroupId": db_sg, "Status": "active"}],
                    "DBSubnetGroup": {
                        "VpcId": vpc["id"],
                        "Subnets": [{"SubnetIdentifier": s} for s in subnets],
                    },
                },
                {"app": name},
                arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{db}",
            )
        if n % 5 == 0:
            bastion_sg = self.sg(
                vpc,
                f"{name}-bastion",
                [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            )
            self.instance(
                vpc,
                vpc["subnets"]["public"][0],
                [bastion_sg],
                {"Name": f"{name}-bastion"},
                public_ip=f"54.{vpc['index']}.{n % 250}.{rng.randrange(1, 250)}",
            )
        if n % 4 == 0:
            for k in range(rng.randrange(2, 6)):  # hand-made legacy hosts sharing one group
                self.instance(vpc, vpc["subnets"]["private"][k % 3], [app_sg], {"Name": f"{name}-legacy-{k}"})
        if n % 3 == 0:
            fn = f"{name}-worker"
            fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}"
            self.add(
                "lambda:function",
                fn,
                {
                    "FunctionName": fn,
                    "FunctionArn": fn_arn,
                    "Runtime": "python3.12",
                    "VpcConfig": {
                        "VpcId": vpc["id"],
                        "SubnetIds": vpc["subnets"]["private"],
                        "SecurityGroupIds": [app_sg],
                    },
                    "FunctionUrl": None,
                    "Policy": None,
                },
                {"app": name},
                arn=fn_arn,
            )
        if n % 7 == 0:
            fn = f"{name}-hook"
            fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}"
            self.add(
                "lambda:function",
                fn,
                {
                    "FunctionName": fn,
                    "FunctionArn": fn_arn,
                    "Runtime": "nodejs20.x",
                    "VpcConfig": {},
                    "FunctionUrl": {
                        "FunctionUrl": f"https://{fn}.lambda-url.{REGION}.on.aws/",
                        "AuthType": "NONE",
                    },
                    "Policy": None,
                },
                {"app": name},
                arn=fn_arn,
            )


def synthesise(target: int, seed: int = 7, mode: str = "apps") -> list[Item]:
    """An account of about ``target`` stored resources (it stops at the first app past the target).

    ``mode="apps"``: a bigger account has more applications (and VPCs), each with the same skewed
    fleet sizes — the number of distinct things grows with the size. ``mode="fleet"``: the same
    2 VPCs and about 20 applications whatever the size, their auto-scaling groups grow instead.
    """
    estate = Estate(seed)
    n_vpcs = max(2, target // 2000) if mode == "apps" else 2
    vpcs = [estate.vpc(i) for i in range(n_vpcs)]
    pl = estate.next_id("pl")
    estate.add(
        "ec2:managed-prefix-list",
        pl,
        {
            "PrefixListId": pl,
            "OwnerId": ACCOUNT,
            "Entries": [{"Cidr": "198.51.100.0/24"}, {"Cidr": "203.0.113.0/24"}],
        },
    )
    a, b = vpcs[0], vpcs[1]
    pcx = estate.next_id("pcx")
    estate.add(
        "ec2:vpc-peering-connection",
        pcx,
        {
            "VpcPeeringConnectionId": pcx,
            "Status": {"Code": "active"},
            "RequesterVpcInfo": {
                "VpcId": a["id"],
                "OwnerId": ACCOUNT,
                "CidrBlock": a["cidr"],
                "Region": REGION,
            },
            "AccepterVpcInfo": {
                "VpcId": b["id"],
                "OwnerId": ACCOUNT,
                "CidrBlock": b["cidr"],
                "Region": REGION,
            },
        },
    )
    n = 0
    while len(estate.items) < target:
        budget = target - len(estate.items)
        if mode == "fleet":
            # ~20 applications share the budget; each ASG gets its share (two items per instance)
            estate.application(vpcs[n % len(vpcs)], n, budget, fleet=max(2, target // 45) if n < 19 else None)
        else:
            estate.application(vpcs[n % len(vpcs)], n, budget)
        n += 1
    return estate.items


def measure(target: int, repeat: int, mode: str) -> dict[str, Any]:
    items = synthesise(target, mode=mode)
    best: dict[str, Any] = {}
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        model = build_model(items)
        report = model.report
        t1, c1 = time.perf_counter(), time.process_time()
        payload = build_map(items, REGION, model=model)
        t2, c2 = time.perf_counter(), time.process_time()
        run = {
            "analysis_s": t1 - t0,
            "map_s": t2 - t1,
            "total_s": t2 - t0,
            "analysis_cpu_s": c1 - c0,
            "map_cpu_s": c2 - c1,
            "cpu_s": c2 - c0,
        }
        if not best or run["cpu_s"] < best["cpu_s"]:
            best = run
    ungrouped = build_map(items, REGION, model=model, group=False)
    raw = json.dumps(payload.figure, separators=(",", ":")).encode()
    return {
        "mode": mode,
        "resources": len(items),
        "receivers": len(model.endpoints),
        "exposed": len(report.exposed),
        "via_lb": len(report.via_load_balancer),
        "nodes": payload.stats["nodes"],
        "edges": payload.stats["edges"],
        "grouped": payload.stats["grouped"],
        "drawn": payload.stats["resources"],
        "figure_bytes": len(raw),
        "figure_gzip_bytes": len(gzip.compress(raw)),
        "ungrouped_nodes": ungrouped.stats["nodes"],
        "ungrouped_figure_bytes": ungrouped.json_bytes(),
        **{k: round(v, 3) for k, v in best.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,2000,20000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is reported")
    parser.add_argument("--modes", default="apps,fleet", help="apps: more applications; fleet: bigger ASGs")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    rows = [
        measure(int(s), args.repeat, mode) for mode in args.modes.split(",") for s in args.sizes.split(",")
    ]
    header = (
        f"{'mode':>5} {'resources':>9} {'receivers':>9} {'exposed':>7} {'nodes':>5} {'edges':>5} "
        f"{'grouped':>7} {'fig KB':>7} {'gzip KB':>7} {'ungrouped nodes/KB':>18} "
        f"{'analysis cpu s':>14} {'map cpu s':>9} {'cpu s':>6} {'wall s':>6}"
    )
    print(header)
    for r in rows:
        ungrouped = f"{r['ungrouped_nodes']}/{r['ungrouped_figure_bytes'] / 1024:.0f}"
        print(
            f"{r['mode']:>5} {r['resources']:>9} {r['receivers']:>9} {r['exposed']:>7} {r['nodes']:>5} "
            f"{r['edges']:>5} {r['grouped']:>7} {r['figure_bytes'] / 1024:>7.1f} "
            f"{r['figure_gzip_bytes'] / 1024:>7.1f} {ungrouped:>18} {r['analysis_cpu_s']:>14.3f} "
            f"{r['map_cpu_s']:>9.3f} {r['cpu_s']:>6.3f} {r['total_s']:>6.3f}"
        )
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (times are the fastest of {args.repeat})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

"""Internet exposure and internal reachability over hand-built stored items."""

from __future__ import annotations

from typing import Any

from inventory.exposure.analysis import analyse_account, internal_edges
from inventory.exposure.ports import PortRange
from tests.inventory.exposure.builders import (
    ACCOUNT,
    REGION,
    arn,
    base_network,
    entry,
    igw,
    instance,
    item,
    nacl,
    perm,
    route,
    route_table,
    sg,
    subnet,
    vpc,
)

WEB = arn("instance", "i-web")
TCP = PortRange


def ports_of(items: list[Any], resource_arn: str = WEB) -> list[PortRange]:
    report = analyse_account(items)
    assert resource_arn in report.by_arn, f"{resource_arn} not exposed; exposed: {list(report.by_arn)}"
    return list(report.by_arn[resource_arn].ports)


def web(groups: list[str], subnet_id: str = "subnet-pub", **kw: Any) -> Any:
    kw.setdefault("public_ip", "54.0.0.10")
    return instance("i-web", subnet_id, "vpc-1", groups, **kw)


# ---------------------------------------------------------------------- ports and rules
def test_port_range_rule_is_reported_as_that_range() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 8000, 8100, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"]),
    ]
    assert ports_of(items) == [TCP("tcp", 8000, 8100)]


def test_all_traffic_rule_exposes_every_protocol() -> None:
    items = base_network() + [sg("sg-1", "vpc-1", [perm("-1", cidrs=["0.0.0.0/0"])]), web(["sg-1"])]
    report = analyse_account(items)
    exposure = report.by_arn[WEB]
    assert exposure.ports == (TCP("all", 0, 65535),)
    assert exposure.world
    assert exposure.cidrs == ("0.0.0.0/0",)


def test_rules_of_several_groups_add_up() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        sg(
            "sg-2",
            "vpc-1",
            [perm("tcp", 443, cidrs=["0.0.0.0/0"]), perm("icmp", -1, -1, cidrs=["0.0.0.0/0"])],
        ),
        web(["sg-1", "sg-2"]),
    ]
    assert ports_of(items) == [TCP("tcp", 22, 22), TCP("tcp", 443, 443), TCP("icmp", 0, 255)]
    report = analyse_account(items)
    assert set(report.by_arn[WEB].security_groups) == {"sg-1", "sg-2"}


def test_rule_from_a_private_range_is_not_internet_exposure() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["10.0.0.0/8", "192.168.1.0/24"])]),
        web(["sg-1"]),
    ]
    assert analyse_account(items).exposed == []


def test_rule_from_one_public_address_is_exposure_but_not_to_the_world() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["198.51.100.7/32"])]),
        web(["sg-1"]),
    ]
    exposure = analyse_account(items).by_arn[WEB]
    assert exposure.cidrs == ("198.51.100.7/32",)
    assert not exposure.world


# ---------------------------------------------------------------------- IPv6
def test_ipv6_world_rule_exposes_an_instance_with_an_ipv6_address() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 443, v6=["::/0"])]),
        web(["sg-1"], public_ip="", ipv6="2001:db8:1:1::10"),
    ]
    exposure = analyse_account(items).by_arn[WEB]
    assert exposure.ports == (TCP("tcp", 443, 443),)
    assert exposure.cidrs == ("::/0",)
    assert exposure.world


def test_ipv6_rule_does_not_expose_an_ipv4_only_instance() -> None:
    items = base_network() + [sg("sg-1", "vpc-1", [perm("tcp", 443, v6=["::/0"])]), web(["sg-1"])]
    assert analyse_account(items).exposed == []


def test_ipv6_needs_its_own_default_route_to_the_gateway() -> None:
    items = [i for i in base_network() if i.resource_id != "rtb-pub"] + [
        route_table(
            "rtb-pub",
            "vpc-1",
            [route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")],
            subnets=["subnet-pub"],
        ),
        sg("sg-1", "vpc-1", [perm("tcp", 443, v6=["::/0"])]),
        web(["sg-1"], public_ip="", ipv6="2001:db8:1:1::10"),
    ]
    assert analyse_account(items).exposed == []


# ---------------------------------------------------------------------- routes
def test_world_open_group_in_a_private_subnet_is_not_internet_reachable() -> None:
    items = base_network() + [
        sg("sg-open", "vpc-1", [perm("-1", cidrs=["0.0.0.0/0"])]),
        web(["sg-open"], subnet_id="subnet-priv"),  # has a public IP, but the subnet routes out via NAT
    ]
    report = analyse_account(items)
    assert report.exposed == []
    assert report.sg_exposure("sg-open") is False
    assert report.sg_exposure(arn("security-group", "sg-open")) is False
    assert report.sg_reachable("sg-open") is False
    assert report.sg_reachable("sg-never-seen") is None


def test_open_group_on_a_reachable_instance_counts_for_the_group() -> None:
    items = base_network() + [
        sg("sg-open", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-open"]),
    ]
    report = analyse_account(items)
    assert report.sg_exposure(arn("security-group", "sg-open")) is True
    assert report.sg_exposed_ports("sg-open") == [TCP("tcp", 22, 22)]


def test_instance_without_public_address_is_not_exposed_even_in_a_public_subnet() -> None:
    items = base_network() + [
        sg("sg-open", "vpc-1", [perm("-1", cidrs=["0.0.0.0/0"])]),
        web(["sg-open"], public_ip=""),
    ]
    assert analyse_account(items).exposed == []


def test_main_route_table_applies_to_a_subnet_without_explicit_association() -> None:
    items = [
        vpc("vpc-1", "10.0.0.0/16"),
        subnet("subnet-pub", "vpc-1", "10.0.1.0/24"),
        igw("igw-1", "vpc-1"),
        route_table(
            "rtb-main", "vpc-1", [route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")], main=True
        ),
        route_table("rtb-other", "vpc-1", [route("10.0.0.0/16", "local")], subnets=["subnet-other"]),
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"]),
    ]
    exposure = analyse_account(items).by_arn[WEB]
    route_hop = next(h for h in exposure.path if h.kind == "route-table")
    assert route_hop.id == "rtb-main" and route_hop.detail == "main route table"


def test_explicit_association_without_gateway_route_overrides_a_public_main_table() -> None:
    items = [
        vpc("vpc-1", "10.0.0.0/16"),
        subnet("subnet-pub", "vpc-1", "10.0.1.0/24"),
        igw("igw-1", "vpc-1"),
        route_table(
            "rtb-main", "vpc-1", [route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")], main=True
        ),
        route_table("rtb-private", "vpc-1", [route("10.0.0.0/16", "local")], subnets=["subnet-pub"]),
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"]),
    ]
    assert analyse_account(items).exposed == []


def test_blackhole_route_and_gateway_of_another_vpc_do_not_make_a_subnet_public() -> None:
    base = [
        vpc("vpc-1", "10.0.0.0/16"),
        subnet("subnet-pub", "vpc-1", "10.0.1.0/24"),
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"]),
    ]
    blackhole = base + [
        igw("igw-1", "vpc-1"),
        route_table(
            "rtb-1", "vpc-1", [route("0.0.0.0/0", "igw-1", state="blackhole")], subnets=["subnet-pub"]
        ),
    ]
    elsewhere = base + [
        igw("igw-9", "vpc-9"),
        route_table("rtb-1", "vpc-1", [route("0.0.0.0/0", "igw-9")], subnets=["subnet-pub"]),
    ]
    assert analyse_account(blackhole).exposed == []
    assert analyse_account(elsewhere).exposed == []


def test_path_walks_from_gateway_to_resource() -> None:
    items = base_network() + [sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]), web(["sg-1"])]
    exposure = analyse_account(items).by_arn[WEB]
    assert [h.kind for h in exposure.path] == [
        "internet-gateway",
        "route-table",
        "subnet",
        "network-acl",
        "security-group",
        "resource",
    ]
    assert exposure.path[0].id == "igw-1"
    assert "rule 100 allow" in exposure.path[3].detail
    assert "tcp/22 from 0.0.0.0/0" in exposure.path[4].detail
    assert exposure.public_addresses == ("54.0.0.10",)


# ---------------------------------------------------------------------- network ACLs
def _with_acl(entries: list[dict[str, Any]], rules: list[dict[str, Any]]) -> list[Any]:
    items = [i for i in base_network() if i.type != "ec2:network-acl"]
    return items + [
        nacl("acl-default", "vpc-1", default=True, subnets=["subnet-priv"]),
        nacl("acl-pub", "vpc-1", entries, subnets=["subnet-pub"]),
        sg("sg-1", "vpc-1", rules),
        web(["sg-1"]),
    ]


def test_acl_deny_with_lower_rule_number_wins_over_a_later_allow() -> None:
    items = _with_acl(
        [entry(90, "deny", ports=(22, 22), proto="6"), entry(100, "allow"), entry(32767, "deny")],
        [perm("tcp", 22, cidrs=["0.0.0.0/0"]), perm("tcp", 443, cidrs=["0.0.0.0/0"])],
    )
    assert ports_of(items) == [TCP("tcp", 443, 443)]


def test_acl_allow_with_lower_rule_number_wins_over_a_later_deny() -> None:
    items = _with_acl(
        [entry(90, "allow"), entry(100, "deny", ports=(22, 22), proto="6"), entry(32767, "deny")],
        [perm("tcp", 22, cidrs=["0.0.0.0/0"]), perm("tcp", 443, cidrs=["0.0.0.0/0"])],
    )
    assert ports_of(items) == [TCP("tcp", 22, 22), TCP("tcp", 443, 443)]


def test_acl_allowing_one_port_limits_an_all_open_group_to_that_port() -> None:
    items = _with_acl(
        [entry(100, "allow", proto="6", ports=(443, 443)), entry(32767, "deny")],
        [perm("-1", cidrs=["0.0.0.0/0"])],
    )
    assert ports_of(items) == [TCP("tcp", 443, 443)]
    acl_hop = next(h for h in analyse_account(items).by_arn[WEB].path if h.kind == "network-acl")
    assert acl_hop.id == "acl-pub" and "rule 100 allow tcp/443" in acl_hop.detail


def test_acl_with_only_the_default_deny_blocks_everything() -> None:
    items = _with_acl([entry(32767, "deny")], [perm("-1", cidrs=["0.0.0.0/0"])])
    assert analyse_account(items).exposed == []


def test_acl_denying_one_range_first_splits_the_world_exactly() -> None:
    items = _with_acl(
        [entry(50, "deny", "203.0.113.0/24"), entry(100, "allow"), entry(32767, "deny")],
        [perm("tcp", 22, cidrs=["0.0.0.0/0"])],
    )
    exposure = analyse_account(items).by_arn[WEB]
    assert "203.0.113.0/24" not in exposure.cidrs
    assert "0.0.0.0/0" not in exposure.cidrs
    assert "203.0.112.0/24" in exposure.cidrs  # the neighbour is still allowed
    assert not exposure.world


def test_acl_ignores_egress_entries_for_inbound_traffic() -> None:
    items = _with_acl(
        [entry(10, "deny", egress=True), entry(100, "allow"), entry(32767, "deny")],
        [perm("tcp", 22, cidrs=["0.0.0.0/0"])],
    )
    assert ports_of(items) == [TCP("tcp", 22, 22)]


# ---------------------------------------------------------------------- prefix lists
def test_prefix_list_in_a_rule_resolves_to_its_entries() -> None:
    plist = item(
        "ec2:managed-prefix-list",
        "pl-0a1",
        {
            "PrefixListId": "pl-0a1",
            "OwnerId": ACCOUNT,
            "AddressFamily": "IPv4",
            "Entries": [{"Cidr": "198.51.100.0/24", "Description": "office"}, {"Cidr": "10.9.0.0/16"}],
        },
    )
    items = base_network() + [
        plist,
        sg("sg-1", "vpc-1", [perm("tcp", 22, prefix_lists=["pl-0a1"])]),
        web(["sg-1"]),
    ]
    exposure = analyse_account(items).by_arn[WEB]
    assert exposure.cidrs == ("198.51.100.0/24",)  # the private entry is not internet
    assert exposure.ports == (TCP("tcp", 22, 22),)


def test_prefix_list_that_was_not_collected_is_reported_not_guessed() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 443, prefix_lists=["pl-aws-managed"])]),
        web(["sg-1"]),
    ]
    report = analyse_account(items)
    assert report.exposed == []
    assert any("pl-aws-managed" in w for w in report.warnings)


# ---------------------------------------------------------------------- public addresses
def test_elastic_ip_on_the_instance_interface_makes_it_public() -> None:
    eip = item(
        "ec2:elastic-ip",
        "eipalloc-1",
        {
            "AllocationId": "eipalloc-1",
            "PublicIp": "52.1.2.3",
            "NetworkInterfaceId": "eni-web",
            "InstanceId": "i-web",
            "AssociationId": "eipassoc-1",
            "Domain": "vpc",
        },
    )
    items = base_network() + [
        eip,
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"], public_ip=""),
    ]
    exposure = analyse_account(items).by_arn[WEB]
    assert exposure.public_addresses == ("52.1.2.3",)


def test_standalone_interface_with_a_public_ip_is_analysed_on_its_own() -> None:
    eni = item(
        "ec2:network-interface",
        "eni-task",
        {
            "NetworkInterfaceId": "eni-task",
            "SubnetId": "subnet-pub",
            "VpcId": "vpc-1",
            "InterfaceType": "interface",
            "Groups": [{"GroupId": "sg-1"}],
            "PrivateIpAddress": "10.0.1.50",
            "Association": {"PublicIp": "3.3.3.3"},
            "Description": "arn:aws:ecs:eu-west-1:111122223333:attachment/x",
        },
    )
    nat_eni = item(
        "ec2:network-interface",
        "eni-nat",
        {
            "NetworkInterfaceId": "eni-nat",
            "SubnetId": "subnet-pub",
            "VpcId": "vpc-1",
            "InterfaceType": "nat_gateway",
            "Groups": [],
            "Association": {"PublicIp": "4.4.4.4"},
        },
    )
    items = base_network() + [eni, nat_eni, sg("sg-1", "vpc-1", [perm("tcp", 8080, cidrs=["0.0.0.0/0"])])]
    report = analyse_account(items)
    assert list(report.by_arn) == [arn("network-interface", "eni-task")]
    assert report.by_arn[arn("network-interface", "eni-task")].ports == (TCP("tcp", 8080, 8080),)


def test_interface_of_a_known_instance_is_not_counted_twice() -> None:
    eni = item(
        "ec2:network-interface",
        "eni-web",
        {
            "NetworkInterfaceId": "eni-web",
            "SubnetId": "subnet-pub",
            "VpcId": "vpc-1",
            "Groups": [{"GroupId": "sg-1"}],
            "Association": {"PublicIp": "54.0.0.10"},
            "Attachment": {"InstanceId": "i-web", "DeviceIndex": 0},
        },
    )
    items = base_network() + [eni, sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]), web(["sg-1"])]
    assert list(analyse_account(items).by_arn) == [WEB]


def test_stopped_instance_is_not_reachable() -> None:
    items = base_network() + [
        sg("sg-1", "vpc-1", [perm("tcp", 22, cidrs=["0.0.0.0/0"])]),
        web(["sg-1"], state="stopped"),
    ]
    assert analyse_account(items).exposed == []


# ---------------------------------------------------------------------- load balancers
def _alb(
    scheme: str = "internet-facing",
    groups: tuple[str, ...] = ("sg-alb",),
    lb_type: str = "application",
    listeners: tuple[tuple[str, int], ...] = (("HTTP", 80), ("HTTPS", 443)),
) -> Any:
    lb_arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/abc"
    tg_arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web-tg/def"
    return item(
        "elbv2:load-balancer",
        "web",
        {
            "LoadBalancerArn": lb_arn,
            "LoadBalancerName": "web",
            "DNSName": "web-1.elb.amazonaws.com",
            "Scheme": scheme,
            "Type": lb_type,
            "VpcId": "vpc-1",
            "IpAddressType": "ipv4",
            "SecurityGroups": list(groups),
            "AvailabilityZones": [{"ZoneName": "eu-west-1a", "SubnetId": "subnet-pub"}],
            "Listeners": [{"Port": port, "Protocol": proto} for proto, port in listeners],
            "TargetGroups": [
                {"TargetGroupArn": tg_arn, "Port": 8080, "Protocol": "HTTP", "Targets": ["i-app"]}
            ],
        },
        item_arn=lb_arn,
    )


ALB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/abc"
APP = arn("instance", "i-app")


def test_internet_facing_alb_is_exposed_on_exactly_its_allowed_listener_ports() -> None:
    items = base_network() + [
        # the group also opens 8443, where nothing listens, and 25, where nothing listens either
        sg(
            "sg-alb",
            "vpc-1",
            [
                perm("tcp", 80, cidrs=["0.0.0.0/0"]),
                perm("tcp", 443, cidrs=["0.0.0.0/0"]),
                perm("tcp", 8443, cidrs=["0.0.0.0/0"]),
                perm("tcp", 25, cidrs=["0.0.0.0/0"]),
            ],
        ),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-alb"])]),
        _alb(),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    report = analyse_account(items)
    assert report.by_arn[ALB].ports == (TCP("tcp", 80, 80), TCP("tcp", 443, 443))
    assert [h.kind for h in report.by_arn[ALB].path][-2:] == ["listener", "resource"]
    assert APP not in report.by_arn  # not directly exposed...
    via = report.reachable_via(APP)  # ...but reachable through the load balancer
    assert len(via) == 1
    assert via[0].lb_arn == ALB and via[0].ports == (TCP("tcp", 8080, 8080),) and via[0].allowed is True
    assert via[0].listener_ports == (TCP("tcp", 80, 80), TCP("tcp", 443, 443))


def test_alb_listener_not_allowed_by_its_group_is_not_exposed() -> None:
    items = base_network() + [sg("sg-alb", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]), _alb()]
    assert analyse_account(items).by_arn[ALB].ports == (TCP("tcp", 443, 443),)


def test_internal_load_balancer_is_not_exposed_and_its_targets_not_via_it() -> None:
    items = base_network() + [
        sg("sg-alb", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]),
        _alb(scheme="internal"),
    ]
    report = analyse_account(items)
    assert report.exposed == [] and report.via_load_balancer == []


def test_load_balancer_whose_listeners_were_not_collected_is_judged_by_its_groups() -> None:
    lb = _alb()
    lb = item("elbv2:load-balancer", "web", {**lb.data, "Listeners": None}, item_arn=lb.arn)
    items = base_network() + [sg("sg-alb", "vpc-1", [perm("tcp", 443, cidrs=["0.0.0.0/0"])]), lb]
    report = analyse_account(items)
    assert report.by_arn[ALB].ports == (TCP("tcp", 443, 443),)
    assert any("listeners not collected" in w for w in report.warnings)


def test_network_load_balancer_without_groups_exposes_its_listeners() -> None:
    items = base_network() + [_alb(groups=(), lb_type="network", listeners=(("TCP", 5432), ("UDP", 53)))]
    report = analyse_account(items)
    assert report.by_arn[ALB].ports == (TCP("tcp", 5432, 5432), TCP("udp", 53, 53))
    assert report.by_arn[ALB].security_groups == ()


def test_classic_load_balancer_and_its_instances() -> None:
    clb = item(
        "elb:load-balancer",
        "legacy",
        {
            "LoadBalancerName": "legacy",
            "Scheme": "internet-facing",
            "VPCId": "vpc-1",
            "Subnets": ["subnet-pub"],
            "SecurityGroups": ["sg-clb"],
            "Instances": [{"InstanceId": "i-app"}],
            "ListenerDescriptions": [
                {
                    "Listener": {
                        "Protocol": "HTTP",
                        "LoadBalancerPort": 80,
                        "InstanceProtocol": "HTTP",
                        "InstancePort": 8080,
                    }
                }
            ],
        },
    )
    items = base_network() + [
        clb,
        sg("sg-clb", "vpc-1", [perm("tcp", 80, cidrs=["0.0.0.0/0"])]),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, cidrs=["10.0.1.0/24"])]),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    report = analyse_account(items)
    assert report.by_arn[clb.arn].ports == (TCP("tcp", 80, 80),)
    assert [(t.target, t.allowed) for t in report.via_load_balancer] == [(APP, True)]


# ---------------------------------------------------------------------- RDS, Lambda, EKS
def _db(public: bool, subnets: list[str]) -> Any:
    return item(
        "rds:db-instance",
        "db1",
        {
            "DBInstanceIdentifier": "db1",
            "DBInstanceStatus": "available",
            "PubliclyAccessible": public,
            "Endpoint": {"Address": "db1.x.rds.amazonaws.com", "Port": 5432},
            "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-db", "Status": "active"}],
            "DBSubnetGroup": {"VpcId": "vpc-1", "Subnets": [{"SubnetIdentifier": s} for s in subnets]},
        },
        item_arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db1",
    )


DB = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:db1"
DB_SG = sg("sg-db", "vpc-1", [perm("tcp", 0, 65535, cidrs=["0.0.0.0/0"])])


def test_publicly_accessible_rds_in_a_public_subnet_is_exposed_on_its_port_only() -> None:
    report = analyse_account(base_network() + [DB_SG, _db(True, ["subnet-pub", "subnet-priv"])])
    assert report.by_arn[DB].ports == (TCP("tcp", 5432, 5432),)
    assert "PubliclyAccessible" in report.by_arn[DB].reasons[0]


def test_publicly_accessible_rds_in_private_subnets_is_not_exposed() -> None:
    assert analyse_account(base_network() + [DB_SG, _db(True, ["subnet-priv"])]).exposed == []


def test_private_rds_in_a_public_subnet_is_not_exposed() -> None:
    assert analyse_account(base_network() + [DB_SG, _db(False, ["subnet-pub"])]).exposed == []


def _function(auth: str | None, vpc_config: dict[str, Any] | None = None) -> Any:
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook"
    url = {"FunctionUrl": "https://abc.lambda-url.eu-west-1.on.aws/", "AuthType": auth} if auth else None
    return item(
        "lambda:function",
        "hook",
        {
            "FunctionName": "hook",
            "FunctionArn": fn_arn,
            "Runtime": "python3.12",
            "VpcConfig": vpc_config or {},
            "FunctionUrl": url,
            "Policy": None,
        },
        item_arn=fn_arn,
    )


def test_function_url_without_auth_is_exposed_and_with_iam_auth_is_not() -> None:
    fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook"
    exposure = analyse_account([_function("NONE")]).by_arn[fn_arn]
    assert exposure.ports == (TCP("tcp", 443, 443),)
    assert exposure.world and exposure.path[0].kind == "function-url"
    assert analyse_account([_function("AWS_IAM")]).exposed == []
    assert analyse_account([_function(None)]).exposed == []


def test_function_in_a_vpc_is_not_exposed_but_reaches_what_allows_its_group() -> None:
    fn = _function(None, {"VpcId": "vpc-1", "SubnetIds": ["subnet-priv"], "SecurityGroupIds": ["sg-fn"]})
    items = base_network() + [
        fn,
        sg("sg-fn", "vpc-1", []),
        sg("sg-db", "vpc-1", [perm("tcp", 5432, groups=["sg-fn"])]),
        _db(False, ["subnet-priv"]),
    ]
    assert analyse_account(items).exposed == []
    edges = internal_edges(items)
    assert [(e.src, e.dst, e.ports) for e in edges] == [(fn.arn, DB, (TCP("tcp", 5432, 5432),))]


def test_eks_public_endpoint_is_exposed_from_its_allowed_ranges() -> None:
    cluster = item(
        "eks:cluster",
        "prod",
        {
            "name": "prod",
            "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod",
            "status": "ACTIVE",
            "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            "resourcesVpcConfig": {
                "vpcId": "vpc-1",
                "subnetIds": ["subnet-priv"],
                "securityGroupIds": [],
                "clusterSecurityGroupId": "sg-eks",
                "endpointPublicAccess": True,
                "endpointPrivateAccess": True,
                "publicAccessCidrs": ["203.0.113.0/24"],
            },
        },
        item_arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod",
    )
    exposure = analyse_account(base_network() + [cluster]).by_arn[cluster.arn]
    assert exposure.cidrs == ("203.0.113.0/24",) and exposure.ports == (TCP("tcp", 443, 443),)
    private = item("eks:cluster", "p2", {"resourcesVpcConfig": {"endpointPublicAccess": False}})
    assert analyse_account([private]).exposed == []


# ---------------------------------------------------------------------- internal reachability
def test_group_reference_is_an_internal_edge_not_internet_exposure() -> None:
    items = base_network() + [
        sg("sg-web", "vpc-1", []),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-web"]), perm("tcp", 22, cidrs=["10.0.0.0/16"])]),
        instance("i-web", "subnet-priv", "vpc-1", ["sg-web"], private_ip="10.0.2.10"),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    assert analyse_account(items).exposed == []
    edges = internal_edges(items)
    assert len(edges) == 1
    edge = edges[0]
    assert (edge.src, edge.dst, edge.via) == (WEB, APP, "security-group")
    assert edge.ports == (TCP("tcp", 8080, 8080),)
    assert "sg-app allows sg-web" in edge.detail


def test_group_reference_edge_is_trimmed_by_the_source_egress_rules() -> None:
    items = base_network() + [
        sg("sg-web", "vpc-1", [], egress=[perm("tcp", 443, cidrs=["0.0.0.0/0"])]),
        sg("sg-app", "vpc-1", [perm("tcp", 8080, groups=["sg-web"])]),
        instance("i-web", "subnet-priv", "vpc-1", ["sg-web"], private_ip="10.0.2.10"),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    assert internal_edges(items) == []


def test_group_reference_across_subnets_respects_the_destination_acl() -> None:
    items = [i for i in base_network() if i.type != "ec2:network-acl"] + [
        nacl("acl-pub", "vpc-1", default=True, subnets=["subnet-pub"]),
        nacl(
            "acl-priv",
            "vpc-1",
            [
                entry(100, "allow", "10.0.0.0/16", proto="6", ports=(5432, 5432)),
                entry(32767, "deny"),
                entry(100, "allow", egress=True),
            ],
            subnets=["subnet-priv"],
        ),
        sg("sg-web", "vpc-1", []),
        sg("sg-app", "vpc-1", [perm("tcp", 5000, 6000, groups=["sg-web"])]),
        instance("i-web", "subnet-pub", "vpc-1", ["sg-web"], private_ip="10.0.1.10"),
        instance("i-app", "subnet-priv", "vpc-1", ["sg-app"], private_ip="10.0.2.20"),
    ]
    edges = internal_edges(items)
    assert [e.ports for e in edges] == [(TCP("tcp", 5432, 5432),)]


def _peered(with_routes: bool = True, cidr_rule: str = "10.1.0.0/16") -> list[Any]:
    pcx = item(
        "ec2:vpc-peering-connection",
        "pcx-1",
        {
            "VpcPeeringConnectionId": "pcx-1",
            "Status": {"Code": "active"},
            "RequesterVpcInfo": {
                "VpcId": "vpc-1",
                "OwnerId": ACCOUNT,
                "CidrBlock": "10.0.0.0/16",
                "Region": REGION,
            },
            "AccepterVpcInfo": {
                "VpcId": "vpc-2",
                "OwnerId": ACCOUNT,
                "CidrBlock": "10.1.0.0/16",
                "Region": REGION,
            },
        },
    )
    back = [route("10.0.0.0/16", "pcx-1")] if with_routes else []
    return base_network() + [
        pcx,
        vpc("vpc-2", "10.1.0.0/16"),
        subnet("subnet-b", "vpc-2", "10.1.1.0/24"),
        route_table("rtb-b", "vpc-2", [route("10.1.0.0/16", "local"), *back], subnets=["subnet-b"]),
        # vpc-1's private subnet routes vpc-2's range to the peering (main table replaced)
        route_table(
            "rtb-a",
            "vpc-1",
            [route("10.0.0.0/16", "local"), route("10.1.0.0/16", "pcx-1")],
            subnets=["subnet-priv"],
        ),
        nacl("acl-b", "vpc-2", default=True, subnets=["subnet-b"]),
        sg("sg-a", "vpc-1", []),
        sg("sg-b", "vpc-2", [perm("tcp", 5432, cidrs=["10.0.2.0/24"])]),
        instance("i-a", "subnet-priv", "vpc-1", ["sg-a"], private_ip="10.0.2.10"),
        instance("i-b", "subnet-b", "vpc-2", ["sg-b"], private_ip="10.1.1.10"),
    ]


def test_vpc_peering_with_routes_both_ways_and_a_group_allowing_the_peer_range_is_an_edge() -> None:
    edges = internal_edges(_peered())
    assert [(e.src, e.dst, e.via, e.detail, e.ports) for e in edges] == [
        (arn("instance", "i-a"), arn("instance", "i-b"), "peering", "pcx-1", (TCP("tcp", 5432, 5432),))
    ]


def test_vpc_peering_without_the_return_route_is_no_edge() -> None:
    assert internal_edges(_peered(with_routes=False)) == []


def test_vpc_peering_to_another_account_makes_an_edge_from_the_peer_vpc() -> None:
    items = [i for i in _peered() if i.resource_id not in ("pcx-1", "i-a")]
    items.append(
        item(
            "ec2:vpc-peering-connection",
            "pcx-1",
            {
                "VpcPeeringConnectionId": "pcx-1",
                "Status": {"Code": "active"},
                "RequesterVpcInfo": {
                    "VpcId": "vpc-ext",
                    "OwnerId": "999988887777",
                    "CidrBlock": "10.0.2.0/24",
                    "Region": REGION,
                },
                "AccepterVpcInfo": {
                    "VpcId": "vpc-2",
                    "OwnerId": ACCOUNT,
                    "CidrBlock": "10.1.0.0/16",
                    "Region": REGION,
                },
            },
        )
    )
    edges = internal_edges(items)
    assert [(e.src, e.dst) for e in edges] == [
        (f"arn:aws:ec2:{REGION}:999988887777:vpc/vpc-ext", arn("instance", "i-b"))
    ]


def test_internal_edges_limit_caps_the_expansion() -> None:
    many = [
        instance(f"i-w{n}", "subnet-priv", "vpc-1", ["sg-web"], private_ip=f"10.0.2.{n + 10}")
        for n in range(30)
    ]
    items = (
        base_network()
        + many
        + [
            sg("sg-web", "vpc-1", [perm("tcp", 22, groups=["sg-web"])]),
        ]
    )
    assert len(internal_edges(items)) == 30 * 29
    assert len(internal_edges(items, limit=50)) == 50


# ---------------------------------------------------------------------- bad data
def test_missing_none_and_odd_values_never_crash() -> None:
    odd: list[Any] = [
        item("ec2:instance", "i-1", {}),
        item(
            "ec2:instance",
            "i-2",
            {"NetworkInterfaces": None, "SecurityGroups": [None, 1, "x"], "State": None},
        ),
        item(
            "ec2:instance",
            "i-3",
            {
                "NetworkInterfaces": [{"Groups": None, "Association": "oops"}],
                "PublicIpAddress": 12345,
                "SubnetId": ["subnet-pub"],
            },
        ),
        item(
            "ec2:security-group",
            "sg-x",
            {
                "GroupId": "sg-x",
                "IpPermissions": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": "abc",
                        "ToPort": None,
                        "IpRanges": [{"CidrIp": "999.1.1.1/33"}, {"CidrIp": None}, "0.0.0.0/0"],
                    },
                    {"IpProtocol": None},
                    {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
                    None,
                    7,
                ],
            },
        ),
        item(
            "ec2:network-acl",
            "acl-x",
            {
                "NetworkAclId": "acl-x",
                "Entries": [
                    {"RuleNumber": "x", "Protocol": "6"},
                    {
                        "RuleNumber": 1,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "CidrBlock": "0.0.0.0/0",
                        "PortRange": {"From": None},
                    },
                    None,
                ],
                "Associations": None,
            },
        ),
        item(
            "ec2:route-table",
            "rtb-x",
            {
                "Routes": [None, {"DestinationCidrBlock": "bogus", "GatewayId": "igw-1"}],
                "Associations": [{"Main": "yes"}],
            },
        ),
        item("ec2:subnet", "subnet-x", {"CidrBlock": None}),
        item("ec2:vpc", "vpc-x", None),  # type: ignore[arg-type]
        item(
            "elbv2:load-balancer",
            "lb-x",
            {
                "Scheme": "internet-facing",
                "Listeners": [{"Port": None}, "x"],
                "AvailabilityZones": [{"SubnetId": None}, None],
                "TargetGroups": [{"Targets": [None, {"Id": "i-1"}]}],
            },
        ),
        item(
            "elb:load-balancer",
            "clb-x",
            {"Scheme": "internet-facing", "ListenerDescriptions": [None, {"Listener": 1}]},
        ),
        item(
            "rds:db-instance",
            "db-x",
            {"PubliclyAccessible": True, "DBSubnetGroup": None, "Endpoint": {"Port": "x"}},
        ),
        item(
            "lambda:function",
            "fn-x",
            {"FunctionUrl": {"AuthType": None}, "VpcConfig": None, "Policy": "not json"},
        ),
        item(
            "eks:cluster",
            "eks-x",
            {"resourcesVpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["nope"]}},
        ),
        item("ec2:vpc-peering-connection", "pcx-x", {"Status": None, "RequesterVpcInfo": 3}),
        item("ec2:managed-prefix-list", "pl-x", {"Entries": [{"Cidr": "garbage"}]}),
        item("ec2:elastic-ip", "eip-x", {"PublicIp": None}),
        item("ec2:network-interface", "eni-x", {"Association": {"PublicIp": ""}, "Ipv6Addresses": "x"}),
    ]
    report = analyse_account(base_network() + odd)
    assert isinstance(report.exposed, list)
    internal_edges(base_network() + odd)
    report.as_dict()

"""EC2 and VPC: instances, network, storage, images and account settings (regional). No Django here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from inventory.aws.permissions import declare
from inventory.collectors.base import CollectContext, register
from inventory.collectors.common import Guard, api_name, arn, parse_policy, record, with_unavailable
from inventory.records import Record

# The AWS calls this module makes (the read role's policy is made from them: inventory.aws.permissions)
CALLS = declare(
    __name__,
    "ec2",
    "DescribeAddresses",
    "DescribeFlowLogs",
    "DescribeImageAttribute",
    "DescribeImages",
    "DescribeInstances",
    "DescribeInternetGateways",
    "DescribeManagedPrefixLists",
    "DescribeNatGateways",
    "DescribeNetworkAcls",
    "DescribeNetworkInterfaces",
    "DescribeRouteTables",
    "DescribeSecurityGroups",
    "DescribeSnapshotAttribute",
    "DescribeSnapshots",
    "DescribeSubnets",
    "DescribeVolumes",
    "DescribeVpcEndpoints",
    "DescribeVpcPeeringConnections",
    "DescribeVpcs",
    "GetEbsEncryptionByDefault",
    "GetInstanceMetadataDefaults",
    "GetManagedPrefixListEntries",
)

# (type, describe method, result key, id key, ARN resource kind) for the plain listings: the item is
# recorded as returned, keyed by its id.
_SIMPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("ec2:vpc", "describe_vpcs", "Vpcs", "VpcId", "vpc"),
    ("ec2:subnet", "describe_subnets", "Subnets", "SubnetId", "subnet"),
    ("ec2:route-table", "describe_route_tables", "RouteTables", "RouteTableId", "route-table"),
    (
        "ec2:internet-gateway",
        "describe_internet_gateways",
        "InternetGateways",
        "InternetGatewayId",
        "internet-gateway",
    ),
    ("ec2:nat-gateway", "describe_nat_gateways", "NatGateways", "NatGatewayId", "natgateway"),
    ("ec2:security-group", "describe_security_groups", "SecurityGroups", "GroupId", "security-group"),
    ("ec2:network-acl", "describe_network_acls", "NetworkAcls", "NetworkAclId", "network-acl"),
    (
        "ec2:network-interface",
        "describe_network_interfaces",
        "NetworkInterfaces",
        "NetworkInterfaceId",
        "network-interface",
    ),
    (
        "ec2:vpc-peering-connection",
        "describe_vpc_peering_connections",
        "VpcPeeringConnections",
        "VpcPeeringConnectionId",
        "vpc-peering-connection",
    ),
    ("ec2:flow-log", "describe_flow_logs", "FlowLogs", "FlowLogId", "vpc-flow-log"),
    ("ec2:volume", "describe_volumes", "Volumes", "VolumeId", "volume"),
)

# ARN keys AWS includes in some items; used as-is when present.
_ARN_KEYS = ("SubnetArn", "SecurityGroupArn", "PrefixListArn", "Arn")


def _natural_name(item: dict[str, Any]) -> Any:
    return item.get("GroupName") or item.get("Name") or item.get("PrefixListName") or ""


@register
class Ec2Collector:
    """EC2 / VPC resources of one region, plus that region's EC2 account settings."""

    service: ClassVar[str] = "ec2"
    scope: ClassVar[str] = "regional"
    types: ClassVar[tuple[str, ...]] = (
        "ec2:instance",
        *(t[0] for t in _SIMPLE),
        "ec2:elastic-ip",
        "ec2:vpc-endpoint",
        "ec2:snapshot",
        "ec2:image",
        "ec2:managed-prefix-list",
        "ec2:account-settings",
    )

    def collect(self, ctx: CollectContext) -> Iterator[Record]:
        """Yield every EC2/VPC record of ``ctx.region``; each type's failure is its own."""
        g = Guard(ctx, self.service)
        ec2 = g.client()
        yield from self._instances(ctx, g, ec2)
        for spec in _SIMPLE:
            yield from self._simple(ctx, g, ec2, *spec)
        yield from self._addresses(ctx, g, ec2)
        yield from self._endpoints(ctx, g, ec2)
        yield from self._snapshots(ctx, g, ec2)
        yield from self._images(ctx, g, ec2)
        yield from self._prefix_lists(ctx, g, ec2)
        yield from self._account_settings(ctx, g, ec2)

    def _instances(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:instance", "DescribeInstances"):
            for reservation in g.items(ec2, "describe_instances", "Reservations"):
                for item in reservation.get("Instances") or []:
                    instance_id = item.get("InstanceId", "")
                    yield record(
                        ctx,
                        "ec2:instance",
                        arn(ctx, "ec2", f"instance/{instance_id}"),
                        instance_id,
                        item,
                        name=instance_id,
                        tags=item.get("Tags"),
                    )

    def _simple(
        self,
        ctx: CollectContext,
        g: Guard,
        ec2: Any,
        type_: str,
        method: str,
        key: str,
        id_key: str,
        kind: str,
    ) -> Iterator[Record]:
        with g.listing(type_, api_name(ec2, method)):
            for item in g.items(ec2, method, key):
                resource_id = item.get(id_key, "")
                item_arn = next((item[k] for k in _ARN_KEYS if item.get(k)), None)
                yield record(
                    ctx,
                    type_,
                    item_arn or arn(ctx, "ec2", f"{kind}/{resource_id}"),
                    resource_id,
                    item,
                    name=_natural_name(item) or resource_id,
                    tags=item.get("Tags"),
                )

    def _addresses(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:elastic-ip", "DescribeAddresses"):
            for item in g.call(ec2, "describe_addresses").get("Addresses") or []:
                resource_id = item.get("AllocationId") or item.get("PublicIp", "")
                yield record(
                    ctx,
                    "ec2:elastic-ip",
                    arn(ctx, "ec2", f"elastic-ip/{resource_id}"),
                    resource_id,
                    item,
                    name=item.get("PublicIp") or resource_id,
                    tags=item.get("Tags"),
                )

    def _endpoints(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:vpc-endpoint", "DescribeVpcEndpoints"):
            for item in g.items(ec2, "describe_vpc_endpoints", "VpcEndpoints"):
                resource_id = item.get("VpcEndpointId", "")
                data = {**item, "PolicyDocument": parse_policy(item.get("PolicyDocument"))}
                yield record(
                    ctx,
                    "ec2:vpc-endpoint",
                    arn(ctx, "ec2", f"vpc-endpoint/{resource_id}"),
                    resource_id,
                    data,
                    name=item.get("ServiceName") or resource_id,
                    tags=item.get("Tags"),
                )

    def _snapshots(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:snapshot", "DescribeSnapshots"):
            # the owner-id filter, not OwnerIds=['self'] alone: some endpoints ignore OwnerIds, and
            # other accounts' public snapshots must never be recorded as ours
            listing = g.items(
                ec2,
                "describe_snapshots",
                "Snapshots",
                OwnerIds=["self"],
                Filters=[{"Name": "owner-id", "Values": [ctx.account_id]}],
            )
            for item in listing:
                if item.get("OwnerId") not in (None, ctx.account_id):
                    continue
                snapshot_id = item.get("SnapshotId", "")
                unavailable: dict[str, str] = {}
                permissions = g.extra(
                    "ec2:snapshot",
                    unavailable,
                    "CreateVolumePermissions",
                    lambda sid=snapshot_id: (
                        g.call(
                            ec2,
                            "describe_snapshot_attribute",
                            SnapshotId=sid,
                            Attribute="createVolumePermission",
                        ).get("CreateVolumePermissions")
                        or []
                    ),
                    resource=snapshot_id,
                    operation="DescribeSnapshotAttribute",
                )
                data = with_unavailable({**item, "CreateVolumePermissions": permissions}, unavailable)
                yield record(
                    ctx,
                    "ec2:snapshot",
                    arn(ctx, "ec2", f"snapshot/{snapshot_id}", account=""),
                    snapshot_id,
                    data,
                    name=snapshot_id,
                    tags=item.get("Tags"),
                )

    def _images(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:image", "DescribeImages"):
            for item in g.items(ec2, "describe_images", "Images", Owners=["self"]):
                if item.get("OwnerId") not in (None, ctx.account_id):
                    continue
                image_id = item.get("ImageId", "")
                unavailable: dict[str, str] = {}
                permissions = g.extra(
                    "ec2:image",
                    unavailable,
                    "LaunchPermissions",
                    lambda iid=image_id: (
                        g.call(
                            ec2, "describe_image_attribute", ImageId=iid, Attribute="launchPermission"
                        ).get("LaunchPermissions")
                        or []
                    ),
                    resource=image_id,
                    operation="DescribeImageAttribute",
                )
                data = with_unavailable({**item, "LaunchPermissions": permissions}, unavailable)
                yield record(
                    ctx,
                    "ec2:image",
                    arn(ctx, "ec2", f"image/{image_id}", account=""),
                    image_id,
                    data,
                    name=item.get("Name") or image_id,
                    tags=item.get("Tags"),
                )

    def _prefix_lists(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        with g.listing("ec2:managed-prefix-list", "DescribeManagedPrefixLists"):
            for item in g.items(ec2, "describe_managed_prefix_lists", "PrefixLists"):
                if item.get("OwnerId") != ctx.account_id:
                    continue  # AWS-managed lists (OwnerId "AWS") are the same for everyone
                list_id = item.get("PrefixListId", "")
                unavailable: dict[str, str] = {}
                entries = g.extra(
                    "ec2:managed-prefix-list",
                    unavailable,
                    "Entries",
                    lambda pid=list_id: list(
                        g.items(ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=pid)
                    ),
                    resource=list_id,
                    operation="GetManagedPrefixListEntries",
                )
                data = with_unavailable({**item, "Entries": entries}, unavailable)
                yield record(
                    ctx,
                    "ec2:managed-prefix-list",
                    item.get("PrefixListArn") or arn(ctx, "ec2", f"prefix-list/{list_id}"),
                    list_id,
                    data,
                    name=item.get("PrefixListName") or list_id,
                    tags=item.get("Tags"),
                )

    def _account_settings(self, ctx: CollectContext, g: Guard, ec2: Any) -> Iterator[Record]:
        type_ = "ec2:account-settings"
        with g.listing(type_, "GetEbsEncryptionByDefault"):
            ebs = g.call(ec2, "get_ebs_encryption_by_default").get("EbsEncryptionByDefault")
            unavailable: dict[str, str] = {}
            # not served by every endpoint (moto): None + a note, never a failed type
            imds = g.extra(
                type_,
                unavailable,
                "InstanceMetadataDefaults",
                lambda: g.call(ec2, "get_instance_metadata_defaults").get("AccountLevel") or {},
                operation="GetInstanceMetadataDefaults",
            )
            data = with_unavailable(
                {"EbsEncryptionByDefault": ebs, "InstanceMetadataDefaults": imds}, unavailable
            )
            yield record(
                ctx,
                type_,
                arn(ctx, "ec2", "account-settings"),
                "account-settings",
                data,
                name=f"EC2 settings {ctx.region}",
            )

"""Network types moto's engine lacks (SecurityGroupEgress, VPCCidrBlock) or half creates
(security group rule descriptions and egress, IPv6 on subnets, routes and the VPC)."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.exceptions import (
    InvalidPermissionNotFoundError,
    InvalidRouteTableIdError,
    InvalidSecurityGroupNotFoundError,
)
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_ip_addresses import ElasticAddress as MotoElasticAddress
from moto.ec2.models.internet_gateways import InternetGateway as MotoInternetGateway
from moto.ec2.models.nat_gateways import NatGateway as MotoNatGateway
from moto.ec2.models.route_tables import RouteTable as MotoRouteTable
from moto.ec2.models.subnets import Subnet as MotoSubnet
from moto.ec2.models.vpcs import VPC as MotoVpc
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment as MotoGatewayAttachment

from .base import Completed, Resource, already_gone_is_deleted, tags


class Vpc(Completed, CloudFormationModel):
    """AWS::EC2::VPC by moto's model, plus GetAtt Ipv6CidrBlocks (read when asked, so it
    includes blocks added later by AWS::EC2::VPCCidrBlock)."""

    MOTO_MODEL = MotoVpc
    ATTRIBUTES = ("CidrBlock", "CidrBlockAssociations", "DefaultSecurityGroup", "Ipv6CidrBlocks", "VpcId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::VPC"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Ipv6CidrBlocks":
            return [a["cidr_block"] for a in self.inner.get_cidr_block_association_set(ipv6=True)]
        return super().get_cfn_attribute(attribute_name)


class VpcCidrBlock(Resource, CloudFormationModel):
    """AWS::EC2::VPCCidrBlock through `associate_vpc_cidr_block` (Ref = association id)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::VPCCidrBlock"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> VpcCidrBlock:
        p = cloudformation_json["Properties"]
        association = ec2_backends[account_id][region_name].associate_vpc_cidr_block(
            p["VpcId"], p.get("CidrBlock"), bool(p.get("AmazonProvidedIpv6CidrBlock", False))
        )
        return cls(association["association_id"], {}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].disassociate_vpc_cidr_block(self.physical_id)


class Subnet(Completed, CloudFormationModel):
    """AWS::EC2::Subnet by moto's model, plus Ipv6CidrBlock and MapPublicIpOnLaunch."""

    MOTO_MODEL = MotoSubnet
    ATTRIBUTES = ("AvailabilityZone", "Ipv6CidrBlocks", "SubnetId", "VpcId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::Subnet"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Subnet:
        p = cloudformation_json["Properties"]
        created = cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)
        if p.get("Ipv6CidrBlock"):
            ec2_backends[account_id][region_name].associate_subnet_cidr_block(created.physical_id, p["Ipv6CidrBlock"])
        created.inner.map_public_ip_on_launch = bool(p.get("MapPublicIpOnLaunch", False))
        created.attributes = {"SubnetId": created.physical_id, "VpcId": p["VpcId"]}
        return created


class Route(Resource, CloudFormationModel):
    """AWS::EC2::Route through `create_route`, including DestinationIpv6CidrBlock (Ref = "<table>~<destination>")."""

    # The update deletes the route and creates it again: a new target keeps the id, a new
    # table or destination is a new route.
    IN_PLACE = frozenset(
        {
            "EgressOnlyInternetGatewayId",
            "GatewayId",
            "NatGatewayId",
            "NetworkInterfaceId",
            "TransitGatewayId",
            "VpcPeeringConnectionId",
        }
    )
    REPLACING = frozenset({"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::Route"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Route:
        p = cloudformation_json["Properties"]
        ec2_backends[account_id][region_name].create_route(
            p["RouteTableId"],
            p.get("DestinationCidrBlock"),
            destination_ipv6_cidr_block=p.get("DestinationIpv6CidrBlock"),
            gateway_id=p.get("GatewayId"),
            nat_gateway_id=p.get("NatGatewayId"),
            egress_only_igw_id=p.get("EgressOnlyInternetGatewayId"),
            transit_gateway_id=p.get("TransitGatewayId"),
            interface_id=p.get("NetworkInterfaceId"),
            vpc_peering_connection_id=p.get("VpcPeeringConnectionId"),
        )
        created = cls(
            f"{p['RouteTableId']}~{p.get('DestinationCidrBlock') or p.get('DestinationIpv6CidrBlock')}",
            {},
            account_id,
            region_name,
        )
        created.route = (p["RouteTableId"], p.get("DestinationCidrBlock"), p.get("DestinationIpv6CidrBlock"))
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Route:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        table, cidr, ipv6_cidr = self.route
        with already_gone_is_deleted(InvalidRouteTableIdError):  # with its table
            ec2_backends[account_id][region_name].delete_route(table, cidr, destination_ipv6_cidr_block=ipv6_cidr)


class InternetGateway(Completed, CloudFormationModel):
    """AWS::EC2::InternetGateway by moto's model, plus delete."""

    MOTO_MODEL = MotoInternetGateway

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::InternetGateway"

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_internet_gateway(self.physical_id)


class GatewayAttachment(Completed, CloudFormationModel):
    """AWS::EC2::VPCGatewayAttachment by moto's model, plus delete (detaching the gateway)."""

    MOTO_MODEL = MotoGatewayAttachment

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::VPCGatewayAttachment"

    def delete(self, account_id: str, region_name: str) -> None:
        p = self.cloudformation_json["Properties"]
        if p.get("InternetGatewayId"):
            ec2_backends[account_id][region_name].detach_internet_gateway(p["InternetGatewayId"], p["VpcId"])


class ElasticIp(Completed, CloudFormationModel):
    """AWS::EC2::EIP by moto's model, plus delete (releasing the address)."""

    MOTO_MODEL = MotoElasticAddress

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::EIP"

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].release_address(address=self.physical_id)


class NatGateway(Completed, CloudFormationModel):
    """AWS::EC2::NatGateway by moto's model, plus delete."""

    MOTO_MODEL = MotoNatGateway

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::NatGateway"

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_nat_gateway(self.physical_id)


class RouteTable(Completed, CloudFormationModel):
    """AWS::EC2::RouteTable by moto's model, plus delete."""

    MOTO_MODEL = MotoRouteTable

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::RouteTable"

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_route_table(self.physical_id)


class SubnetRouteTableAssociation(Resource, CloudFormationModel):
    """AWS::EC2::SubnetRouteTableAssociation through `associate_route_table` (Ref = association id)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SubnetRouteTableAssociation"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SubnetRouteTableAssociation:
        p = cloudformation_json["Properties"]
        association_id = ec2_backends[account_id][region_name].associate_route_table(
            p["RouteTableId"], subnet_id=p["SubnetId"]
        )
        return cls(association_id, {"Id": association_id}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].disassociate_route_table(self.physical_id)


def _rule_targets(rule: dict[str, Any], peer_key: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(ip_ranges, source_groups) of one CloudFormation rule, keeping its Description."""
    described = {"Description": rule["Description"]} if rule.get("Description") else {}
    ip_ranges: list[dict[str, str]] = []
    groups: list[dict[str, str]] = []
    if rule.get("CidrIp"):
        ip_ranges.append({"CidrIp": rule["CidrIp"], **described})
    if rule.get("CidrIpv6"):
        ip_ranges.append({"CidrIpv6": rule["CidrIpv6"], **described})
    if rule.get(peer_key):
        groups.append({"GroupId": rule[peer_key], **described})
    return ip_ranges, groups


def _authorize(ec2: Any, group_id: str, rule: dict[str, Any], egress: bool) -> list[str]:
    """Adds one rule through the EC2 API call; returns the new rule ids."""
    ip_ranges, groups = _rule_targets(rule, "DestinationSecurityGroupId" if egress else "SourceSecurityGroupId")
    authorize = ec2.authorize_security_group_egress if egress else ec2.authorize_security_group_ingress
    added, _ = authorize(
        group_id,
        str(rule["IpProtocol"]),
        str(rule.get("FromPort", -1)),
        str(rule.get("ToPort", -1)),
        ip_ranges,
        source_groups=groups,
    )
    return [r.id for r in added]


class SecurityGroup(Resource, CloudFormationModel):
    """AWS::EC2::SecurityGroup with rule descriptions and SecurityGroupEgress (Ref = group id).

    moto's own model drops descriptions and egress rules. As in EC2, listing egress rules
    replaces the default allow-all egress rule.
    """

    ATTRIBUTES = ("GroupId", "VpcId")
    IN_PLACE = frozenset({"SecurityGroupIngress", "SecurityGroupEgress"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroup"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SecurityGroup:
        properties = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        group_tags = {t["Key"]: t["Value"] for t in tags(properties)}
        group = ec2.create_security_group(
            properties.get("GroupName", resource_name),
            properties["GroupDescription"],
            properties.get("VpcId"),
            group_tags,
        )
        created = cls(group.id, {"GroupId": group.id, "VpcId": group.vpc_id}, account_id, region_name)
        created.rule_ids = created._add_rules(ec2, properties)
        return created

    def _add_rules(self, ec2: Any, properties: dict[str, Any]) -> dict[str, list[str]]:
        if properties.get("SecurityGroupEgress"):
            group = ec2.get_security_group_from_id(self.physical_id)
            default = [r.id for r in group.egress_rules]
            ec2.revoke_security_group_egress(self.physical_id, None, None, None, [], security_rule_ids=default)
        rule_ids: dict[str, list[str]] = {"ingress": [], "egress": []}
        for rule in properties.get("SecurityGroupIngress") or []:
            rule_ids["ingress"] += _authorize(ec2, self.physical_id, rule, egress=False)
        for rule in properties.get("SecurityGroupEgress") or []:
            rule_ids["egress"] += _authorize(ec2, self.physical_id, rule, egress=True)
        return rule_ids

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> SecurityGroup:
        # Replace only the rules this resource declared; rules from SecurityGroupEgress /
        # SecurityGroupIngress resources stay, as in CloudFormation.
        ec2 = ec2_backends[account_id][region_name]
        group_id = original_resource.physical_id
        if original_resource.rule_ids["ingress"]:
            ec2.revoke_security_group_ingress(
                group_id, None, None, None, [], security_rule_ids=original_resource.rule_ids["ingress"]
            )
        if original_resource.rule_ids["egress"]:
            ec2.revoke_security_group_egress(
                group_id, None, None, None, [], security_rule_ids=original_resource.rule_ids["egress"]
            )
        original_resource.rule_ids = original_resource._add_rules(ec2, cloudformation_json["Properties"])
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_security_group(group_id=self.physical_id)


class SecurityGroupEgress(Resource, CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress through `authorize_security_group_egress` (Ref = rule id)."""

    REPLACING = frozenset({"*"})  # the update revokes the rule and authorizes the new one

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SecurityGroupEgress:
        properties = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        (rule_id,) = _authorize(ec2, properties["GroupId"], properties, egress=True)
        created = cls(rule_id, {}, account_id, region_name)
        created.group_id = properties["GroupId"]
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> SecurityGroupEgress:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        # with its group
        with already_gone_is_deleted(InvalidSecurityGroupNotFoundError, InvalidPermissionNotFoundError):
            ec2_backends[account_id][region_name].revoke_security_group_egress(
                self.group_id, None, None, None, [], security_rule_ids=[self.physical_id]
            )

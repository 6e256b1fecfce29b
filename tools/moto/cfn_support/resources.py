"""CloudFormation resource types for moto 5.2.5 that it lacks or only half creates.

moto's CloudFormation engine finds resource types through the direct subclasses of
`CloudFormationModel` (`cloudformation_type()` names the type; `create_from_cloudformation_json`,
`update_from_cloudformation_json` and `delete` do the work). A type moto does not know is
skipped with a warning and every `Ref` to it silently becomes nothing, so a stack "succeeds"
without the resource. Other types exist but drop properties our templates rely on
(security group rule descriptions and egress, load balancer and target group attributes,
most of an ECS task definition and service).

Each class below is one resource type. It creates the resource through moto's own service
backend, exactly as the API call would, so the normal APIs (`cognito-idp
describe-user-pool-client`, `ec2 describe-security-groups`, ...) see it. Defining the class
is what registers it; `install()` only makes moto rebuild its cached type map.
"""

from __future__ import annotations

import json
from typing import Any

from moto.acm.models import acm_backends
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cognitoidp.models import cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ec2.models.subnets import Subnet as MotoSubnet
from moto.ec2.models.vpcs import VPC as MotoVpc
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends
from moto.iam.models import Role as MotoRole
from moto.iam.models import iam_backends
from moto.route53.models import route53_backends
from moto.utilities.utils import get_partition

# What moto's ELBv2 answers for CanonicalHostedZoneId; alias records must point at it.
ELB_HOSTED_ZONE_ID = "Z2P70J7EXAMPLE"


class _Created:
    """What the engine keeps for one created resource: its Ref value and its GetAtt values.

    Not a CloudFormationModel itself (that would register it as a type); each resource
    class lists it first among its bases.
    """

    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(self, physical_id: str, attributes: dict[str, Any], account_id: str, region: str):
        self.physical_id = physical_id
        self.attributes = attributes
        self.account_id = account_id
        self.region = region

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return list(properties.get("Tags") or [])


# ------------------------------------------------------------------------------ Cognito


class CognitoUserPool(_Created, CloudFormationModel):
    """AWS::Cognito::UserPool through `create_user_pool` (Ref = pool id)."""

    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    # Properties CloudFormation has but the CreateUserPool API names differently or lacks.
    _NOT_API = ("UserPoolName", "EnabledMfas", "UserPoolTags")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @classmethod
    def _api_config(cls, properties: dict[str, Any]) -> dict[str, Any]:
        config = {k: v for k, v in properties.items() if k not in cls._NOT_API}
        if properties.get("UserPoolTags"):
            config["UserPoolTags"] = properties["UserPoolTags"]
        return config

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPool:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        pool = backend.create_user_pool(resource_name, cls._api_config(properties))
        cls._apply_mfa(backend, pool.id, properties)
        provider = f"cognito-idp.{region_name}.amazonaws.com/{pool.id}"
        attributes = {
            "Arn": pool.arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool.id,
        }
        return cls(pool.id, attributes, account_id, region_name)

    @staticmethod
    def _apply_mfa(backend: Any, pool_id: str, properties: dict[str, Any]) -> None:
        # CreateUserPool takes MfaConfiguration, but which factors are on is a second call.
        if "SOFTWARE_TOKEN_MFA" in (properties.get("EnabledMfas") or []):
            backend.set_user_pool_mfa_config(
                pool_id, None, {"Enabled": True}, properties.get("MfaConfiguration", "OFF")
            )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> CognitoUserPool:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        backend.update_user_pool(original_resource.physical_id, cls._api_config(properties))
        cls._apply_mfa(backend, original_resource.physical_id, properties)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        cognitoidp_backends[account_id][region_name].delete_user_pool(self.physical_id)


class CognitoUserPoolClient(_Created, CloudFormationModel):
    """AWS::Cognito::UserPoolClient through `create_user_pool_client` (Ref = client id)."""

    ATTRIBUTES = ("ClientId", "ClientSecret", "Name")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @staticmethod
    def _api_config(properties: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in properties.items() if k not in ("UserPoolId", "GenerateSecret")}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPoolClient:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        client = backend.create_user_pool_client(
            properties["UserPoolId"], bool(properties.get("GenerateSecret", False)), cls._api_config(properties)
        )
        created = cls(client.id, {}, account_id, region_name)
        created.pool_id = properties["UserPoolId"]
        created.attributes = {"ClientId": client.id, "ClientSecret": client.secret, "Name": properties.get("ClientName")}
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> CognitoUserPoolClient:
        properties = cloudformation_json["Properties"]
        cognitoidp_backends[account_id][region_name].update_user_pool_client(
            original_resource.pool_id, original_resource.physical_id, cls._api_config(properties)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        cognitoidp_backends[account_id][region_name].delete_user_pool_client(self.pool_id, self.physical_id)


class CognitoUserPoolDomain(_Created, CloudFormationModel):
    """AWS::Cognito::UserPoolDomain through `create_user_pool_domain` (Ref = the prefix)."""

    ATTRIBUTES = ("CloudFrontDistribution",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPoolDomain:
        properties = cloudformation_json["Properties"]
        domain = cognitoidp_backends[account_id][region_name].create_user_pool_domain(
            properties["UserPoolId"], properties["Domain"], properties.get("CustomDomainConfig")
        )
        distribution = domain.to_json(extended=True)["CloudFrontDistribution"]
        return cls(properties["Domain"], {"CloudFrontDistribution": distribution}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        cognitoidp_backends[account_id][region_name].delete_user_pool_domain(self.physical_id)


# ------------------------------------------------------------------------------ ACM


class AcmCertificate(_Created, CloudFormationModel):
    """AWS::CertificateManager::Certificate through `request_certificate` (Ref = ARN).

    Like CloudFormation, writes the DNS validation record into each
    `DomainValidationOptions[].HostedZoneId` and waits for validation (here: the
    certificate is issued as soon as its records exist).
    """

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CertificateManager::Certificate"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AcmCertificate:
        properties = cloudformation_json["Properties"]
        backend = acm_backends[account_id][region_name]
        arn = backend.request_certificate(
            properties["DomainName"], None, properties.get("SubjectAlternativeNames") or [], _tags(properties)
        )
        certificate = backend.describe_certificate(arn)
        if properties.get("ValidationMethod") == "DNS":
            zones = {o["DomainName"]: o["HostedZoneId"] for o in properties.get("DomainValidationOptions") or []}
            for option in certificate.describe()["Certificate"]["DomainValidationOptions"]:
                zone_id = zones.get(option["DomainName"])
                if zone_id:
                    record = option["ResourceRecord"]
                    route53_backends[account_id]["global"].get_hosted_zone(zone_id).upsert_rrset(
                        {"Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [record["Value"]]}
                    )
            certificate.status = "ISSUED"
        return cls(arn, {}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        acm_backends[account_id][region_name].delete_certificate(self.physical_id)


# ------------------------------------------------------------------------------ EC2


class _Completed(_Created):
    """A resource moto's own model creates, completed with what that model leaves out.

    `MOTO_MODEL` creates it; GetAtt values not in `attributes` come from moto's object.
    """

    MOTO_MODEL: Any = None

    @classmethod
    def _create_with_moto(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        inner = cls.MOTO_MODEL.create_from_cloudformation_json(resource_name, cloudformation_json, account_id, region_name)
        created = cls(inner.physical_resource_id, {}, account_id, region_name)
        created.inner = inner
        created.cloudformation_json = cloudformation_json
        return created

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.attributes:
            return self.attributes[attribute_name]
        return self.inner.get_cfn_attribute(attribute_name)

    def delete(self, account_id: str, region_name: str) -> None:
        # What moto's engine does for its own object.
        try:
            self.inner.delete(account_id, region_name)
        except (TypeError, AttributeError):
            self.MOTO_MODEL.delete_from_cloudformation_json(
                self.physical_id, self.cloudformation_json, account_id, region_name
            )


class Vpc(_Completed, CloudFormationModel):
    """AWS::EC2::VPC by moto's model, plus GetAtt Ipv6CidrBlocks (read when asked, so it
    includes blocks added later by AWS::EC2::VPCCidrBlock)."""

    MOTO_MODEL = MotoVpc
    ATTRIBUTES = ("CidrBlock", "CidrBlockAssociations", "DefaultSecurityGroup", "Ipv6CidrBlocks", "VpcId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::VPC"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Vpc:
        return cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Ipv6CidrBlocks":
            return [a["cidr_block"] for a in self.inner.get_cidr_block_association_set(ipv6=True)]
        return super().get_cfn_attribute(attribute_name)


class VpcCidrBlock(_Created, CloudFormationModel):
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


class Subnet(_Completed, CloudFormationModel):
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


class Route(_Created, CloudFormationModel):
    """AWS::EC2::Route through `create_route`, including DestinationIpv6CidrBlock (Ref = "<table>~<destination>")."""

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
        created = cls(f"{p['RouteTableId']}~{p.get('DestinationCidrBlock') or p.get('DestinationIpv6CidrBlock')}", {}, account_id, region_name)
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
        ec2_backends[account_id][region_name].delete_route(table, cidr, destination_ipv6_cidr_block=ipv6_cidr)


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


class SecurityGroup(_Created, CloudFormationModel):
    """AWS::EC2::SecurityGroup with rule descriptions and SecurityGroupEgress (Ref = group id).

    moto's own model drops descriptions and egress rules. As in EC2, listing egress rules
    replaces the default allow-all egress rule.
    """

    ATTRIBUTES = ("GroupId", "VpcId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroup"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SecurityGroup:
        properties = cloudformation_json["Properties"]
        ec2 = ec2_backends[account_id][region_name]
        tags = {t["Key"]: t["Value"] for t in _tags(properties)}
        group = ec2.create_security_group(
            properties.get("GroupName", resource_name), properties["GroupDescription"], properties.get("VpcId"), tags
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


class SecurityGroupEgress(_Created, CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress through `authorize_security_group_egress` (Ref = rule id)."""

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
        ec2_backends[account_id][region_name].revoke_security_group_egress(
            self.group_id, None, None, None, [], security_rule_ids=[self.physical_id]
        )


# ------------------------------------------------------------------------------ ELBv2


def _key_values(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["Key"]: str(item["Value"]) for item in items or []}


class LoadBalancer(_Created, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::LoadBalancer with LoadBalancerAttributes (Ref = ARN)."""

    ATTRIBUTES = (
        "CanonicalHostedZoneID",
        "DNSName",
        "LoadBalancerArn",
        "LoadBalancerFullName",
        "LoadBalancerName",
        "SecurityGroups",
    )

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::LoadBalancer"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> LoadBalancer:
        properties = cloudformation_json["Properties"]
        elbv2 = elbv2_backends[account_id][region_name]
        balancer = elbv2.create_load_balancer(
            resource_name,
            properties.get("SecurityGroups") or [],
            properties.get("Subnets") or [],
            subnet_mappings=properties.get("SubnetMappings"),
            scheme=properties.get("Scheme", "internet-facing"),
            loadbalancer_type=properties.get("Type", "application"),
            ip_address_type=properties.get("IpAddressType", "ipv4"),
            tags=_tags(properties),
        )
        elbv2.modify_load_balancer_attributes(balancer.arn, _key_values(properties.get("LoadBalancerAttributes")))
        attributes = {
            "CanonicalHostedZoneID": ELB_HOSTED_ZONE_ID,
            "DNSName": balancer.dns_name,
            "LoadBalancerArn": balancer.arn,
            # app/<name>/<id>, the form CloudWatch metrics and ResourceLabel use.
            "LoadBalancerFullName": balancer.arn.split(":loadbalancer/", 1)[1],
            "LoadBalancerName": balancer.name,
            "SecurityGroups": balancer.security_groups,
        }
        return cls(balancer.arn, attributes, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> LoadBalancer:
        properties = cloudformation_json["Properties"]
        elbv2_backends[account_id][region_name].modify_load_balancer_attributes(
            original_resource.physical_id, _key_values(properties.get("LoadBalancerAttributes"))
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_load_balancer(self.physical_id)


class TargetGroup(_Created, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::TargetGroup with TargetGroupAttributes (Ref = ARN)."""

    ATTRIBUTES = ("LoadBalancerArns", "TargetGroupArn", "TargetGroupFullName", "TargetGroupName")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::TargetGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> TargetGroup:
        properties = cloudformation_json["Properties"]
        elbv2 = elbv2_backends[account_id][region_name]
        group = elbv2.create_target_group(
            name=resource_name,
            vpc_id=properties.get("VpcId"),
            protocol=properties.get("Protocol"),
            port=properties.get("Port"),
            healthcheck_protocol=properties.get("HealthCheckProtocol"),
            healthcheck_port=properties.get("HealthCheckPort"),
            healthcheck_path=properties.get("HealthCheckPath"),
            healthcheck_interval_seconds=properties.get("HealthCheckIntervalSeconds"),
            healthcheck_timeout_seconds=properties.get("HealthCheckTimeoutSeconds"),
            healthy_threshold_count=properties.get("HealthyThresholdCount"),
            unhealthy_threshold_count=properties.get("UnhealthyThresholdCount"),
            matcher=properties.get("Matcher"),
            target_type=properties.get("TargetType"),
            tags=_tags(properties),
        )
        elbv2.modify_target_group_attributes(group.arn, _key_values(properties.get("TargetGroupAttributes")))
        created = cls(group.arn, {}, account_id, region_name)
        created.group = group
        return created

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        # LoadBalancerArns changes once a listener rule uses the group: read it live.
        values = {
            "LoadBalancerArns": self.group.load_balancer_arns,
            "TargetGroupArn": self.group.arn,
            "TargetGroupFullName": self.group.arn.split(":", 5)[5],
            "TargetGroupName": self.group.name,
        }
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> TargetGroup:
        properties = cloudformation_json["Properties"]
        elbv2_backends[account_id][region_name].modify_target_group_attributes(
            original_resource.physical_id, _key_values(properties.get("TargetGroupAttributes"))
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_target_group(self.physical_id)


# ------------------------------------------------------------------------------ ECS


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase ECS properties in the API's camelCase, recursively.

    Only keys are renamed; values (environment variable names, log options) stay as they are.
    """
    if isinstance(value, list):
        return [_camel(v) for v in value]
    if not isinstance(value, dict):
        return value
    renamed: dict[str, Any] = {}
    for key, inner in value.items():
        api_key = key[:1].lower() + key[1:]
        # Values of these maps are free-form: keep their keys verbatim.
        renamed[api_key] = inner if api_key in ("options", "dockerLabels") else _camel(inner)
    return renamed


class TaskDefinition(_Created, CloudFormationModel):
    """AWS::ECS::TaskDefinition through `register_task_definition` with every property (Ref = ARN).

    moto's own model drops CPU, network mode, roles and compatibilities. An update registers
    a new revision, as CloudFormation replaces task definitions.
    """

    ATTRIBUTES = ("TaskDefinitionArn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::TaskDefinition"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> TaskDefinition:
        p = cloudformation_json["Properties"]
        definition = ecs_backends[account_id][region_name].register_task_definition(
            family=p.get("Family", resource_name),
            container_definitions=_camel(p.get("ContainerDefinitions") or []),
            volumes=_camel(p.get("Volumes")),
            network_mode=p.get("NetworkMode"),
            tags=_camel(_tags(p)),
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=None if p.get("Cpu") is None else str(p["Cpu"]),
            memory=None if p.get("Memory") is None else str(p["Memory"]),
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            runtime_platform=_camel(p.get("RuntimePlatform")),
        )
        return cls(definition.arn, {"TaskDefinitionArn": definition.arn}, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> TaskDefinition:
        replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        ecs_backends[account_id][region_name].deregister_task_definition(self.physical_id)


class Service(_Created, CloudFormationModel):
    """AWS::ECS::Service through `create_service` with network, load balancer and deployment settings.

    Ref = service ARN; GetAtt Name and ServiceArn. moto's own model drops the network
    configuration and load balancers, and its CreateService knows no deployment
    configuration, so that is set on the service as the API would return it.
    """

    ATTRIBUTES = ("Name", "ServiceArn")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::Service"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ServiceName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Service:
        p = cloudformation_json["Properties"]
        service = ecs_backends[account_id][region_name].create_service(
            p["Cluster"],
            p.get("ServiceName", resource_name),
            int(p.get("DesiredCount", 1)),
            task_definition_str=p["TaskDefinition"],
            load_balancers=_camel(p.get("LoadBalancers")),
            tags=_camel(_tags(p)),
            launch_type=p.get("LaunchType"),
            platform_version=p.get("PlatformVersion"),
            propagate_tags=p.get("PropagateTags", "NONE"),
            network_configuration=_camel(p.get("NetworkConfiguration")),
        )
        cls._set_deployment_settings(service, p)
        created = cls(service.arn, {"Name": service.name, "ServiceArn": service.arn}, account_id, region_name)
        created.cluster = p["Cluster"]
        return created

    @staticmethod
    def _set_deployment_settings(service: Any, p: dict[str, Any]) -> None:
        service.deployment_configuration = _camel(p.get("DeploymentConfiguration"))
        service.health_check_grace_period_seconds = p.get("HealthCheckGracePeriodSeconds")
        service.enable_ecs_managed_tags = bool(p.get("EnableECSManagedTags", False))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Service:
        p = cloudformation_json["Properties"]
        service = ecs_backends[account_id][region_name].update_service(
            {
                "cluster": original_resource.cluster,
                "service": original_resource.attributes["Name"],
                "task_definition": p["TaskDefinition"],
                "desired_count": int(p["DesiredCount"]) if "DesiredCount" in p else None,
            }
        )
        cls._set_deployment_settings(service, p)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        ecs_backends[account_id][region_name].delete_service(self.cluster, self.attributes["Name"], force=True)


# ------------------------------------------------------------------------------ Application Auto Scaling


class ScalableTarget(_Created, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalableTarget through `register_scalable_target`.

    Ref = "<ResourceId>|<ScalableDimension>|<ServiceNamespace>", CloudFormation's form.
    For ECS, moto checks that the service exists.
    """

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScalableTarget:
        p = cloudformation_json["Properties"]
        applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            p["ServiceNamespace"],
            p["ResourceId"],
            p["ScalableDimension"],
            int(p["MinCapacity"]),
            int(p["MaxCapacity"]),
            p.get("RoleARN"),
            p.get("SuspendedState"),
        )
        physical_id = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
        return cls(physical_id, {}, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ScalableTarget:
        # RegisterScalableTarget on an existing target updates it in place.
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        resource_id, dimension, namespace = self.physical_id.split("|")
        applicationautoscaling_backends[account_id][region_name].deregister_scalable_target(
            namespace, resource_id, dimension
        )


class ScalingPolicy(_Created, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy through `put_scaling_policy` (Ref = policy ARN)."""

    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScalingPolicy:
        p = cloudformation_json["Properties"]
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        # The API takes the configuration of the policy's type itself as the body.
        body = p.get("TargetTrackingScalingPolicyConfiguration") or p.get("StepScalingPolicyConfiguration")
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            p["PolicyName"], namespace, resource_id, dimension, body, p.get("PolicyType")
        )
        created = cls(policy.policy_arn, {"Arn": policy.policy_arn}, account_id, region_name)
        created.key = (p["PolicyName"], namespace, resource_id, dimension)
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ScalingPolicy:
        # PutScalingPolicy with the same name replaces the policy in place.
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        applicationautoscaling_backends[account_id][region_name].delete_scaling_policy(*self.key)


# ------------------------------------------------------------------------------ IAM


class OidcProvider(_Created, CloudFormationModel):
    """AWS::IAM::OIDCProvider through `create_open_id_connect_provider` (Ref = ARN)."""

    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::OIDCProvider"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> OidcProvider:
        p = cloudformation_json["Properties"]
        provider = iam_backends[account_id][get_partition(region_name)].create_open_id_connect_provider(
            p["Url"], p.get("ThumbprintList") or [], p.get("ClientIdList") or [], _tags(p)
        )
        return cls(provider.arn, {"Arn": provider.arn}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        iam_backends[account_id][get_partition(region_name)].delete_open_id_connect_provider(self.physical_id)


class IamRole(_Completed, CloudFormationModel):
    """AWS::IAM::Role by moto's model, with inline policies stored as JSON through
    `put_role_policy` (which also validates their grammar, as IAM does). moto's own model
    keeps them as Python objects, so GetRolePolicy returns text that is not JSON."""

    MOTO_MODEL = MotoRole
    ATTRIBUTES = ("Arn", "RoleId")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::Role"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "RoleName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> IamRole:
        created = cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)
        iam = iam_backends[account_id][get_partition(region_name)]
        for policy in cloudformation_json["Properties"].get("Policies") or []:
            iam.put_role_policy(created.physical_id, policy["PolicyName"], json.dumps(policy["PolicyDocument"]))
        return created


def install() -> None:
    """Makes moto's CloudFormation engine use the classes above.

    moto caches its type map on first use; where a type is defined twice the class defined
    last (ours) wins, because the map is built from `__subclasses__()` in definition order.
    """
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    ours = {
        cls.cloudformation_type(): cls
        for cls in (
            CognitoUserPool,
            CognitoUserPoolClient,
            CognitoUserPoolDomain,
            AcmCertificate,
            Vpc,
            VpcCidrBlock,
            Subnet,
            Route,
            SecurityGroup,
            SecurityGroupEgress,
            LoadBalancer,
            TargetGroup,
            TaskDefinition,
            Service,
            ScalableTarget,
            ScalingPolicy,
            OidcProvider,
            IamRole,
        )
    }
    registered = parsing.get_model_map()
    wrong = [t for t, cls in ours.items() if registered.get(t) is not cls]
    if wrong:
        raise RuntimeError(f"moto did not take our CloudFormation support for {wrong}; is moto still 5.2.5?")

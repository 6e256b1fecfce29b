"""Load balancer and target group with the attributes moto's own models drop
(LoadBalancerAttributes, TargetGroupAttributes, dualstack) and the GetAtt values they lack."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.elbv2.exceptions import ListenerNotFoundError, RuleNotFoundError
from moto.elbv2.models import FakeListener as MotoListener
from moto.elbv2.models import FakeListenerRule as MotoListenerRule
from moto.elbv2.models import elbv2_backends

from .base import Resource, UpdatedByMoto, already_gone_is_deleted, key_values, tags

# What moto's ELBv2 answers for CanonicalHostedZoneId; alias records must point at it.
ELB_HOSTED_ZONE_ID = "Z2P70J7EXAMPLE"


class LoadBalancer(Resource, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::LoadBalancer with LoadBalancerAttributes (Ref = ARN)."""

    ATTRIBUTES = (
        "CanonicalHostedZoneID",
        "DNSName",
        "LoadBalancerArn",
        "LoadBalancerFullName",
        "LoadBalancerName",
        "SecurityGroups",
    )
    IN_PLACE = frozenset({"LoadBalancerAttributes"})

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
            tags=tags(properties),
        )
        elbv2.modify_load_balancer_attributes(balancer.arn, key_values(properties.get("LoadBalancerAttributes")))
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
            original_resource.physical_id, key_values(properties.get("LoadBalancerAttributes"))
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_load_balancer(self.physical_id)


class TargetGroup(Resource, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::TargetGroup with TargetGroupAttributes (Ref = ARN)."""

    ATTRIBUTES = ("LoadBalancerArns", "TargetGroupArn", "TargetGroupFullName", "TargetGroupName")
    # What ModifyTargetGroup(Attributes) changes. Port and protocol changes are not
    # emulated (on AWS a new Port replaces the group).
    IN_PLACE = frozenset(
        {
            "TargetGroupAttributes",
            "HealthCheckPath",
            "HealthCheckIntervalSeconds",
            "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
            "Matcher",
        }
    )

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
            tags=tags(properties),
        )
        elbv2.modify_target_group_attributes(group.arn, key_values(properties.get("TargetGroupAttributes")))
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
        elbv2 = elbv2_backends[account_id][region_name]
        elbv2.modify_target_group(
            original_resource.physical_id,
            health_check_path=properties.get("HealthCheckPath"),
            health_check_interval=properties.get("HealthCheckIntervalSeconds"),
            health_check_timeout=properties.get("HealthCheckTimeoutSeconds"),
            healthy_threshold_count=properties.get("HealthyThresholdCount"),
            unhealthy_threshold_count=properties.get("UnhealthyThresholdCount"),
            http_codes=(properties.get("Matcher") or {}).get("HttpCode"),
        )
        elbv2.modify_target_group_attributes(
            original_resource.physical_id, key_values(properties.get("TargetGroupAttributes"))
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        elbv2_backends[account_id][region_name].delete_target_group(self.physical_id)


class Listener(UpdatedByMoto, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::Listener by moto's model, plus ListenerAttributes (HSTS) and delete."""

    MOTO_MODEL = MotoListener
    # What moto's update and _set_attributes apply.
    IN_PLACE = frozenset({"Certificates", "DefaultActions", "ListenerAttributes", "Port", "Protocol", "SslPolicy"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::Listener"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Listener:
        created = cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)
        cls._set_attributes(created.physical_id, cloudformation_json, account_id, region_name)
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Listener:
        # ModifyListener's Certificates is the default certificate only: the ones other
        # stacks added (ListenerCertificate, picked by SNI) stay. moto's modify replaces
        # the whole list, so they are put back.
        elbv2 = elbv2_backends[account_id][region_name]
        added = elbv2.describe_listener_certificates(original_resource.physical_id)[1:]
        updated = super().update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        now = elbv2.describe_listener_certificates(updated.physical_id)
        now.extend(arn for arn in added if arn not in now)
        cls._set_attributes(updated.physical_id, cloudformation_json, account_id, region_name)
        return updated

    @staticmethod
    def _set_attributes(arn: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        attributes = cloudformation_json["Properties"].get("ListenerAttributes") or []
        elbv2_backends[account_id][region_name].modify_listener_attributes(
            arn, [{"Key": a["Key"], "Value": str(a["Value"])} for a in attributes]
        )

    def delete(self, account_id: str, region_name: str) -> None:
        with already_gone_is_deleted(ListenerNotFoundError):  # with its load balancer
            elbv2_backends[account_id][region_name].delete_listener(self.physical_id)


class ListenerRule(UpdatedByMoto, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::ListenerRule by moto's model, plus delete and a new
    Priority in place (SetRulePriorities, as CloudFormation does; moto's update ignored it)."""

    MOTO_MODEL = MotoListenerRule
    IN_PLACE = frozenset({"Actions", "Conditions", "Priority"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::ListenerRule"

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ListenerRule:
        updated = super().update_from_cloudformation_json(
            original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        priority = cloudformation_json["Properties"].get("Priority")
        if priority is not None and str(updated.inner.priority) != str(priority):
            elbv2_backends[account_id][region_name].set_rule_priorities(
                [{"RuleArn": updated.physical_id, "Priority": int(priority)}]
            )
        return updated

    def delete(self, account_id: str, region_name: str) -> None:
        with already_gone_is_deleted(ListenerNotFoundError, RuleNotFoundError):
            elbv2_backends[account_id][region_name].delete_rule(self.physical_id)


class ListenerCertificate(Resource, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::ListenerCertificate through AddListenerCertificates,
    which moto's engine does not know (it skipped the resource: the listener never got the
    certificate, and the stack still said CREATE_COMPLETE).

    A service stack adds its own certificate to the environment's listener; deleting it
    removes exactly those certificates and leaves the listener's default and the others.
    Ref = ListenerArn|CertificateArn,... (CloudFormation's Ref is an opaque id too).
    """

    IN_PLACE = frozenset({"Certificates"})
    REPLACING = frozenset({"ListenerArn"})  # create-only in the provider schema

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::ListenerCertificate"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ListenerCertificate:
        properties = cloudformation_json["Properties"]
        listener_arn = properties["ListenerArn"]
        certificates = [{"CertificateArn": c["CertificateArn"]} for c in properties.get("Certificates") or []]
        elbv2_backends[account_id][region_name].add_listener_certificates(listener_arn, certificates)
        physical_id = "|".join([listener_arn, *(c["CertificateArn"] for c in certificates)])
        created = cls(physical_id, {}, account_id, region_name)
        created.listener_arn, created.certificates = listener_arn, certificates
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> ListenerCertificate:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        kept = {c["CertificateArn"] for c in replacement.certificates}
        stale = [c for c in original_resource.certificates if c["CertificateArn"] not in kept]
        if stale or replacement.listener_arn != original_resource.listener_arn:
            original_resource.certificates = stale
            original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        with already_gone_is_deleted(ListenerNotFoundError):  # with the environment's listener
            elbv2_backends[account_id][region_name].remove_listener_certificates(self.listener_arn, self.certificates)

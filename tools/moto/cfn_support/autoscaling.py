"""Application Auto Scaling targets and policies, which moto's engine does not know."""

from __future__ import annotations

from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.core.common_models import CloudFormationModel

from .base import Resource


class ScalableTarget(Resource, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalableTarget through `register_scalable_target`.

    Ref = "<ResourceId>|<ScalableDimension>|<ServiceNamespace>", CloudFormation's form.
    For ECS, moto checks that the service exists.
    """

    IN_PLACE = frozenset({"MinCapacity", "MaxCapacity", "RoleARN", "SuspendedState"})

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


class ScalingPolicy(Resource, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy through `put_scaling_policy` (Ref = policy ARN)."""

    ATTRIBUTES = ("Arn",)
    IN_PLACE = frozenset({"PolicyType", "StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration"})

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

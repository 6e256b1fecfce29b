"""ECS task definition and service with every property our template sets; moto's own
models drop CPU, network mode, roles, network configuration and load balancers."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ecs.models import Cluster as MotoCluster
from moto.ecs.models import ecs_backends

from . import express, rollout
from .base import Completed, Refused, Resource, camel, tags

# What CloudFormation reports when a standard-mode create or update waits for a service
# whose tasks never start (the deployment circuit breaker).
CIRCUIT_BREAKER_TRIGGERED = (
    "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was "
    "triggered'.\" (HandlerErrorCode: GeneralServiceException)"
)


class TaskDefinition(Resource, CloudFormationModel):
    """AWS::ECS::TaskDefinition through `register_task_definition` with every property (Ref = ARN).

    moto's own model drops CPU, network mode, roles and compatibilities. An update registers
    a new revision, as CloudFormation replaces task definitions.
    """

    ATTRIBUTES = ("TaskDefinitionArn",)
    REPLACING = frozenset({"*"})

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
            container_definitions=camel(p.get("ContainerDefinitions") or []),
            volumes=camel(p.get("Volumes")),
            network_mode=p.get("NetworkMode"),
            tags=camel(tags(p)),
            requires_compatibilities=p.get("RequiresCompatibilities"),
            cpu=None if p.get("Cpu") is None else str(p["Cpu"]),
            memory=None if p.get("Memory") is None else str(p["Memory"]),
            task_role_arn=p.get("TaskRoleArn"),
            execution_role_arn=p.get("ExecutionRoleArn"),
            runtime_platform=camel(p.get("RuntimePlatform")),
        )
        return cls(definition.arn, {"TaskDefinitionArn": definition.arn}, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> TaskDefinition:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        ecs_backends[account_id][region_name].deregister_task_definition(self.physical_id)


class Service(Resource, CloudFormationModel):
    """AWS::ECS::Service through `create_service` with network, load balancer and deployment settings.

    Ref = service ARN; GetAtt Name and ServiceArn. moto's own model drops the network
    configuration and load balancers, and its CreateService knows no deployment
    configuration, so that is set on the service as the API would return it.

    Readiness (see `rollout` and `express`): a standard-mode operation waits for the
    service's rollout, so an image made to fail it (`rollout-fails`) fails the resource;
    an express-mode one does not wait, and an express *update* never moves the service
    onto a replaced task definition (cloudformation-coverage-roadmap #2538).
    """

    ATTRIBUTES = ("Name", "ServiceArn")
    # What the update passes to UpdateService. LoadBalancers and NetworkConfiguration
    # changes are not emulated.
    IN_PLACE = frozenset(
        {
            "DeploymentConfiguration",
            "DesiredCount",
            "EnableECSManagedTags",
            "HealthCheckGracePeriodSeconds",
            "TaskDefinition",
        }
    )

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
        backend = ecs_backends[account_id][region_name]
        if express.current_mode() != express.EXPRESS and rollout.fails(backend, p["TaskDefinition"]):
            raise Refused(CIRCUIT_BREAKER_TRIGGERED)
        service = backend.create_service(
            p["Cluster"],
            p.get("ServiceName", resource_name),
            int(p.get("DesiredCount", 1)),
            task_definition_str=p["TaskDefinition"],
            load_balancers=camel(p.get("LoadBalancers")),
            tags=camel(tags(p)),
            launch_type=p.get("LaunchType"),
            platform_version=p.get("PlatformVersion"),
            propagate_tags=p.get("PropagateTags", "NONE"),
            network_configuration=camel(p.get("NetworkConfiguration")),
        )
        cls._set_deployment_settings(service, p)
        if express.current_mode() != express.EXPRESS:
            rollout.settle(backend, service)
        created = cls(service.arn, {"Name": service.name, "ServiceArn": service.arn}, account_id, region_name)
        created.cluster = p["Cluster"]
        return created

    @staticmethod
    def _set_deployment_settings(service: Any, p: dict[str, Any]) -> None:
        service.deployment_configuration = camel(p.get("DeploymentConfiguration"))
        service.health_check_grace_period_seconds = p.get("HealthCheckGracePeriodSeconds")
        service.enable_ecs_managed_tags = bool(p.get("EnableECSManagedTags", False))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Service:
        p = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        current = backend._get_service(original_resource.cluster, original_resource.attributes["Name"])
        task_definition = p["TaskDefinition"]
        if task_definition != current.task_definition:
            if express.express_update():
                # #2538: the new revision exists, the service stays on the old one, and
                # the stack still reports UPDATE_COMPLETE.
                task_definition = None
            elif express.current_mode() != express.EXPRESS and rollout.fails(backend, task_definition):
                raise Refused(CIRCUIT_BREAKER_TRIGGERED)
        service = backend.update_service(
            {
                "cluster": original_resource.cluster,
                "service": original_resource.attributes["Name"],
                "task_definition": task_definition,
                "desired_count": int(p["DesiredCount"]) if "DesiredCount" in p else None,
            }
        )
        cls._set_deployment_settings(service, p)
        if express.current_mode() != express.EXPRESS:
            rollout.settle(backend, service)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        ecs_backends[account_id][region_name].delete_service(self.cluster, self.attributes["Name"], force=True)


class Cluster(Completed, CloudFormationModel):
    """AWS::ECS::Cluster by moto's model, plus ClusterSettings (Container Insights) and delete."""

    MOTO_MODEL = MotoCluster

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ECS::Cluster"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClusterName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Cluster:
        created = cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)
        settings = camel(cloudformation_json["Properties"].get("ClusterSettings"))
        ecs_backends[account_id][region_name].update_cluster(created.physical_id, settings, None, None)
        return created

    def delete(self, account_id: str, region_name: str) -> None:
        ecs_backends[account_id][region_name].delete_cluster(self.physical_id)

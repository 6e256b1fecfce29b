"""ECS rollouts that take time, as on AWS; moto 5.2.5 reports every service IN_PROGRESS with
no running task forever (unless MOTO_ECS_SERVICE_RUNNING), never moves a deployment onto an
updated task definition, and registers no targets.

After a service is created, or updated onto another task definition (or forced), its new
PRIMARY deployment is IN_PROGRESS with no task running for `MOTO_ECS_ROLLOUT_SECONDS`
(default 2; 0 completes at once), while the deployment it replaces stays ACTIVE with its
tasks (draining). Then the new one is COMPLETED: running = desired, the old one is gone, and
that many IP targets are registered, healthy, in each target group of the service's
`loadBalancers` (the old deployment's targets leave). A task definition whose image
contains `rollout-fails` ends FAILED instead, as ECS's deployment circuit breaker does,
with one STOPPED task that says why (ListTasks `serviceName` + `desiredStatus=STOPPED`).

Lazy: the state is worked out from timestamps whenever DescribeServices or
DescribeTargetHealth asks; no threads.

Through CloudFormation (`ecs.Service`): a standard-mode operation waits until the service
is stable, so the rollout has already completed when the stack does ([`settle`]; a failing
image fails the resource instead: "ECS Deployment Circuit Breaker was triggered"); an
express-mode one does not wait, so the rollout goes on after the stack is done.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ecs.models import EC2ContainerServiceBackend, Task, ecs_backends
from moto.elbv2.models import ELBv2Backend, elbv2_backends
from moto.moto_api._internal import mock_random

DEFAULT_SECONDS = 2.0
FAILING = "rollout-fails"
CIRCUIT_BREAKER = "ECS deployment circuit breaker: tasks failed to start."
STOPPED_REASON = "Essential container in task exited"


def rollout_seconds() -> float:
    """MOTO_ECS_ROLLOUT_SECONDS (read each time), else 2; a bad value counts as 2."""
    try:
        return max(float(os.environ.get("MOTO_ECS_ROLLOUT_SECONDS", DEFAULT_SECONDS)), 0.0)
    except ValueError:
        return DEFAULT_SECONDS


def images(backend: EC2ContainerServiceBackend, task_definition: str | None) -> list[str]:
    """The container images of a task definition (none when it cannot be found)."""
    if not task_definition:
        return []
    try:
        definition = backend.describe_task_definition(task_definition)
    except Exception:  # noqa: BLE001 (a deregistered or unknown revision: nothing to say)
        return []
    return [c.get("image") or "" for c in definition.container_definitions]


def fails(backend: EC2ContainerServiceBackend, task_definition: str | None) -> bool:
    """True when the task definition runs an image made to fail its rollout."""
    return any(FAILING in image for image in images(backend, task_definition))


def _start(backend: EC2ContainerServiceBackend, service: Any) -> None:
    """A new PRIMARY deployment of the service's task definition; the old PRIMARY drains."""
    now = utcnow()
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    old = [d for d in service.deployments if d.get("status") == "PRIMARY"]
    for d in old:
        d["status"] = "ACTIVE"
        d["updatedAt"] = now
    network = getattr(service, "network_configuration", None) or None
    service.deployments = [
        {
            "createdAt": now,
            "desiredCount": service.desired_count,
            "failedTasks": 0,
            "id": deployment_id,
            "launchType": service.launch_type,
            "pendingCount": service.desired_count,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} in progress.",
            "runningCount": 0,
            "platformVersion": service.platform_version,
            "networkConfiguration": network,
            "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "updatedAt": now,
        },
        *old,
    ]
    service.running_count = sum(d.get("runningCount", 0) for d in old)
    service.pending_count = service.desired_count
    service._rollout = {"id": deployment_id, "started": time.time(), "done": False}
    refresh(backend, service)


def settle(backend: EC2ContainerServiceBackend, service: Any) -> None:
    """Ends the service's rollout now: what a standard-mode CloudFormation operation waits
    for before it completes."""
    rollout = getattr(service, "_rollout", None)
    if rollout and not rollout["done"]:
        rollout["started"] -= rollout_seconds()
        refresh(backend, service)


def refresh(backend: EC2ContainerServiceBackend, service: Any) -> None:
    """Brings the service's rollout up to now (see the module docs)."""
    rollout = getattr(service, "_rollout", None)
    if not rollout or rollout["done"] or time.time() - rollout["started"] < rollout_seconds():
        return
    rollout["done"] = True
    primary = next((d for d in service.deployments if d["id"] == rollout["id"]), None)
    if primary is None:
        return
    primary["updatedAt"] = utcnow()
    primary["pendingCount"] = 0
    if fails(backend, primary["taskDefinition"]):
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = CIRCUIT_BREAKER
        primary["failedTasks"] = max(service.desired_count, 1)
        primary["runningCount"] = 0
        service.pending_count = 0
        _stopped_task(backend, service, primary)
        return
    primary["rolloutState"] = "COMPLETED"
    primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
    primary["runningCount"] = service.desired_count
    service.deployments = [primary]
    service.running_count = service.desired_count
    service.pending_count = 0
    _register_targets(backend, service, primary["id"])


def _target_groups(service: Any) -> list[tuple[str, int | None]]:
    found = []
    for lb in service.load_balancers or []:
        arn = lb.get("targetGroupArn") or lb.get("TargetGroupArn")
        if arn:
            found.append((arn, lb.get("containerPort") or lb.get("ContainerPort")))
    return found


def _deregister(backend: EC2ContainerServiceBackend, service: Any) -> None:
    elbv2 = elbv2_backends[backend.account_id][backend.region_name]
    for arn, target_id in getattr(service, "_rollout_targets", []):
        group = elbv2.target_groups.get(arn)
        if group is not None:
            group.targets.pop(target_id, None)
    service._rollout_targets = []


def _register_targets(backend: EC2ContainerServiceBackend, service: Any, deployment_id: str) -> None:
    _deregister(backend, service)
    elbv2 = elbv2_backends[backend.account_id][backend.region_name]
    digest = hashlib.sha256(deployment_id.encode()).digest()
    registered = []
    for arn, port in _target_groups(service):
        group = elbv2.target_groups.get(arn)
        if group is None:
            continue
        for i in range(service.desired_count):
            target_id = f"10.{digest[0]}.{digest[1]}.{10 + i}"
            group.register([{"Id": target_id, "Port": port or group.port}])
            registered.append((arn, target_id))
    service._rollout_targets = registered


def _stopped_task(backend: EC2ContainerServiceBackend, service: Any, deployment: dict[str, Any]) -> None:
    """One STOPPED task of the failed deployment, saying why (best effort)."""
    try:
        cluster = backend._get_cluster(service.cluster_name)
        definition = backend.describe_task_definition(deployment["taskDefinition"])
        network = service.network_configuration if definition.network_mode == "awsvpc" else None
        task = Task(
            cluster,
            definition,
            None,
            None,
            backend,
            group=f"service:{service.name}",
            launch_type=service.launch_type or "",
            started_by=deployment["id"],
            networking_configuration=network or None,
        )
    except Exception:  # noqa: BLE001 (only a diagnosis: the FAILED deployment says enough)
        return
    for attachment in task.attachments:
        # A stopped task's network interface is released.
        details = {d["name"]: d["value"] for d in attachment.get("details", [])}
        eni = details.get("networkInterfaceId")
        if eni:
            ec2_backends[backend.account_id][backend.region_name].delete_network_interface(eni)
    task.desired_status = "STOPPED"
    task.last_status = "STOPPED"
    task.stopped_reason = STOPPED_REASON
    task.stopped_at = utcnow()
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = 1
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task


def _create_service(original: Any) -> Any:
    def create_service(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        service = original(self, *args, **kwargs)
        if service.deployment_controller.get("type", "ECS") == "ECS":
            service.deployments = []  # moto's own first deployment, replaced by ours
            _start(self, service)
        return service

    return create_service


def _update_service(original: Any) -> Any:
    def update_service(self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = str(service_properties.get("service", "")).split("/")[-1]
        before = self._get_service(cluster, name)
        old_definition, old_desired = before.task_definition, before.desired_count
        old_running, old_pending = before.running_count, before.pending_count
        forced = bool(service_properties.get("force_new_deployment"))
        service = original(self, service_properties)
        if service.deployment_controller.get("type", "ECS") != "ECS":
            return service
        if forced or service.task_definition != old_definition:
            _start(self, service)
        elif service.desired_count != old_desired:
            # Scaling is no new deployment: the current one scales.
            primary = service.deployments[0] if service.deployments else None
            if primary is not None:
                primary["desiredCount"] = service.desired_count
                if primary.get("rolloutState") == "COMPLETED":
                    primary["runningCount"] = service.desired_count
                    _register_targets(self, service, primary["id"])
                else:
                    service.running_count, service.pending_count = old_running, old_pending
        else:
            service.running_count, service.pending_count = old_running, old_pending
        return service

    return update_service


def _describe_services(original: Any) -> Any:
    def describe_services(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        services, failures = original(self, *args, **kwargs)
        for service in services:
            refresh(self, service)
        return services, failures

    return describe_services


def _delete_service(original: Any) -> Any:
    def delete_service(self: EC2ContainerServiceBackend, cluster_name: str, service_name: str, force: bool) -> Any:
        service = original(self, cluster_name, service_name, force)
        # ECS deregisters a deleted service's targets.
        _deregister(self, service)
        service._rollout = None
        return service

    return delete_service


def _list_tasks(original: Any) -> Any:
    # moto ignores ListTasks' serviceName ("until the backend launches tasks as part of the
    # service"); the tasks made here carry their service in `group`, as ECS's do.
    def list_tasks(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        tasks = original(self, *args, **kwargs)
        service_name = kwargs.get("service_name", args[4] if len(args) > 4 else None)
        if not service_name:
            return tasks
        group = f"service:{service_name.split('/')[-1]}"
        return [t for t in tasks if getattr(t, "group", None) == group]

    return list_tasks


def _describe_target_health(original: Any) -> Any:
    def describe_target_health(self: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]) -> Any:
        ecs = ecs_backends[self.account_id][self.region_name]
        for service in list(ecs.services.values()):
            if any(arn == target_group_arn for arn, _ in _target_groups(service)):
                refresh(ecs, service)
        return original(self, target_group_arn, targets)

    return describe_target_health


def install() -> None:
    """Adds the rollouts to moto's ECS and ELBv2 backends (engine.install calls this once)."""
    backend = EC2ContainerServiceBackend
    backend.create_service = _create_service(backend.create_service)  # type: ignore[method-assign]
    backend.update_service = _update_service(backend.update_service)  # type: ignore[method-assign]
    backend.describe_services = _describe_services(backend.describe_services)  # type: ignore[method-assign]
    backend.delete_service = _delete_service(backend.delete_service)  # type: ignore[method-assign]
    backend.list_tasks = _list_tasks(backend.list_tasks)  # type: ignore[method-assign]
    ELBv2Backend.describe_target_health = _describe_target_health(  # type: ignore[method-assign]
        ELBv2Backend.describe_target_health
    )

"""CloudFormation express mode (`DeploymentConfig {Mode: EXPRESS}`, 2026-06), which moto
5.2.5 and its botocore model do not know.

1. Recording. CreateChangeSet, CreateStack and DeleteStack may carry `DeploymentConfig`
   (`DeploymentConfig.Mode=EXPRESS` in the query); the mode is kept on the change set and,
   once executed, on the stack, whose DescribeStacks answer then carries
   `<DeploymentConfig><Mode>EXPRESS</Mode></DeploymentConfig>` as the 2026 API does (the
   botocore model here has no such member, so it is written into the XML), as does the
   change set's DescribeChangeSet. An operation
   sent without one reports none (CloudFormation's default, STANDARD): what AWS itself
   returns there is assumed. DeleteStack's mode stays on the deleted stack.
2. Refusals. CloudFormation refuses the top-level `DisableRollback`/`OnFailure` (and
   CreateChangeSet's `OnStackFailure`, ExecuteChangeSet's `DisableRollback`) beside
   EXPRESS (aws-sam-cli #9106): a ValidationError here too.
3. cloudformation-coverage-roadmap #2538, reproduced: an EXPRESS *update* that replaces an
   `AWS::ECS::TaskDefinition` registers the new revision but never moves the
   `AWS::ECS::Service` onto it, and the stack still ends UPDATE_COMPLETE
   (`ecs.Service.update_from_cloudformation_json` asks [`express_update`]).
4. Readiness. An express operation completes once the configuration is applied, without
   waiting for the ECS service's tasks: the rollout (`rollout`) starts when the stack is
   done. A standard one waits for the service to be stable, so there the rollout has
   already completed when the stack does ([`current_mode`]).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

from moto.cloudformation import models
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse

EXPRESS = "EXPRESS"
STANDARD = "STANDARD"

# The CloudFormation operation running in this thread (moto executes synchronously).
_running = threading.local()

REFUSED = (
    "DisableRollback and OnFailure (OnStackFailure) cannot be specified when DeploymentConfig Mode is EXPRESS: "
    "express mode has its own rollback setting (DeploymentConfig.DisableRollback)"
)


def current_mode() -> str | None:
    """EXPRESS or STANDARD while a CloudFormation operation creates or updates resources in
    this thread; None for a direct API call (e.g. ECS CreateService)."""
    return getattr(_running, "mode", None)


def express_update() -> bool:
    """True while an EXPRESS update is being executed (the #2538 behaviour)."""
    return current_mode() == EXPRESS and getattr(_running, "kind", None) == "UPDATE"


@contextmanager
def running(mode: str | None, kind: str) -> Iterator[None]:
    previous = (current_mode(), getattr(_running, "kind", None))
    _running.mode, _running.kind = mode or STANDARD, kind
    try:
        yield
    finally:
        _running.mode, _running.kind = previous


def _query(response: CloudFormationResponse, name: str) -> str | None:
    value = response.querystring.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def requested_mode(response: CloudFormationResponse) -> str | None:
    """`DeploymentConfig.Mode` as sent (None when not sent), checked like CloudFormation."""
    mode = _query(response, "DeploymentConfig.Mode")
    if mode is not None and mode not in (EXPRESS, STANDARD):
        raise ValidationError(
            message=f"1 validation error detected: Value '{mode}' at 'deploymentConfig.mode' failed to satisfy "
            "constraint: Member must satisfy enum value set: [EXPRESS, STANDARD]"
        )
    return mode


def _refuse_rollback_settings(response: CloudFormationResponse, mode: str | None, *names: str) -> None:
    if mode == EXPRESS and any(_query(response, n) is not None for n in names):
        raise ValidationError(message=REFUSED)


def _find_change_set(backend: models.CloudFormationBackend, name_or_id: str) -> Any:
    return backend.change_sets.get(name_or_id) or next(
        (c for c in backend.change_sets.values() if c.change_set_name == name_or_id), None
    )


def _stacks_named(backend: models.CloudFormationBackend, name_or_id: str) -> list[Any]:
    return [s for s in backend.stacks.values() if name_or_id in (s.name, s.stack_id)]


def _create_change_set(original: Any) -> Any:
    def create_change_set(self: CloudFormationResponse) -> Any:
        mode = requested_mode(self)
        _refuse_rollback_settings(self, mode, "OnStackFailure")
        result = original(self)
        change_set = _find_change_set(self.cloudformation_backend, result.result["Id"])
        if change_set is not None:
            change_set.deployment_mode = mode
        return result

    return create_change_set


def _execute_change_set(original: Any) -> Any:
    def execute_change_set(self: CloudFormationResponse) -> Any:
        change_set = _find_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"))
        mode = getattr(change_set, "deployment_mode", None)
        _refuse_rollback_settings(self, mode, "DisableRollback")
        kind = getattr(change_set, "change_set_type", "UPDATE")
        with running(mode, kind):
            result = original(self)
        if change_set is not None:
            stack = self.cloudformation_backend.stacks.get(change_set.stack_id)
            if stack is not None:
                stack.deployment_mode = mode
        return result

    return execute_change_set


def _create_stack(original: Any) -> Any:
    def create_stack(self: CloudFormationResponse) -> Any:
        mode = requested_mode(self)
        _refuse_rollback_settings(self, mode, "DisableRollback", "OnFailure")
        with running(mode, "CREATE"):
            result = original(self)
        for stack in _stacks_named(self.cloudformation_backend, self._get_param("StackName")):
            stack.deployment_mode = mode
        return result

    return create_stack


def _delete_stack(original: Any) -> Any:
    def delete_stack(self: CloudFormationResponse) -> Any:
        mode = requested_mode(self)
        name = self._get_param("StackName")
        stacks = _stacks_named(self.cloudformation_backend, name)
        with running(mode, "DELETE"):
            result = original(self)
        for stack in stacks:
            stack.deployment_mode = mode
        return result

    return delete_stack


def _all_stacks(backend: models.CloudFormationBackend) -> Iterator[Any]:
    yield from backend.stacks.values()
    yield from getattr(backend, "deleted_stacks", {}).values()


def with_deployment_config(body: str, modes: dict[str, str]) -> str:
    """DescribeStacks XML with `<DeploymentConfig>` after the `<StackId>` of each stack in
    `modes` (stack id -> mode)."""
    for stack_id, mode in modes.items():
        tag = f"<StackId>{escape(stack_id)}</StackId>"
        body = body.replace(tag, f"{tag}<DeploymentConfig><Mode>{mode}</Mode></DeploymentConfig>")
    return body


def _describe_change_set(original: Any) -> Any:
    def describe_change_set(self: CloudFormationResponse) -> Any:
        result = original(self)
        change_set = _find_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"))
        mode = getattr(change_set, "deployment_mode", None)
        if not mode:
            return result
        status, headers, body = self.serialized(result)
        if isinstance(body, bytes):
            body = body.decode()
        headers["status"] = status
        tag = f"<ChangeSetId>{escape(change_set.change_set_id)}</ChangeSetId>"
        return body.replace(tag, f"{tag}<DeploymentConfig><Mode>{mode}</Mode></DeploymentConfig>", 1), headers

    return describe_change_set


def _describe_stacks(original: Any) -> Any:
    def describe_stacks(self: CloudFormationResponse) -> Any:
        result = original(self)
        modes = {
            s.stack_id: s.deployment_mode
            for s in _all_stacks(self.cloudformation_backend)
            if getattr(s, "deployment_mode", None)
        }
        if not modes:
            return result
        status, headers, body = self.serialized(result)
        if isinstance(body, bytes):
            body = body.decode()
        headers["status"] = status
        return with_deployment_config(body, modes), headers

    return describe_stacks


def install() -> None:
    """Adds express mode to moto's CloudFormation API (engine.install calls this once,
    after `failures`, so a refused resource is rolled back inside the operation)."""
    response = CloudFormationResponse
    response.create_change_set = _create_change_set(response.create_change_set)  # type: ignore[method-assign]
    response.execute_change_set = _execute_change_set(response.execute_change_set)  # type: ignore[method-assign]
    response.create_stack = _create_stack(response.create_stack)  # type: ignore[method-assign]
    response.delete_stack = _delete_stack(response.delete_stack)  # type: ignore[method-assign]
    response.describe_stacks = _describe_stacks(response.describe_stacks)  # type: ignore[method-assign]
    response.describe_change_set = _describe_change_set(response.describe_change_set)  # type: ignore[method-assign]

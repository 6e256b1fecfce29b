"""Failed stack operations and deletion policies, as CloudFormation handles them; moto 5.2.5
has neither.

1. Deletion policies. moto keeps a resource only when its DeletionPolicy is exactly
   `Retain`, only on DeleteStack, and deletes resources an update removes whatever their
   policy. CloudFormation keeps `Retain` and `RetainExceptOnCreate` resources on DeleteStack
   and when an update removes them, and deletes `RetainExceptOnCreate` resources only while
   rolling back the create that made them (so failed first deploys leave no orphans).
2. Failed creates roll back. When a resource type refuses a request as the real service
   would (`Refused`), moto answers ExecuteChangeSet with HTTP 500 and leaves the stack
   half created. Here the resource gets a CREATE_FAILED event with the reason, everything
   created so far is deleted (honouring the policies above) and the stack ends
   ROLLBACK_COMPLETE, as on AWS.
3. Failed updates. A type can check an update before anything changes (`check_update`,
   e.g. Cognito's one domain per pool); a refusal there gives UPDATE_FAILED and
   UPDATE_ROLLBACK_COMPLETE with nothing changed, as after CloudFormation's rollback. A
   refusal in the middle of an update cannot be undone here: the stack says
   UPDATE_ROLLBACK_FAILED and why, rather than pretending it rolled back.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import models, parsing

from .base import Refused


class ResourceFailed(Exception):
    """A resource's create or update was refused: which one, and AWS's reason."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, before_any_change: bool = False):
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.before_any_change = before_any_change


def _attributed(original: Any) -> Any:
    # parse_and_create_resource / parse_and_update_resource: name the resource that refused.
    def call(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original(logical_id, resource_json, *args, **kwargs)
        except Refused as refused:
            raise ResourceFailed(logical_id, resource_json.get("Type", "?"), str(refused)) from refused

    return call


def _delete_resource_honouring_policy(original: Any) -> Any:
    def delete_resource(self: parsing.ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        policy = resource_json.get("DeletionPolicy", "Delete")
        rolling_back_create = getattr(self, "_alb_rolling_back_create", False)
        if policy == "Retain" or (policy == "RetainExceptOnCreate" and not rolling_back_create):
            return  # kept, as CloudFormation keeps it
        original(self, parsed_resource, resource_json)

    return delete_resource


def _resource_event(stack: Any, failure: ResourceFailed, status: str) -> None:
    physical = getattr(stack.resource_map._parsed_resources.get(failure.logical_id), "physical_resource_id", "")
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=failure.logical_id,
            physical_resource_id=physical or "",
            resource_type=failure.resource_type,
            resource_status=status,
            resource_status_reason=failure.reason,
            resource_properties=json.dumps({}),
        )
    )


def _roll_back_create(stack: Any, failure: ResourceFailed) -> None:
    _resource_event(stack, failure, "CREATE_FAILED")
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to create: [{failure.logical_id}]. "
        "Rollback requested by user.",
    )
    resource_map = stack.resource_map
    resource_map._alb_rolling_back_create = True
    try:
        resource_map.delete()
    finally:
        resource_map._alb_rolling_back_create = False
    stack._add_stack_event("ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"


def _fail_update(stack: Any, failure: ResourceFailed) -> None:
    _resource_event(stack, failure, "UPDATE_FAILED")
    reason = f"The following resource(s) failed to update: [{failure.logical_id}]. "
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    if failure.before_any_change:
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
    else:
        stack._add_stack_event(
            "UPDATE_ROLLBACK_FAILED",
            resource_status_reason="the local AWS cannot roll back an update that failed half way; "
            "delete the stack and create it again",
        )
        stack.status = "UPDATE_ROLLBACK_FAILED"


def _execute_with_rollback(original: Any) -> Any:
    def execute_change_set(self: models.CloudFormationBackend, change_set_name: str, stack_name: Any = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        try:
            original(self, change_set_name, stack_name)
        except ResourceFailed as failure:
            assert change_set is not None
            stack = self.stacks[change_set.stack_id]
            if change_set.change_set_type == "CREATE":
                _roll_back_create(stack, failure)
            else:
                _fail_update(stack, failure)
            change_set.execution_status = "EXECUTE_FAILED"

    return execute_change_set


def _checked_update(original: Any) -> Any:
    # Before anything changes, each modified resource whose type can tell may refuse.
    def update(self: parsing.ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        for name in self.build_resource_diff(template, parameters)["Modify"]:
            resource_json = template["Resources"][name]
            model = parsing.get_model_map().get(resource_json["Type"])
            check = getattr(model, "check_update", None)
            if check is None or name not in self._parsed_resources:
                continue
            try:
                check(self._parsed_resources[name], resource_json, {**self.input_parameters, **(parameters or {})})
            except Refused as refused:
                raise ResourceFailed(name, resource_json["Type"], str(refused), before_any_change=True) from refused
        original(self, template, parameters)

    return update


def install() -> None:
    """Adds the three behaviours to moto's stack engine (engine.install calls this once)."""
    resource_map = parsing.ResourceMap
    parsing.parse_and_create_resource = _attributed(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _attributed(parsing.parse_and_update_resource)
    resource_map._delete_resource = _delete_resource_honouring_policy(resource_map._delete_resource)  # type: ignore[method-assign]
    resource_map.update = _checked_update(resource_map.update)  # type: ignore[method-assign]
    models.CloudFormationBackend.execute_change_set = _execute_with_rollback(  # type: ignore[method-assign]
        models.CloudFormationBackend.execute_change_set
    )

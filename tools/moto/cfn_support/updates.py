"""Which updates the local AWS can emulate, decided when the change set is created.

moto's engine updates a resource by calling its type's update; a type without one is
silently replaced by `None` (the stack then forgets the resource), and an update that
ignores a changed property leaves the old value in place while the stack says
UPDATE_COMPLETE. It also misses changes that reach a resource only through `Fn::Sub`
(LOGOUT_URL after a new CognitoDomainPrefix) or through a condition (`Fn::If`, or a
resource's `Condition`).

Here every resource type declares which properties its update applies in place
(`IN_PLACE`) and which it applies by creating a replacement (`REPLACING`, "*" for all);
see base.Resource. CreateChangeSet works out, as CloudFormation does, which properties of
which resources change (template text, parameters through Ref, Sub and conditions, and
references to resources that get replaced), and a change set that needs anything else
ends FAILED with "the local AWS cannot emulate an update of TYPE.PROPERTY (LogicalId)":
an honest refusal instead of a stack that lies. Types of moto's own that our templates do
not use keep moto's update when they have one.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import models, parsing
from moto.cloudformation.exceptions import CloudFormationError

from .base import Refused, Resource
from .engine import referenced_names

ANY = "*"


def parameter_values(template: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
    """Every parameter's value: the one given, else its Default."""
    values = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        value = given.get(name, declaration.get("Default"))
        if value is not None:
            values[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return values


def _condition_value(node: Any, parameters: dict[str, str], conditions: dict[str, Any], seen: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_condition_value(n, parameters, conditions, seen) for n in node]
    if not isinstance(node, dict):
        return str(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else node
    if set(node) == {"Condition"}:
        return condition(node["Condition"], parameters, conditions, seen)
    [(function, argument)] = node.items()
    if function == "Ref":
        return parameters.get(argument, argument)
    args = _condition_value(argument, parameters, conditions, seen)
    if function == "Fn::Equals":
        return args[0] == args[1]
    if function == "Fn::Not":
        return not args[0]
    if function == "Fn::And":
        return all(args)
    if function == "Fn::Or":
        return any(args)
    return (function, args)  # anything else: compared as is, old against new


def condition(
    name: str, parameters: dict[str, str], conditions: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Any:
    if name in seen:
        raise ValueError(f"condition {name} refers to itself")
    return _condition_value(conditions[name], parameters, conditions, seen | {name})


def _conditions_in(node: Any) -> set[str]:
    """Condition names a property uses through Fn::If."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If" and isinstance(value, list) and value:
                found.add(value[0])
            found |= _conditions_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= _conditions_in(item)
    return found


def _declared(model: Any, name: str) -> frozenset[str]:
    return frozenset(getattr(model, name, frozenset()))


def _emulates(model: Any, prop: str) -> bool:
    if model is None:
        return False
    if not issubclass(model, Resource):
        # A type of moto's own that this project's templates do not use (the deployer's
        # test fixtures use SNS topics and SSM parameters): trust its update if it has
        # one; without one the resource would become None.
        return not hasattr(model.update_from_cloudformation_json, "__isabstractmethod__")
    return any(prop in s or ANY in s for s in (_declared(model, "IN_PLACE"), _declared(model, "REPLACING")))


def _replaces(model: Any, changed: set[str]) -> bool:
    replacing = _declared(model, "REPLACING")
    return bool(changed) and (ANY in replacing or bool(changed & replacing))


def unemulated_changes(resource_map: parsing.ResourceMap, template: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """What the update from the stack's current template and parameters to these would
    need that the local AWS cannot do, one line per problem (empty: it can do it all)."""
    old_template = resource_map._template
    old_params = parameter_values(old_template, resource_map.input_parameters)
    new_params = parameter_values(template, given)
    changed_params = {p for p in set(old_params) | set(new_params) if old_params.get(p) != new_params.get(p)}
    old_conditions = old_template.get("Conditions") or {}
    new_conditions = template.get("Conditions") or {}
    changed_conditions = {
        c
        for c in set(old_conditions) | set(new_conditions)
        if c not in old_conditions
        or c not in new_conditions
        or condition(c, old_params, old_conditions) != condition(c, new_params, new_conditions)
    }

    problems = []
    old_resources, new_resources = old_template.get("Resources") or {}, template.get("Resources") or {}
    for name in sorted(set(old_resources) & set(new_resources)):
        toggled = {old_resources[name].get("Condition"), new_resources[name].get("Condition")} & changed_conditions
        if toggled:
            problems.append(
                f"the local AWS cannot emulate adding or removing {name} ({new_resources[name]['Type']}) "
                f"when condition {sorted(toggled)[0]} changes"
            )

    models_by_type = parsing.get_model_map()
    replaced: set[str] = set()
    changed_by_resource: dict[str, set[str]] = {}
    existing = {
        name
        for name in set(old_resources) & set(new_resources)
        if "Condition" not in new_resources[name]
        or condition(new_resources[name]["Condition"], new_params, new_conditions) is True
    }
    while True:
        grew = False
        for name in sorted(existing):
            old_props = old_resources[name].get("Properties") or {}
            new_props = new_resources[name].get("Properties") or {}
            changed = {k for k in set(old_props) | set(new_props) if old_props.get(k) != new_props.get(k)}
            for key, value in new_props.items():
                uses = referenced_names(value) | _conditions_in(value)
                if uses & (changed_params | changed_conditions | replaced):
                    changed.add(key)
            changed_by_resource[name] = changed
            model = models_by_type.get(new_resources[name]["Type"])
            if name not in replaced and _replaces(model, changed):
                replaced.add(name)
                grew = True
        if not grew:
            break

    for name, changed in sorted(changed_by_resource.items()):
        resource_type = new_resources[name]["Type"]
        model = models_by_type.get(resource_type)
        for prop in sorted(p for p in changed if not _emulates(model, p)):
            problems.append(f"the local AWS cannot emulate an update of {resource_type}.{prop} ({name})")
    return problems


def _refuse_unemulated(original: Any) -> Any:
    def create_change_set(self: models.CloudFormationBackend, *args: Any, **kwargs: Any) -> tuple[str, str]:
        change_set_id, stack_id = original(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        stack = self.stacks[stack_id]
        if change_set.change_set_type == "UPDATE" and change_set.status == "CREATE_COMPLETE":
            problems = unemulated_changes(stack.resource_map, change_set.template_dict, change_set.parameters or {})
            if problems:
                change_set.status = "FAILED"
                change_set.execution_status = "UNAVAILABLE"
                change_set.status_reason = "; ".join(problems)
        return change_set_id, stack_id

    return create_change_set


def _diff_by_properties(original: Any) -> Any:
    # moto marks a resource modified when any of its text differs (and its engine adds an
    # empty Properties to resources without one, so InternetGateway "changed" on every
    # update and became None), or when a parameter it Refs changed. CloudFormation updates
    # a resource when its properties change, including through Sub and conditions.
    def build_resource_diff(
        self: parsing.ResourceMap, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff = original(self, other_template, parameters)
        old_params = parameter_values(self._template, self.input_parameters)
        new_params = parameter_values(other_template, parameters if parameters is not None else self.input_parameters)
        changed = {p for p in set(old_params) | set(new_params) if old_params.get(p) != new_params.get(p)}
        conditions = other_template.get("Conditions") or {}
        old_conditions = self._template.get("Conditions") or {}
        changed |= {
            c
            for c in conditions
            if c in old_conditions and condition(c, old_params, old_conditions) != condition(c, new_params, conditions)
        }
        modified = []
        for name, resource in other_template["Resources"].items():
            if name not in self._resource_json_map:
                continue
            # A resource whose Condition is false does not exist: nothing to update
            # (moto called its update with no resource, and failed the stack).
            if "Condition" in resource and condition(resource["Condition"], new_params, conditions) is not True:
                continue
            properties = resource.get("Properties") or {}
            if (self._resource_json_map[name].get("Properties") or {}) != properties or (
                (referenced_names(properties) | _conditions_in(properties)) & changed
            ):
                modified.append(name)
        diff["Modify"] = modified
        # CloudFormation lists no change for a resource whose Condition is false; moto
        # listed every new resource as Add (a recreate plan compares these rows).
        diff["Add"] = [
            name
            for name in diff["Add"]
            if "Condition" not in other_template["Resources"][name]
            or condition(other_template["Resources"][name]["Condition"], new_params, conditions) is True
        ]
        return diff

    return build_resource_diff


def _change_set_rows_see_its_parameters(original: Any) -> Any:
    # moto lists a change set's rows from the new template alone (its diff never passes the
    # change set's parameters), so a change of parameters only (a new ImageUri) listed no
    # row, and one back to an earlier value "didn't contain changes". CloudFormation
    # compares with the parameters the change set was created with.
    def diff(self: models.ChangeSet) -> Any:
        resource_map = self.stack.resource_map
        given = self.parameters or {}
        build = resource_map.build_resource_diff

        def with_parameters(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> Any:
            return build(template, given if parameters is None else parameters)

        resource_map.build_resource_diff = with_parameters  # type: ignore[method-assign]
        try:
            return original(self)
        finally:
            del resource_map.build_resource_diff

    return diff


def _executed_parameters_stay(original: Any) -> Any:
    # Executing a change set updated the resources but left the stack's own parameters at
    # their create values, so a later change set back to those values "didn't contain
    # changes" (a rollback to the first image was refused). CloudFormation's stack takes
    # the executed change set's parameters.
    def apply(self: models.ChangeSet) -> None:
        original(self)
        if self.parameters:
            self.stack.parameters = dict(self.parameters)

    return apply


def _never_none(original: Any) -> Any:
    # A type without an update would become None; the change set check should have refused
    # the change, so this is only the last line of defence.
    def parse_and_update_resource(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        updated = original(logical_id, resource_json, *args, **kwargs)
        if updated is None and parsing.get_model_map().get(resource_json.get("Type")) is not None:
            raise Refused(f"the local AWS cannot emulate an update of {resource_json['Type']} ({logical_id})")
        return updated

    return parse_and_update_resource


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"


def _missing_change_set_not_found(original: Any) -> Any:
    # moto fails with an empty HTTP 500 (UnboundLocalError) when the change set is gone;
    # CloudFormation answers ChangeSetNotFound, which `deployer discard` counts as done.
    def delete_change_set(self: models.CloudFormationBackend, change_set_name: str) -> None:
        known = change_set_name in self.change_sets or any(
            cs.change_set_name == change_set_name for cs in self.change_sets.values()
        )
        if not known:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        original(self, change_set_name)

    return delete_change_set


def _execute_deletes_the_other_change_sets(original: Any) -> Any:
    # CloudFormation: "When you execute a change set, CloudFormation deletes all other
    # change sets associated with the stack because they aren't valid for the updated
    # stack" (ExecuteChangeSet API reference). moto keeps them, which would hide a plan
    # that apply could never execute any more, and leave a stale change set that a test
    # of "nothing executable stays on the stack" must not see.
    def execute_change_set(self: models.CloudFormationBackend, change_set_name: str, stack_name: Any = None) -> None:
        executed = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if executed is not None:
            for key, other in list(self.change_sets.items()):
                if other is not executed and other.stack_id == executed.stack_id:
                    del self.change_sets[key]
        original(self, change_set_name, stack_name)

    return execute_change_set


def install() -> None:
    """Adds the checks to moto's change sets (engine.install calls this once)."""
    models.CloudFormationBackend.execute_change_set = _execute_deletes_the_other_change_sets(  # type: ignore[method-assign]
        models.CloudFormationBackend.execute_change_set
    )
    models.CloudFormationBackend.delete_change_set = _missing_change_set_not_found(  # type: ignore[method-assign]
        models.CloudFormationBackend.delete_change_set
    )
    parsing.ResourceMap.build_resource_diff = _diff_by_properties(  # type: ignore[method-assign]
        parsing.ResourceMap.build_resource_diff
    )
    models.ChangeSet.diff = _change_set_rows_see_its_parameters(models.ChangeSet.diff)  # type: ignore[method-assign]
    models.ChangeSet.apply = _executed_parameters_stay(models.ChangeSet.apply)  # type: ignore[method-assign]
    # Wrapped before failures.install wraps it again, so the refusal names the resource.
    parsing.parse_and_update_resource = _never_none(parsing.parse_and_update_resource)
    models.CloudFormationBackend.create_change_set = _refuse_unemulated(  # type: ignore[method-assign]
        models.CloudFormationBackend.create_change_set
    )

"""Behaviours of CloudFormation itself that moto 5.2.5's engine lacks, added to it.

1. Parameter constraints and Rules. CloudFormation refuses a stack or change set whose
   parameter values break `AllowedPattern`, `AllowedValues`, `MinLength`/`MaxLength` or
   `MinValue`/`MaxValue` (with the template's `ConstraintDescription`) or a `Rules`
   assertion (with its `AssertDescription`), before touching any resource. moto accepts
   anything. For a CommaDelimitedList the pattern and the allowed values hold for each
   value of the list (CloudFormation's parameter documentation).
2. Re-resolving dependents on update. When an update replaces a resource (a new task
   definition revision has a new ARN), CloudFormation also updates every resource whose
   properties refer to it (the ECS service then runs the new revision). moto only updates
   resources whose own template text or parameters changed.
3. `Fn::Cidr`, which moto leaves unresolved (IPv6 subnet blocks are carved out of the
   VPC's Amazon-provided block with it), and `Fn::GetAZs ""`, which moto answers with
   us-east-1's zones whatever the stack's region. And `AWS::NoValue` as a list element
   (`- !If [Cond, {...}, !Ref AWS::NoValue]`): CloudFormation leaves the element out;
   moto kept a None in the list, which its models then fail on.
4. Outputs after a change set. Executing a change set leaves moto's stack with the
   outputs of the template before it (none for a new stack); CloudFormation shows the
   outputs of the template just deployed.
5. Termination protection. moto has no UpdateTerminationProtection (it answers HTTP 500)
   and deletes protected stacks; CloudFormation sets the flag and refuses DeleteStack
   while it is on. The deployer's --termination-protection and its destroy refusal are
   exercised against this.
6. Actions moto's botocore model lacks, e.g. DescribeEvents (operation-level events,
   2025-11): moto answered HTTP 500 with an HTML page, which the AWS SDK retries as a
   server fault (the deployer's adaptive retry, 8 attempts with backoff: up to ~30 s for
   every change set). Here they get what CloudFormation answers for an action it does not
   offer: HTTP 400 `InvalidAction`, which nobody retries; the deployer then says the
   early-validation findings are "not available from this endpoint", at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from botocore.model import OperationNotFoundError
from moto.cloudformation import models, parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def constraint_violation(name: str, declaration: dict[str, Any], value: Any) -> str | None:
    """The error CloudFormation reports for `value` of parameter `name`, or None if it is valid."""
    text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    failed = _first_failed_constraint(declaration, text)
    if declaration.get("Type") == "CommaDelimitedList":
        each = {k: v for k, v in declaration.items() if k in ("AllowedPattern", "AllowedValues")}
        whole = {k: v for k, v in declaration.items() if k not in each}
        failed = _first_failed_constraint(whole, text) or next(
            (f for f in (_first_failed_constraint(each, item) for item in text.split(",")) if f), None
        )
    if failed is None:
        return None
    described = declaration.get("ConstraintDescription")
    if described:
        return f"Parameter '{name}' failed to satisfy constraint: {described}"
    return f"Parameter '{name}' {failed}"


def _first_failed_constraint(declaration: dict[str, Any], text: str) -> str | None:
    if declaration.get("Type", "String") == "Number":
        try:
            number = float(text)
        except ValueError:
            return "must be a number"
        if "MinValue" in declaration and number < float(declaration["MinValue"]):
            return f"must be a number not less than {declaration['MinValue']}"
        if "MaxValue" in declaration and number > float(declaration["MaxValue"]):
            return f"must be a number not greater than {declaration['MaxValue']}"
    allowed = declaration.get("AllowedValues")
    if allowed is not None and text not in [str(v) for v in allowed]:
        return "must be one of AllowedValues"
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, text) is None:
        return f"must match pattern {pattern}"
    if "MinLength" in declaration and len(text) < int(declaration["MinLength"]):
        return f"must contain at least {declaration['MinLength']} characters"
    if "MaxLength" in declaration and len(text) > int(declaration["MaxLength"]):
        return f"must contain at most {declaration['MaxLength']} characters"
    return None


def check_parameters(template: dict[str, Any], given: dict[str, Any]) -> None:
    """Raises CloudFormation's ValidationError for the first parameter that breaks its
    constraints, then for the first failed Rules assertion."""
    values: dict[str, Any] = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        value = given.get(name, declaration.get("Default"))
        if value is None:
            continue  # moto itself reports missing parameters
        problem = constraint_violation(name, declaration, value)
        if problem:
            raise ValidationError(message=problem)
        values[name] = str(value)
    for rule in (template.get("Rules") or {}).values():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule.get("Assertions") or []:
            if not rule_value(assertion["Assert"], values):
                raise ValidationError(message=assertion.get("AssertDescription", "Template rule failed"))


def rule_value(node: Any, parameters: dict[str, str]) -> Any:
    """Evaluates a Rules expression: Ref to parameters, Fn::Equals/Not/And/Or/Contains."""
    if isinstance(node, list):
        return [rule_value(item, parameters) for item in node]
    if not isinstance(node, dict):
        return str(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else node
    [(function, argument)] = node.items()
    if function == "Ref":
        return parameters.get(argument, argument)
    args = rule_value(argument, parameters)
    if function == "Fn::Equals":
        return args[0] == args[1]
    if function == "Fn::Not":
        return not args[0]
    if function == "Fn::And":
        return all(args)
    if function == "Fn::Or":
        return any(args)
    if function == "Fn::Contains":
        return args[1] in args[0]
    raise ValidationError(
        message=f"the moto launcher cannot evaluate {function} in Rules; extend cfn_support/engine.py"
    )


def _validated_load_parameters(original: Any) -> Any:
    # CreateStack and UpdateStack (and executing a change set) load parameters here.
    def load_parameters(self: parsing.ResourceMap) -> None:
        check_parameters(self._template, self.input_parameters)
        original(self)

    return load_parameters


def _validated_change_set(original: Any) -> Any:
    # CloudFormation refuses the change set itself, before anyone can execute it.
    def __init__(self: models.ChangeSet, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        check_parameters(self.template_dict, self.parameters or {})

    return __init__


def referenced_names(node: Any) -> set[str]:
    """Logical ids a resource's JSON refers to through Ref, Fn::GetAtt or Fn::Sub."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                names.add(value)
            elif key == "Fn::GetAtt":
                names.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                template = value[0] if isinstance(value, list) else value
                names.update(_SUB_NAME.findall(template))
                names.update(referenced_names(value[1] if isinstance(value, list) else None))
            else:
                names.update(referenced_names(value))
    elif isinstance(node, list):
        for item in node:
            names.update(referenced_names(item))
    return names


def _physical_ids(resources: parsing.ResourceMap) -> dict[str, Any]:
    return {
        name: getattr(resource, "physical_resource_id", None)
        for name, resource in resources._parsed_resources.items()
        if name in resources._resource_json_map
    }


def _update_with_dependents(original: Any) -> Any:
    def update(self: parsing.ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        before = _physical_ids(self)
        original(self, template, parameters)
        replaced = {name for name, pid in _physical_ids(self).items() if name in before and before[name] != pid}
        while replaced:
            next_replaced: set[str] = set()
            for name, resource_json in self._resource_json_map.items():
                if name not in self._parsed_resources or not referenced_names(resource_json) & replaced:
                    continue
                old_id = getattr(self._parsed_resources[name], "physical_resource_id", None)
                updated = parsing.parse_and_update_resource(
                    name, resource_json, self, account_id=self._account_id, region_name=self._region_name
                )
                if updated is not None:  # None: moto has no update for this type; keep it
                    self._parsed_resources[name] = updated
                    if getattr(updated, "physical_resource_id", None) != old_id:
                        next_replaced.add(name)
            replaced = next_replaced

    return update


def cidr(ip_block: str, count: int, cidr_bits: int) -> list[str]:
    """Fn::Cidr: the first `count` blocks with `cidr_bits` host bits inside `ip_block`."""
    network = ipaddress.ip_network(ip_block, strict=False)
    prefix = network.max_prefixlen - int(cidr_bits)
    blocks = network.subnets(new_prefix=prefix)
    return [str(next(blocks)) for _ in range(int(count))]


def _clean_json_with_cidr_and_azs(original: Any) -> Any:
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            ip_block, count, cidr_bits = original(resource_json["Fn::Cidr"], resources_map)
            return cidr(ip_block, count, cidr_bits)
        if isinstance(resource_json, dict) and resource_json.get("Fn::GetAZs", "missing") == "":
            # "" means the stack's region; moto would answer us-east-1's zones.
            return original({"Fn::GetAZs": resources_map["AWS::Region"]}, resources_map)
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list):
            return [item for item in cleaned if item is not None]
        return cleaned

    return clean_json


def _apply_with_outputs(original: Any) -> Any:
    def apply(self: models.ChangeSet) -> None:
        original(self)
        stack = self.stack
        stack.template = self.template
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        # CloudFormation gives the stack the change set's tags (moto keeps only a
        # create's): the deployer records the deployed commit in one.
        if self.tags is not None:
            stack.tags = dict(self.tags)

    return apply


def _update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _delete_unless_protected(original: Any) -> Any:
    def delete_stack(self: CloudFormationResponse) -> ActionResult:
        name = self._get_param("StackName")
        stacks = [s for s in self.cloudformation_backend.stacks.values() if name in (s.name, s.stack_id)]
        if any(getattr(s, "enable_termination_protection", False) for s in stacks):
            raise ValidationError(message=f"Stack [{name}] cannot be deleted while TerminationProtection is enabled")
        return original(self)

    return delete_stack


_INVALID_ACTION = (
    '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
    "<Error><Type>Sender</Type><Code>InvalidAction</Code>"
    "<Message>The action {action} is not valid for this endpoint (moto 5.2.5 does not implement it)</Message>"
    "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


def _dispatch_unknown_as_invalid_action(self, request, full_url=None, headers=None):
    """CloudFormationResponse._dispatch (setup_class + call_action) with that one answer added."""
    try:
        self.setup_class(request, full_url, headers)
    except OperationNotFoundError:  # raised after the query string is parsed: the action is known
        return 400, {"Content-Type": "text/xml"}, _INVALID_ACTION.format(action=self._get_action())
    return self.call_action()


def install() -> bool:
    """Adds the six behaviours to moto's stack engine; False if they were there already."""
    resource_map = parsing.ResourceMap
    if getattr(resource_map, "_alb_cognito_installed", False):
        return False
    resource_map.load_parameters = _validated_load_parameters(resource_map.load_parameters)  # type: ignore[method-assign]
    resource_map.update = _update_with_dependents(resource_map.update)  # type: ignore[method-assign]
    models.ChangeSet.__init__ = _validated_change_set(models.ChangeSet.__init__)  # type: ignore[method-assign]
    models.ChangeSet.apply = _apply_with_outputs(models.ChangeSet.apply)  # type: ignore[method-assign]
    # clean_json calls itself through the module global, so nested Fn::Cidr is found too.
    parsing.clean_json = _clean_json_with_cidr_and_azs(parsing.clean_json)
    CloudFormationResponse.update_termination_protection = _update_termination_protection  # type: ignore[attr-defined]
    CloudFormationResponse._dispatch = _dispatch_unknown_as_invalid_action  # type: ignore[method-assign]
    CloudFormationResponse.delete_stack = _delete_unless_protected(CloudFormationResponse.delete_stack)  # type: ignore[method-assign]
    resource_map._alb_cognito_installed = True
    return True  # type: ignore[attr-defined]

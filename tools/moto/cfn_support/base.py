"""What every resource type in this package shares.

moto's CloudFormation engine finds resource types through the direct subclasses of
`CloudFormationModel`: `cloudformation_type()` names the type, the classmethods
`create_from_cloudformation_json` / `update_from_cloudformation_json` and the method
`delete` do the work, `physical_resource_id` is the `Ref` value and `get_cfn_attribute`
answers `Fn::GetAtt`. Each resource class lists `Resource` (or `Completed`) first and
`CloudFormationModel` second among its bases; these two are not CloudFormationModels
themselves, which would register them as types.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, suppress
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException


class Refused(Exception):
    """Raised by a resource type for a request the real service refuses; the message is the
    service's reason. The stack operation then fails as on AWS (failures.py)."""


class Resource:
    """What the engine keeps for one created resource: its Ref value and its GetAtt values."""

    ATTRIBUTES: tuple[str, ...] = ()
    # Properties whose change this type's update applies in place, and those it applies by
    # creating a replacement (new physical id); "*" for every property. Changing anything
    # else fails the change set (updates.py): moto would otherwise keep the old value, or
    # forget the resource, and still say UPDATE_COMPLETE.
    IN_PLACE: frozenset[str] = frozenset()
    REPLACING: frozenset[str] = frozenset()

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


class Completed(Resource):
    """A resource moto's own model creates, completed with what that model leaves out
    (often only `delete`: moto's engine silently keeps resources whose model cannot delete).

    `MOTO_MODEL` creates it; GetAtt values not in `attributes` come from moto's object.
    """

    MOTO_MODEL: Any = None

    @classmethod
    def _create_with_moto(cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        inner = cls.MOTO_MODEL.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name
        )
        created = cls(inner.physical_resource_id, {}, account_id, region_name)
        created.inner = inner
        created.cloudformation_json = cloudformation_json
        return created

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        return cls._create_with_moto(resource_name, cloudformation_json, account_id, region_name)

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


class UpdatedByMoto(Completed):
    """A `Completed` resource whose in-place updates moto's own model already does right."""

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        original_resource.inner = cls.MOTO_MODEL.update_from_cloudformation_json(
            original_resource.inner, new_resource_name, cloudformation_json, account_id, region_name
        )
        return original_resource


def already_gone_is_deleted(*not_found: type[Exception]) -> AbstractContextManager[None]:
    """Treats "not found" while deleting as deleted.

    CloudFormation deletes dependents first (the client before its user pool, the egress
    rule before its group); moto's engine deletes in no particular order and retries what
    fails, so a resource may find its parent, and itself with it, gone already.
    """
    return suppress(*not_found)


def parameter_value(node: Any, parameters: dict[str, Any]) -> Any:
    """A property's value when it is a literal or a Ref to a parameter; None otherwise
    (for checks that run before the engine resolves anything)."""
    if isinstance(node, dict):
        return parameters.get(node["Ref"]) if set(node) == {"Ref"} else None
    return node


def tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    """A resource's Tags property ([{Key, Value}]), empty when absent."""
    return list(properties.get("Tags") or [])


def key_values(items: list[dict[str, str]] | None) -> dict[str, str]:
    """[{Key, Value}] attribute lists (load balancer, target group) as a dict of strings."""
    return {item["Key"]: str(item["Value"]) for item in items or []}


def camel(value: Any) -> Any:
    """CloudFormation's PascalCase ECS properties in the API's camelCase, recursively.

    Only keys are renamed; values (environment variable names, log options) stay as they are.
    """
    if isinstance(value, list):
        return [camel(v) for v in value]
    if not isinstance(value, dict):
        return value
    renamed: dict[str, Any] = {}
    for key, inner in value.items():
        api_key = key[:1].lower() + key[1:]
        # Values of these maps are free-form: keep their keys verbatim.
        renamed[api_key] = inner if api_key in ("options", "dockerLabels") else camel(inner)
    return renamed

"""IAM types moto's engine lacks (OIDCProvider), stores oddly (inline role policies) or
cannot update (managed policies, role permissions boundaries)."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.iam.models import Role as MotoRole
from moto.iam.models import iam_backends
from moto.utilities.utils import get_partition

from .base import Completed, Resource, tags


class OidcProvider(Resource, CloudFormationModel):
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
            p["Url"], p.get("ThumbprintList") or [], p.get("ClientIdList") or [], tags(p)
        )
        return cls(provider.arn, {"Arn": provider.arn}, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        iam_backends[account_id][get_partition(region_name)].delete_open_id_connect_provider(self.physical_id)


class IamRole(Completed, CloudFormationModel):
    """AWS::IAM::Role by moto's model, with inline policies stored as JSON through
    `put_role_policy` (which also validates their grammar, as IAM does). moto's own model
    keeps them as Python objects, so GetRolePolicy returns text that is not JSON."""

    MOTO_MODEL = MotoRole
    ATTRIBUTES = ("Arn", "RoleId")
    IN_PLACE = frozenset(
        {"AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "Policies", "PermissionsBoundary"}
    )

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

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> IamRole:
        p = cloudformation_json["Properties"]
        iam = iam_backends[account_id][get_partition(region_name)]
        name = original_resource.physical_id
        iam.update_assume_role_policy(name, json.dumps(p["AssumeRolePolicyDocument"]))
        iam.update_role(name, p.get("Description", ""), p.get("MaxSessionDuration"))
        # As the IAM role handler: set the new boundary, or remove one the template dropped.
        if p.get("PermissionsBoundary"):
            iam.put_role_permissions_boundary(name, p["PermissionsBoundary"])
        else:
            iam.delete_role_permissions_boundary(name)
        wanted = {policy["PolicyName"]: policy["PolicyDocument"] for policy in p.get("Policies") or []}
        for existing in iam.list_role_policies(name):
            if existing not in wanted:
                iam.delete_role_policy(name, existing)
        for policy_name, document in wanted.items():
            iam.put_role_policy(name, policy_name, json.dumps(document))
        original_resource.cloudformation_json = cloudformation_json
        return original_resource


class IamManagedPolicy(Resource, CloudFormationModel):
    """AWS::IAM::ManagedPolicy (Ref = ARN) whose document can change in place, as on AWS: a
    new default version, the old ones deleted (IAM keeps at most five). moto's own type
    has no update (the stack would forget the policy) and no delete."""

    IN_PLACE = frozenset({"PolicyDocument"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::ManagedPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ManagedPolicyName"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> IamManagedPolicy:
        p = cloudformation_json["Properties"]
        policy = iam_backends[account_id][get_partition(region_name)].create_policy(
            description=p.get("Description") or "",
            path=p.get("Path") or "/",
            policy_document=json.dumps(p["PolicyDocument"]),
            policy_name=resource_name,
            tags=tags(p),
        )
        return cls(policy.arn, {"PolicyArn": policy.arn}, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> IamManagedPolicy:
        iam = iam_backends[account_id][get_partition(region_name)]
        arn = original_resource.physical_id
        document = json.dumps(cloudformation_json["Properties"]["PolicyDocument"])
        iam.create_policy_version(arn, document, True)
        for version in iam.list_policy_versions(arn):
            if not version.is_default:
                iam.delete_policy_version(arn, version.version_id)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        iam_backends[account_id][get_partition(region_name)].delete_policy(self.physical_id)

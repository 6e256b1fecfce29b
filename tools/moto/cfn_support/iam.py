"""IAM types moto's engine lacks (OIDCProvider) or stores oddly (inline role policies)."""

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
    IN_PLACE = frozenset({"AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "Policies"})

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
        wanted = {policy["PolicyName"]: policy["PolicyDocument"] for policy in p.get("Policies") or []}
        for existing in iam.list_role_policies(name):
            if existing not in wanted:
                iam.delete_role_policy(name, existing)
        for policy_name, document in wanted.items():
            iam.put_role_policy(name, policy_name, json.dumps(document))
        original_resource.cloudformation_json = cloudformation_json
        return original_resource

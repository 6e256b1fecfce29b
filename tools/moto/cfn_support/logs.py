"""CloudWatch Logs log group, whose GetAtt Arn moto answers without CloudFormation's `:*`."""

from __future__ import annotations

from moto.core.common_models import CloudFormationModel
from moto.logs.models import LogGroup as MotoLogGroup

from .base import Completed


class LogGroup(Completed, CloudFormationModel):
    """AWS::Logs::LogGroup by moto's model; GetAtt Arn ends in `:*` as in CloudFormation, so a
    policy on it covers the group's log streams."""

    MOTO_MODEL = MotoLogGroup
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Logs::LogGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "LogGroupName"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return f"{self.inner.arn}:*"
        return super().get_cfn_attribute(attribute_name)

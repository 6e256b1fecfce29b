"""Runs the project's moto launcher with the one CloudFormation API the deployer uses
that moto 5.2.5 lacks: UpdateTerminationProtection (moto answers HTTP 500).

    .venv/bin/python deployer/tests/helpers/moto_termination_protection.py LAUNCHER --port 0

Real CloudFormation sets the stack's EnableTerminationProtection flag and refuses
DeleteStack while it is on; this does both, so the deployer's protection and its
`destroy` refusal are exercised end to end. Everything else is the launcher unchanged.
"""

from __future__ import annotations

import runpy
import sys

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult


def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    name = self._get_param("StackName")
    enable = self._get_bool_param("EnableTerminationProtection", False)
    stack = self.cloudformation_backend.get_stack(name)
    stack.enable_termination_protection = enable
    return ActionResult({"StackId": stack.stack_id})


_original_delete_stack = CloudFormationResponse.delete_stack


def delete_stack(self: CloudFormationResponse) -> ActionResult:
    name = self._get_param("StackName")
    stacks = [s for s in self.cloudformation_backend.stacks.values() if name in (s.name, s.stack_id)]
    if any(getattr(s, "enable_termination_protection", False) for s in stacks):
        raise ValidationError(
            message=f"Stack [{name}] cannot be deleted while TerminationProtection is enabled"
        )
    return _original_delete_stack(self)


CloudFormationResponse.update_termination_protection = update_termination_protection
CloudFormationResponse.delete_stack = delete_stack

if __name__ == "__main__":
    launcher = sys.argv[1]
    sys.argv = [launcher, *sys.argv[2:]]
    runpy.run_path(launcher, run_name="__main__")

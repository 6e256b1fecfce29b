"""tools/moto/launcher.py as other engineers call it (READY line, clean SIGTERM, clear
errors), and its CloudFormation support covering every resource type our templates use.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LAUNCHER, ROOT, STARTUP_TIMEOUT_SECONDS, template_text

sys.path.insert(0, str(ROOT / "tools" / "moto"))
import cfn_support  # noqa: E402  (needs the path above)
from moto.cloudformation import parsing  # noqa: E402


def _start(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ready_line_names_a_loopback_endpoint_that_answers_and_sigterm_stops_it() -> None:
    launcher = _start(0)
    try:
        assert launcher.stdout is not None
        line = launcher.stdout.readline()
        match = re.fullmatch(r"READY (http://127\.0\.0\.1:(\d+))\n", line)
        assert match, f"unexpected first line {line!r}"
        assert int(match.group(2)) > 0
        # moto's own health endpoint: the server really listens there.
        with urllib.request.urlopen(f"{match.group(1)}/moto-api/", timeout=10) as response:
            assert response.status == 200
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=STARTUP_TIMEOUT_SECONDS)
    assert launcher.returncode == 0


def test_a_busy_port_is_an_error_that_says_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launcher = _start(taken.getsockname()[1])
        _, stderr = launcher.communicate(timeout=STARTUP_TIMEOUT_SECONDS)
    assert launcher.returncode == 1
    assert "cannot listen on 127.0.0.1:" in stderr
    assert "--port" in stderr


def test_a_port_out_of_range_is_refused() -> None:
    launcher = _start(70000)
    _, stderr = launcher.communicate(timeout=STARTUP_TIMEOUT_SECONDS)
    assert launcher.returncode == 2
    assert "--port 70000 is not a TCP port" in stderr


@pytest.mark.parametrize("template", ["app.yaml", "github-oidc.yaml"])
def test_every_resource_type_of_the_templates_can_be_created_and_deleted(template: str) -> None:
    cfn_support.install()
    models = parsing.get_model_map()
    for resource_type in sorted(set(re.findall(r"(?m)^    Type: (AWS::\S+)$", template_text(template)))):
        model = models.get(resource_type)
        assert model is not None, f"moto cannot create {resource_type}"
        deletes = hasattr(model, "delete") or not hasattr(model.delete_from_cloudformation_json, "__isabstractmethod__")
        assert deletes, f"moto would silently keep {resource_type} when the stack is deleted"


def test_an_action_moto_lacks_is_refused_as_invalid_action_not_a_server_fault() -> None:
    """DescribeEvents (2025-11) is newer than moto's botocore model. As an HTTP 500 the AWS
    SDK retried it (the deployer waited up to ~30 s per change set); CloudFormation answers
    an action it does not offer with 400 InvalidAction, which no client retries."""
    launcher = _start(0)
    try:
        assert launcher.stdout is not None
        url = launcher.stdout.readline().split()[1]
        request = urllib.request.Request(
            f"{url}/",
            data=b"Action=DescribeEvents&Version=2010-05-15&ChangeSetName=x",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/cloudformation/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
        body = refused.value.read().decode()
        assert "<Code>InvalidAction</Code>" in body and "DescribeEvents" in body
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=STARTUP_TIMEOUT_SECONDS)


def test_executing_a_change_set_deletes_the_stacks_other_change_sets(aws: Any) -> None:
    """CloudFormation deletes every other change set of a stack when one is executed (they
    are not valid for the updated stack); a plan made before another apply is then gone,
    which `deployer apply` must meet as it would on AWS."""
    cfn = aws("cloudformation")

    def template(*groups: str) -> str:
        return "Resources:\n" + "".join(f"  {g}:\n    Type: AWS::Logs::LogGroup\n" for g in groups)

    def change_set(stack: str, name: str, body: str, kind: str = "UPDATE") -> str:
        made = cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind, TemplateBody=body)
        cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
        return made["Id"]

    for stack in ("obsolete-change-sets", "unrelated-stack"):
        cfn.execute_change_set(ChangeSetName=change_set(stack, f"create-{stack}", template("First"), "CREATE"))
        cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
    planned = change_set("obsolete-change-sets", "planned-earlier", template("First", "Second"))
    applied = change_set("obsolete-change-sets", "applied", template("First", "Third"))
    kept = change_set("unrelated-stack", "kept", template("First", "Other"))

    cfn.execute_change_set(ChangeSetName=applied)

    # (moto's ListChangeSets ignores StackName: the names are unique across both stacks.)
    names = [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="obsolete-change-sets")["Summaries"]]
    assert "planned-earlier" not in names and "create-obsolete-change-sets" not in names, names
    assert "applied" in names and "kept" in names, names
    with pytest.raises(ClientError):
        cfn.describe_change_set(ChangeSetName=planned)
    assert cfn.describe_change_set(ChangeSetName=kept)["ChangeSetName"] == "kept"

"""tools/moto/launcher.py as other engineers call it (READY line, clean SIGTERM, clear
errors), and its CloudFormation support covering every resource type our templates use.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import (
    LAUNCHER,
    REGION,
    ROOT,
    STARTUP_TIMEOUT_SECONDS,
    _wait_until_ready,
    deploy,
    outputs,
    resources,
    template_text,
)

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


@pytest.mark.parametrize("template", ["environment.yaml", "service.yaml", "github-oidc.yaml"])
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


def test_a_change_of_parameters_only_is_listed_and_can_go_back_to_the_first_value(aws: Any) -> None:
    """moto listed no row for a change set that only changes a parameter, and after one was
    executed it kept the create's parameters, so a change set back to them "didn't contain
    changes": a rollback to the first image was impossible. CloudFormation lists the
    resource that uses the parameter and takes the executed values."""
    cfn = aws("cloudformation")
    body = (
        "Parameters:\n  Text: {Type: String}\nResources:\n"
        "  Param:\n    Type: AWS::SNS::Topic\n    Properties: {DisplayName: !Ref Text}\n"
    )

    def change_set(name: str, value: str, kind: str = "UPDATE") -> dict[str, Any]:
        made = cfn.create_change_set(
            StackName="parameters-only",
            ChangeSetName=name,
            ChangeSetType=kind,
            TemplateBody=body,
            Parameters=[{"ParameterKey": "Text", "ParameterValue": value}],
        )
        # A FAILED change set ends the waiter with an error: it is described below.
        with contextlib.suppress(Exception):
            cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
        return cfn.describe_change_set(ChangeSetName=made["Id"])

    def execute(described: dict[str, Any]) -> None:
        cfn.execute_change_set(ChangeSetName=described["ChangeSetId"])
        waiter = "stack_create_complete" if described["ChangeSetName"] == "create" else "stack_update_complete"
        cfn.get_waiter(waiter).wait(StackName="parameters-only", WaiterConfig={"Delay": 1})

    execute(change_set("create", "first", "CREATE"))
    second = change_set("second", "second")
    assert [c["ResourceChange"]["LogicalResourceId"] for c in second["Changes"]] == ["Param"]
    execute(second)
    back = change_set("back", "first")
    assert back["Status"] == "CREATE_COMPLETE", back.get("StatusReason")
    assert [c["ResourceChange"]["Action"] for c in back["Changes"]] == ["Modify"]
    execute(back)
    [stack] = cfn.describe_stacks(StackName="parameters-only")["Stacks"]
    assert stack["Parameters"] == [{"ParameterKey": "Text", "ParameterValue": "first"}]
    # The same values again: nothing to change (moto refuses at once; CloudFormation makes
    # a FAILED change set; the deployer meets both as "no changes").
    with pytest.raises(ClientError, match="No updates are to be performed"):
        change_set("same", "first")


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


# ---------------------------------------------------------------- what cfn_support adds

_BALANCER = """
Parameters:
  Certificates: {Type: CommaDelimitedList, Default: ""}
  Priority: {Type: Number, Default: 5}
  HealthPath: {Type: String, Default: /healthz}
  Extra: {Type: String, Default: "false"}
  Subnets: {Type: CommaDelimitedList, AllowedPattern: "^subnet-[0-9a-f]+$"}
Conditions:
  WithExtra: !Equals [!Ref Extra, "true"]
  Never: !Equals [!Ref Extra, "never"]
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.1.0.0/16}}
  Balancer:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: !Ref Subnets}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {VpcId: !Ref Vpc, Port: 80, Protocol: HTTP, TargetType: ip, HealthCheckPath: !Ref HealthPath}
  # Its Condition is false: an update of what it refers to must leave it alone.
  NotCreated:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Condition: Never
    Properties: {VpcId: !Ref Vpc, Port: 80, Protocol: HTTP, TargetType: ip, HealthCheckPath: !Ref HealthPath}
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Balancer
      Port: 443
      Protocol: HTTPS
      Certificates: [{CertificateArn: !Select [0, !Ref Certificates]}]
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
  Rule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: !Ref Priority
      Conditions:
        - {Field: host-header, HostHeaderConfig: {Values: [a.example.com]}}
        - !If [WithExtra, {Field: path-pattern, PathPatternConfig: {Values: [/x]}}, !Ref AWS::NoValue]
      Actions: [{Type: forward, TargetGroupArn: !Ref Group}]
  ExtraCertificate:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Condition: WithExtra
    Properties:
      ListenerArn: !Ref Listener
      Certificates: [{CertificateArn: !Select [1, !Ref Certificates]}]
Outputs:
  Listener: {Value: !Ref Listener}
"""


@pytest.fixture(scope="module")
def balancer(aws: Any) -> dict[str, Any]:
    acm = aws("acm")
    certificates = [acm.request_certificate(DomainName=f"{n}.example.com")["CertificateArn"] for n in ("a", "b", "c")]
    subnet = aws("ec2").create_subnet(
        VpcId=aws("ec2").create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"], CidrBlock="10.2.0.0/24"
    )["Subnet"]["SubnetId"]
    values = {"Certificates": ",".join(certificates[:2]), "Subnets": subnet, "Extra": "true"}
    deploy(aws("cloudformation"), "launcher-balancer", _BALANCER, values, create=True)
    ids = resources(aws("cloudformation"), "launcher-balancer")
    return {"values": values, "ids": ids, "certificates": certificates}


def _listed_certificates(aws: Any, listener: str) -> dict[str, bool]:
    listed = aws("elbv2").describe_listener_certificates(ListenerArn=listener)["Certificates"]
    return {c["CertificateArn"]: c["IsDefault"] for c in listed}


def test_a_listener_certificate_is_added_beside_the_default(aws: Any, balancer: dict[str, Any]) -> None:
    first, second, _ = balancer["certificates"]
    assert _listed_certificates(aws, balancer["ids"]["Listener"]) == {first: True, second: False}


def test_no_value_in_a_list_leaves_the_element_out(aws: Any, balancer: dict[str, Any]) -> None:
    [rule] = aws("elbv2").describe_rules(RuleArns=[balancer["ids"]["Rule"]])["Rules"]
    assert [c["Field"] for c in rule["Conditions"]] == ["host-header", "path-pattern"]


def test_each_value_of_a_comma_delimited_list_must_match_the_pattern(aws: Any) -> None:
    from cfn_support.engine import constraint_violation

    declaration = {"Type": "CommaDelimitedList", "AllowedPattern": "^subnet-[0-9a-f]+$"}
    assert constraint_violation("Subnets", declaration, "subnet-0a,subnet-0b") is None
    assert constraint_violation("Subnets", declaration, ["subnet-0a", "subnet-0b"]) is None
    assert constraint_violation("Subnets", declaration, "subnet-0a,sg-0b") is not None


def test_an_update_moves_a_rule_priority_and_a_health_check_in_place_and_skips_what_is_not_created(
    aws: Any, balancer: dict[str, Any]
) -> None:
    values = {**balancer["values"], "Priority": "7", "HealthPath": "/ready"}
    deploy(aws("cloudformation"), "launcher-balancer", _BALANCER, values, create=False)
    ids = resources(aws("cloudformation"), "launcher-balancer")
    assert (ids["Rule"], ids["Group"]) == (balancer["ids"]["Rule"], balancer["ids"]["Group"])
    assert "NotCreated" not in ids
    [rule] = aws("elbv2").describe_rules(RuleArns=[ids["Rule"]])["Rules"]
    assert rule["Priority"] == "7"
    [group] = aws("elbv2").describe_target_groups(TargetGroupArns=[ids["Group"]])["TargetGroups"]
    assert group["HealthCheckPath"] == "/ready"
    balancer["values"] = values


def test_a_new_default_certificate_keeps_the_ones_other_resources_added(aws: Any, balancer: dict[str, Any]) -> None:
    first, second, third = balancer["certificates"]
    values = {**balancer["values"], "Certificates": f"{third},{second}"}
    deploy(aws("cloudformation"), "launcher-balancer", _BALANCER, values, create=False)
    assert _listed_certificates(aws, balancer["ids"]["Listener"]) == {third: True, second: False}
    balancer["values"] = values


_ANOTHER_STACKS_CERTIFICATE = """
Parameters:
  Listener: {Type: String}
  Certificate: {Type: String}
Resources:
  Added:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Properties:
      ListenerArn: !Ref Listener
      Certificates: [{CertificateArn: !Ref Certificate}]
"""


def test_deleting_a_listener_certificate_removes_only_its_own(aws: Any, balancer: dict[str, Any]) -> None:
    # As a service stack does with the environment's listener.
    first, second, third = balancer["certificates"]
    cfn, listener = aws("cloudformation"), balancer["ids"]["Listener"]
    values = {"Listener": listener, "Certificate": first}
    deploy(cfn, "launcher-other-certificate", _ANOTHER_STACKS_CERTIFICATE, values, create=True)
    assert _listed_certificates(aws, listener) == {third: True, second: False, first: False}
    cfn.delete_stack(StackName="launcher-other-certificate")
    cfn.get_waiter("stack_delete_complete").wait(StackName="launcher-other-certificate", WaiterConfig={"Delay": 1})
    assert _listed_certificates(aws, listener) == {third: True, second: False}


# ------------------------------------------------ express mode and ECS rollouts (issue 19)

_SERVICE = """
Parameters:
  Image: {Type: String}
  Name: {Type: String}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.3.0.0/16}}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {VpcId: !Ref Vpc, Port: 8080, Protocol: HTTP, TargetType: ip}
  Cluster: {Type: AWS::ECS::Cluster, Properties: {ClusterName: !Ref Name}}
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: !Ref Name
      ContainerDefinitions:
        - {Name: app, Image: !Ref Image, Memory: 512, Essential: true, PortMappings: [{ContainerPort: 8080}]}
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      ServiceName: !Ref Name
      DesiredCount: 1
      TaskDefinition: !Ref Task
      LoadBalancers: [{ContainerName: app, ContainerPort: 8080, TargetGroupArn: !Ref Group}]
Outputs:
  Group: {Value: !Ref Group}
"""

_TOPIC = (
    "Parameters:\n  Text: {Type: String}\n"
    "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties: {DisplayName: !Ref Text}\n"
)


def _sending(client: Any, operation: str, extra: dict[str, str]) -> Any:
    """`client` sending `extra` query parameters with `operation`: members this botocore's
    model does not know yet (DeploymentConfig, 2026) go on the wire as the 2026 SDKs send them."""

    def add(request: Any, **_: Any) -> None:
        request.data.update(extra)

    client.meta.events.register(f"before-sign.cloudformation.{operation}", add)
    return client


EXPRESS = {"DeploymentConfig.Mode": "EXPRESS"}


def _raw_describe(endpoint: str, stack: str, action: str = "DescribeStacks", **params: str) -> str:
    """DescribeStacks' XML (boto3's parser drops the members its model lacks)."""
    query = {"Action": action, "Version": "2010-05-15", "StackName": stack, **params}
    request = urllib.request.Request(
        f"{endpoint}/",
        data=urllib.parse.urlencode(query).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/{REGION}/cloudformation/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def _mode(endpoint: str, stack: str) -> str | None:
    found = re.findall(r"<DeploymentConfig>\s*<Mode>(\w+)</Mode>\s*</DeploymentConfig>", _raw_describe(endpoint, stack))
    return found[0] if found else None


def _change_set(
    cfn: Any, stack: str, kind: str, body: str, values: dict[str, str], execute: bool = True, **kwargs: Any
) -> str:
    made = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=f"cs-{uuid.uuid4().hex[:8]}",
        ChangeSetType=kind,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        **kwargs,
    )
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
    if execute:
        cfn.execute_change_set(ChangeSetName=made["Id"])
        waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
        cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig={"Delay": 1})
    return made["Id"]


def test_express_mode_is_recorded_and_shown_by_describe_stacks(aws: Any, moto_endpoint: str) -> None:
    """CreateChangeSet's and DeleteStack's DeploymentConfig reach the stack, and
    DescribeStacks shows the mode of its last operation as the 2026 API does."""
    express = _sending(aws("cloudformation"), "CreateChangeSet", EXPRESS)
    _change_set(express, "express-recorded", "CREATE", _TOPIC, {"Text": "a"})
    assert _mode(moto_endpoint, "express-recorded") == "EXPRESS"
    # Clients that do not know the member still read the stack.
    [stack] = aws("cloudformation").describe_stacks(StackName="express-recorded")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    # An update without DeploymentConfig is CloudFormation's default (standard).
    _change_set(aws("cloudformation"), "express-recorded", "UPDATE", _TOPIC, {"Text": "b"})
    assert _mode(moto_endpoint, "express-recorded") is None
    delete = _sending(aws("cloudformation"), "DeleteStack", EXPRESS)
    delete.delete_stack(StackName=stack["StackId"])
    aws("cloudformation").get_waiter("stack_delete_complete").wait(
        StackName=stack["StackId"], WaiterConfig={"Delay": 1}
    )
    assert _mode(moto_endpoint, stack["StackId"]) == "EXPRESS"
    assert "<StackStatus>DELETE_COMPLETE</StackStatus>" in _raw_describe(moto_endpoint, stack["StackId"])


def test_rollback_settings_beside_express_are_refused(aws: Any, moto_endpoint: str) -> None:
    """CloudFormation refuses DisableRollback/OnFailure (OnStackFailure) beside EXPRESS."""
    cfn = aws("cloudformation")
    with pytest.raises(ClientError, match="cannot be specified when DeploymentConfig Mode is EXPRESS") as refused:
        _change_set(
            _sending(aws("cloudformation"), "CreateChangeSet", EXPRESS),
            "express-refused",
            "CREATE",
            _TOPIC,
            {"Text": "a"},
            OnStackFailure="DELETE",
        )
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="DeploymentConfig Mode is EXPRESS"):
        _sending(aws("cloudformation"), "CreateStack", EXPRESS).create_stack(
            StackName="express-refused", TemplateBody=_TOPIC, Parameters=[], DisableRollback=True
        )
    made = _change_set(
        _sending(aws("cloudformation"), "CreateChangeSet", EXPRESS),
        "express-refused",
        "CREATE",
        _TOPIC,
        {"Text": "a"},
        execute=False,
    )
    # The change set says how it was made (the deployer executes it accordingly).
    described = _raw_describe(moto_endpoint, "express-refused", "DescribeChangeSet", ChangeSetName=made)
    assert "<DeploymentConfig><Mode>EXPRESS</Mode></DeploymentConfig>" in described
    with pytest.raises(ClientError, match="DeploymentConfig Mode is EXPRESS"):
        cfn.execute_change_set(ChangeSetName=made, DisableRollback=True)
    # Without EXPRESS the same settings are fine.
    cfn.execute_change_set(ChangeSetName=made)
    cfn.get_waiter("stack_create_complete").wait(StackName="express-refused", WaiterConfig={"Delay": 1})
    _change_set(cfn, "express-refused", "UPDATE", _TOPIC, {"Text": "b"}, OnStackFailure="ROLLBACK")


def _service(aws: Any, stack: str) -> dict[str, Any]:
    [service] = aws("ecs").describe_services(cluster=stack, services=[stack])["services"]
    return service


def test_an_express_update_never_moves_the_service_onto_a_replaced_task_definition(aws: Any) -> None:
    """cloudformation-coverage-roadmap #2538: the new revision is registered, the service
    stays on the old one, and the stack still says UPDATE_COMPLETE; a standard update moves it."""
    stack, cfn = "express-2538", aws("cloudformation")
    express = _sending(aws("cloudformation"), "CreateChangeSet", EXPRESS)
    _change_set(express, stack, "CREATE", _SERVICE, {"Image": "repo/web:1", "Name": stack})
    first = resources(cfn, stack)["Task"]
    assert _service(aws, stack)["taskDefinition"] == first

    _change_set(express, stack, "UPDATE", _SERVICE, {"Image": "repo/web:2", "Name": stack})
    [described] = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "UPDATE_COMPLETE"
    second = resources(cfn, stack)["Task"]
    assert second != first, "the task definition was replaced"
    assert _service(aws, stack)["taskDefinition"] == first, "express left the service on the old revision"

    _change_set(cfn, stack, "UPDATE", _SERVICE, {"Image": "repo/web:3", "Name": stack})
    third = resources(cfn, stack)["Task"]
    service = _service(aws, stack)
    assert service["taskDefinition"] == third
    [primary] = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    assert (primary["taskDefinition"], primary["rolloutState"]) == (third, "COMPLETED"), primary


@pytest.fixture(scope="module")
def rollout_aws() -> Iterator[tuple[str, Any]]:
    """A launcher of its own whose ECS rollouts take 1 s: (endpoint, client factory)."""
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MOTO_ECS_ROLLOUT_SECONDS": "1"},
    )
    try:
        endpoint = _wait_until_ready(process)
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        yield endpoint, lambda service: session.client(service, endpoint_url=endpoint)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def _healthy(client: Any, group: str) -> list[dict[str, Any]]:
    described = client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return [d for d in described if d["TargetHealth"]["State"] == "healthy"]


def test_an_express_create_returns_before_the_rollout_which_then_registers_healthy_targets(
    rollout_aws: tuple[str, Any],
) -> None:
    _, client = rollout_aws
    stack = "rollout-express"
    _change_set(
        _sending(client("cloudformation"), "CreateChangeSet", EXPRESS),
        stack,
        "CREATE",
        _SERVICE,
        {"Image": "repo/web:1", "Name": stack},
    )
    group = outputs(client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0])["Group"]
    service = _service(client, stack)
    [primary] = service["deployments"]
    assert (primary["rolloutState"], primary["runningCount"], service["runningCount"]) == ("IN_PROGRESS", 0, 0)
    assert _healthy(client, group) == []
    time.sleep(1.2)
    service = _service(client, stack)
    [primary] = service["deployments"]
    assert (primary["rolloutState"], primary["runningCount"], service["runningCount"]) == ("COMPLETED", 1, 1)
    [target] = _healthy(client, group)
    assert target["Target"]["Port"] == 8080 and target["Target"]["Id"].startswith("10.")

    # A new revision through the ECS API: the old deployment drains beside the new one.
    ecs = client("ecs")
    old_definition = service["taskDefinition"]
    new_definition = ecs.register_task_definition(
        family=stack, containerDefinitions=[{"name": "app", "image": "repo/web:2", "memory": 512}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=stack, service=stack, taskDefinition=new_definition)
    deployments = {d["status"]: d for d in _service(client, stack)["deployments"]}
    assert deployments["PRIMARY"]["taskDefinition"] == new_definition
    assert deployments["PRIMARY"]["rolloutState"] == "IN_PROGRESS"
    assert (deployments["ACTIVE"]["taskDefinition"], deployments["ACTIVE"]["runningCount"]) == (old_definition, 1)
    time.sleep(1.2)
    [primary] = _service(client, stack)["deployments"]
    assert (primary["taskDefinition"], primary["rolloutState"]) == (new_definition, "COMPLETED")
    [replaced] = _healthy(client, group)
    assert replaced["Target"]["Id"] != target["Target"]["Id"], "the new tasks' targets replaced the old ones"


def test_a_standard_create_completes_with_its_rollout(rollout_aws: tuple[str, Any]) -> None:
    """A standard-mode operation waits until the service is stable: done when the stack is."""
    _, client = rollout_aws
    stack = "rollout-standard"
    _change_set(client("cloudformation"), stack, "CREATE", _SERVICE, {"Image": "repo/web:1", "Name": stack})
    [primary] = _service(client, stack)["deployments"]
    assert (primary["rolloutState"], primary["runningCount"]) == ("COMPLETED", 1)
    group = outputs(client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0])["Group"]
    assert len(_healthy(client, group)) == 1


def test_a_failing_image_fails_its_rollout_with_a_stopped_task_that_says_why(rollout_aws: tuple[str, Any]) -> None:
    _, client = rollout_aws
    stack = "rollout-fails"
    _change_set(
        _sending(client("cloudformation"), "CreateChangeSet", EXPRESS),
        stack,
        "CREATE",
        _SERVICE,
        {"Image": "repo/web:rollout-fails", "Name": stack},
    )
    time.sleep(1.2)
    [primary] = _service(client, stack)["deployments"]
    assert primary["rolloutState"] == "FAILED"
    assert "circuit breaker" in primary["rolloutStateReason"]
    ecs = client("ecs")
    [task_arn] = ecs.list_tasks(cluster=stack, serviceName=stack, desiredStatus="STOPPED")["taskArns"]
    [task] = ecs.describe_tasks(cluster=stack, tasks=[task_arn])["tasks"]
    assert task["stoppedReason"] == "Essential container in task exited"
    assert task["containers"][0]["exitCode"] == 1
    # Another service's stopped tasks are not this one's.
    assert ecs.list_tasks(cluster=stack, serviceName="other", desiredStatus="STOPPED")["taskArns"] == []

    # In standard mode CloudFormation waits, and the circuit breaker fails the create.
    cfn = client("cloudformation")
    made = cfn.create_change_set(
        StackName="rollout-fails-standard",
        ChangeSetName="create",
        ChangeSetType="CREATE",
        TemplateBody=_SERVICE,
        Parameters=[
            {"ParameterKey": "Image", "ParameterValue": "repo/web:rollout-fails"},
            {"ParameterKey": "Name", "ParameterValue": "rollout-fails-standard"},
        ],
    )
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
    cfn.execute_change_set(ChangeSetName=made["Id"])
    with contextlib.suppress(Exception):
        cfn.get_waiter("stack_create_complete").wait(StackName="rollout-fails-standard", WaiterConfig={"Delay": 1})
    [stack_now] = cfn.describe_stacks(StackName="rollout-fails-standard")["Stacks"]
    assert stack_now["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName="rollout-fails-standard")["StackEvents"]
    assert any("Circuit Breaker was triggered" in e.get("ResourceStatusReason", "") for e in events)

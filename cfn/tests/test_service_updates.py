"""Updates of a deployed cfn/service.yaml, one template parameter at a time, on the moto
launcher: each change either reaches the resources (checked through the services' own
APIs) or is refused with a reason that says why, never an UPDATE_COMPLETE that changed
nothing. One environment and one service serve every test, in file order (each test
starts from the values the previous one left), to keep the suite fast. ImageUri is
covered by test_stacks.py; the environment's own parameters by
test_environment_updates.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import WaiterError
from conftest import (
    BOUNDARY_ARN,
    create_zone,
    deploy,
    deploy_environment,
    environment_wired,
    load_template,
    outputs,
    parameters,
    resources,
    template_text,
)

ENVIRONMENT, STACK = "updates-env", "updates-env-web"
DOMAIN = "updates.example.net"
HOST = f"app.{DOMAIN}"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "d" * 64


@pytest.fixture(scope="module")
def state(aws: Any) -> dict[str, Any]:
    zone_id = create_zone(aws, "example.net")
    environment = deploy_environment(
        aws,
        ENVIRONMENT,
        # A wildcard certificate: the service needs none of its own.
        {
            "HostedZoneId": zone_id,
            "DomainName": DOMAIN,
            "CognitoDomainPrefix": "updates-login",
            "NatGateways": "1",
            "WildcardCertificate": "true",
        },
    )
    values = {
        **environment_wired(outputs(environment)),
        "HostName": HOST,
        "ApiRulePriority": "25010",
        "AppRulePriority": "25011",
        "ImageUri": IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    deploy(aws("cloudformation"), STACK, template_text("service.yaml"), values, create=True)
    return {"values": values, "zone_id": zone_id, "environment": outputs(environment)}


def _update(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    """Deploys the changed values; returns (outputs, logical id -> physical id)."""
    values = {**state["values"], **changes}
    updated = deploy(aws("cloudformation"), STACK, template_text("service.yaml"), values, create=False)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    state["values"] = values
    return {"outputs": outputs(updated), "ids": resources(aws("cloudformation"), STACK)}


def _container(aws: Any, ids: dict[str, str]) -> dict[str, Any]:
    out = outputs(aws("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0])
    [service] = aws("ecs").describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])["services"]
    assert service["taskDefinition"] == ids["TaskDefinition"], "the service must run the template's revision"
    definition = aws("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return {"definition": definition, "container": definition["containerDefinitions"][0], "service": service}


def _environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def _rules(aws: Any, state: dict[str, Any]) -> dict[int, dict[str, Any]]:
    rules = aws("elbv2").describe_rules(ListenerArn=state["environment"]["HttpsListenerArn"])["Rules"]
    return {int(r["Priority"]): r for r in rules if not r["IsDefault"]}


def _conditions(rule: dict[str, Any]) -> dict[str, list[str]]:
    configs = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig"}
    return {c["Field"]: c[configs[c["Field"]]]["Values"] for c in rule["Conditions"]}


def _refused_change_set(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    cfn = aws("cloudformation")
    before = resources(cfn, STACK)
    created = cfn.create_change_set(
        StackName=STACK,
        ChangeSetName=f"refused-{sorted(changes)[0].lower()}",
        ChangeSetType="UPDATE",
        TemplateBody=template_text("service.yaml"),
        Parameters=parameters({**state["values"], **changes}),
        Capabilities=["CAPABILITY_IAM"],
    )
    with pytest.raises(WaiterError):
        cfn.get_waiter("change_set_create_complete").wait(
            ChangeSetName=created["Id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    described = cfn.describe_change_set(ChangeSetName=created["Id"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert resources(cfn, STACK) == before
    return described


def test_a_new_host_name_reaches_records_rules_client_and_logout_url(aws: Any, state: dict[str, Any]) -> None:
    new_host = f"www.{DOMAIN}"
    after = _update(aws, state, HostName=new_host)
    ids, out = after["ids"], after["outputs"]
    assert out["ServiceUrl"] == f"https://{new_host}/"

    records = aws("route53").list_resource_record_sets(HostedZoneId=state["zone_id"])
    aliases = {(r["Name"].rstrip("."), r["Type"]) for r in records["ResourceRecordSets"] if "AliasTarget" in r}
    # The environment's own name, and the service's new one; the old one is gone.
    assert aliases == {(DOMAIN, "A"), (DOMAIN, "AAAA"), (new_host, "A"), (new_host, "AAAA")}

    hosts = {c for r in _rules(aws, state).values() for c in _conditions(r)["host-header"]}
    assert hosts == {new_host}
    client = aws("cognito-idp").describe_user_pool_client(
        UserPoolId=state["environment"]["UserPoolId"], ClientId=out["UserPoolClientId"]
    )["UserPoolClient"]
    assert client["CallbackURLs"] == [f"https://{new_host}/oauth2/idpresponse"]
    assert client["LogoutURLs"] == [f"https://{new_host}/"]
    # HostName reaches the task definition only through Fn::Sub: it must re-resolve.
    logout = _environment(_container(aws, ids)["container"])["LOGOUT_URL"]
    assert logout.endswith(f"&logout_uri=https%3A%2F%2F{new_host}%2F"), logout


def test_a_path_prefix_moves_the_rules_the_logout_url_and_the_service_url(aws: Any, state: dict[str, Any]) -> None:
    after = _update(aws, state, PathPrefix="/docs")
    host = state["values"]["HostName"]
    assert after["outputs"]["ServiceUrl"] == f"https://{host}/docs/"
    rules = _rules(aws, state)
    assert _conditions(rules[25010]) == {"host-header": [host], "path-pattern": ["/docs/api/*"]}
    # A login service under a path also takes its host's login callback: the load
    # balancer completes the login with this rule's client there.
    assert _conditions(rules[25011]) == {
        "host-header": [host],
        "path-pattern": ["/docs", "/docs/*", "/oauth2/idpresponse"],
    }
    logout = _environment(_container(aws, after["ids"])["container"])["LOGOUT_URL"]
    assert logout.endswith(f"&logout_uri=https%3A%2F%2F{host}/docs%2F"), logout
    # Back to the whole host: the path condition goes away again.
    _update(aws, state, PathPrefix="")
    assert _conditions(_rules(aws, state)[25011]) == {"host-header": [host]}


def test_new_rule_priorities_move_the_same_rules(aws: Any, state: dict[str, Any]) -> None:
    before = {r["RuleArn"] for r in _rules(aws, state).values()}
    _update(aws, state, ApiRulePriority="25020", AppRulePriority="25021")
    rules = _rules(aws, state)
    assert sorted(rules) == [25020, 25021]
    assert {r["RuleArn"] for r in rules.values()} == before


def test_a_new_permissions_boundary_reaches_both_roles_in_place(aws: Any, state: dict[str, Any]) -> None:
    # A re-run bootstrap may replace the boundary policy: the roles keep their names
    # (no replacement: running tasks keep their identity) and carry the new boundary.
    iam = aws("iam")
    before = resources(aws("cloudformation"), STACK)
    for role in ("ExecutionRole", "TaskRole"):
        assert iam.get_role(RoleName=before[role])["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
            BOUNDARY_ARN
        )
    other = "arn:aws:iam::123456789012:policy/github-deploy-staging-PermissionsBoundary-NEW"
    ids = _update(aws, state, PermissionsBoundaryArn=other)["ids"]
    for role in ("ExecutionRole", "TaskRole"):
        assert ids[role] == before[role]
        boundary = iam.get_role(RoleName=ids[role])["Role"]["PermissionsBoundary"]
        assert boundary == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": other}


def test_a_pinned_desired_count_is_set_and_unpinning_keeps_the_count(aws: Any, state: dict[str, Any]) -> None:
    after = _update(aws, state, DesiredCount="3")
    assert _container(aws, after["ids"])["service"]["desiredCount"] == 3
    after = _update(aws, state, DesiredCount="0")
    assert _container(aws, after["ids"])["service"]["desiredCount"] == 3


def test_new_scaling_bounds_reach_the_scalable_target(aws: Any, state: dict[str, Any]) -> None:
    out = _update(aws, state, MinTasks="3", MaxTasks="9")["outputs"]
    resource_id = f"service/{out['ClusterName']}/{out['ServiceName']}"
    [target] = aws("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 9)


def test_a_new_task_size_rolls_the_service_to_a_new_revision(aws: Any, state: dict[str, Any]) -> None:
    before = resources(aws("cloudformation"), STACK)["TaskDefinition"]
    after = _update(aws, state, Cpu="512", Memory="1024")
    definition = _container(aws, after["ids"])["definition"]
    assert (definition["cpu"], definition["memory"]) == ("512", "1024")
    assert after["ids"]["TaskDefinition"] != before


def test_the_container_health_check_can_be_changed_and_switched_off(aws: Any, state: dict[str, Any]) -> None:
    after = _update(aws, state, ContainerHealthCheck="/app/check --ready")
    assert _container(aws, after["ids"])["container"]["healthCheck"]["command"] == ["CMD", "/app/check", "--ready"]
    after = _update(aws, state, ContainerHealthCheck="none")
    assert "healthCheck" not in _container(aws, after["ids"])["container"]


def test_a_new_health_check_path_reaches_the_target_group_in_place(aws: Any, state: dict[str, Any]) -> None:
    before = resources(aws("cloudformation"), STACK)["TargetGroup"]
    ids = _update(aws, state, HealthCheckPath="/ready")["ids"]
    assert ids["TargetGroup"] == before
    [group] = aws("elbv2").describe_target_groups(TargetGroupArns=[before])["TargetGroups"]
    assert group["HealthCheckPath"] == "/ready"


def test_a_new_container_port_is_refused_by_the_local_aws_with_what_it_cannot_do(
    aws: Any, state: dict[str, Any]
) -> None:
    reason = _refused_change_set(aws, state, ContainerPort="9090")["StatusReason"]
    assert "the local AWS cannot emulate an update of AWS::ElasticLoadBalancingV2::TargetGroup.Port" in reason
    assert "AWS::ECS::Service.LoadBalancers (Service)" in reason


@pytest.mark.parametrize(
    "name, value, resource",
    [
        ("Login", "none", "UserPoolClient"),
        ("CreateDnsRecord", "false", "DnsRecordIpv4"),
        ("CreateCertificate", "true", "Certificate"),
    ],
)
def test_adding_or_removing_a_conditional_resource_is_refused_by_the_local_aws(
    aws: Any, state: dict[str, Any], name: str, value: str, resource: str
) -> None:
    # CloudFormation does it; moto's engine cannot (test_stacks.py deploys both values).
    reason = _refused_change_set(aws, state, **{name: value})["StatusReason"]
    assert f"cannot emulate adding or removing {resource} " in reason, reason


# The environment's outputs: they change only when the environment does, and the
# deployer passes them again (test_stacks.py deploys them; test_environment_updates.py
# changes the environment).
WIRED = set(environment_wired({name: "" for name in load_template("environment.yaml")["Outputs"]}))


def test_every_parameter_has_an_update_test() -> None:
    covered = {
        "HostName",
        "PathPrefix",
        "ApiRulePriority",
        "AppRulePriority",
        "PermissionsBoundaryArn",
        "DesiredCount",
        "MinTasks",
        "MaxTasks",
        "Cpu",
        "Memory",
        "ContainerHealthCheck",
        "HealthCheckPath",
        "ContainerPort",
        "Login",
        "CreateDnsRecord",
        "CreateCertificate",
        "ImageUri",  # test_stacks.py
    }
    assert set(load_template("service.yaml")["Parameters"]) == covered | WIRED


def test_after_every_update_the_stack_still_knows_every_resource(aws: Any, state: dict[str, Any]) -> None:
    listed = aws("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    # Login=cognito, own DNS records, no certificate of its own.
    declared = {
        name
        for name, r in load_template("service.yaml")["Resources"].items()
        if r.get("Condition") not in ("OwnsCertificate",)
    }
    known = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed if "LogicalResourceId" in r}
    assert set(known) == declared
    assert all(known.values()), f"resources the stack forgot: {[k for k, v in known.items() if not v]}"

"""Updates of a deployed cfn/app.yaml, one template parameter at a time, on the moto
launcher: each change either reaches the resources (checked through the services' own
APIs) or is refused with a reason that says why, never an UPDATE_COMPLETE that changed
nothing. One stack serves every test, in file order (each test starts from the values the
previous one left), to keep the suite fast. ImageUri is covered by test_app_stack.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import WaiterError
from conftest import BOUNDARY_ARN, deploy, load_template, outputs, parameters, resources, template_text

STACK = "app-updates"
DOMAIN = "app.example.net"
PREFIX = "updates-login"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "d" * 64


@pytest.fixture(scope="module")
def state(aws: Any) -> dict[str, Any]:
    route53 = aws("route53")
    zone = route53.create_hosted_zone(Name="example.net.", CallerReference="updates-tests")
    values = {
        "HostedZoneId": zone["HostedZone"]["Id"].split("/")[-1],
        "DomainName": DOMAIN,
        "CognitoDomainPrefix": PREFIX,
        "ImageUri": IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    deploy(aws("cloudformation"), STACK, template_text("app.yaml"), values, create=True)
    return {"values": values}


def _update(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    """Deploys the changed values; returns (outputs, logical id -> physical id)."""
    values = {**state["values"], **changes}
    updated = deploy(aws("cloudformation"), STACK, template_text("app.yaml"), values, create=False)
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


def _refused_change_set(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    cfn = aws("cloudformation")
    before = resources(cfn, STACK)
    created = cfn.create_change_set(
        StackName=STACK,
        ChangeSetName=f"refused-{len(state)}-{sorted(changes)[0].lower()}",
        ChangeSetType="UPDATE",
        TemplateBody=template_text("app.yaml"),
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


def test_a_new_domain_name_reaches_certificate_records_rules_client_and_logout_url(
    aws: Any, state: dict[str, Any]
) -> None:
    old_certificate = resources(aws("cloudformation"), STACK)["Certificate"]
    new_domain = "www.example.net"
    after = _update(aws, state, DomainName=new_domain)
    ids, out = after["ids"], after["outputs"]

    # A new certificate (DomainName is create-only), served by the listener; the old one is gone.
    assert ids["Certificate"] != old_certificate
    acm = aws("acm")
    assert acm.describe_certificate(CertificateArn=ids["Certificate"])["Certificate"]["DomainName"] == new_domain
    assert old_certificate not in {c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]}
    [https] = [
        listener
        for listener in aws("elbv2").describe_listeners(LoadBalancerArn=out["LoadBalancerArn"])["Listeners"]
        if listener["Port"] == 443
    ]
    assert https["Certificates"] == [{"CertificateArn": ids["Certificate"]}]

    records = aws("route53").list_resource_record_sets(HostedZoneId=state["values"]["HostedZoneId"])
    aliases = {(r["Name"].rstrip("."), r["Type"]) for r in records["ResourceRecordSets"] if "AliasTarget" in r}
    assert aliases == {(new_domain, "A"), (new_domain, "AAAA")}

    rules = aws("elbv2").describe_rules(ListenerArn=ids["HttpsListener"])["Rules"]
    hosts = {c["HostHeaderConfig"]["Values"][0] for r in rules for c in r["Conditions"] if c["Field"] == "host-header"}
    assert hosts == {new_domain}
    client = aws("cognito-idp").describe_user_pool_client(
        UserPoolId=out["UserPoolId"], ClientId=out["UserPoolClientId"]
    )
    assert client["UserPoolClient"]["LogoutURLs"] == [f"https://{new_domain}/"]

    # DomainName reaches the task definition only through Fn::Sub: it must re-resolve.
    logout = _environment(_container(aws, ids)["container"])["LOGOUT_URL"]
    assert logout.endswith(f"&logout_uri=https%3A%2F%2F{new_domain}%2F"), logout


def test_a_new_permissions_boundary_reaches_both_roles_in_place(aws: Any, state: dict[str, Any]) -> None:
    # A re-run bootstrap may replace the boundary policy: the roles keep their names
    # (no replacement: running tasks keep their identity) and carry the new boundary.
    iam = aws("iam")
    before = resources(aws("cloudformation"), STACK)
    for role in ("ExecutionRole", "TaskRole"):
        assert iam.get_role(RoleName=before[role])["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
            BOUNDARY_ARN
        )
    other = "arn:aws:iam::123456789012:policy/github-deploy-PermissionsBoundary-NEW"
    ids = _update(aws, state, PermissionsBoundaryArn=other)["ids"]
    for role in ("ExecutionRole", "TaskRole"):
        assert ids[role] == before[role]
        boundary = iam.get_role(RoleName=ids[role])["Role"]["PermissionsBoundary"]
        assert boundary == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": other}


def test_a_new_hosted_zone_gets_the_records_and_the_old_zone_loses_them(aws: Any, state: dict[str, Any]) -> None:
    route53 = aws("route53")
    old_zone = state["values"]["HostedZoneId"]
    zone = route53.create_hosted_zone(Name=f"{state['values']['DomainName']}.", CallerReference="updates-zone")
    new_zone = zone["HostedZone"]["Id"].split("/")[-1]
    _update(aws, state, HostedZoneId=new_zone)

    def aliases(zone_id: str) -> set[str]:
        listed = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return {r["Type"] for r in listed if "AliasTarget" in r}

    assert aliases(new_zone) == {"A", "AAAA"}
    assert aliases(old_zone) == set()
    listed = route53.list_resource_record_sets(HostedZoneId=new_zone)["ResourceRecordSets"]
    assert [r for r in listed if r["Type"] == "CNAME"], "the certificate is validated in the new zone"


def test_a_new_cognito_domain_prefix_fails_as_on_aws_and_changes_nothing(aws: Any, state: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    before = resources(cfn, STACK)
    logout_before = _environment(_container(aws, before)["container"])["LOGOUT_URL"]
    with pytest.raises(WaiterError):
        deploy(cfn, STACK, template_text("app.yaml"), {**state["values"], "CognitoDomainPrefix": "other-login"}, False)

    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed["LogicalResourceId"] == "UserPoolDomain"
    assert "User pool already has a domain configured" in failed["ResourceStatusReason"]
    # Rolled back: the old domain and everything that names it stay as they were.
    assert resources(cfn, STACK) == before
    domain = aws("cognito-idp").describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]
    assert domain["UserPoolId"] == before["UserPool"]
    assert aws("cognito-idp").describe_user_pool_domain(Domain="other-login")["DomainDescription"] == {}
    assert _environment(_container(aws, before)["container"])["LOGOUT_URL"] == logout_before
    assert [p for p in stack["Parameters"] if p["ParameterKey"] == "CognitoDomainPrefix"][0]["ParameterValue"] == PREFIX


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


def test_self_sign_up_can_be_switched_on(aws: Any, state: dict[str, Any]) -> None:
    out = _update(aws, state, SelfSignUp="true")["outputs"]
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=out["UserPoolId"])["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False


def test_a_new_container_port_is_refused_by_the_local_aws_with_what_it_cannot_do(
    aws: Any, state: dict[str, Any]
) -> None:
    reason = _refused_change_set(aws, state, ContainerPort="9090")["StatusReason"]
    assert "the local AWS cannot emulate an update of AWS::ElasticLoadBalancingV2::TargetGroup.Port" in reason
    assert "AWS::ECS::Service.LoadBalancers (Service)" in reason


def test_a_second_nat_gateway_is_refused_by_the_local_aws_with_what_it_cannot_do(
    aws: Any, state: dict[str, Any]
) -> None:
    reason = _refused_change_set(aws, state, NatGateways="2")["StatusReason"]
    assert "cannot emulate adding or removing NatGatewayB (AWS::EC2::NatGateway) when condition TwoNatGateways" in (
        reason
    )


def test_every_parameter_has_an_update_test() -> None:
    covered = {
        "DomainName",
        "HostedZoneId",
        "CognitoDomainPrefix",
        "DesiredCount",
        "MinTasks",
        "MaxTasks",
        "Cpu",
        "Memory",
        "ContainerHealthCheck",
        "SelfSignUp",
        "ContainerPort",
        "PermissionsBoundaryArn",
        "NatGateways",
        "ImageUri",  # test_app_stack.py
    }
    assert set(load_template("app.yaml")["Parameters"]) == covered


def test_after_every_update_the_stack_still_knows_every_resource(aws: Any, state: dict[str, Any]) -> None:
    listed = aws("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    declared = {
        name for name, r in load_template("app.yaml")["Resources"].items() if r.get("Condition") != "TwoNatGateways"
    }
    known = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed if "LogicalResourceId" in r}
    assert set(known) == declared
    assert all(known.values()), f"resources the stack forgot: {[k for k, v in known.items() if not v]}"

"""Updates of a deployed cfn/environment.yaml, one parameter at a time, on the moto
launcher, with a service stack on it that must not change: each environment change
either reaches the resources (checked through the services' own APIs) or is refused with
a reason that says why. One environment serves every test, in file order (each test
starts from the values the previous one left).
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
    deploy_service,
    load_template,
    outputs,
    parameters,
    resources,
    template_text,
)

STACK, SERVICE = "envup-prod", "envup-prod-web"
DOMAIN = "prod.example.org"
PREFIX = "envup-login"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "e" * 64


@pytest.fixture(scope="module")
def state(aws: Any) -> dict[str, Any]:
    zone_id = create_zone(aws, "example.org")
    values = {"HostedZoneId": zone_id, "DomainName": DOMAIN, "CognitoDomainPrefix": PREFIX, "NatGateways": "1"}
    environment = deploy_environment(aws, STACK, values)
    service = {
        "HostName": f"app.{DOMAIN}",
        "ApiRulePriority": "25100",
        "AppRulePriority": "25101",
        # No wildcard yet: the service brings its own certificate.
        "CreateCertificate": "true",
        "ImageUri": IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    deploy_service(aws, SERVICE, environment, service)
    cfn = aws("cloudformation")
    return {
        "values": values,
        "service_ids": resources(cfn, SERVICE),
        "service_events": _event_ids(cfn, SERVICE),
        "listener": outputs(environment)["HttpsListenerArn"],
    }


def _event_ids(cfn: Any, stack: str) -> set[str]:
    return {e["EventId"] for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]}


def _update(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    values = {**state["values"], **changes}
    updated = deploy_environment(aws, STACK, values, create=False)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    state["values"] = values
    return {"outputs": outputs(updated), "ids": resources(aws("cloudformation"), STACK)}


def _service_untouched(aws: Any, state: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    assert _event_ids(cfn, SERVICE) == state["service_events"], "the service stack must not have changed"
    assert resources(cfn, SERVICE) == state["service_ids"]


def _refused_change_set(aws: Any, state: dict[str, Any], **changes: str) -> dict[str, Any]:
    cfn = aws("cloudformation")
    before = resources(cfn, STACK)
    created = cfn.create_change_set(
        StackName=STACK,
        ChangeSetName=f"refused-{sorted(changes)[0].lower()}",
        ChangeSetType="UPDATE",
        TemplateBody=template_text("environment.yaml"),
        Parameters=parameters({**state["values"], **changes}),
    )
    with pytest.raises(WaiterError):
        cfn.get_waiter("change_set_create_complete").wait(
            ChangeSetName=created["Id"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    described = cfn.describe_change_set(ChangeSetName=created["Id"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert resources(cfn, STACK) == before
    return described


def test_a_wildcard_certificate_replaces_the_default_and_keeps_the_services_own(
    aws: Any, state: dict[str, Any]
) -> None:
    old = resources(aws("cloudformation"), STACK)["Certificate"]
    after = _update(aws, state, WildcardCertificate="true")
    new = after["ids"]["Certificate"]
    assert new != old and after["outputs"]["CertificateArn"] == new
    described = aws("acm").describe_certificate(CertificateArn=new)["Certificate"]
    assert sorted(described["SubjectAlternativeNames"]) == sorted([DOMAIN, f"*.{DOMAIN}"])
    assert old not in {c["CertificateArn"] for c in aws("acm").list_certificates()["CertificateSummaryList"]}
    # The listener's default is the new one; the service's (picked by SNI) stays.
    listed = aws("elbv2").describe_listener_certificates(ListenerArn=state["listener"])["Certificates"]
    assert {c["CertificateArn"]: c["IsDefault"] for c in listed} == {
        new: True,
        state["service_ids"]["Certificate"]: False,
    }
    _service_untouched(aws, state)


def test_self_sign_up_can_be_switched_on_without_the_services(aws: Any, state: dict[str, Any]) -> None:
    out = _update(aws, state, SelfSignUp="true")["outputs"]
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=out["UserPoolId"])["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    _service_untouched(aws, state)


def test_a_new_hosted_zone_gets_the_environment_records(aws: Any, state: dict[str, Any]) -> None:
    route53 = aws("route53")
    old_zone = state["values"]["HostedZoneId"]
    new_zone = create_zone(aws, DOMAIN)
    after = _update(aws, state, HostedZoneId=new_zone)
    assert after["outputs"]["HostedZoneId"] == new_zone

    def aliases(zone_id: str) -> set[tuple[str, str]]:
        listed = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return {(r["Name"].rstrip("."), r["Type"]) for r in listed if "AliasTarget" in r}

    assert aliases(new_zone) == {(DOMAIN, "A"), (DOMAIN, "AAAA")}
    # The service's records stay where its stack put them until the deployer passes it
    # the new zone (its HostedZoneId parameter).
    assert aliases(old_zone) == {(f"app.{DOMAIN}", "A"), (f"app.{DOMAIN}", "AAAA")}
    listed = route53.list_resource_record_sets(HostedZoneId=new_zone)["ResourceRecordSets"]
    assert [r for r in listed if r["Type"] == "CNAME"], "the certificate is validated in the new zone"
    _service_untouched(aws, state)


def test_a_new_domain_name_reaches_certificate_records_and_url(aws: Any, state: dict[str, Any]) -> None:
    new_domain = "www.prod.example.org"
    after = _update(aws, state, DomainName=new_domain)
    out, ids = after["outputs"], after["ids"]
    assert (out["DomainName"], out["EnvironmentUrl"]) == (new_domain, f"https://{new_domain}/")
    described = aws("acm").describe_certificate(CertificateArn=ids["Certificate"])["Certificate"]
    assert described["DomainName"] == new_domain
    https = aws("elbv2").describe_listener_certificates(ListenerArn=state["listener"])["Certificates"]
    assert [c["CertificateArn"] for c in https if c["IsDefault"]] == [ids["Certificate"]]
    listed = aws("route53").list_resource_record_sets(HostedZoneId=state["values"]["HostedZoneId"])
    aliases = {(r["Name"].rstrip("."), r["Type"]) for r in listed["ResourceRecordSets"] if "AliasTarget" in r}
    assert aliases == {(new_domain, "A"), (new_domain, "AAAA")}
    _service_untouched(aws, state)


def test_a_new_cognito_domain_prefix_fails_as_on_aws_and_changes_nothing(aws: Any, state: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    before = resources(cfn, STACK)
    with pytest.raises(WaiterError):
        deploy(
            cfn, STACK, template_text("environment.yaml"), {**state["values"], "CognitoDomainPrefix": "x-login"}, False
        )

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
    assert aws("cognito-idp").describe_user_pool_domain(Domain="x-login")["DomainDescription"] == {}
    assert outputs(stack)["CognitoDomainPrefix"] == PREFIX
    _service_untouched(aws, state)


def test_a_second_nat_gateway_is_refused_by_the_local_aws_with_what_it_cannot_do(
    aws: Any, state: dict[str, Any]
) -> None:
    # CloudFormation adds it; moto's engine cannot add a resource whose condition turns on
    # (test_stack_options.py and test_stacks.py deploy both values).
    reason = _refused_change_set(aws, state, NatGateways="2")["StatusReason"]
    assert "cannot emulate adding or removing NatGatewayB (AWS::EC2::NatGateway) when condition TwoNatGateways" in (
        reason
    )


def test_every_parameter_has_an_update_test() -> None:
    covered = {
        "WildcardCertificate",
        "SelfSignUp",
        "HostedZoneId",
        "DomainName",
        "CognitoDomainPrefix",
        "NatGateways",
        # Set at create only (the previews environment's stack name, always the same):
        # test_a_previews_environment_names_its_load_balancer_after_its_stack.
        "LoadBalancerName",
    }
    assert set(load_template("environment.yaml")["Parameters"]) == covered


def test_after_every_update_the_stack_still_knows_every_resource(aws: Any, state: dict[str, Any]) -> None:
    listed = aws("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    declared = {
        name
        for name, r in load_template("environment.yaml")["Resources"].items()
        if r.get("Condition") != "TwoNatGateways"
    }
    known = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in listed if "LogicalResourceId" in r}
    assert set(known) == declared
    assert all(known.values()), f"resources the stack forgot: {[k for k, v in known.items() if not v]}"


def test_the_pool_names_its_environment_stack_for_the_previews_service_role(aws: Any, state: dict[str, Any]) -> None:
    # cfn/pull-request-previews.yaml lets previews add app clients only to the pool whose
    # deployer:environment-stack tag is the preview environment's stack.
    pool = resources(aws("cloudformation"), STACK)["UserPool"]
    described = aws("cognito-idp").describe_user_pool(UserPoolId=pool)["UserPool"]
    assert described.get("UserPoolTags") == {"deployer:environment-stack": STACK}


def test_a_previews_environment_names_its_load_balancer_after_its_stack(aws: Any) -> None:
    # Its listeners' and rules' ARNs are then listener/app/STACK/..., which is how the
    # previews' service role is held to this load balancer. Without it: a generated name.
    zone_id = create_zone(aws, "example.net")
    values = {
        "HostedZoneId": zone_id,
        "DomainName": "preview.example.net",
        "CognitoDomainPrefix": "envup-preview-login",
        "NatGateways": "1",
        "WildcardCertificate": "true",
        "LoadBalancerName": "envup-preview",
    }
    environment = outputs(deploy_environment(aws, "envup-preview", values))
    assert environment["LoadBalancerFullName"].startswith("app/envup-preview/")
    assert ":listener/app/envup-preview/" in environment["HttpsListenerArn"]
    assert load_template("environment.yaml")["Parameters"]["LoadBalancerName"]["Default"] == ""

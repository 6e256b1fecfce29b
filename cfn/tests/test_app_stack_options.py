"""cfn/app.yaml with the non-default options (two NAT gateways, self sign-up, a pinned
task count, a local registry image, an image with no container health check), and deleting
the stack (the deployer's destroy) on the moto launcher: everything it created goes away.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import BOUNDARY_ARN, deploy, outputs, resources, template_text

STACK = "app-options"
DOMAIN = "options.example.org"
IMAGE = "127.0.0.1:5000/app@sha256:" + "c" * 64


@pytest.fixture(scope="module")
def stack(aws: Any) -> dict[str, Any]:
    zone = aws("route53").create_hosted_zone(Name="example.org.", CallerReference="options-tests")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    values = {
        "HostedZoneId": zone_id,
        "DomainName": DOMAIN,
        "CognitoDomainPrefix": "options-login",
        "PermissionsBoundaryArn": BOUNDARY_ARN,
        "ImageUri": IMAGE,
        "NatGateways": "2",
        "SelfSignUp": "true",
        "DesiredCount": "3",
        # Somebody else's image: it has no /service, so no container health check.
        "ContainerHealthCheck": "none",
    }
    created = deploy(aws("cloudformation"), STACK, template_text("app.yaml"), values, create=True)
    return {"zone_id": zone_id, "outputs": outputs(created), "ids": resources(aws("cloudformation"), STACK)}


def test_two_nat_gateways_give_each_private_subnet_its_own(aws: Any, stack: dict[str, Any]) -> None:
    ids = stack["ids"]
    tables = aws("ec2").describe_route_tables(RouteTableIds=[ids["PrivateRouteTableA"], ids["PrivateRouteTableB"]])
    nat_by_table = {
        t["RouteTableId"]: r["NatGatewayId"]
        for t in tables["RouteTables"]
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == "0.0.0.0/0"
    }
    assert nat_by_table == {
        ids["PrivateRouteTableA"]: ids["NatGatewayA"],
        ids["PrivateRouteTableB"]: ids["NatGatewayB"],
    }
    gateways = aws("ec2").describe_nat_gateways(NatGatewayIds=[ids["NatGatewayA"], ids["NatGatewayB"]])
    assert {g["SubnetId"] for g in gateways["NatGateways"]} == {ids["PublicSubnetA"], ids["PublicSubnetB"]}


def test_self_sign_up_lets_users_create_accounts(aws: Any, stack: dict[str, Any]) -> None:
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=stack["outputs"]["UserPoolId"])["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False


def test_a_pinned_desired_count_is_set_on_the_service(aws: Any, stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    [service] = aws("ecs").describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])["services"]
    assert service["desiredCount"] == 3


def test_a_local_registry_image_is_deployed_as_given(aws: Any, stack: dict[str, Any]) -> None:
    definition = aws("ecs").describe_task_definition(taskDefinition=stack["ids"]["TaskDefinition"])
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"] == IMAGE


def test_an_image_without_a_health_check_command_gets_none(aws: Any, stack: dict[str, Any]) -> None:
    definition = aws("ecs").describe_task_definition(taskDefinition=stack["ids"]["TaskDefinition"])
    assert "healthCheck" not in definition["taskDefinition"]["containerDefinitions"][0]


def test_deleting_the_stack_removes_what_it_created_but_keeps_the_users(aws: Any, stack: dict[str, Any]) -> None:
    cfn = aws("cloudformation")
    cfn.delete_stack(StackName=STACK)
    cfn.get_waiter("stack_delete_complete").wait(StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    ids, out = stack["ids"], stack["outputs"]
    assert ids["Vpc"] not in {v["VpcId"] for v in aws("ec2").describe_vpcs()["Vpcs"]}
    assert out["LoadBalancerArn"] not in {
        b["LoadBalancerArn"] for b in aws("elbv2").describe_load_balancers()["LoadBalancers"]
    }
    # The user pool is retained on purpose: its users cannot be recreated.
    assert out["UserPoolId"] in {p["Id"] for p in aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]}
    # So is the log group: its last logs say why a deploy failed.
    assert aws("logs").describe_log_groups(logGroupNamePrefix=out["LogGroupName"])["logGroups"]
    with pytest.raises(ClientError):
        aws("acm").describe_certificate(CertificateArn=ids["Certificate"])
    records = aws("route53").list_resource_record_sets(HostedZoneId=stack["zone_id"])["ResourceRecordSets"]
    assert not [r for r in records if r["Name"].rstrip(".") == DOMAIN]
    [cluster] = aws("ecs").describe_clusters(clusters=[out["ClusterName"]])["clusters"] or [{"status": "INACTIVE"}]
    assert cluster["status"] == "INACTIVE"

"""cfn/app.yaml deployed on the moto launcher through change sets, checked through the
services' own APIs (what EC2, ELBv2, Cognito, Route 53, ECS say exists), not through
CloudFormation's view of the stack.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import BOUNDARY_ARN, deploy, outputs, resources, template_text

STACK = "app"
DOMAIN = "app.example.com"
PREFIX = "example-app-login"
PORT = 8080
FIRST_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64
SECOND_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "b" * 64


@pytest.fixture(scope="module")
def stack(aws: Any) -> dict[str, Any]:
    """Creates the hosted zone and the stack once; yields what the tests need."""
    zone = aws("route53").create_hosted_zone(Name="example.com.", CallerReference="app-tests")
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    values = {
        "HostedZoneId": zone_id,
        "DomainName": DOMAIN,
        "CognitoDomainPrefix": PREFIX,
        "ImageUri": FIRST_IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    created = deploy(aws("cloudformation"), STACK, template_text("app.yaml"), values, create=True)
    return {
        "zone_id": zone_id,
        "values": values,
        "created": created,
        "outputs": outputs(created),
        "ids": resources(aws("cloudformation"), STACK),
    }


def test_stack_reaches_create_complete_with_every_resource(stack: dict[str, Any]) -> None:
    assert stack["created"]["StackStatus"] == "CREATE_COMPLETE"
    declared = set(re.findall(r"(?m)^  ([A-Za-z0-9]+):\n    Type: AWS::", template_text("app.yaml")))
    only_with_two_nat_gateways = {"NatAddressB", "NatGatewayB"}
    assert declared - only_with_two_nat_gateways == set(stack["ids"])


def test_outputs_have_the_names_the_deployer_and_workflow_read(stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    assert set(out) == {
        "AppUrl",
        "UserPoolId",
        "UserPoolClientId",
        "CognitoDomain",
        "LoadBalancerArn",
        "LoadBalancerDnsName",
        "ClusterName",
        "ServiceName",
        "LogGroupName",
    }
    assert out["AppUrl"] == f"https://{DOMAIN}/"
    assert out["CognitoDomain"] == f"{PREFIX}.auth.eu-west-1.amazoncognito.com"
    assert out["LoadBalancerArn"] == stack["ids"]["LoadBalancer"]
    assert out["UserPoolClientId"] == stack["ids"]["UserPoolClient"]


def test_https_listener_serves_tls13_and_never_forwards_by_default(aws: Any, stack: dict[str, Any]) -> None:
    elbv2 = aws("elbv2")
    listeners = elbv2.describe_listeners(LoadBalancerArn=stack["outputs"]["LoadBalancerArn"])["Listeners"]
    by_port = {listener["Port"]: listener for listener in listeners}
    assert set(by_port) == {80, 443}

    http = by_port[80]
    assert http["Protocol"] == "HTTP"
    [redirect] = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"

    https = by_port[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["Certificates"][0]["CertificateArn"] == stack["ids"]["Certificate"]
    [default] = https["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "404"
    attributes = elbv2.describe_listener_attributes(ListenerArn=https["ListenerArn"])["Attributes"]
    hsts = {a["Key"]: a["Value"] for a in attributes}["routing.http.response.strict_transport_security.header_value"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts) and int(hsts[8:].split(";")[0]) >= 31536000


def _rule_conditions(rule: dict[str, Any]) -> dict[str, list[str]]:
    configs = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig"}
    return {c["Field"]: c[configs[c["Field"]]]["Values"] for c in rule["Conditions"]}


def test_listener_rules_log_in_with_cognito_then_forward_for_the_domain_only(aws: Any, stack: dict[str, Any]) -> None:
    rules = aws("elbv2").describe_rules(ListenerArn=stack["ids"]["HttpsListener"])["Rules"]
    by_priority = {int(r["Priority"]): r for r in rules if not r["IsDefault"]}
    assert sorted(by_priority) == [1, 2]
    # Evaluated first: API paths answer 401 instead of redirecting fetch() to the login page.
    api, app = by_priority[1], by_priority[2]
    assert _rule_conditions(api) == {"host-header": [DOMAIN], "path-pattern": ["/api/*"]}
    assert _rule_conditions(app) == {"host-header": [DOMAIN]}

    pool = aws("cognito-idp").describe_user_pool(UserPoolId=stack["outputs"]["UserPoolId"])["UserPool"]
    for rule, unauthenticated in ((api, "deny"), (app, "authenticate")):
        actions = sorted(rule["Actions"], key=lambda a: a["Order"])
        assert [a["Type"] for a in actions] == ["authenticate-cognito", "forward"]
        cognito = actions[0]["AuthenticateCognitoConfig"]
        assert cognito["UserPoolArn"] == pool["Arn"]
        assert cognito["UserPoolClientId"] == stack["outputs"]["UserPoolClientId"]
        assert cognito["UserPoolDomain"] == PREFIX
        assert cognito["Scope"] == "openid email profile"
        assert int(cognito["SessionTimeout"]) == 28800
        assert cognito["OnUnauthenticatedRequest"] == unauthenticated
        assert actions[1]["TargetGroupArn"] == stack["ids"]["TargetGroup"]


def test_load_balancer_is_public_and_drops_invalid_headers(aws: Any, stack: dict[str, Any]) -> None:
    elbv2 = aws("elbv2")
    arn = stack["outputs"]["LoadBalancerArn"]
    [balancer] = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
    assert balancer["Type"] == "application"
    assert balancer["IpAddressType"] == "dualstack"  # the AAAA record needs it
    public = {stack["ids"]["PublicSubnetA"], stack["ids"]["PublicSubnetB"]}
    assert {zone["SubnetId"] for zone in balancer["AvailabilityZones"]} == public
    zones = {zone["ZoneName"] for zone in balancer["AvailabilityZones"]}
    assert len(zones) == 2 and all(z.startswith("eu-west-1") for z in zones), zones
    assert balancer["SecurityGroups"] == [stack["ids"]["LoadBalancerSecurityGroup"]]
    attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_target_group_checks_healthz_on_ip_targets_and_drains_fast(aws: Any, stack: dict[str, Any]) -> None:
    elbv2 = aws("elbv2")
    arn = stack["ids"]["TargetGroup"]
    [group] = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    assert group["TargetType"] == "ip"
    assert group["Protocol"] == "HTTP"
    assert group["Port"] == PORT
    assert group["HealthCheckPath"] == "/healthz"
    assert group["VpcId"] == stack["ids"]["Vpc"]
    attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    }
    assert attributes["deregistration_delay.timeout_seconds"] == "10"


def _rules(permissions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each rule of a security group as (protocol, from, to, peer, description)."""
    flat = []
    for p in permissions:
        for r in p.get("IpRanges", []):
            flat.append((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIp"], r.get("Description")))
        for r in p.get("Ipv6Ranges", []):
            flat.append((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r["CidrIpv6"], r.get("Description")))
        for g in p.get("UserIdGroupPairs", []):
            flat.append((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), g["GroupId"], g.get("Description")))
    return flat


def test_security_groups_let_only_the_load_balancer_reach_the_app(aws: Any, stack: dict[str, Any]) -> None:
    ids = stack["ids"]
    alb_sg, app_sg = ids["LoadBalancerSecurityGroup"], ids["ServiceSecurityGroup"]
    groups = {g["GroupId"]: g for g in aws("ec2").describe_security_groups(GroupIds=[alb_sg, app_sg])["SecurityGroups"]}
    alb, app = groups[alb_sg], groups[app_sg]

    alb_in = _rules(alb["IpPermissions"])
    alb_out = _rules(alb["IpPermissionsEgress"])
    app_in = _rules(app["IpPermissions"])
    app_out = _rules(app["IpPermissionsEgress"])

    assert {(r[1], r[3]) for r in alb_in} == {(80, "0.0.0.0/0"), (443, "0.0.0.0/0"), (80, "::/0"), (443, "::/0")}
    # To the tasks on the app port, and to Cognito's token endpoint (else logins fail with 500).
    assert {r[:4] for r in alb_out} == {
        ("tcp", PORT, PORT, app_sg),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    }
    assert [r[:4] for r in app_in] == [("tcp", PORT, PORT, alb_sg)]
    assert all(r[0] != "-1" for r in alb_out + app_out), "no allow-all egress may remain"
    for rule in alb_in + alb_out + app_in + app_out:
        assert rule[4], f"security group rule {rule} has no description"


def test_user_pool_client_is_a_confidential_code_flow_client_for_the_domain(aws: Any, stack: dict[str, Any]) -> None:
    idp = aws("cognito-idp")
    client = idp.describe_user_pool_client(
        UserPoolId=stack["outputs"]["UserPoolId"], ClientId=stack["outputs"]["UserPoolClientId"]
    )["UserPoolClient"]
    assert client["ClientSecret"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    assert client["CallbackURLs"] == [f"https://{DOMAIN}/oauth2/idpresponse"]
    assert client["LogoutURLs"] == [f"https://{DOMAIN}/"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]

    domain = idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]
    assert domain["UserPoolId"] == stack["outputs"]["UserPoolId"]

    # Short tokens; the load balancer refreshes them while its 8-hour session lasts.
    assert (client["AccessTokenValidity"], client["IdTokenValidity"], client["RefreshTokenValidity"]) == (15, 15, 8)
    assert client["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"}


def test_user_pool_requires_totp_and_treats_e_mail_addresses_as_people_do(aws: Any, stack: dict[str, Any]) -> None:
    idp = aws("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=stack["outputs"]["UserPoolId"])["UserPool"]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # SelfSignUp defaults to false
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["UserPoolTier"] == "ESSENTIALS"
    # Not ACTIVE: the rollback of a failed first create must be able to delete the pool.
    assert pool["DeletionProtection"] == "INACTIVE"
    # ON: the hosted login page enrols an authenticator app only when MFA is required.
    mfa = idp.get_user_pool_mfa_config(UserPoolId=stack["outputs"]["UserPoolId"])
    assert mfa["MfaConfiguration"] == "ON"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}


def test_certificate_is_dns_validated_in_the_hosted_zone(aws: Any, stack: dict[str, Any]) -> None:
    certificate = aws("acm").describe_certificate(CertificateArn=stack["ids"]["Certificate"])["Certificate"]
    assert certificate["DomainName"] == DOMAIN
    assert certificate["Status"] == "ISSUED"
    [validation] = certificate["DomainValidationOptions"]
    record = validation["ResourceRecord"]
    records = aws("route53").list_resource_record_sets(HostedZoneId=stack["zone_id"])["ResourceRecordSets"]
    cnames = {r["Name"]: r["ResourceRecords"][0]["Value"] for r in records if r["Type"] == "CNAME"}
    assert cnames[record["Name"]] == record["Value"]


def test_domain_is_an_alias_of_the_load_balancer(aws: Any, stack: dict[str, Any]) -> None:
    records = aws("route53").list_resource_record_sets(HostedZoneId=stack["zone_id"])["ResourceRecordSets"]
    aliases = {r["Type"]: r["AliasTarget"] for r in records if r["Name"].rstrip(".") == DOMAIN and "AliasTarget" in r}
    assert set(aliases) == {"A", "AAAA"}
    [balancer] = aws("elbv2").describe_load_balancers(LoadBalancerArns=[stack["outputs"]["LoadBalancerArn"]])[
        "LoadBalancers"
    ]
    for alias in aliases.values():
        assert alias["DNSName"].rstrip(".") == balancer["DNSName"]
        assert alias["HostedZoneId"] == balancer["CanonicalHostedZoneId"]


def test_service_runs_on_fargate_in_private_subnets_without_public_ip(aws: Any, stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    [service] = aws("ecs").describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])["services"]
    assert service["launchType"] == "FARGATE"
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert network["assignPublicIp"] == "DISABLED"
    assert set(network["subnets"]) == {stack["ids"]["PrivateSubnetA"], stack["ids"]["PrivateSubnetB"]}
    assert network["securityGroups"] == [stack["ids"]["ServiceSecurityGroup"]]
    [balanced] = service["loadBalancers"]
    assert balanced["targetGroupArn"] == stack["ids"]["TargetGroup"]
    assert balanced["containerPort"] == PORT
    assert service["desiredCount"] == 1  # DesiredCount 0: ECS starts one, auto scaling raises it to MinTasks
    deployment = service["deploymentConfiguration"]
    assert deployment["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (deployment["minimumHealthyPercent"], deployment["maximumPercent"]) == (100, 200)


def test_cluster_has_container_insights_and_logs_are_kept_30_days(aws: Any, stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    [cluster] = aws("ecs").describe_clusters(clusters=[out["ClusterName"]], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    [group] = aws("logs").describe_log_groups(logGroupNamePrefix=out["LogGroupName"])["logGroups"]
    assert group["retentionInDays"] == 30


def test_task_roles_are_least_privilege(aws: Any, stack: dict[str, Any]) -> None:
    iam, ids = aws("iam"), stack["ids"]
    # The app's one AWS call: AdminUserGlobalSignOut at logout, on its own pool only.
    [name] = iam.list_role_policies(RoleName=ids["TaskRole"])["PolicyNames"]
    document = iam.get_role_policy(RoleName=ids["TaskRole"], PolicyName=name)["PolicyDocument"]
    [statement] = (document if isinstance(document, dict) else json.loads(document))["Statement"]
    pool = aws("cognito-idp").describe_user_pool(UserPoolId=stack["outputs"]["UserPoolId"])["UserPool"]
    assert statement == {
        "Sid": "RevokeRefreshTokensAtLogout",
        "Effect": "Allow",
        "Action": "cognito-idp:AdminUserGlobalSignOut",
        "Resource": pool["Arn"],
    }
    assert iam.list_attached_role_policies(RoleName=ids["TaskRole"])["AttachedPolicies"] == []

    [name] = iam.list_role_policies(RoleName=ids["ExecutionRole"])["PolicyNames"]
    document = iam.get_role_policy(RoleName=ids["ExecutionRole"], PolicyName=name)["PolicyDocument"]
    statements = {s["Sid"]: s for s in (document if isinstance(document, dict) else json.loads(document))["Statement"]}
    assert set(statements) == {"EcrLogin", "EcrPull", "WriteLogs"}
    assert statements["EcrPull"]["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/*"
    [group] = aws("logs").describe_log_groups(logGroupNamePrefix=stack["outputs"]["LogGroupName"])["logGroups"]
    assert statements["WriteLogs"]["Resource"] == group["arn"]


def test_task_definition_gives_the_container_its_configuration(aws: Any, stack: dict[str, Any]) -> None:
    definition = aws("ecs").describe_task_definition(taskDefinition=stack["ids"]["TaskDefinition"])["taskDefinition"]
    assert definition["networkMode"] == "awsvpc"
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("256", "512")
    # Under the stack's path, which the CloudFormation service role may manage.
    assert definition["executionRoleArn"].endswith(f":role/{STACK}/{stack['ids']['ExecutionRole']}")
    assert definition["taskRoleArn"].endswith(f":role/{STACK}/{stack['ids']['TaskRole']}")
    [container] = definition["containerDefinitions"]
    assert container["image"] == FIRST_IMAGE
    assert container["portMappings"][0]["containerPort"] == PORT
    assert container["healthCheck"]["command"] == ["CMD", "/service", "--healthcheck"]
    assert container["readonlyRootFilesystem"] is True
    assert container["logConfiguration"]["options"]["awslogs-group"] == stack["outputs"]["LogGroupName"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    out = stack["outputs"]
    assert env == {
        "PORT": str(PORT),
        "AWS_REGION": "eu-west-1",
        "ALB_ARN": out["LoadBalancerArn"],
        "COGNITO_CLIENT_ID": out["UserPoolClientId"],
        # The pool's own ProviderURL (GetAtt), the iss of its tokens.
        "OIDC_ISSUER": f"https://cognito-idp.eu-west-1.amazonaws.com/{out['UserPoolId']}",
        "LOGOUT_URL": (
            f"https://{out['CognitoDomain']}/logout?client_id={out['UserPoolClientId']}"
            f"&logout_uri=https%3A%2F%2F{DOMAIN}%2F"
        ),
        # /logout revokes the user's refresh tokens in this pool.
        "USER_POOL_ID": out["UserPoolId"],
    }


def test_service_scales_between_min_and_max_tasks(aws: Any, stack: dict[str, Any]) -> None:
    out = stack["outputs"]
    resource_id = f"service/{out['ClusterName']}/{out['ServiceName']}"
    scaling = aws("application-autoscaling")
    [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource_id)["ScalingPolicies"]
    metrics = {
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for p in policies
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    [requests] = [p for p in policies if "ResourceLabel" in str(p)]
    label = requests["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
    balancer = out["LoadBalancerArn"].split(":loadbalancer/")[1]
    group = stack["ids"]["TargetGroup"].split(":")[-1]
    assert label == f"{balancer}/{group}"


def test_update_with_a_new_image_rolls_the_service_to_a_new_revision(aws: Any, stack: dict[str, Any]) -> None:
    cfn, ecs = aws("cloudformation"), aws("ecs")
    out = stack["outputs"]
    # As auto scaling would after a busy hour; the deploy must not undo it.
    ecs.update_service(cluster=out["ClusterName"], service=out["ServiceName"], desiredCount=5)

    values = {**stack["values"], "ImageUri": SECOND_IMAGE}
    updated = deploy(cfn, STACK, template_text("app.yaml"), values, create=False)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"

    out = outputs(updated)
    [service] = ecs.describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])["services"]
    assert service["desiredCount"] == 5
    definition = aws("ecs").describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == SECOND_IMAGE
    assert service["taskDefinition"] != stack["ids"]["TaskDefinition"]
    assert resources(cfn, STACK)["TaskDefinition"] == service["taskDefinition"]

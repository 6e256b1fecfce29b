"""cfn/environment.yaml and two cfn/service.yaml stacks on it, deployed on the moto
launcher through change sets as the deployer does (environment first; each service's
environment-wired parameters from the environment's outputs), checked through the
services' own APIs (what EC2, ELBv2, Cognito, Route 53, ECS say exists), not through
CloudFormation's view of the stacks.

`web` logs users in (Login=cognito) on the whole host app.<domain>, which the
environment's certificate does not cover (no wildcard), so it brings its own; `docs` is
public (Login=none) under /docs on the same host, whose records `web` owns.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import (
    BOUNDARY_ARN,
    create_zone,
    deploy_environment,
    deploy_service,
    outputs,
    resources,
    template_text,
)

ENVIRONMENT = "hello-staging"
WEB, DOCS = "hello-staging-web", "hello-staging-docs"
DOMAIN = "staging.example.com"
HOST = f"app.{DOMAIN}"
PREFIX = "hello-staging-login"
PORT = 8080
FIRST_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-web@sha256:" + "a" * 64
SECOND_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-web@sha256:" + "b" * 64
DOCS_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-docs@sha256:" + "c" * 64


@pytest.fixture(scope="module")
def app(aws: Any) -> dict[str, Any]:
    """Creates the hosted zone, the environment and both services once."""
    cfn = aws("cloudformation")
    zone_id = create_zone(aws, "example.com")
    environment = deploy_environment(
        aws, ENVIRONMENT, {"HostedZoneId": zone_id, "DomainName": DOMAIN, "CognitoDomainPrefix": PREFIX}
    )
    web_values = {
        "HostName": HOST,
        "Login": "cognito",
        "ApiRulePriority": "25000",
        "AppRulePriority": "25001",
        "CreateCertificate": "true",
        "ImageUri": FIRST_IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
    }
    web = deploy_service(aws, WEB, environment, web_values)
    docs_values = {
        "HostName": HOST,
        "PathPrefix": "/docs",
        "Login": "none",
        "ApiRulePriority": "10",
        "AppRulePriority": "11",
        "CreateDnsRecord": "false",
        "ImageUri": DOCS_IMAGE,
        "PermissionsBoundaryArn": BOUNDARY_ARN,
        "ContainerPort": "9000",
    }
    docs = deploy_service(aws, DOCS, environment, docs_values)
    return {
        "zone_id": zone_id,
        "environment": environment,
        "env": outputs(environment),
        "env_ids": resources(cfn, ENVIRONMENT),
        "web_values": web_values,
        "web": outputs(web),
        "web_ids": resources(cfn, WEB),
        "docs": outputs(docs),
        "docs_ids": resources(cfn, DOCS),
        "stacks": {s: cfn.describe_stacks(StackName=s)["Stacks"][0] for s in (ENVIRONMENT, WEB, DOCS)},
    }


def _declared(template: str) -> set[str]:
    return set(re.findall(r"(?m)^  ([A-Za-z0-9]+):\n    Type: AWS::", template_text(template)))


def test_every_stack_reaches_create_complete_with_the_resources_its_conditions_select(app: dict[str, Any]) -> None:
    assert {s["StackStatus"] for s in app["stacks"].values()} == {"CREATE_COMPLETE"}
    assert set(app["env_ids"]) == _declared("environment.yaml")  # NatGateways defaults to 2
    assert set(app["web_ids"]) == _declared("service.yaml")
    # Public and under web's host: no client, no records, no certificate of its own.
    only_some = {"UserPoolClient", "DnsRecordIpv4", "DnsRecordIpv6", "Certificate", "ListenerCertificate"}
    assert set(app["docs_ids"]) == _declared("service.yaml") - only_some


def test_outputs_have_the_names_the_deployer_reads(app: dict[str, Any]) -> None:
    env, web, docs = app["env"], app["web"], app["docs"]
    assert set(env) == {
        "VpcId",
        "PrivateSubnetIds",
        "LoadBalancerArn",
        "LoadBalancerFullName",
        "LoadBalancerDnsName",
        "LoadBalancerCanonicalHostedZoneId",
        "HttpsListenerArn",
        "LoadBalancerSecurityGroupId",
        "ClusterName",
        "UserPoolId",
        "UserPoolArn",
        "UserPoolProviderUrl",
        "CognitoDomainPrefix",
        "HostedZoneId",
        "DomainName",
        "CertificateArn",
        "EnvironmentUrl",
    }
    service = {"ServiceUrl", "ServiceName", "ClusterName", "LogGroupName", "TargetGroupArn", "TaskDefinitionFamily"}
    assert set(web) == service | {"UserPoolClientId"}
    assert set(docs) == service
    assert env["EnvironmentUrl"] == f"https://{DOMAIN}/"
    assert env["CognitoDomainPrefix"] == PREFIX
    assert env["PrivateSubnetIds"] == ",".join([app["env_ids"]["PrivateSubnetA"], app["env_ids"]["PrivateSubnetB"]])
    assert (web["ServiceUrl"], docs["ServiceUrl"]) == (f"https://{HOST}/", f"https://{HOST}/docs/")
    assert web["ClusterName"] == docs["ClusterName"] == env["ClusterName"]
    assert (web["TaskDefinitionFamily"], docs["TaskDefinitionFamily"]) == (WEB, DOCS)
    assert web["UserPoolClientId"] == app["web_ids"]["UserPoolClient"]


def test_https_listener_serves_tls13_and_answers_404_to_what_no_service_claims(aws: Any, app: dict[str, Any]) -> None:
    elbv2 = aws("elbv2")
    listeners = elbv2.describe_listeners(LoadBalancerArn=app["env"]["LoadBalancerArn"])["Listeners"]
    by_port = {listener["Port"]: listener for listener in listeners}
    assert set(by_port) == {80, 443}

    http = by_port[80]
    assert http["Protocol"] == "HTTP"
    [redirect] = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"

    https = by_port[443]
    assert https["ListenerArn"] == app["env"]["HttpsListenerArn"]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["Certificates"][0]["CertificateArn"] == app["env"]["CertificateArn"]
    [default] = https["DefaultActions"]
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "404"
    attributes = elbv2.describe_listener_attributes(ListenerArn=https["ListenerArn"])["Attributes"]
    hsts = {a["Key"]: a["Value"] for a in attributes}["routing.http.response.strict_transport_security.header_value"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts) and int(hsts[8:].split(";")[0]) >= 31536000


def test_a_service_whose_host_the_environment_certificate_misses_adds_its_own(aws: Any, app: dict[str, Any]) -> None:
    certificates = aws("elbv2").describe_listener_certificates(ListenerArn=app["env"]["HttpsListenerArn"])
    listed = {c["CertificateArn"]: c["IsDefault"] for c in certificates["Certificates"]}
    assert listed == {app["env"]["CertificateArn"]: True, app["web_ids"]["Certificate"]: False}
    described = aws("acm").describe_certificate(CertificateArn=app["web_ids"]["Certificate"])["Certificate"]
    assert (described["DomainName"], described["Status"]) == (HOST, "ISSUED")


def _rule_conditions(rule: dict[str, Any]) -> dict[str, list[str]]:
    configs = {"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig"}
    return {c["Field"]: c[configs[c["Field"]]]["Values"] for c in rule["Conditions"]}


def _rules_by_priority(aws: Any, app: dict[str, Any]) -> dict[int, dict[str, Any]]:
    rules = aws("elbv2").describe_rules(ListenerArn=app["env"]["HttpsListenerArn"])["Rules"]
    return {int(r["Priority"]): r for r in rules if not r["IsDefault"]}


def test_each_service_has_its_own_rules_at_its_own_priorities(aws: Any, app: dict[str, Any]) -> None:
    rules = _rules_by_priority(aws, app)
    assert sorted(rules) == [10, 11, 25000, 25001]
    assert {rules[p]["RuleArn"] for p in (25000, 25001)} == {
        app["web_ids"][r] for r in ("ApiListenerRule", "AppListenerRule")
    }
    assert {rules[p]["RuleArn"] for p in (10, 11)} == {
        app["docs_ids"][r] for r in ("ApiListenerRule", "AppListenerRule")
    }
    # The path service is evaluated before the whole host (lower numbers first).
    assert _rule_conditions(rules[10]) == {"host-header": [HOST], "path-pattern": ["/docs/api/*"]}
    assert _rule_conditions(rules[11]) == {"host-header": [HOST], "path-pattern": ["/docs", "/docs/*"]}
    assert _rule_conditions(rules[25000]) == {"host-header": [HOST], "path-pattern": ["/api/*"]}
    assert _rule_conditions(rules[25001]) == {"host-header": [HOST]}


def test_the_login_service_logs_in_with_its_own_client_then_forwards(aws: Any, app: dict[str, Any]) -> None:
    rules = _rules_by_priority(aws, app)
    for priority, unauthenticated in ((25000, "deny"), (25001, "authenticate")):
        actions = sorted(rules[priority]["Actions"], key=lambda a: a["Order"])
        assert [a["Type"] for a in actions] == ["authenticate-cognito", "forward"]
        cognito = actions[0]["AuthenticateCognitoConfig"]
        assert cognito["UserPoolArn"] == app["env"]["UserPoolArn"]
        assert cognito["UserPoolClientId"] == app["web"]["UserPoolClientId"]
        assert cognito["UserPoolDomain"] == PREFIX
        assert cognito["Scope"] == "openid email profile"
        assert int(cognito["SessionTimeout"]) == 28800
        assert cognito["OnUnauthenticatedRequest"] == unauthenticated
        assert actions[1]["TargetGroupArn"] == app["web"]["TargetGroupArn"]


def test_the_public_service_only_forwards(aws: Any, app: dict[str, Any]) -> None:
    rules = _rules_by_priority(aws, app)
    for priority in (10, 11):
        [forward] = rules[priority]["Actions"]
        assert forward["Type"] == "forward"
        assert forward["TargetGroupArn"] == app["docs"]["TargetGroupArn"]


def test_only_the_login_service_has_a_user_pool_client(aws: Any, app: dict[str, Any]) -> None:
    listed = aws("cognito-idp").list_user_pool_clients(UserPoolId=app["env"]["UserPoolId"], MaxResults=60)
    assert [c["ClientId"] for c in listed["UserPoolClients"]] == [app["web"]["UserPoolClientId"]]


def test_load_balancer_is_public_and_drops_invalid_headers(aws: Any, app: dict[str, Any]) -> None:
    elbv2, ids = aws("elbv2"), app["env_ids"]
    arn = app["env"]["LoadBalancerArn"]
    [balancer] = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
    assert balancer["Type"] == "application"
    assert balancer["IpAddressType"] == "dualstack"  # the AAAA records need it
    assert {zone["SubnetId"] for zone in balancer["AvailabilityZones"]} == {ids["PublicSubnetA"], ids["PublicSubnetB"]}
    zones = {zone["ZoneName"] for zone in balancer["AvailabilityZones"]}
    assert len(zones) == 2 and all(z.startswith("eu-west-1") for z in zones), zones
    assert balancer["SecurityGroups"] == [app["env"]["LoadBalancerSecurityGroupId"]]
    assert app["env"]["LoadBalancerDnsName"] == balancer["DNSName"]
    assert app["env"]["LoadBalancerCanonicalHostedZoneId"] == balancer["CanonicalHostedZoneId"]
    assert app["env"]["LoadBalancerFullName"] == arn.split(":loadbalancer/")[1]
    attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_target_groups_check_health_on_ip_targets_and_drain_fast(aws: Any, app: dict[str, Any]) -> None:
    elbv2 = aws("elbv2")
    for service, port in (("web", PORT), ("docs", 9000)):
        arn = app[service]["TargetGroupArn"]
        [group] = elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        assert group["TargetType"] == "ip"
        assert group["Protocol"] == "HTTP"
        assert group["Port"] == port
        assert group["HealthCheckPath"] == "/healthz"
        assert group["VpcId"] == app["env"]["VpcId"]
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


def test_security_groups_let_only_the_load_balancer_reach_each_service(aws: Any, app: dict[str, Any]) -> None:
    alb_sg = app["env"]["LoadBalancerSecurityGroupId"]
    web_sg, docs_sg = app["web_ids"]["ServiceSecurityGroup"], app["docs_ids"]["ServiceSecurityGroup"]
    described = aws("ec2").describe_security_groups(GroupIds=[alb_sg, web_sg, docs_sg])["SecurityGroups"]
    groups = {g["GroupId"]: g for g in described}
    alb_in, alb_out = _rules(groups[alb_sg]["IpPermissions"]), _rules(groups[alb_sg]["IpPermissionsEgress"])

    assert {(r[1], r[3]) for r in alb_in} == {(80, "0.0.0.0/0"), (443, "0.0.0.0/0"), (80, "::/0"), (443, "::/0")}
    # To each service's tasks on its port (added by the service stacks), and to Cognito's
    # token endpoint (else logins fail with 500).
    assert {r[:4] for r in alb_out} == {
        ("tcp", PORT, PORT, web_sg),
        ("tcp", 9000, 9000, docs_sg),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
    }
    assert [r[:4] for r in _rules(groups[web_sg]["IpPermissions"])] == [("tcp", PORT, PORT, alb_sg)]
    assert [r[:4] for r in _rules(groups[docs_sg]["IpPermissions"])] == [("tcp", 9000, 9000, alb_sg)]
    everything = [r for g in groups.values() for k in ("IpPermissions", "IpPermissionsEgress") for r in _rules(g[k])]
    assert all(r[0] != "-1" for r in everything), "no allow-all egress may remain"
    for rule in everything:
        assert rule[4], f"security group rule {rule} has no description"


def test_user_pool_client_is_a_confidential_code_flow_client_for_its_host(aws: Any, app: dict[str, Any]) -> None:
    idp = aws("cognito-idp")
    client = idp.describe_user_pool_client(
        UserPoolId=app["env"]["UserPoolId"], ClientId=app["web"]["UserPoolClientId"]
    )["UserPoolClient"]
    assert client["ClientSecret"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    assert client["CallbackURLs"] == [f"https://{HOST}/oauth2/idpresponse"]
    assert client["LogoutURLs"] == [f"https://{HOST}/"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]

    domain = idp.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]
    assert domain["UserPoolId"] == app["env"]["UserPoolId"]

    # Short tokens; the load balancer refreshes them while its 8-hour session lasts.
    assert (client["AccessTokenValidity"], client["IdTokenValidity"], client["RefreshTokenValidity"]) == (15, 15, 8)
    assert client["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"}


def test_user_pool_requires_totp_and_treats_e_mail_addresses_as_people_do(aws: Any, app: dict[str, Any]) -> None:
    idp = aws("cognito-idp")
    pool = idp.describe_user_pool(UserPoolId=app["env"]["UserPoolId"])["UserPool"]
    assert pool["Arn"] == app["env"]["UserPoolArn"]
    assert app["env"]["UserPoolProviderUrl"] == f"https://cognito-idp.eu-west-1.amazonaws.com/{pool['Id']}"
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # SelfSignUp defaults to false
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["UserPoolTier"] == "ESSENTIALS"
    # Not ACTIVE: the rollback of a failed first create must be able to delete the pool.
    assert pool["DeletionProtection"] == "INACTIVE"
    # ON: the hosted login page enrols an authenticator app only when MFA is required.
    mfa = idp.get_user_pool_mfa_config(UserPoolId=app["env"]["UserPoolId"])
    assert mfa["MfaConfiguration"] == "ON"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}


def test_certificates_are_dns_validated_in_the_hosted_zone(aws: Any, app: dict[str, Any]) -> None:
    records = aws("route53").list_resource_record_sets(HostedZoneId=app["zone_id"])["ResourceRecordSets"]
    cnames = {r["Name"]: r["ResourceRecords"][0]["Value"] for r in records if r["Type"] == "CNAME"}
    for arn, name in ((app["env"]["CertificateArn"], DOMAIN), (app["web_ids"]["Certificate"], HOST)):
        certificate = aws("acm").describe_certificate(CertificateArn=arn)["Certificate"]
        assert certificate["DomainName"] == name
        assert certificate["SubjectAlternativeNames"] == [name]  # WildcardCertificate defaults to false
        assert certificate["Status"] == "ISSUED"
        [validation] = certificate["DomainValidationOptions"]
        record = validation["ResourceRecord"]
        assert cnames[record["Name"]] == record["Value"]


def test_the_domain_and_the_service_host_are_aliases_of_the_load_balancer(aws: Any, app: dict[str, Any]) -> None:
    records = aws("route53").list_resource_record_sets(HostedZoneId=app["zone_id"])["ResourceRecordSets"]
    aliases = {(r["Name"].rstrip("."), r["Type"]): r["AliasTarget"] for r in records if "AliasTarget" in r}
    assert set(aliases) == {(DOMAIN, "A"), (DOMAIN, "AAAA"), (HOST, "A"), (HOST, "AAAA")}
    for alias in aliases.values():
        assert alias["DNSName"].rstrip(".") == app["env"]["LoadBalancerDnsName"]
        assert alias["HostedZoneId"] == app["env"]["LoadBalancerCanonicalHostedZoneId"]


def test_services_run_on_fargate_in_the_private_subnets_without_public_ip(aws: Any, app: dict[str, Any]) -> None:
    private = {app["env_ids"]["PrivateSubnetA"], app["env_ids"]["PrivateSubnetB"]}
    for service, ids, port in (("web", app["web_ids"], PORT), ("docs", app["docs_ids"], 9000)):
        out = app[service]
        [described] = aws("ecs").describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])[
            "services"
        ]
        assert described["launchType"] == "FARGATE"
        network = described["networkConfiguration"]["awsvpcConfiguration"]
        assert network["assignPublicIp"] == "DISABLED"
        assert set(network["subnets"]) == private
        assert network["securityGroups"] == [ids["ServiceSecurityGroup"]]
        [balanced] = described["loadBalancers"]
        assert balanced["targetGroupArn"] == out["TargetGroupArn"]
        assert balanced["containerPort"] == port
        assert described["desiredCount"] == 1  # DesiredCount 0: ECS starts one, auto scaling raises it to MinTasks
        deployment = described["deploymentConfiguration"]
        assert deployment["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert (deployment["minimumHealthyPercent"], deployment["maximumPercent"]) == (100, 200)


def test_cluster_has_container_insights_and_logs_are_kept_30_days(aws: Any, app: dict[str, Any]) -> None:
    [cluster] = aws("ecs").describe_clusters(clusters=[app["env"]["ClusterName"]], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    for service in ("web", "docs"):
        [group] = aws("logs").describe_log_groups(logGroupNamePrefix=app[service]["LogGroupName"])["logGroups"]
        assert group["retentionInDays"] == 30


def _policy(iam: Any, role: str) -> list[dict[str, Any]]:
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return (document if isinstance(document, dict) else json.loads(document))["Statement"]


def test_task_roles_are_least_privilege(aws: Any, app: dict[str, Any]) -> None:
    iam = aws("iam")
    # The login service's one AWS call: AdminUserGlobalSignOut at logout, on its pool only.
    assert _policy(iam, app["web_ids"]["TaskRole"]) == [
        {
            "Sid": "RevokeRefreshTokensAtLogout",
            "Effect": "Allow",
            "Action": "cognito-idp:AdminUserGlobalSignOut",
            "Resource": app["env"]["UserPoolArn"],
        }
    ]
    # The public service signs nobody out: its task role may do nothing.
    assert iam.list_role_policies(RoleName=app["docs_ids"]["TaskRole"])["PolicyNames"] == []
    for ids, service in ((app["web_ids"], "web"), (app["docs_ids"], "docs")):
        assert iam.list_attached_role_policies(RoleName=ids["TaskRole"])["AttachedPolicies"] == []
        statements = {s["Sid"]: s for s in _policy(iam, ids["ExecutionRole"])}
        assert set(statements) == {"EcrLogin", "EcrPull", "WriteLogs"}
        assert statements["EcrPull"]["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/*"
        [group] = aws("logs").describe_log_groups(logGroupNamePrefix=app[service]["LogGroupName"])["logGroups"]
        assert statements["WriteLogs"]["Resource"] == group["arn"]


def _definition(aws: Any, arn: str) -> dict[str, Any]:
    return aws("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]


def test_task_definition_gives_the_login_service_its_configuration(aws: Any, app: dict[str, Any]) -> None:
    definition = _definition(aws, app["web_ids"]["TaskDefinition"])
    assert definition["family"] == WEB
    assert definition["networkMode"] == "awsvpc"
    assert definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("256", "512")
    # Under the stack's path, which the CloudFormation service role may manage.
    assert definition["executionRoleArn"].endswith(f":role/{WEB}/{app['web_ids']['ExecutionRole']}")
    assert definition["taskRoleArn"].endswith(f":role/{WEB}/{app['web_ids']['TaskRole']}")
    [container] = definition["containerDefinitions"]
    assert container["image"] == FIRST_IMAGE
    assert container["portMappings"][0]["containerPort"] == PORT
    assert container["healthCheck"]["command"] == ["CMD", "/service", "--healthcheck"]
    assert container["readonlyRootFilesystem"] is True
    assert container["logConfiguration"]["options"]["awslogs-group"] == app["web"]["LogGroupName"]
    env, out = {e["name"]: e["value"] for e in container["environment"]}, app["env"]
    assert env == {
        "PORT": str(PORT),
        "AWS_REGION": "eu-west-1",
        "ALB_ARN": out["LoadBalancerArn"],
        "COGNITO_CLIENT_ID": app["web"]["UserPoolClientId"],
        # The pool's own ProviderURL, the iss of its tokens.
        "OIDC_ISSUER": out["UserPoolProviderUrl"],
        "LOGOUT_URL": (
            f"https://{PREFIX}.auth.eu-west-1.amazoncognito.com/logout?client_id={app['web']['UserPoolClientId']}"
            f"&logout_uri=https%3A%2F%2F{HOST}%2F"
        ),
        # /logout revokes the user's refresh tokens in this pool.
        "USER_POOL_ID": out["UserPoolId"],
    }


def test_task_definition_of_the_public_service_says_there_is_no_login(aws: Any, app: dict[str, Any]) -> None:
    [container] = _definition(aws, app["docs_ids"]["TaskDefinition"])["containerDefinitions"]
    assert container["image"] == DOCS_IMAGE
    assert {e["name"]: e["value"] for e in container["environment"]} == {
        "PORT": "9000",
        "AWS_REGION": "eu-west-1",
        "LOGIN": "none",
    }


def test_services_scale_between_min_and_max_tasks(aws: Any, app: dict[str, Any]) -> None:
    scaling = aws("application-autoscaling")
    for service in ("web", "docs"):
        out = app[service]
        resource_id = f"service/{out['ClusterName']}/{out['ServiceName']}"
        [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])[
            "ScalableTargets"
        ]
        assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
        policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource_id)["ScalingPolicies"]
        metrics = {
            p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
            for p in policies
        }
        assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
        [requests] = [p for p in policies if "ResourceLabel" in str(p)]
        label = requests["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
        group = out["TargetGroupArn"].split(":")[-1]
        assert label == f"{app['env']['LoadBalancerFullName']}/{group}"


def _event_ids(cfn: Any, stack: str) -> set[str]:
    return {e["EventId"] for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]}


def test_a_new_image_rolls_one_service_and_touches_neither_the_environment_nor_the_other(
    aws: Any, app: dict[str, Any]
) -> None:
    cfn, ecs = aws("cloudformation"), aws("ecs")
    out = app["web"]
    # As auto scaling would after a busy hour; the deploy must not undo it.
    ecs.update_service(cluster=out["ClusterName"], service=out["ServiceName"], desiredCount=5)
    before = {s: _event_ids(cfn, s) for s in (ENVIRONMENT, DOCS)}

    environment = cfn.describe_stacks(StackName=ENVIRONMENT)["Stacks"][0]
    updated = deploy_service(aws, WEB, environment, {**app["web_values"], "ImageUri": SECOND_IMAGE}, create=False)
    assert updated["StackStatus"] == "UPDATE_COMPLETE"

    [described] = ecs.describe_services(cluster=out["ClusterName"], services=[out["ServiceName"]])["services"]
    assert described["desiredCount"] == 5
    assert _definition(aws, described["taskDefinition"])["containerDefinitions"][0]["image"] == SECOND_IMAGE
    assert described["taskDefinition"] != app["web_ids"]["TaskDefinition"]
    assert resources(cfn, WEB)["TaskDefinition"] == described["taskDefinition"]
    # Nothing happened to the environment stack or the other service.
    after = {s: _event_ids(cfn, s) for s in (ENVIRONMENT, DOCS)}
    assert after == before
    assert resources(cfn, ENVIRONMENT) == app["env_ids"]
    assert resources(cfn, DOCS) == app["docs_ids"]

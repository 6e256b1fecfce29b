"""What no local AWS can show, checked over the templates themselves.

moto creates resources one at a time in template order and enforces no IAM, so neither
creation races nor a role that is refused on AWS ever show up there. These tests read the
templates (and the workflows they must work with) and check the orderings and policy
conditions real AWS depends on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cfnlint.data.AdditionalSpecs
import pytest
import yaml
from conftest import ROOT, load_template

ENV = load_template("environment.yaml")
SVC = load_template("service.yaml")
OIDC = load_template("github-oidc.yaml")


def _references(node: Any) -> set[str]:
    """Logical ids a JSON fragment refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text))
                if isinstance(value, list):
                    found.update(_references(value[1]))
            else:
                found.update(_references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_references(item))
    return found


def _direct_dependencies(template: dict[str, Any], name: str) -> set[str]:
    resource = template["Resources"][name]
    depends = resource.get("DependsOn") or []
    depends = [depends] if isinstance(depends, str) else depends
    found = set(depends) | _references(resource.get("Properties") or {})
    return found & set(template["Resources"])


def waits_for(template: dict[str, Any], name: str) -> set[str]:
    """Every resource CloudFormation must finish before it starts `name` (DependsOn, Ref, GetAtt, Sub)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for dependency in _direct_dependencies(template, todo.pop()):
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def _of_type(template: dict[str, Any], resource_type: str) -> set[str]:
    return {name for name, r in template["Resources"].items() if r["Type"] == resource_type}


def _routes_to(template: dict[str, Any], route_tables: set[str], target_key: str) -> set[str]:
    """Routes in those tables whose target is set through `target_key` (GatewayId, NatGatewayId)."""
    return {
        name
        for name in _of_type(template, "AWS::EC2::Route")
        if _references(template["Resources"][name]["Properties"]["RouteTableId"]) & route_tables
        and target_key in template["Resources"][name]["Properties"]
    }


def _associations_of(template: dict[str, Any], subnets: set[str]) -> set[str]:
    return {
        name
        for name in _of_type(template, "AWS::EC2::SubnetRouteTableAssociation")
        if _references(template["Resources"][name]["Properties"]["SubnetId"]) & subnets
    }


def test_the_internet_facing_load_balancer_waits_for_the_gateway_and_the_public_routes() -> None:
    [balancer] = _of_type(ENV, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert ENV["Resources"][balancer]["Properties"]["Scheme"] == "internet-facing"
    public_subnets = _references(ENV["Resources"][balancer]["Properties"]["Subnets"])
    tables = {
        t for a in _associations_of(ENV, public_subnets) for t in _references(ENV["Resources"][a]["Properties"])
    } & _of_type(ENV, "AWS::EC2::RouteTable")
    needed = (
        _of_type(ENV, "AWS::EC2::VPCGatewayAttachment")
        | _routes_to(ENV, tables, "GatewayId")
        | _associations_of(ENV, public_subnets)
    )
    assert len(needed) >= 5, f"expected the attachment, two public routes and two associations: {needed}"
    missing = sorted(needed - waits_for(ENV, balancer))
    assert not missing, f"{balancer} may be created before {missing} (add them to its DependsOn)"


def test_services_get_exactly_the_private_subnets_that_route_out_through_nat() -> None:
    """A service's tasks pull their image through NAT: the subnets the environment hands
    out (output PrivateSubnetIds) must be the ones with NAT routes. The routes exist before
    any service starts because outputs are read from the finished environment stack (the
    deployer applies the environment first), so no DependsOn can be missing across stacks."""
    network = SVC["Resources"]["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == {"Ref": "PrivateSubnetIds"}
    handed_out = _references(ENV["Outputs"]["PrivateSubnetIds"]["Value"])
    associations = _associations_of(ENV, handed_out)
    tables = {t for a in associations for t in _references(ENV["Resources"][a]["Properties"])} & _of_type(
        ENV, "AWS::EC2::RouteTable"
    )
    assert len(handed_out) == 2 and len(associations) == 2 and len(tables) == 2, (handed_out, associations, tables)
    assert len(_routes_to(ENV, tables, "NatGatewayId")) == 2
    assert not _routes_to(ENV, tables, "GatewayId"), "private subnets must not route to the internet gateway"


def test_the_service_waits_for_its_rules_and_for_the_load_balancer_egress_to_it() -> None:
    [service] = _of_type(SVC, "AWS::ECS::Service")
    rules = _of_type(SVC, "AWS::ElasticLoadBalancingV2::ListenerRule")
    egress = _of_type(SVC, "AWS::EC2::SecurityGroupEgress")
    assert len(rules) == 2 and len(egress) == 1
    missing = sorted((rules | egress) - waits_for(SVC, service))
    assert not missing, f"{service} must depend on {missing}: ECS refuses a target group with no load balancer"


def test_the_service_adds_the_load_balancer_egress_to_its_own_group_on_its_port() -> None:
    [egress] = _of_type(SVC, "AWS::EC2::SecurityGroupEgress")
    properties = SVC["Resources"][egress]["Properties"]
    assert properties["GroupId"] == {"Ref": "LoadBalancerSecurityGroupId"}
    assert properties["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["ServiceSecurityGroup", "GroupId"]}
    assert properties["FromPort"] == properties["ToPort"] == {"Ref": "ContainerPort"}
    # The environment lists its own egress, so only what the services add reaches them.
    listed = ENV["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(r["FromPort"], r.get("CidrIp") or r.get("CidrIpv6")) for r in listed} == {
        (443, "0.0.0.0/0"),
        (443, "::/0"),
    }


def test_service_roles_live_under_the_stack_path_the_service_role_may_manage() -> None:
    roles = _of_type(SVC, "AWS::IAM::Role")
    assert roles
    for role in sorted(roles):
        assert SVC["Resources"][role]["Properties"].get("Path") == {"Fn::Sub": "/${AWS::StackName}/"}, role
    by_sid = {s.get("Sid"): s for s in _statements(OIDC, "CloudFormationRole")}
    for sid in ("AppRoles", "AppRolesOnlyWithBoundary"):
        # The environment's service stacks (AppStackName-SERVICE), or a single app stack.
        assert by_sid[sid]["Resource"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppStackName}/*"},
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppStackName}-*/*"},
        ], f"{sid}: the service role must manage app roles by path (generated names are truncated)"


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    properties = template["Resources"][role]["Properties"]
    return [s for policy in properties["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("role", ["DeployRole", "PlanRole", "PreviewRole"])
def test_change_sets_can_only_be_created_with_the_cloudformation_service_role(role: str) -> None:
    creating = [s for s in _statements(OIDC, role) if "cloudformation:CreateChangeSet" in _actions(s)]
    assert creating, f"{role} must be able to create change sets"
    for statement in creating:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"]["StringEquals"] == {
            "cloudformation:RoleArn": {"Fn::GetAtt": ["CloudFormationRole", "Arn"]}
        }, f"{role} {statement.get('Sid')}: CreateChangeSet without the service role would be allowed"
        # Besides the role, only the change-set name (test_trust_evaluator.py evaluates it).
        assert set(statement["Condition"]) <= {"StringEquals", "StringLike"}
        assert set(statement["Condition"].get("StringLike", {})) <= {"cloudformation:ChangeSetName"}
        assert _actions(statement) == ["cloudformation:CreateChangeSet"], "keep the condition to this action"


@pytest.mark.parametrize("role", ["PlanRole", "PreviewRole"])
def test_the_plan_and_preview_roles_cannot_write_to_ecr(role: str) -> None:
    import botocore.session

    operations = botocore.session.get_session().get_service_model("ecr").operation_names
    read_only = {f"ecr:{op}" for op in operations if re.match(r"(Describe|List|Get|BatchGet|BatchCheck)", op)}
    read_only.discard("ecr:GetAuthorizationToken")  # a registry login is only needed to push or pull
    ecr = {a for s in _statements(OIDC, role) for a in _actions(s) if a.startswith("ecr:")}
    assert ecr, "the plan role reads the repository to say whether the image exists"
    assert not ecr - read_only, f"pull-request code could change what production pulls: {sorted(ecr - read_only)}"


def _workflow(name: str) -> dict[str, Any]:
    # `on:` is YAML 1.1's True; only jobs are read here.
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_the_default_bootstrap_trusts_the_environment_the_shipped_apply_job_runs_in() -> None:
    jobs = _workflow("deploy.yml")["jobs"]
    # Each apply job (its environment's deploy role) runs in the GitHub environment of
    # the same name, which `deployer bootstrap --environment E` passes as EnvironmentName;
    # without --environment the template's default is production's.
    for env in ("staging", "production"):
        assert jobs[f"apply-{env}"]["environment"]["name"] == env
    assert OIDC["Parameters"]["EnvironmentName"]["Default"] == "production"
    # The roles trust only the workflow file that defines those jobs.
    assert (ROOT / ".github" / "workflows" / "deploy.yml").is_file()
    assert "PlanEnvironment" not in OIDC["Parameters"], "the plan job has no environment any more"


def test_a_failed_first_create_can_delete_the_user_pool_and_nothing_else_can() -> None:
    pool = ENV["Resources"]["UserPool"]
    # Kept on destroy and on replacement; deleted only by the rollback of the create that
    # made it (test_moto_refusals.py shows the rollback).
    assert (pool["DeletionPolicy"], pool["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    for name, resource in {**ENV["Resources"], **SVC["Resources"]}.items():
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            protection = (resource.get("Properties") or {}).get("DeletionProtection")
            assert protection != "ACTIVE", f"{name}: the rollback of a failed create could not delete it"


def test_the_log_group_outlives_the_stack_on_purpose() -> None:
    assert not _of_type(ENV, "AWS::Logs::LogGroup")
    [group] = _of_type(SVC, "AWS::Logs::LogGroup")
    resource = SVC["Resources"][group]
    assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain")


def test_cognito_choices_are_explicit_and_the_issuer_is_the_pools_own() -> None:
    pool = ENV["Resources"]["UserPool"]["Properties"]
    assert pool["UserPoolTier"] == "ESSENTIALS"
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert ENV["Resources"]["UserPoolDomain"]["Properties"]["ManagedLoginVersion"] == 1
    # The issuer a service checks is the pool's own ProviderURL, handed over unchanged.
    assert ENV["Outputs"]["UserPoolProviderUrl"]["Value"] == {"Fn::GetAtt": ["UserPool", "ProviderURL"]}
    assert _container_environment(login=True)["OIDC_ISSUER"] == {"Ref": "UserPoolProviderUrl"}


def test_the_task_role_may_only_sign_out_users_of_the_pool_the_container_is_given() -> None:
    """moto enforces no IAM: the one permission is checked against AWS's authorization
    data (cfn-lint's Policies.json): the action exists and is scoped by user pool ARN, so
    the pool's own ARN (no wildcard) is the narrowest Resource that still matches."""
    policies = SVC["Resources"]["TaskRole"]["Properties"]["Policies"]
    # With Login=cognito one statement; with Login=none no policy at all.
    assert policies["Fn::If"][0] == "LoginCognito" and policies["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert [s for p in policies["Fn::If"][1] for s in p["PolicyDocument"]["Statement"]] == [
        {
            "Sid": "RevokeRefreshTokensAtLogout",
            "Effect": "Allow",
            "Action": "cognito-idp:AdminUserGlobalSignOut",
            "Resource": {"Ref": "UserPoolArn"},
        }
    ]
    assert "ManagedPolicyArns" not in SVC["Resources"]["TaskRole"]["Properties"]
    policies = json.loads((Path(cfnlint.data.AdditionalSpecs.__file__).parent / "Policies.json").read_text())
    actions = {name.lower(): spec for name, spec in policies["cognito-idp"]["Actions"].items()}
    assert actions["adminuserglobalsignout"]["Resources"] == ["userpool"]
    env = _container_environment(login=True)
    assert env["USER_POOL_ID"] == {"Ref": "UserPoolId"}, "sign users out of the pool the role is scoped to"
    assert SVC["Parameters"]["UserPoolArn"]["AllowedPattern"].endswith(":userpool/[a-z0-9-]+_[A-Za-z0-9]+$")


def _container_environment(login: bool) -> dict[str, Any]:
    """The container's variables with Login=cognito (login) or Login=none, the Fn::If
    entries resolved as CloudFormation would."""
    [container] = SVC["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    holds = {"LoginCognito": login, "NoLogin": not login}
    variables = {}
    for entry in container["Environment"]:
        if "Fn::If" in entry:
            name, when_true, when_false = entry["Fn::If"]
            entry = when_true if holds[name] else when_false
        if entry != {"Ref": "AWS::NoValue"}:
            variables[entry["Name"]] = entry["Value"]
    return variables


def test_without_login_the_container_gets_no_login_settings_and_is_told_so() -> None:
    assert set(_container_environment(login=False)) == {"PORT", "AWS_REGION", "LOGIN"}
    assert _container_environment(login=False)["LOGIN"] == "none"
    assert "LOGIN" not in _container_environment(login=True)


def test_without_login_the_rules_only_forward_and_no_client_exists() -> None:
    for rule in ("ApiListenerRule", "AppListenerRule"):
        condition, with_login, without = SVC["Resources"][rule]["Properties"]["Actions"]["Fn::If"]
        assert condition == "LoginCognito"
        assert [a["Type"] for a in with_login] == ["authenticate-cognito", "forward"]
        assert [a["Type"] for a in without] == ["forward"]
    assert SVC["Resources"]["UserPoolClient"]["Condition"] == "LoginCognito"
    assert SVC["Outputs"]["UserPoolClientId"]["Condition"] == "LoginCognito"

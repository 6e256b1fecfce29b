"""The local AWS refuses what AWS refuses, and a refused first create rolls back as
CloudFormation's does: what it created is deleted, RetainExceptOnCreate resources included
(so failed first deploys leave no orphan user pools), and the stack ends ROLLBACK_COMPLETE
with the reason on the resource's CREATE_FAILED event.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError
from conftest import deploy, template_text


@pytest.fixture(scope="module")
def zone_id(aws: Any) -> str:
    zone = aws("route53").create_hosted_zone(Name="example.io.", CallerReference="refusal-tests")
    return zone["HostedZone"]["Id"].split("/")[-1]


def _failed_create(aws: Any, stack_name: str, values: dict[str, str]) -> dict[str, Any]:
    """Creates the environment stack, which must fail; returns its CREATE_FAILED event."""
    cfn = aws("cloudformation")
    with pytest.raises(WaiterError):
        deploy(cfn, stack_name, template_text("environment.yaml"), values, create=True)
    assert cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    return failed


def _pools_named(aws: Any, name: str) -> list[str]:
    pools = aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    return [p["Id"] for p in pools if p["Name"] == name]


def test_a_failed_first_create_rolls_back_and_leaves_no_user_pool(aws: Any, zone_id: str) -> None:
    # Another pool owns the prefix already: Cognito refuses the domain after the pool exists.
    idp = aws("cognito-idp")
    owner = idp.create_user_pool(PoolName="prefix-owner")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=owner, Domain="taken-login")
    vpcs_before = {v["VpcId"] for v in aws("ec2").describe_vpcs()["Vpcs"]}

    values = {"HostedZoneId": zone_id, "DomainName": "a.example.io", "CognitoDomainPrefix": "taken-login"}
    failed = _failed_create(aws, "refused-prefix", values)
    assert failed["LogicalResourceId"] == "UserPoolDomain"
    assert "Domain already associated with another user pool" in failed["ResourceStatusReason"]

    # DeletionPolicy RetainExceptOnCreate: the new, empty pool goes with the rollback.
    assert _pools_named(aws, "refused-prefix-users") == []
    assert {v["VpcId"] for v in aws("ec2").describe_vpcs()["Vpcs"]} == vpcs_before
    assert idp.describe_user_pool_domain(Domain="taken-login")["DomainDescription"]["UserPoolId"] == owner


def test_a_hosted_zone_that_does_not_hold_the_domain_fails_at_once_instead_of_waiting_36_hours(
    aws: Any, zone_id: str
) -> None:
    def certificates() -> set[str]:
        return {c["CertificateArn"] for c in aws("acm").list_certificates()["CertificateSummaryList"]}

    before = certificates()
    values = {"HostedZoneId": zone_id, "DomainName": "app.example.com", "CognitoDomainPrefix": "zone-login"}
    failed = _failed_create(aws, "refused-zone", values)
    assert failed["LogicalResourceId"] == "Certificate"
    assert f"hosted zone {zone_id} (example.io) does not contain app.example.com" in failed["ResourceStatusReason"]
    assert certificates() == before


def test_a_private_hosted_zone_cannot_validate_a_certificate(aws: Any) -> None:
    vpc = aws("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zone = aws("route53").create_hosted_zone(
        Name="internal.example.io.",
        CallerReference="refusal-private",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "eu-west-1", "VPCId": vpc},
    )
    values = {
        "HostedZoneId": zone["HostedZone"]["Id"].split("/")[-1],
        "DomainName": "app.internal.example.io",
        "CognitoDomainPrefix": "private-login",
    }
    failed = _failed_create(aws, "refused-private", values)
    assert failed["LogicalResourceId"] == "Certificate"
    assert "is private" in failed["ResourceStatusReason"]


@pytest.mark.parametrize("prefix", ["my-aws-login", "amazon-shop", "cognito"])
def test_cognito_refuses_prefixes_with_reserved_words(aws: Any, prefix: str) -> None:
    idp = aws("cognito-idp")
    pool = idp.create_user_pool(PoolName=f"reserved-{prefix}")["UserPool"]["Id"]
    with pytest.raises(ClientError) as refused:
        idp.create_user_pool_domain(UserPoolId=pool, Domain=prefix)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "reserved word" in refused.value.response["Error"]["Message"]


def test_a_user_pool_has_at_most_one_domain(aws: Any) -> None:
    idp = aws("cognito-idp")
    pool = idp.create_user_pool(PoolName="one-domain")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool, Domain="first-login")
    with pytest.raises(ClientError) as refused:
        idp.create_user_pool_domain(UserPoolId=pool, Domain="second-login")
    assert refused.value.response["Error"]["Message"] == "User pool already has a domain configured."


def test_a_pool_with_deletion_protection_cannot_be_deleted(aws: Any) -> None:
    idp = aws("cognito-idp")
    pool = idp.create_user_pool(PoolName="protected", DeletionProtection="ACTIVE")["UserPool"]["Id"]
    with pytest.raises(ClientError) as refused:
        idp.delete_user_pool(UserPoolId=pool)
    assert "deletion protection is activated" in refused.value.response["Error"]["Message"]
    idp.update_user_pool(UserPoolId=pool, DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool)


def test_a_reserved_word_in_the_prefix_fails_the_first_create_with_cognitos_reason(aws: Any, zone_id: str) -> None:
    # The template's pattern cannot refuse it (no look-ahead in the deployer's offline check).
    values = {"HostedZoneId": zone_id, "DomainName": "r.example.io", "CognitoDomainPrefix": "my-aws-login"}
    failed = _failed_create(aws, "refused-reserved", values)
    assert failed["LogicalResourceId"] == "UserPoolDomain"
    assert "must not contain reserved word aws, amazon or cognito" in failed["ResourceStatusReason"]
    assert _pools_named(aws, "refused-reserved-users") == []

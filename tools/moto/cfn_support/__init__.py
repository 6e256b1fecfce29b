"""CloudFormation support that moto 5.2.5 lacks, so this project's templates really deploy on it.

A resource type moto's engine does not know is skipped with a warning and every `Ref` to it
silently becomes nothing, so a stack "succeeds" without it; other types exist but drop
properties our templates rely on. One module per AWS service (cognito, acm, ec2, elbv2,
ecs, autoscaling, iam, logs, route53) defines one class per resource type, each creating the
resource through moto's own service backend exactly as the API call would, so the normal
APIs (`cognito-idp describe-user-pool-client`, `ec2 describe-security-groups`, ...) see it.
`engine` adds behaviours of CloudFormation itself (parameter constraints, Fn::Cidr,
dependent updates, outputs after a change set), `failures` deletion policies and the
rollback of refused operations, `updates` the refusal of updates moto cannot emulate,
`express` CloudFormation's express mode (DeploymentConfig) and `rollout` ECS deployments
that take time and register their targets (MOTO_ECS_ROLLOUT_SECONDS).

A package, not loose modules: moto's model metaclass expects a dotted module name.
"""

from __future__ import annotations

from moto.cloudformation import parsing

from . import (
    acm,
    autoscaling,
    cognito,
    ec2,
    ecs,
    elbv2,
    engine,
    express,
    failures,
    iam,
    logs,
    rollout,
    route53,
    updates,
)

RESOURCE_TYPES = (
    cognito.CognitoUserPool,
    cognito.CognitoUserPoolClient,
    cognito.CognitoUserPoolDomain,
    acm.AcmCertificate,
    ec2.Vpc,
    ec2.VpcCidrBlock,
    ec2.Subnet,
    ec2.InternetGateway,
    ec2.GatewayAttachment,
    ec2.ElasticIp,
    ec2.NatGateway,
    ec2.RouteTable,
    ec2.SubnetRouteTableAssociation,
    ec2.Route,
    ec2.SecurityGroup,
    ec2.SecurityGroupEgress,
    elbv2.LoadBalancer,
    elbv2.TargetGroup,
    elbv2.Listener,
    elbv2.ListenerRule,
    elbv2.ListenerCertificate,
    ecs.Cluster,
    ecs.TaskDefinition,
    ecs.Service,
    autoscaling.ScalableTarget,
    autoscaling.ScalingPolicy,
    iam.OidcProvider,
    iam.IamRole,
    iam.IamManagedPolicy,
    logs.LogGroup,
    route53.RecordSet,
)


def install() -> None:
    """Makes moto's CloudFormation engine use the types above and the engine behaviours.

    Defining the classes registered them; moto caches its type map on first use, so the
    caches are cleared. Where moto has its own class for a type, ours wins because the map
    is built from `CloudFormationModel.__subclasses__()` in definition order (checked here).
    """
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    registered = parsing.get_model_map()
    wrong = [
        cls.cloudformation_type() for cls in RESOURCE_TYPES if registered.get(cls.cloudformation_type()) is not cls
    ]
    if wrong:
        raise RuntimeError(f"moto did not take our CloudFormation support for {wrong}; is moto still 5.2.5?")
    if engine.install():
        updates.install()
        failures.install()
        express.install()
        rollout.install()
        cognito.install_service_rules()

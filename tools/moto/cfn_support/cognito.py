"""Cognito user pool, app client and hosted UI domain, which moto's engine does not know
(it skips them and every Ref to them becomes nothing), and the rules Cognito enforces that
moto's backend does not (`install_service_rules`): a pool has at most one domain, a prefix
is taken only once and may not contain aws, amazon or cognito, and a pool with deletion
protection cannot be deleted."""

from __future__ import annotations

import re
from typing import Any

from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
from moto.cognitoidp.models import CognitoIdpBackend, cognitoidp_backends
from moto.core.common_models import CloudFormationModel

from .base import Refused, Resource, already_gone_is_deleted, parameter_value

RESERVED_IN_PREFIXES = re.compile("aws|amazon|cognito")


def _create_domain_as_cognito(original: Any) -> Any:
    def create_user_pool_domain(
        self: CognitoIdpBackend, user_pool_id: str, domain: str, custom_domain_config: Any = None
    ) -> Any:
        self.describe_user_pool(user_pool_id)
        if custom_domain_config is None and RESERVED_IN_PREFIXES.search(domain):
            raise InvalidParameterException(f"Domain {domain} must not contain reserved word aws, amazon or cognito.")
        if domain in self.user_pool_domains:
            raise InvalidParameterException("Domain already associated with another user pool.")
        if any(d.user_pool_id == user_pool_id for d in self.user_pool_domains.values()):
            raise InvalidParameterException("User pool already has a domain configured.")
        return original(self, user_pool_id, domain, custom_domain_config)

    return create_user_pool_domain


def _delete_pool_unless_protected(original: Any) -> Any:
    def delete_user_pool(self: CognitoIdpBackend, user_pool_id: str) -> None:
        pool = self.describe_user_pool(user_pool_id)
        if pool.extended_config.get("DeletionProtection") == "ACTIVE":
            raise InvalidParameterException(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            )
        original(self, user_pool_id)

    return delete_user_pool


def install_service_rules() -> None:
    """Makes moto's Cognito backend refuse what Cognito refuses (once)."""
    if getattr(CognitoIdpBackend, "_alb_cognito_rules", False):
        return
    CognitoIdpBackend.create_user_pool_domain = _create_domain_as_cognito(CognitoIdpBackend.create_user_pool_domain)  # type: ignore[method-assign]
    CognitoIdpBackend.delete_user_pool = _delete_pool_unless_protected(CognitoIdpBackend.delete_user_pool)  # type: ignore[method-assign]
    CognitoIdpBackend._alb_cognito_rules = True  # type: ignore[attr-defined]


class CognitoUserPool(Resource, CloudFormationModel):
    """AWS::Cognito::UserPool through `create_user_pool` (Ref = pool id)."""

    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    # What UpdateUserPool takes. Not UsernameAttributes, UsernameConfiguration,
    # AliasAttributes or Schema: CloudFormation replaces the pool for those (a new, empty
    # pool), which is not emulated.
    IN_PLACE = frozenset(
        {
            "AccountRecoverySetting",
            "AdminCreateUserConfig",
            "AutoVerifiedAttributes",
            "DeletionProtection",
            "DeviceConfiguration",
            "EmailConfiguration",
            "EnabledMfas",
            "LambdaConfig",
            "MfaConfiguration",
            "Policies",
            "UserAttributeUpdateSettings",
            "UserPoolTags",
            "UserPoolTier",
            "VerificationMessageTemplate",
        }
    )
    # Properties CloudFormation has but the CreateUserPool API names differently or lacks.
    _NOT_API = ("UserPoolName", "EnabledMfas", "UserPoolTags")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @classmethod
    def _api_config(cls, properties: dict[str, Any]) -> dict[str, Any]:
        config = {k: v for k, v in properties.items() if k not in cls._NOT_API}
        if properties.get("UserPoolTags"):
            config["UserPoolTags"] = properties["UserPoolTags"]
        return config

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPool:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        pool = backend.create_user_pool(resource_name, cls._api_config(properties))
        cls._apply_mfa(backend, pool.id, properties)
        provider = f"cognito-idp.{region_name}.amazonaws.com/{pool.id}"
        attributes = {
            "Arn": pool.arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool.id,
        }
        return cls(pool.id, attributes, account_id, region_name)

    @staticmethod
    def _apply_mfa(backend: Any, pool_id: str, properties: dict[str, Any]) -> None:
        # CreateUserPool takes MfaConfiguration, but which factors are on is a second call.
        if "SOFTWARE_TOKEN_MFA" in (properties.get("EnabledMfas") or []):
            backend.set_user_pool_mfa_config(
                pool_id, None, {"Enabled": True}, properties.get("MfaConfiguration", "OFF")
            )

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> CognitoUserPool:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        backend.update_user_pool(original_resource.physical_id, cls._api_config(properties))
        cls._apply_mfa(backend, original_resource.physical_id, properties)
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        cognitoidp_backends[account_id][region_name].delete_user_pool(self.physical_id)


class CognitoUserPoolClient(Resource, CloudFormationModel):
    """AWS::Cognito::UserPoolClient through `create_user_pool_client` (Ref = client id)."""

    ATTRIBUTES = ("ClientId", "ClientSecret", "Name")
    # What UpdateUserPoolClient takes (UserPoolId and GenerateSecret are create-only).
    IN_PLACE = frozenset(
        {
            "AccessTokenValidity",
            "AllowedOAuthFlows",
            "AllowedOAuthFlowsUserPoolClient",
            "AllowedOAuthScopes",
            "AuthSessionValidity",
            "CallbackURLs",
            "ClientName",
            "DefaultRedirectURI",
            "EnableTokenRevocation",
            "ExplicitAuthFlows",
            "IdTokenValidity",
            "LogoutURLs",
            "PreventUserExistenceErrors",
            "ReadAttributes",
            "RefreshTokenValidity",
            "SupportedIdentityProviders",
            "TokenValidityUnits",
            "WriteAttributes",
        }
    )

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @staticmethod
    def _api_config(properties: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in properties.items() if k not in ("UserPoolId", "GenerateSecret")}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPoolClient:
        properties = cloudformation_json["Properties"]
        backend = cognitoidp_backends[account_id][region_name]
        client = backend.create_user_pool_client(
            properties["UserPoolId"], bool(properties.get("GenerateSecret", False)), cls._api_config(properties)
        )
        created = cls(client.id, {}, account_id, region_name)
        created.pool_id = properties["UserPoolId"]
        created.attributes = {
            "ClientId": client.id,
            "ClientSecret": client.secret,
            "Name": properties.get("ClientName"),
        }
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> CognitoUserPoolClient:
        properties = cloudformation_json["Properties"]
        cognitoidp_backends[account_id][region_name].update_user_pool_client(
            original_resource.pool_id, original_resource.physical_id, cls._api_config(properties)
        )
        return original_resource

    def delete(self, account_id: str, region_name: str) -> None:
        with already_gone_is_deleted(ResourceNotFoundError):  # with its pool
            cognitoidp_backends[account_id][region_name].delete_user_pool_client(self.pool_id, self.physical_id)


class CognitoUserPoolDomain(Resource, CloudFormationModel):
    """AWS::Cognito::UserPoolDomain through `create_user_pool_domain` (Ref = the prefix)."""

    ATTRIBUTES = ("CloudFrontDistribution",)
    # Domain is create-only: a new prefix is a replacement, which Cognito refuses while the
    # pool has its old domain (check_update says so, as CloudFormation's rollback would).
    REPLACING = frozenset({"Domain"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolDomain"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> CognitoUserPoolDomain:
        properties = cloudformation_json["Properties"]
        try:
            domain = cognitoidp_backends[account_id][region_name].create_user_pool_domain(
                properties["UserPoolId"], properties["Domain"], properties.get("CustomDomainConfig")
            )
        except InvalidParameterException as refused:
            raise Refused(f"{refused.message} (Service: CognitoIdentityProvider, Status Code: 400)") from refused
        distribution = domain.to_json(extended=True)["CloudFrontDistribution"]
        return cls(properties["Domain"], {"CloudFrontDistribution": distribution}, account_id, region_name)

    @staticmethod
    def check_update(original_resource: Any, resource_json: dict[str, Any], parameters: dict[str, Any]) -> None:
        """Domain is create-only: CloudFormation creates the replacement first, on the same
        pool, which Cognito refuses while the old domain exists."""
        new_domain = parameter_value(resource_json["Properties"]["Domain"], parameters)
        if new_domain != original_resource.physical_id:
            raise Refused(
                "User pool already has a domain configured. (Service: CognitoIdentityProvider, Status Code: 400; "
                f"replacing domain {original_resource.physical_id} with {new_domain})"
            )

    def delete(self, account_id: str, region_name: str) -> None:
        with already_gone_is_deleted(ResourceNotFoundError):
            cognitoidp_backends[account_id][region_name].delete_user_pool_domain(self.physical_id)

"""ACM certificates with DNS validation, which moto's engine does not know."""

from __future__ import annotations

from typing import Any

from moto.acm.models import acm_backends
from moto.core.common_models import CloudFormationModel
from moto.route53.exceptions import NoSuchHostedZone
from moto.route53.models import route53_backends

from .base import Refused, Resource, tags


class AcmCertificate(Resource, CloudFormationModel):
    """AWS::CertificateManager::Certificate through `request_certificate` (Ref = ARN).

    Like CloudFormation, writes the DNS validation record into each
    `DomainValidationOptions[].HostedZoneId` and waits for validation (here: the
    certificate is issued as soon as its records exist). A zone that cannot validate the
    name (it does not contain the name, or it is private) is refused at once: on AWS the
    certificate would wait, and CloudFormation with it, for up to 36 hours.
    """

    # All create-only: CloudFormation requests a new certificate, then deletes the old one.
    REPLACING = frozenset({"DomainName", "DomainValidationOptions", "SubjectAlternativeNames", "ValidationMethod"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CertificateManager::Certificate"

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> AcmCertificate:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        original_resource.delete(account_id, region_name)
        return replacement

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AcmCertificate:
        properties = cloudformation_json["Properties"]
        backend = acm_backends[account_id][region_name]
        zones = {o["DomainName"]: o["HostedZoneId"] for o in properties.get("DomainValidationOptions") or []}
        if properties.get("ValidationMethod") == "DNS":
            for name, zone_id in zones.items():
                cls._check_zone_can_validate(account_id, zone_id, name)
        arn = backend.request_certificate(
            properties["DomainName"], None, properties.get("SubjectAlternativeNames") or [], tags(properties)
        )
        certificate = backend.describe_certificate(arn)
        if properties.get("ValidationMethod") == "DNS":
            for option in certificate.describe()["Certificate"]["DomainValidationOptions"]:
                zone_id = zones.get(option["DomainName"])
                if zone_id:
                    record = option["ResourceRecord"]
                    route53_backends[account_id]["global"].get_hosted_zone(zone_id).upsert_rrset(
                        {"Name": record["Name"], "Type": "CNAME", "TTL": 300, "ResourceRecords": [record["Value"]]}
                    )
            certificate.status = "ISSUED"
        return cls(arn, {}, account_id, region_name)

    @staticmethod
    def _check_zone_can_validate(account_id: str, zone_id: str, name: str) -> None:
        try:
            zone = route53_backends[account_id]["global"].get_hosted_zone(zone_id)
        except NoSuchHostedZone as missing:
            raise Refused(f"hosted zone {zone_id} does not exist, so {name} can never be validated") from missing
        zone_name = zone.name.rstrip(".")
        never = "ACM's DNS validation would never finish (CloudFormation waits up to 36 hours)"
        if name != zone_name and not name.endswith(f".{zone_name}"):
            raise Refused(f"hosted zone {zone_id} ({zone_name}) does not contain {name}: {never}")
        if zone.private_zone:
            raise Refused(f"hosted zone {zone_id} ({zone_name}) is private: {never}")

    def delete(self, account_id: str, region_name: str) -> None:
        acm_backends[account_id][region_name].delete_certificate(self.physical_id)

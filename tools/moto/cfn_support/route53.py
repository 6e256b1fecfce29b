"""Route 53 record sets, whose moto model deletes every record of the name on an update
(the AAAA alias with the A alias) and looks the old record up in the new zone."""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.route53.models import route53_backends

from .base import Resource


class RecordSet(Resource, CloudFormationModel):
    """AWS::Route53::RecordSet in HostedZoneId through the zone's own record list (Ref = the name)."""

    IN_PLACE = frozenset({"AliasTarget", "ResourceRecords", "TTL", "Comment"})
    # A new name, type or zone is a new record: CloudFormation replaces the resource.
    REPLACING = frozenset({"Name", "Type", "HostedZoneId"})

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Route53::RecordSet"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> RecordSet:
        p = cloudformation_json["Properties"]
        zone = route53_backends[account_id]["global"].get_hosted_zone(p["HostedZoneId"])
        record = {k: v for k, v in p.items() if k not in ("HostedZoneId", "Comment")}
        zone.upsert_rrset(record)
        created = cls(p["Name"], {}, account_id, region_name)
        created.key = (p["HostedZoneId"], p["Name"], p["Type"])
        return created

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> RecordSet:
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        if replacement.key != original_resource.key:
            original_resource.delete(account_id, region_name)
        return replacement

    def delete(self, account_id: str, region_name: str) -> None:
        zone_id, name, record_type = self.key
        zone = route53_backends[account_id]["global"].get_hosted_zone(zone_id)
        wanted = name.rstrip(".")
        zone.rrsets = [r for r in zone.rrsets if (r.name.rstrip("."), r.type) != (wanted, record_type)]

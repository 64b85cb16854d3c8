"""GraphQL types of forwarding targets and their delivery history. Secrets are never returned: only whether one is
set and its fingerprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from models import forwarding as fw
from models import telemetry as tel
from resolvers.monitoring.forwarding.loaders import attempts_by_delivery
from resolvers.monitoring.forwarding.platforms import camel
from resolvers.remote.locations.loaders import visible_locations
from resolvers.remote.locations.types import Location

ForwardingPlatform = strawberry.enum(fw.Platform, name="ForwardingPlatform", description="Where telemetry goes.")
TelemetryValueType = strawberry.enum(
    tel.DataType, name="ForwardingDataType", description="How a value is written (InfluxDB field type)."
)
DeliveryStatus = strawberry.enum(
    fw.DeliveryState, name="DeliveryState", description="QUEUED (waiting or being sent), DELIVERED, FAILED (gave up)."
)


@strawberry.type(description="A chosen telemetry key with its platform settings.")
class ForwardingValue:
    key: str = strawberry.field(description="The telemetry key.")
    measurement: str | None = strawberry.field(description="InfluxDB: the measurement written to.")
    data_type: TelemetryValueType | None = strawberry.field(description="InfluxDB: the field's type.")  # type: ignore[valid-type]
    ingestion_id: str | None = strawberry.field(description="Blockbax: the ingestion ID of the metric.")


@strawberry.type(description="InfluxDB v2 settings (the token is never shown).")
class InfluxDbSettings:
    url: str = strawberry.field(description="Base URL.")
    organisation: str = strawberry.field(description="Organisation (name or ID).")
    bucket: str = strawberry.field(description="Bucket.")


@strawberry.type(description="Blockbax settings (the access token is never shown).")
class BlockbaxSettings:
    url: str = strawberry.field(description="API base URL.")
    project_id: str = strawberry.field(description="Project ID.")
    inbound_connector_id: str = strawberry.field(description="Inbound connector ID.")


@strawberry.type(description="AWS IoT Core settings (the private key is never shown).")
class AwsIotCoreSettings:
    endpoint: str = strawberry.field(description="Data endpoint host.")
    port: int = strawberry.field(description="Port.")
    client_id: str = strawberry.field(description="MQTT client ID (thing name).")
    topic: str = strawberry.field(description="Topic published to.")
    certificate_pem: str = strawberry.field(description="Client certificate (PEM).")
    ca_pem: str = strawberry.field(description="CA trusted (PEM); empty: the system's.")


@strawberry.type(description="Azure IoT Hub settings (the connection string and private key are never shown).")
class AzureIotHubSettings:
    hub_host: str = strawberry.field(description="The hub's host name.")
    device_id: str = strawberry.field(description="Device ID.")
    port: int = strawberry.field(description="Port.")
    authentication: str = strawberry.field(description="SAS (connection string) or X509 (certificate and key).")
    certificate_pem: str = strawberry.field(description="X.509: device certificate (PEM); empty with SAS.")
    ca_pem: str = strawberry.field(description="CA trusted (PEM); empty: the system's.")


def _pick(cls: type, settings: dict[str, Any], **renamed: str) -> Any:
    names = [name for name in cls.__annotations__ if not name.startswith("_")]
    names_in_settings = {name: renamed.get(name) or camel(name) for name in names}
    return cls(**{name: settings.get(names_in_settings[name], "") for name in names})


@strawberry.type(description="Where a location's telemetry is forwarded to.")
class ForwardingTarget(Node):
    name: str = strawberry.field(description="Name.")
    platform: ForwardingPlatform = strawberry.field(description="The platform.")  # type: ignore[valid-type]
    enabled: bool = strawberry.field(description="Whether new telemetry is forwarded.")
    smart: bool = strawberry.field(
        description="Smart mode: a value is sent only when it changed, or when smartIntervalSeconds passed."
    )
    smart_interval_seconds: int = strawberry.field(
        description="Smart mode: send an unchanged value again after this long; 0: never the same value twice."
    )
    values: list[ForwardingValue] = strawberry.field(description="Chosen telemetry keys; empty: all keys.")
    secret_set: bool = strawberry.field(description="Whether the token, key or connection string is set.")
    secret_fingerprint: str | None = strawberry.field(description="Tells secrets apart without showing them.")
    influxdb: InfluxDbSettings | None = strawberry.field(description="InfluxDB settings (platform INFLUXDB).")
    blockbax: BlockbaxSettings | None = strawberry.field(description="Blockbax settings (platform BLOCKBAX).")
    aws_iot_core: AwsIotCoreSettings | None = strawberry.field(description="AWS IoT Core settings.")
    azure_iot_hub: AzureIotHubSettings | None = strawberry.field(description="Azure IoT Hub settings.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: fw.ForwardingTarget) -> ForwardingTarget:
        platform, settings = fw.Platform(row.platform), row.settings or {}
        return cls(
            id=strawberry.ID(to_global_id("ForwardingTarget", row.id)),
            name=row.name,
            platform=platform,
            enabled=row.enabled,
            smart=row.smart,
            smart_interval_seconds=row.smart_interval_seconds,
            values=[
                ForwardingValue(
                    key=value["key"],
                    measurement=value.get("measurement"),
                    data_type=tel.DataType(value["dataType"]) if value.get("dataType") else None,
                    ingestion_id=value.get("ingestionId"),
                )
                for value in row.values or []
            ],
            secret_set=row.secret is not None,
            secret_fingerprint=row.secret_fingerprint or None,
            influxdb=_pick(InfluxDbSettings, settings) if platform == fw.Platform.INFLUXDB else None,
            blockbax=_pick(BlockbaxSettings, settings) if platform == fw.Platform.BLOCKBAX else None,
            aws_iot_core=_pick(AwsIotCoreSettings, settings) if platform == fw.Platform.AWS_IOT_CORE else None,
            azure_iot_hub=_pick(AzureIotHubSettings, settings, authentication="auth")
            if platform == fw.Platform.AZURE_IOT_HUB
            else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            pk=row.id,
            location_pk=row.location_id,
        )

    @strawberry.field(description="The location whose telemetry it forwards.")
    @relation(Batched(visible_locations, key=lambda target: target.location_pk, build=Location.from_model))
    def location(self, info: Info) -> Location | None: ...


@strawberry.type(description="One attempt to send a delivery.")
class ForwardingAttempt:
    status: str = strawberry.field(description="delivered or failed.")
    error: str | None = strawberry.field(description="Why it failed; null when delivered.")
    duration_ms: int = strawberry.field(description="How long the send took (milliseconds).")
    at: datetime = strawberry.field(description="When it ended.")

    @classmethod
    def from_model(cls, row: fw.OutboundAttempt) -> ForwardingAttempt:
        return cls(status=row.status, error=row.error or None, duration_ms=row.duration_ms, at=row.at)


@strawberry.type(description="One batch of points sent to a target: its state and last error.")
class ForwardingDelivery:
    idempotency_key: str = strawberry.field(description="Sent with every attempt (HTTP header Idempotency-Key).")
    state: DeliveryStatus = strawberry.field(description="QUEUED, DELIVERED or FAILED.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts so far.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed; null after success.")
    created_at: datetime = strawberry.field(description="When it was queued (with the ingest).")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried again (QUEUED only).")
    delivered_at: datetime | None = strawberry.field(description="When the platform acknowledged it.")
    pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: Any) -> ForwardingDelivery:
        queued = row.state == fw.DeliveryState.QUEUED
        return cls(
            idempotency_key=row.idempotency_key,
            state=fw.DeliveryState(row.state),
            attempts=row.attempts,
            last_error=row.last_error or None,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at if queued else None,
            delivered_at=row.delivered_at,
            pk=row.id,
        )

    @strawberry.field(description="Its attempts, newest first: status, error and duration of each.")
    @relation(
        Batched(attempts_by_delivery, key=lambda delivery: delivery.pk, build=ForwardingAttempt.from_model, many=True)
    )
    def attempt_history(self, info: Info) -> list[ForwardingAttempt]: ...

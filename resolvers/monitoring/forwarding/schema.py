"""Forwarding targets: list, create, update, delete, and a target's delivery history."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.loaders import rows_by_id
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import (
    Connection,
    PageAfter,
    PageBefore,
    PageFirst,
    PageLast,
    SortKey,
    decode_id,
    node_loader,
    paginate,
)
from graph.rules import UNSET, unset_if_null
from models import forwarding as fw
from models.identity import Permission
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.forwarding.adapters import KINDS
from resolvers.monitoring.forwarding.platforms import camel as _camel
from resolvers.monitoring.forwarding.rules import (
    create_target,
    delete_target,
    retry_delivery,
    target_visible,
    update_target,
)
from resolvers.monitoring.forwarding.types import (
    ForwardingDelivery,
    ForwardingPlatform,
    ForwardingTarget,
    TelemetryValueType,
)

visible_targets = rows_by_id(fw.ForwardingTarget, target_visible)


@strawberry.input(description="A telemetry key to forward, with its platform settings.")
class ForwardingValueInput:
    key: str = strawberry.field(description="The telemetry key.")
    measurement: str | None = strawberry.field(default=None, description="InfluxDB: measurement (default: the key).")
    data_type: TelemetryValueType | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="InfluxDB: field type (default FLOAT)."
    )
    ingestion_id: str | None = strawberry.field(default=None, description="Blockbax: ingestion ID (required).")


@strawberry.input(description="InfluxDB v2: where points are written (line protocol, /api/v2/write).")
class InfluxDbInput:
    url: str = strawberry.field(description="Base URL, e.g. https://eu-central-1-1.aws.cloud2.influxdata.com.")
    organisation: str = strawberry.field(description="Organisation (name or ID).")
    bucket: str = strawberry.field(description="Bucket.")
    token: str | None = strawberry.field(default=None, description="API token (sealed); on update null keeps it.")


@strawberry.input(description="Blockbax: the project's HTTP inbound connector.")
class BlockbaxInput:
    project_id: str = strawberry.field(description="Project ID.")
    inbound_connector_id: str = strawberry.field(description="Inbound connector ID.")
    url: str = strawberry.field(default="https://api.blockbax.com", description="API base URL.")
    token: str | None = strawberry.field(default=None, description="Access token (sealed); on update null keeps it.")


@strawberry.input(description="AWS IoT Core: MQTT over TLS with the thing's client certificate.")
class AwsIotCoreInput:
    endpoint: str = strawberry.field(description="The account's data endpoint host (…-ats.iot.<region>.amazonaws.com).")
    client_id: str = strawberry.field(description="MQTT client ID (the thing name).")
    topic: str = strawberry.field(description="Topic the batches are published to.")
    certificate_pem: str = strawberry.field(description="Client certificate (PEM).")
    private_key_pem: str | None = strawberry.field(
        default=None, description="Client private key (PEM, sealed); on update null keeps it."
    )
    ca_pem: str | None = strawberry.field(default=None, description="CA to trust (PEM); default: the system's.")
    port: int = strawberry.field(default=8883, description="Port (8883).")


@strawberry.input(description="Azure IoT Hub: MQTT over TLS as a device, by connection string (SAS) or X.509.")
class AzureIotHubInput:
    connection_string: str | None = strawberry.field(
        default=None, description="Device connection string HostName=…;DeviceId=…;SharedAccessKey=… (sealed)."
    )
    hub_host: str | None = strawberry.field(default=None, description="X.509: the hub's host name.")
    device_id: str | None = strawberry.field(default=None, description="X.509: the device ID.")
    certificate_pem: str | None = strawberry.field(default=None, description="X.509: device certificate (PEM).")
    private_key_pem: str | None = strawberry.field(
        default=None, description="X.509: device private key (PEM, sealed); on update null keeps it."
    )
    ca_pem: str | None = strawberry.field(default=None, description="CA to trust (PEM); default: the system's.")
    port: int = strawberry.field(default=8883, description="Port (8883).")


@strawberry.input(description="The platform settings of a target: only those of its platform may be given.")
class PlatformSettingsInput:
    influxdb: InfluxDbInput | None = strawberry.field(default=None, description="Settings if the platform is INFLUXDB.")
    blockbax: BlockbaxInput | None = strawberry.field(default=None, description="Settings if the platform is BLOCKBAX.")
    aws_iot_core: AwsIotCoreInput | None = strawberry.field(
        default=None, description="Settings if the platform is AWS_IOT_CORE."
    )
    azure_iot_hub: AzureIotHubInput | None = strawberry.field(
        default=None, description="Settings if the platform is AZURE_IOT_HUB."
    )


@strawberry.input(description="A new forwarding target of a location.")
class ForwardingTargetCreateInput(PlatformSettingsInput):
    location_id: strawberry.ID = strawberry.field(description="The location (of your organisation's subtree).")
    name: str = strawberry.field(description="Name (at most 200 characters).")
    platform: ForwardingPlatform = strawberry.field(description="The platform; give its settings below.")  # type: ignore[valid-type]
    enabled: bool = strawberry.field(default=True, description="Forward new telemetry.")
    smart: bool = strawberry.field(default=False, description="Send only changed values (or after the interval).")
    smart_interval_seconds: int = strawberry.field(default=0, description="Smart mode interval; 0: never twice.")
    values: list[ForwardingValueInput] = strawberry.field(
        default_factory=list, description="Telemetry keys to forward; none: all (InfluxDB and Blockbax need some)."
    )


@strawberry.input(description="Change a forwarding target; fields left out stay.")
class ForwardingTargetUpdateInput(PlatformSettingsInput):
    id: strawberry.ID = strawberry.field(description="The target.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    enabled: bool | None = strawberry.field(default=strawberry.UNSET, description="Forward new telemetry or not.")
    smart: bool | None = strawberry.field(default=strawberry.UNSET, description="Smart mode on or off.")
    smart_interval_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="Smart mode interval; 0: never the same value twice."
    )
    values: list[ForwardingValueInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new selection (replaces the old one)."
    )


@strawberry.input(description="A forwarding target to delete.")
class ForwardingTargetDeleteInput:
    id: strawberry.ID = strawberry.field(description="The target.")


@strawberry.type(description="The forwarding target, or why the change was refused.")
class ForwardingTargetPayload:
    forwarding_target: ForwardingTarget | None = strawberry.field(description="The target; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted target's ID, or why it was refused.")
class ForwardingTargetDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted target; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


def _as_dict(value: Any) -> Any:
    """An input object as a dict with camelCase keys (what platforms.clean_* read); None stays None."""
    if value is None:
        return None
    return {_camel(f.name): getattr(value, f.name) for f in dataclasses.fields(value)}


def _settings(input: Any) -> dict[str, Any]:
    return {
        _camel(name): _as_dict(getattr(input, name))
        for name in ("influxdb", "blockbax", "aws_iot_core", "azure_iot_hub")
    }


def _values(values: Any) -> Any:
    if values is UNSET or values is None:
        return values
    return [
        {"key": v.key, "measurement": v.measurement, "data_type": v.data_type, "ingestion_id": v.ingestion_id}
        for v in values
    ]


MAX_FILTER_IDS = 100


def _filter_pks(ids: list[strawberry.ID], kind: str, argument: str) -> list[int]:
    """The pks of IDs given to a list query; a malformed one (or too many) is the client's mistake."""
    if len(ids) > MAX_FILTER_IDS:
        raise BadUserInput(f"At most {MAX_FILTER_IDS} IDs.", argument=argument)
    pks = [decode_id(global_id, kind) for global_id in ids]
    if None in pks:
        raise BadUserInput(f"Not a {kind} ID.", argument=argument)
    return [pk for pk in pks if pk is not None]


def target_payload(row: fw.ForwardingTarget) -> ForwardingTargetPayload:
    return ForwardingTargetPayload(forwarding_target=ForwardingTarget.from_model(row), errors=[])


@strawberry.input(description="A failed delivery to queue again.")
class ForwardingDeliveryRetryInput:
    target_id: strawberry.ID = strawberry.field(description="The forwarding target.")
    idempotency_key: str = strawberry.field(description="The delivery's key (from forwardingDeliveries).")


@strawberry.type(description="The delivery queued again, or why not.")
class ForwardingDeliveryPayload:
    forwarding_delivery: ForwardingDelivery | None = strawberry.field(description="The delivery; null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type
class ForwardingQuery:
    @strawberry.field(
        description="Forwarding targets of your organisation's subtree (or of the given locations), by name.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_targets(
        self,
        info: Info,
        location_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only targets of these locations.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ForwardingTarget]:
        statement = select(fw.ForwardingTarget).where(target_visible(info.context.principal))
        if location_ids is not None:
            wanted = _filter_pks(location_ids, "Location", "locationIds")
            statement = statement.where(fw.ForwardingTarget.location_id.in_(wanted))
        keys = [SortKey(fw.ForwardingTarget.name), SortKey(fw.ForwardingTarget.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            ForwardingTarget.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ForwardingTarget),
        )

    @strawberry.field(
        description="A forwarding target's deliveries (one per batch of points), newest first, with state and error.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_deliveries(
        self,
        info: Info,
        target_id: Annotated[strawberry.ID, strawberry.argument(description="The forwarding target.")],
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[ForwardingDelivery]:
        [pk] = _filter_pks([target_id], "ForwardingTarget", "targetId")
        target = await info.context.loaders(visible_targets).load(pk)
        D = fw.OutboundDelivery
        # another tenant's target reads like an unknown one: an empty history
        statement = select(D).where(
            D.kind == (KINDS[fw.Platform(target.platform)] if target is not None else ""),
            D.target_id == (target.id if target is not None else 0),
        )
        keys = [SortKey(D.id, descending=True)]
        return await paginate(
            info.context,
            statement,
            keys,
            ForwardingDelivery.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, ForwardingDelivery),
        )


@strawberry.type
class ForwardingMutation:
    @strawberry.mutation(
        description="Forward a location's telemetry to a platform (InfluxDB, Blockbax, AWS IoT Core, Azure IoT Hub).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_target_create(self, info: Info, input: ForwardingTargetCreateInput) -> ForwardingTargetPayload:
        return await mutate(
            info.context,
            ForwardingTargetPayload,
            lambda s: create_target(
                s,
                info.context,
                location_id=input.location_id,
                name=input.name,
                platform=fw.Platform(input.platform),
                enabled=input.enabled,
                smart=input.smart,
                smart_interval_seconds=input.smart_interval_seconds,
                values=_values(input.values),
                settings=_settings(input),
            ),
            target_payload,
        )

    @strawberry.mutation(
        description=(
            "Change a forwarding target; platform settings given replace the old ones (a secret left out stays)."
        ),
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_target_update(self, info: Info, input: ForwardingTargetUpdateInput) -> ForwardingTargetPayload:
        return await mutate(
            info.context,
            ForwardingTargetPayload,
            lambda s: update_target(
                s,
                info.context,
                input.id,
                name=unset_if_null(input.name),
                enabled=unset_if_null(input.enabled),
                smart=unset_if_null(input.smart),
                smart_interval_seconds=unset_if_null(input.smart_interval_seconds),
                values=_values(input.values),
                settings=_settings(input),
            ),
            target_payload,
        )

    @strawberry.mutation(
        description="Delete a forwarding target: nothing more is sent to it.",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_target_delete(
        self, info: Info, input: ForwardingTargetDeleteInput
    ) -> ForwardingTargetDeletePayload:
        return await mutate(
            info.context,
            ForwardingTargetDeletePayload,
            lambda s: delete_target(s, info.context, input.id),
            lambda result: ForwardingTargetDeletePayload(deleted_id=input.id, errors=[]),
        )

    @strawberry.mutation(
        description="Queue a FAILED delivery of a target again, its attempts reset (e.g. after fixing the token).",
        permission_classes=[needs(Permission.MONITORING_MANAGE)],
    )
    async def forwarding_delivery_retry(
        self, info: Info, input: ForwardingDeliveryRetryInput
    ) -> ForwardingDeliveryPayload:
        return await mutate(
            info.context,
            ForwardingDeliveryPayload,
            lambda s: retry_delivery(s, info.context, input.target_id, input.idempotency_key),
            lambda row: ForwardingDeliveryPayload(forwarding_delivery=ForwardingDelivery.from_model(row), errors=[]),
        )


NODE_RESOLVERS = {
    "ForwardingTarget": (Permission.MONITORING_MANAGE, node_loader(visible_targets, ForwardingTarget.from_model)),
}

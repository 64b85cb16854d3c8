"""Data monitoring per location: activate, settings, deactivate, the monitored locations with their status, datalog
devices (save, and save and upload), upload."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import DomainError, refused
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from graph.workers import transaction
from models import datalog as dl
from models.identity import Permission
from resolvers.monitoring.datalog import rules
from resolvers.monitoring.datalog.link import LinkUnavailable, link_of
from resolvers.monitoring.datalog.loaders import monitored_visible, visible_datalog_devices
from resolvers.monitoring.datalog.protocols import DatalogSettingsInput, DatalogVariableInput
from resolvers.monitoring.datalog.types import DatalogDevice, MonitoredLocation
from resolvers.monitoring.datalog.upload import Upload, fail_upload, upload_location, upload_saved
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.errors import MonitoringErrorCode as Code


@strawberry.input(description="Activate data monitoring at a location (§21) with its general settings (§21.5).")
class DataMonitoringActivateInput:
    location_id: strawberry.ID = strawberry.field(description="A location of your organisation's subtree.")
    send_frequency_seconds: int = strawberry.field(default=60, description="Send interval (1-86400 s).")
    cloud_host: dl.CloudHost = strawberry.field(default=dl.CloudHost.HELIX, description="Cloud host.")
    silence_seconds: int = strawberry.field(
        default=900, description="No new point for longer than this (s): ACTIVE_NO_NEW_TELEMETRY."
    )


@strawberry.input(description="Change the general settings; fields left out stay. Takes effect with the next upload.")
class DataMonitoringUpdateInput:
    location_id: strawberry.ID = strawberry.field(description="The monitored location.")
    send_frequency_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="New send interval (1-86400 s)."
    )
    cloud_host: dl.CloudHost | None = strawberry.field(default=strawberry.UNSET, description="New cloud host.")
    silence_seconds: int | None = strawberry.field(default=strawberry.UNSET, description="New silence (s).")


@strawberry.input(description="A monitored location (deactivate, upload).")
class DataMonitoringLocationInput:
    location_id: strawberry.ID = strawberry.field(description="The monitored location.")


@strawberry.type(description="The monitored location, or why the change was refused.")
class MonitoredLocationPayload:
    monitored_location: MonitoredLocation | None = strawberry.field(description="Null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The location whose data monitoring ended, or why it was refused.")
class DataMonitoringDeactivatePayload:
    location_id: strawberry.ID | None = strawberry.field(description="Null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="A new datalog device, of a location device or of a device template (exactly one).")
class DatalogDeviceCreateInput:
    location_device_id: strawberry.ID | None = strawberry.field(default=None, description="A location's device.")
    device_template_id: strawberry.ID | None = strawberry.field(
        default=None, description="A device template: applies to every location device made from it."
    )
    name: str = strawberry.field(description="Name (at most 200 characters).")
    settings: DatalogSettingsInput = strawberry.field(description="The protocol and its settings.")
    variables: list[DatalogVariableInput] = strawberry.field(description="The chosen variables.")
    upload: bool = strawberry.field(
        default=False, description="Save and upload: also send the location's configuration to its router."
    )


@strawberry.input(description="Change a datalog device; fields left out stay (secrets left out too).")
class DatalogDeviceUpdateInput:
    id: strawberry.ID = strawberry.field(description="The datalog device.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Name.")
    settings: DatalogSettingsInput | None = strawberry.field(
        default=strawberry.UNSET, description="New settings (a new protocol needs new variables)."
    )
    variables: list[DatalogVariableInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new variables (replace the old ones)."
    )
    upload: bool = strawberry.field(default=False, description="Save and upload (a location device's only).")


@strawberry.input(description="A datalog device to delete.")
class DatalogDeviceDeleteInput:
    id: strawberry.ID = strawberry.field(description="The datalog device.")


@strawberry.type(description="The datalog device, or why the change was refused.")
class DatalogDevicePayload:
    datalog_device: DatalogDevice | None = strawberry.field(description="Null when refused.")
    monitored_location: MonitoredLocation | None = strawberry.field(
        description="With upload: the location with its configuration state (PENDING)."
    )
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted datalog device's ID, or why it was refused.")
class DatalogDeviceDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="Null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


def monitored_payload(row: dl.MonitoredLocation) -> MonitoredLocationPayload:
    return MonitoredLocationPayload(monitored_location=MonitoredLocation.from_model(row), errors=[])


def _no_link(error_field: str) -> DomainError:
    return DomainError(Code.ROUTER_OFFLINE, "No router link is configured (MQTT).", error_field)


NOT_SENT = "The message could not be sent (no MQTT connection)."


async def send(info: Info, upload: Upload, shown: MonitoredLocation | None) -> None:
    """After the commit: hand the configuration to the router link; when it cannot, the upload failed (and the
    payload says so)."""
    link = link_of(info.context.runtime)
    try:
        if link is None:
            raise LinkUnavailable("no router link")
        await link.send_config(upload.common_name, upload.request_id, upload.document)
    except LinkUnavailable:
        async with transaction(info.context.runtime) as session:
            failed = await fail_upload(session, upload.request_id, NOT_SENT)
        if failed and shown is not None:
            shown.configuration_state, shown.configuration_reason = dl.ConfigState.FAILED, NOT_SENT


async def save_device(info: Info, work: Any, upload: bool) -> DatalogDevicePayload:
    """Save (with `upload`, also mark the upload PENDING in the same transaction), then send after the commit."""
    if upload and link_of(info.context.runtime) is None:
        return refused(DatalogDevicePayload, _no_link("upload"))
    sent: list[Upload] = []

    async def rule(session: Any) -> Any:
        device, location = await work(session)
        if not upload:
            return device, None
        if location is None:
            raise DomainError(Code.INVALID, "A template's datalog device is uploaded with each location.", "upload")
        row, message = await upload_saved(session, info.context, location)
        sent.append(message)
        return device, row

    def ok(result: Any) -> DatalogDevicePayload:
        device, row = result
        monitored_location = MonitoredLocation.from_model(row) if row is not None else None
        return DatalogDevicePayload(
            datalog_device=DatalogDevice.from_model(device), monitored_location=monitored_location, errors=[]
        )

    payload = await mutate(info.context, DatalogDevicePayload, rule, ok)
    if sent and not payload.errors:
        await send(info, sent[0], payload.monitored_location)
    return payload


@strawberry.type
class DatalogQuery:
    @strawberry.field(
        description="Locations with data monitoring activated that you can see, with their status.",
        permission_classes=[needs(Permission.LOCATIONS_READ)],
    )
    async def monitored_locations(
        self,
        info: Info,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[MonitoredLocation]:
        statement = select(dl.MonitoredLocation).where(monitored_visible(info.context.principal))
        return await paginate(
            info.context,
            statement,
            [SortKey(dl.MonitoredLocation.location_id)],
            MonitoredLocation.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, MonitoredLocation),
        )


MANAGE = [needs(Permission.MONITORING_MANAGE)]


@strawberry.type
class DatalogMutation:
    @strawberry.mutation(description="Activate data monitoring at a location.", permission_classes=MANAGE)
    async def data_monitoring_activate(
        self, info: Info, input: DataMonitoringActivateInput
    ) -> MonitoredLocationPayload:
        return await mutate(
            info.context,
            MonitoredLocationPayload,
            lambda s: rules.activate(
                s,
                info.context,
                input.location_id,
                input.send_frequency_seconds,
                input.cloud_host,
                input.silence_seconds,
            ),
            monitored_payload,
        )

    @strawberry.mutation(description="Change a monitored location's general settings.", permission_classes=MANAGE)
    async def data_monitoring_update(self, info: Info, input: DataMonitoringUpdateInput) -> MonitoredLocationPayload:
        host = input.cloud_host
        return await mutate(
            info.context,
            MonitoredLocationPayload,
            lambda s: rules.update_settings(
                s, info.context, input.location_id, input.send_frequency_seconds, host, input.silence_seconds
            ),
            monitored_payload,
        )

    @strawberry.mutation(
        description="End data monitoring at a location (its datalog devices and graphics stay).",
        permission_classes=MANAGE,
    )
    async def data_monitoring_deactivate(
        self, info: Info, input: DataMonitoringLocationInput
    ) -> DataMonitoringDeactivatePayload:
        return await mutate(
            info.context,
            DataMonitoringDeactivatePayload,
            lambda s: rules.deactivate(s, info.context, input.location_id),
            lambda _: DataMonitoringDeactivatePayload(location_id=input.location_id, errors=[]),
        )

    @strawberry.mutation(
        description=(
            "Upload the location's configuration to its router (QoS 1); its state is PENDING until the router "
            "acknowledges (APPLIED or FAILED) or the acknowledgement is late (TIMED_OUT)."
        ),
        permission_classes=MANAGE,
    )
    async def data_monitoring_upload(self, info: Info, input: DataMonitoringLocationInput) -> MonitoredLocationPayload:
        if link_of(info.context.runtime) is None:
            return refused(MonitoredLocationPayload, _no_link("locationId"))
        sent: list[Upload] = []

        async def rule(session: Any) -> Any:
            row, message = await upload_location(session, info.context, input.location_id)
            sent.append(message)
            return row

        payload = await mutate(info.context, MonitoredLocationPayload, rule, monitored_payload)
        if sent and not payload.errors:
            await send(info, sent[0], payload.monitored_location)
        return payload

    @strawberry.mutation(description="Add a datalog device (save, or save and upload).", permission_classes=MANAGE)
    async def datalog_device_create(self, info: Info, input: DatalogDeviceCreateInput) -> DatalogDevicePayload:
        return await save_device(info, lambda s: rules.create_device(s, info.context, input), input.upload)

    @strawberry.mutation(description="Change a datalog device (save, or save and upload).", permission_classes=MANAGE)
    async def datalog_device_update(self, info: Info, input: DatalogDeviceUpdateInput) -> DatalogDevicePayload:
        return await save_device(info, lambda s: rules.update_device(s, info.context, input), input.upload)

    @strawberry.mutation(description="Delete a datalog device.", permission_classes=MANAGE)
    async def datalog_device_delete(self, info: Info, input: DatalogDeviceDeleteInput) -> DatalogDeviceDeletePayload:
        return await mutate(
            info.context,
            DatalogDeviceDeletePayload,
            lambda s: rules.delete_device(s, info.context, input.id),
            lambda _: DatalogDeviceDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {
    "DatalogDevice": (Permission.LOCATIONS_READ, node_loader(visible_datalog_devices, DatalogDevice.from_model)),
}

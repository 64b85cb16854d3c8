"""Remote access mutations: router registration and assignment, locations, pins, heartbeats."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.errors import DomainError
from graph.mutations import run_in_transaction
from graph.permissions import needs
from models.identity import Permission
from resolvers.remote import services
from resolvers.remote.errors import RemoteError, as_errors
from resolvers.remote.types import Location, Router, RouterStatus


@strawberry.input(description="A new router, as printed on it and as named by its key.")
class RouterRegisterInput:
    common_name: str = strawberry.field(
        description="Name of the router's key, R_ and letters/digits (e.g. R_M26118014A81B88FB)."
    )
    mac_address: str = strawberry.field(
        description="MAC address; colons, dashes, dots or no separators (stored as AA:BB:CC:DD:EE:FF)."
    )
    serial_number: str = strawberry.field(description="Serial number.")
    model: str | None = strawberry.field(default=None, description="Router model.")
    firmware: str | None = strawberry.field(default=None, description="Firmware version.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Assign it to this organisation at once (it then shows among its free routers)."
    )


@strawberry.type(description="The registered router, or why it was refused.")
class RouterPayload:
    router: Router | None = strawberry.field(description="The router; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Assign a router to an organisation.")
class RouterAssignInput:
    router_id: strawberry.ID = strawberry.field(description="The router.")
    organisation_id: strawberry.ID = strawberry.field(description="The organisation it goes to.")


@strawberry.input(description="A new location.")
class LocationCreateInput:
    name: str = strawberry.field(description="Name, unique within the organisation.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Organisation (yours or a descendant); default: your own."
    )
    router_id: strawberry.ID | None = strawberry.field(
        default=None, description="A free router of that organisation to place here."
    )
    latitude: float | None = strawberry.field(
        default=None, description="Latitude in degrees (-90..90); give both or neither."
    )
    longitude: float | None = strawberry.field(
        default=None, description="Longitude in degrees (-180..180); give both or neither."
    )


@strawberry.input(
    description="Change a location; fields left out stay as they are, null coordinates take it off the map."
)
class LocationUpdateInput:
    id: strawberry.ID = strawberry.field(description="The location.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    latitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="New latitude, or null (with longitude null)."
    )
    longitude: float | None = strawberry.field(
        default=strawberry.UNSET, description="New longitude, or null (with latitude null)."
    )


@strawberry.input(description="A location to delete (its router becomes free).")
class LocationDeleteInput:
    id: strawberry.ID = strawberry.field(description="The location.")


@strawberry.type(description="The location, or why the change was refused.")
class LocationPayload:
    location: Location | None = strawberry.field(description="The location; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted location's ID, or why it was refused.")
class LocationDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="ID of the deleted location; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Place a router at a location, or take it away.")
class LocationAssignRouterInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    router_id: strawberry.ID | None = strawberry.field(
        description="A free router of the location's organisation (replacing the one there, which becomes free); null takes the router away."
    )


@strawberry.input(description="Pin or unpin a location for yourself.")
class LocationPinInput:
    location_id: strawberry.ID = strawberry.field(description="The location.")
    pinned: bool = strawberry.field(description="true pins it, false unpins it.")


@strawberry.input(description="What a router reports about itself; every field is optional.")
class RouterStatusInput:
    cpu_load: float | None = strawberry.field(default=None, description="CPU load in percent (0-100).")
    memory_use: float | None = strawberry.field(default=None, description="Memory in use in percent (0-100).")
    modem_state: str | None = strawberry.field(default=None, description="The modem's state (at most 40 characters).")
    signal_strength: float | None = strawberry.field(default=None, description="Signal strength in dBm (-200..0).")
    link_speed: float | None = strawberry.field(default=None, description="Link speed in Mbit/s.")


@strawberry.input(description="A router's heartbeat with its status.")
class RouterHeartbeatInput:
    common_name: str = strawberry.field(description="The router's common name.")
    status: RouterStatusInput | None = strawberry.field(default=None, description="Its current status.")


@strawberry.type(description="The router, now online, and the recorded status; or why it was refused.")
class RouterHeartbeatPayload:
    router: Router | None = strawberry.field(description="The router; null when refused.")
    status: RouterStatus | None = strawberry.field(description="The status sample recorded.")
    errors: list[RemoteError] = strawberry.field(
        description="Why it was refused (NOT_FOUND also for other organisations' routers)."
    )


def _router_payload(result) -> RouterPayload:
    if isinstance(result, DomainError):
        return RouterPayload(router=None, errors=as_errors(result))
    return RouterPayload(router=Router.from_model(result), errors=[])


def _location_payload(result) -> LocationPayload:
    if isinstance(result, DomainError):
        return LocationPayload(location=None, errors=as_errors(result))
    return LocationPayload(location=Location.from_model(result), errors=[])


def _given(value):
    return services.UNSET if value is strawberry.UNSET else value


@strawberry.type
class RemoteMutation:
    @strawberry.mutation(
        description="Register a new router (platform admins); optionally assign it to an organisation at once.",
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_register(self, info: Info, input: RouterRegisterInput) -> RouterPayload:
        fields = services.RouterFields(
            common_name=input.common_name,
            mac_address=input.mac_address,
            serial_number=input.serial_number,
            model=input.model,
            firmware=input.firmware,
            organisation_id=input.organisation_id,
        )
        return _router_payload(
            await run_in_transaction(info.context, lambda s: services.register(s, info.context, fields))
        )

    @strawberry.mutation(
        description="Assign a router to an organisation (platform admins); refused while it is at a location.",
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_assign(self, info: Info, input: RouterAssignInput) -> RouterPayload:
        return _router_payload(
            await run_in_transaction(
                info.context, lambda s: services.assign(s, info.context, input.router_id, input.organisation_id)
            )
        )

    @strawberry.mutation(
        description="A router's heartbeat (its API user, or platform admins): records the status and marks it online.",
        permission_classes=[needs(Permission.ROUTERS_REPORT)],
    )
    async def router_heartbeat(self, info: Info, input: RouterHeartbeatInput) -> RouterHeartbeatPayload:
        given = input.status or RouterStatusInput()
        status = services.Status(
            cpu_load=given.cpu_load,
            memory_use=given.memory_use,
            modem_state=given.modem_state,
            signal_strength=given.signal_strength,
            link_speed=given.link_speed,
        )
        result = await run_in_transaction(
            info.context, lambda s: services.heartbeat(s, info.context, input.common_name, status)
        )
        if isinstance(result, DomainError):
            return RouterHeartbeatPayload(router=None, status=None, errors=as_errors(result))
        router, sample = result
        return RouterHeartbeatPayload(
            router=Router.from_model(router), status=RouterStatus.from_model(sample), errors=[]
        )

    @strawberry.mutation(description="Create a location.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)])
    async def location_create(self, info: Info, input: LocationCreateInput) -> LocationPayload:
        return _location_payload(
            await run_in_transaction(
                info.context,
                lambda s: services.create_location(
                    s,
                    info.context,
                    name=input.name,
                    organisation_id=input.organisation_id,
                    router_id=input.router_id,
                    latitude=input.latitude,
                    longitude=input.longitude,
                ),
            )
        )

    @strawberry.mutation(
        description="Rename a location or move it on the map.", permission_classes=[needs(Permission.LOCATIONS_MANAGE)]
    )
    async def location_update(self, info: Info, input: LocationUpdateInput) -> LocationPayload:
        return _location_payload(
            await run_in_transaction(
                info.context,
                lambda s: services.update_location(
                    s,
                    info.context,
                    input.id,
                    name=_given(input.name),
                    latitude=_given(input.latitude),
                    longitude=_given(input.longitude),
                ),
            )
        )

    @strawberry.mutation(
        description="Delete a location; its router becomes free.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_delete(self, info: Info, input: LocationDeleteInput) -> LocationDeletePayload:
        result = await run_in_transaction(info.context, lambda s: services.delete_location(s, info.context, input.id))
        if isinstance(result, DomainError):
            return LocationDeletePayload(deleted_id=None, errors=as_errors(result))
        return LocationDeletePayload(deleted_id=input.id, errors=[])

    @strawberry.mutation(
        description="Place a free router of the location's organisation at the location, or take its router away.",
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def location_assign_router(self, info: Info, input: LocationAssignRouterInput) -> LocationPayload:
        return _location_payload(
            await run_in_transaction(
                info.context,
                lambda s: services.assign_router_to_location(s, info.context, input.location_id, input.router_id),
            )
        )

    @strawberry.mutation(
        description="Pin or unpin a location for yourself.", permission_classes=[needs(Permission.LOCATIONS_READ)]
    )
    async def location_pin(self, info: Info, input: LocationPinInput) -> LocationPayload:
        return _location_payload(
            await run_in_transaction(
                info.context, lambda s: services.pin_location(s, info.context, input.location_id, input.pinned)
            )
        )

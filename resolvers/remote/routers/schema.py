"""Routers: the router list, registration (one or many), assignment, heartbeats."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy import exists, select
from strawberry.file_uploads import Upload
from strawberry.types import Info

from graph.errors import DomainError, DomainErrors, refused
from graph.filters import filter_text
from graph.lookahead import LookAhead
from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import Connection, PageAfter, PageBefore, PageFirst, PageLast, SortKey, node_loader, paginate
from models import remote as r
from models.identity import Permission
from resolvers.remote.errors import RemoteError
from resolvers.remote.routers.bulk import MAX_REPORTED_ERRORS, BulkResult, csv_source, register_bulk
from resolvers.remote.routers.loaders import visible_routers
from resolvers.remote.routers.rules import RouterFields, Status, assign, heartbeat, register, rename
from resolvers.remote.routers.types import Router, RouterStatus
from resolvers.remote.scope import MAX_TEXT, router_visible


@strawberry.input(description="Narrow the router list; all given conditions must hold.")
class RouterFilter:
    free: bool | None = strawberry.field(
        default=None,
        description="true: free routers (assigned to an organisation, at no location); false: routers at a location.",
    )
    online: bool | None = strawberry.field(default=None, description="Only online (true) or offline (false) routers.")
    assigned: bool | None = strawberry.field(
        default=None,
        description="Assigned to an organisation (true) or not yet (false; only platform admins see those).",
    )
    common_name_prefix: str | None = strawberry.field(
        default=None, description="Common name starts with this (any case)."
    )


def _router_at_location():
    return exists().where(r.Location.router_id == r.Router.id)


def apply_router_filter(statement, flt: RouterFilter | None):
    if flt is None:
        return statement
    if flt.free is not None:
        statement = (
            statement.where(r.Router.organisation_id.is_not(None), ~_router_at_location())
            if flt.free
            else statement.where(_router_at_location())
        )
    if flt.online is not None:
        statement = statement.where(r.Router.online.is_(flt.online))
    if flt.assigned is not None:
        column = r.Router.organisation_id
        statement = statement.where(column.is_not(None) if flt.assigned else column.is_(None))
    if flt.common_name_prefix:
        prefix = filter_text(flt.common_name_prefix, "filter.commonNamePrefix", MAX_TEXT).upper()
        statement = statement.where(r.Router.common_name.startswith(prefix, autoescape=True))
    return statement


@strawberry.input(description="A router's new common name (after a factory reset its key has a new name).")
class RouterRenameInput:
    router_id: strawberry.ID = strawberry.field(description="The router.")
    common_name: str = strawberry.field(
        description="The new name, R_ and letters or digits (stored upper case), unique among all routers."
    )


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

    def to_fields(self) -> RouterFields:
        return RouterFields(
            common_name=self.common_name,
            mac_address=self.mac_address,
            serial_number=self.serial_number,
            model=self.model,
            firmware=self.firmware,
            organisation_id=self.organisation_id,
        )


@strawberry.type(description="The registered router, or why it was refused.")
class RouterPayload:
    router: Router | None = strawberry.field(description="The router; null when refused.")
    errors: list[RemoteError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.input(description="Assign a router to an organisation.")
class RouterAssignInput:
    router_id: strawberry.ID = strawberry.field(description="The router.")
    organisation_id: strawberry.ID = strawberry.field(description="The organisation it goes to.")


@strawberry.input(description="A fault the router (or the machine behind it) reports.")
class RouterFaultInput:
    code: str = strawberry.field(description="The fault's code (at most 40 characters), e.g. E42.")
    message: str | None = strawberry.field(default=None, description="What it means (at most 200 characters).")


@strawberry.input(description="What a router reports about itself; every field is optional.")
class RouterStatusInput:
    cpu_load: float | None = strawberry.field(default=None, description="CPU load in percent (0-100).")
    memory_use: float | None = strawberry.field(default=None, description="Memory in use in percent (0-100).")
    modem_state: str | None = strawberry.field(default=None, description="The modem's state (at most 40 characters).")
    signal_strength: float | None = strawberry.field(default=None, description="Signal strength in dBm (-200..0).")
    link_speed: float | None = strawberry.field(default=None, description="Link speed in Mbit/s.")
    lan_subnet: str | None = strawberry.field(
        default=None, description="The IPv4 LAN behind the router in CIDR notation (e.g. 192.168.1.0/24)."
    )
    fault: RouterFaultInput | None = strawberry.field(
        default=None, description="The fault it reports now; null or left out: none."
    )
    standstill: bool | None = strawberry.field(
        default=None, description="Whether the machine behind it stands still; null: not reported."
    )

    def to_status(self) -> Status:
        return Status(
            fault_code=self.fault.code if self.fault else None,
            fault_message=self.fault.message if self.fault else None,
            standstill=self.standstill,
            cpu_load=self.cpu_load,
            memory_use=self.memory_use,
            modem_state=self.modem_state,
            signal_strength=self.signal_strength,
            link_speed=self.link_speed,
            lan_subnet=self.lan_subnet,
        )


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


@strawberry.input(description="Many routers to register, as CSV text or an uploaded CSV file (give exactly one).")
class RouterRegisterBulkInput:
    csv: str | None = strawberry.field(
        default=None,
        description=(
            "CSV text: a header naming common_name, mac_address, serial_number (optionally model, firmware), "
            "then one router per line."
        ),
    )
    file: Upload | None = strawberry.field(
        default=None, description="The same as a file (GraphQL multipart request; .csv or .txt)."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Assign them all to this organisation."
    )
    dry_run: bool = strawberry.field(default=False, description="Only check the list; nothing is stored.")


@strawberry.type(description="The routers registered (dry run: that would be), or every problem of the list.")
class RouterRegisterBulkPayload:
    routers: list[Router] = strawberry.field(description="The routers, in list order; empty when refused.")
    registered_count: int = strawberry.field(description="How many were (dry run: would be) registered.")
    dry_run: bool = strawberry.field(description="Whether this was a dry run.")
    error_count: int = strawberry.field(
        description="How many problems the list has, also those beyond the listed ones."
    )
    errors: list[RemoteError] = strawberry.field(
        description=(
            f'Every problem in line order (at most {MAX_REPORTED_ERRORS}): `field` is ["csv" or "file", "<line>", '
            '"<column>"] and the message starts with "Line <n>:". Any error means nothing was stored.'
        )
    )


def router_payload(router: r.Router) -> RouterPayload:
    return RouterPayload(router=Router.from_model(router), errors=[])


def bulk_payload(result: BulkResult, dry_run: bool) -> RouterRegisterBulkPayload:
    """The routers, or every problem of the list (`errorCount` counts also those beyond the listed ones)."""
    if result.problems.count:
        errors = DomainErrors(result.problems.errors())
        return refused(
            RouterRegisterBulkPayload,
            errors,
            routers=[],
            registered_count=0,
            dry_run=dry_run,
            error_count=result.problems.count,
        )
    stored = not dry_run  # a dry run's routers have no ID to show
    return RouterRegisterBulkPayload(
        routers=[Router.from_model(router) for router in result.routers] if stored else [],
        registered_count=len(result.routers),
        dry_run=dry_run,
        error_count=0,
        errors=[],
    )


@strawberry.type
class RouterQuery:
    @strawberry.field(
        description=(
            "Routers assigned within your organisation's subtree (platform admins: all, also unassigned ones), "
            "by common name. `filter: {free: true}` lists the free routers (assigned, at no location)."
        ),
        permission_classes=[needs(Permission.ROUTERS_READ)],
    )
    async def routers(
        self,
        info: Info,
        filter: Annotated[
            RouterFilter | None, strawberry.argument(description="Conditions the routers must meet.")
        ] = None,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> Connection[Router]:
        statement = apply_router_filter(select(r.Router).where(router_visible(info.context.principal)), filter)
        keys = [SortKey(r.Router.common_name), SortKey(r.Router.id)]
        return await paginate(
            info.context,
            statement,
            keys,
            Router.from_model,
            first=first,
            after=after,
            last=last,
            before=before,
            ahead=LookAhead.of(info, Router),
        )


@strawberry.type
class RouterMutation:
    @strawberry.mutation(
        description="Register a new router (platform admins); optionally assign it to an organisation at once.",
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_register(self, info: Info, input: RouterRegisterInput) -> RouterPayload:
        context = info.context
        return await mutate(context, RouterPayload, lambda s: register(s, context, input.to_fields()), router_payload)

    @strawberry.mutation(
        description="Assign a router to an organisation (platform admins); refused while it is at a location.",
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_assign(self, info: Info, input: RouterAssignInput) -> RouterPayload:
        context = info.context
        return await mutate(
            context,
            RouterPayload,
            lambda s: assign(s, context, input.router_id, input.organisation_id),
            router_payload,
        )

    @strawberry.mutation(
        description=(
            "Give a router the new common name its key got with a factory reset: platform admins any router, "
            "organisation admins (LOCATIONS_MANAGE) the routers of their subtree. Audited; a taken name is refused."
        ),
        permission_classes=[needs(Permission.LOCATIONS_MANAGE)],
    )
    async def router_rename(self, info: Info, input: RouterRenameInput) -> RouterPayload:
        context = info.context
        return await mutate(
            context, RouterPayload, lambda s: rename(s, context, input.router_id, input.common_name), router_payload
        )

    @strawberry.mutation(
        description="A router's heartbeat (its API user, or platform admins): records the status and marks it online.",
        permission_classes=[needs(Permission.ROUTERS_REPORT)],
    )
    async def router_heartbeat(self, info: Info, input: RouterHeartbeatInput) -> RouterHeartbeatPayload:
        context = info.context
        status = (input.status or RouterStatusInput()).to_status()
        return await mutate(
            context,
            RouterHeartbeatPayload,
            lambda s: heartbeat(s, context, input.common_name, status),
            lambda result: RouterHeartbeatPayload(
                router=Router.from_model(result[0]), status=RouterStatus.from_model(result[1]), errors=[]
            ),
        )

    @strawberry.mutation(
        description=(
            "Register many routers from CSV (platform admins), all or nothing, with every bad row reported by line."
        ),
        permission_classes=[needs(Permission.ROUTERS_REGISTER)],
    )
    async def router_register_bulk(self, info: Info, input: RouterRegisterBulkInput) -> RouterRegisterBulkPayload:
        context = info.context
        try:
            source, text = await csv_source(input.csv, input.file, context.runtime.settings.max_upload_bytes)
            async with context.transaction() as session:
                result = await register_bulk(session, context, text, source, input.organisation_id, input.dry_run)
        except DomainError as error:  # about the whole list: one problem
            return refused(
                RouterRegisterBulkPayload, error, routers=[], registered_count=0, dry_run=input.dry_run, error_count=1
            )
        return bulk_payload(result, input.dry_run)


NODE_RESOLVERS = {
    "Router": (Permission.ROUTERS_READ, node_loader(visible_routers, Router.from_model)),
}

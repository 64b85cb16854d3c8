"""Graphical configurations (§21.6): upload a sanitised SVG, name it, bind its elements to telemetry keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph.mutations import mutate
from graph.permissions import needs
from graph.relay import node_loader
from graph.svg import MAX_BYTES
from models import datalog as dl
from models.identity import Permission
from resolvers.monitoring.errors import MonitoringError
from resolvers.monitoring.graphics.loaders import visible_graphics
from resolvers.monitoring.graphics.rules import create_graphic, delete_graphic, update_graphic
from resolvers.monitoring.graphics.types import (
    Graphic,
    GraphicActionKind,
    GraphicAnimation,
    GraphicOperator,
)


@strawberry.input(description="A condition on the bound key's value.")
class GraphicConditionInput:
    operator: GraphicOperator = strawberry.field(description="Comparison.")
    value: float = strawberry.field(description="Compared with (a boolean is 0 or 1).")


@strawberry.input(description="An action on the element.")
class GraphicActionInput:
    kind: GraphicActionKind = strawberry.field(description="What is done.")
    value: str = strawberry.field(default="", description="TEXT: template with {value}; COLOUR, SIZE, ROTATION.")


@strawberry.input(description="Bind an element of the SVG to a telemetry key.")
class GraphicBindingInput:
    element_id: str = strawberry.field(description="Id of an element of the SVG.")
    key: str = strawberry.field(description="Telemetry key.")
    conditions: list[GraphicConditionInput] = strawberry.field(
        default_factory=list, description="Any must hold; none: always."
    )
    actions: list[GraphicActionInput] = strawberry.field(default_factory=list, description="Actions.")
    animations: list[GraphicAnimation] = strawberry.field(default_factory=list, description="Animations.")


@strawberry.input(description="A new graphical configuration of a location.")
class GraphicCreateInput:
    location_id: strawberry.ID = strawberry.field(description="A location of your organisation's subtree.")
    name: str = strawberry.field(description="Name (at most 200 characters).")
    svg: str = strawberry.field(description=f"The SVG (at most {MAX_BYTES // 1024} KiB); it is sanitised.")
    bindings: list[GraphicBindingInput] = strawberry.field(default_factory=list, description="Bound elements.")


@strawberry.input(description="Change a graphical configuration; fields left out stay.")
class GraphicUpdateInput:
    id: strawberry.ID = strawberry.field(description="The graphical configuration.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    svg: str | None = strawberry.field(
        default=strawberry.UNSET, description="New SVG (bindings to elements it no longer has are dropped)."
    )
    bindings: list[GraphicBindingInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The new bindings (replace the old ones)."
    )


@strawberry.input(description="A graphical configuration to delete.")
class GraphicDeleteInput:
    id: strawberry.ID = strawberry.field(description="The graphical configuration.")


@strawberry.type(description="The graphical configuration, or why the change was refused.")
class GraphicPayload:
    graphic: Graphic | None = strawberry.field(description="Null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


@strawberry.type(description="The deleted graphical configuration's ID, or why it was refused.")
class GraphicDeletePayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="Null when refused.")
    errors: list[MonitoringError] = strawberry.field(description="Why it was refused (nothing changed).")


MANAGE = [needs(Permission.MONITORING_MANAGE)]


def graphic_payload(row: dl.Graphic) -> GraphicPayload:
    return GraphicPayload(graphic=Graphic.from_model(row), errors=[])


@strawberry.type
class GraphicMutation:
    @strawberry.mutation(description="Upload and configure a graphic (sanitised SVG).", permission_classes=MANAGE)
    async def graphic_create(self, info: Info, input: GraphicCreateInput) -> GraphicPayload:
        return await mutate(
            info.context, GraphicPayload, lambda s: create_graphic(s, info.context, input), graphic_payload
        )

    @strawberry.mutation(description="Change a graphic.", permission_classes=MANAGE)
    async def graphic_update(self, info: Info, input: GraphicUpdateInput) -> GraphicPayload:
        return await mutate(
            info.context, GraphicPayload, lambda s: update_graphic(s, info.context, input), graphic_payload
        )

    @strawberry.mutation(description="Delete a graphic.", permission_classes=MANAGE)
    async def graphic_delete(self, info: Info, input: GraphicDeleteInput) -> GraphicDeletePayload:
        return await mutate(
            info.context,
            GraphicDeletePayload,
            lambda s: delete_graphic(s, info.context, input.id),
            lambda _: GraphicDeletePayload(deleted_id=input.id, errors=[]),
        )


NODE_RESOLVERS = {"Graphic": (Permission.LOCATIONS_READ, node_loader(visible_graphics, Graphic.from_model))}

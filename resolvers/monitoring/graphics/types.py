"""GraphQL types of graphical configurations: the sanitised SVG and its bindings as structured data."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from graph.relay import Node, to_global_id
from models import datalog as dl


@strawberry.enum(description="When a binding's actions apply: the key's value compared with the condition's.")
class GraphicOperator(enum.Enum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    LT = "LT"


@strawberry.enum(description="What a binding does to its element (§21.6).")
class GraphicActionKind(enum.Enum):
    #: Show the value (value: a template with {value}, e.g. "{value} °C"; empty: the value alone).
    TEXT = "TEXT"
    #: Fill colour (#rgb, #rrggbb or a colour name).
    COLOUR = "COLOUR"
    #: Scale factor (e.g. 1.5).
    SIZE = "SIZE"
    #: Rotation in degrees.
    ROTATION = "ROTATION"
    #: Remove the element (no value).
    REMOVE = "REMOVE"


@strawberry.enum(description="An animation of a binding's element (§21.6).")
class GraphicAnimation(enum.Enum):
    ROTATE = "ROTATE"
    SHAKE = "SHAKE"
    SCALE = "SCALE"
    BLINK = "BLINK"


@strawberry.type(description="A condition on the bound key's value.")
class GraphicCondition:
    operator: GraphicOperator = strawberry.field(description="Comparison.")
    value: float = strawberry.field(description="Compared with (a boolean is 0 or 1).")


@strawberry.type(description="An action on the element.")
class GraphicAction:
    kind: GraphicActionKind = strawberry.field(description="What is done.")
    value: str = strawberry.field(description="Its value (see the kind).")


@strawberry.type(
    description=(
        "An element bound to a telemetry key: its actions and animations apply when any condition holds (always "
        "when there is none)."
    )
)
class GraphicBinding:
    element_id: str = strawberry.field(description="The id of the SVG element.")
    key: str = strawberry.field(description="Telemetry key.")
    conditions: list[GraphicCondition] = strawberry.field(description="Any of them must hold; none: always.")
    actions: list[GraphicAction] = strawberry.field(description="Actions.")
    animations: list[GraphicAnimation] = strawberry.field(description="Animations.")


def binding_from(stored: dict) -> GraphicBinding:
    return GraphicBinding(
        element_id=stored["elementId"],
        key=stored["key"],
        conditions=[
            GraphicCondition(operator=GraphicOperator(c["operator"]), value=c["value"]) for c in stored["conditions"]
        ],
        actions=[GraphicAction(kind=GraphicActionKind(a["kind"]), value=a["value"]) for a in stored["actions"]],
        animations=[GraphicAnimation(a) for a in stored["animations"]],
    )


@strawberry.type(description="A graphical configuration of a monitored location (§21.6).")
class Graphic(Node):
    name: str = strawberry.field(description="Name.")
    svg: str = strawberry.field(description="The sanitised SVG (safe to show inline).")
    element_ids: list[str] = strawberry.field(description="Ids of the SVG's elements, in document order.")
    bindings: list[GraphicBinding] = strawberry.field(description="Bound elements.")
    created_at: datetime = strawberry.field(description="When it was created.")
    pk: strawberry.Private[int]
    location_pk: strawberry.Private[int]
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: dl.Graphic) -> Graphic:
        return cls(
            id=strawberry.ID(to_global_id("Graphic", row.id)),
            name=row.name,
            svg=row.svg,
            element_ids=list(row.element_ids),
            bindings=[binding_from(b) for b in row.bindings],
            created_at=row.created_at,
            pk=row.id,
            location_pk=row.location_id,
        )

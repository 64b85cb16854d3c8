"""GraphQL enums of the identity domain used by several features (and by other domains)."""

from __future__ import annotations

import enum

import strawberry

from models import identity as m

RoleEnum = strawberry.enum(m.Role, description="What a user is; each role gives a set of permissions.")
PermissionEnum = strawberry.enum(
    m.Permission,
    description="What a user may do. Roles give permissions; admins grant more (the manuals' advanced functions).",
)

MenuPositionEnum = strawberry.enum(
    m.MenuPosition, description="Where the portal shows its menu: at the left or the top."
)


@strawberry.enum(description="Languages of the user interface and of e-mails.")
class Language(enum.Enum):
    DE = "de"
    EN = "en"
    ES = "es"
    FR = "fr"
    IT = "it"
    NL = "nl"  # issue 18
    RU = "ru"  # issue 17
    SV = "sv"

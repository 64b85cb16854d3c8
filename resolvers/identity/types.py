"""GraphQL types of the identity domain."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.errors import UserError
from graph.relay import Node, to_global_id
from graph.tenancy import path_visible
from models import identity as m
from resolvers.identity import loaders

if TYPE_CHECKING:
    pass

RoleEnum = strawberry.enum(m.Role, description="What a user is; each role gives a set of permissions.")
PermissionEnum = strawberry.enum(
    m.Permission,
    description="What a user may do. Roles give permissions; admins grant more (the manuals' advanced functions).",
)


@strawberry.enum(description="Languages of the user interface and of e-mails.")
class Language(enum.Enum):
    DE = "de"
    EN = "en"
    ES = "es"
    FR = "fr"
    IT = "it"
    SV = "sv"


@strawberry.enum(description="Why an identity mutation refused its input.")
class IdentityErrorCode(enum.Enum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    DUPLICATE = "DUPLICATE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    TWO_FACTOR_REQUIRED = "TWO_FACTOR_REQUIRED"
    INVALID_TWO_FACTOR_CODE = "INVALID_TWO_FACTOR_CODE"
    TWO_FACTOR_NOT_ENROLLED = "TWO_FACTOR_NOT_ENROLLED"
    INVALID_TOKEN = "INVALID_TOKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    PASSWORD_REUSED = "PASSWORD_REUSED"
    INVALID_STATE = "INVALID_STATE"
    EXPIRED = "EXPIRED"


@strawberry.type(description="A problem with the input of an identity mutation.")
class IdentityError(UserError):
    code: IdentityErrorCode = strawberry.field(description="Machine-readable reason.")


@strawberry.type(description="The password rules of an organisation (on top of the platform's fixed rules).")
class PasswordPolicy:
    min_length: int = strawberry.field(description="Minimum number of characters (at least 12).")
    history: int = strawberry.field(description="How many previous passwords may not be reused.")


@strawberry.type(description="An organisation linked as a partner: visible by name and ID only, never its data.")
class PartnerOrganisation:
    organisation_id: str = strawberry.field(description="The partner's organisation ID (the one to copy).")
    name: str = strawberry.field(description="The partner's name.")


@strawberry.type(description="An organisation (tenant). Organisations form a tree through `parent`.")
class Organisation(Node):
    organisation_id: str = strawberry.field(
        description="The ID to copy and hand to a partner so that they can link to this organisation."
    )
    name: str = strawberry.field(description="Name.")
    your_reference: str = strawberry.field(description="Your own reference for this organisation.")
    can_create_organisations: bool = strawberry.field(description="Whether it may create child organisations.")
    require_two_factor: bool = strawberry.field(description="Every user must log in with a TOTP code.")
    password_policy: PasswordPolicy = strawberry.field(description="Password rules for its users.")
    created_at: datetime = strawberry.field(description="When it was created.")
    parent_pk: strawberry.Private[int | None]
    pk: strawberry.Private[int]
    path: strawberry.Private[str]

    @classmethod
    def from_model(cls, row: m.Organisation) -> Organisation:
        return cls(
            id=strawberry.ID(to_global_id("Organisation", row.id)),
            organisation_id=row.public_id,
            name=row.name,
            your_reference=row.your_reference,
            can_create_organisations=row.can_create_organisations,
            require_two_factor=row.require_two_factor,
            password_policy=PasswordPolicy(min_length=row.password_min_length, history=row.password_history),
            created_at=row.created_at,
            parent_pk=row.parent_id,
            pk=row.id,
            path=row.path,
        )

    @strawberry.field(description="The parent organisation, or null at the top of what you can see.")
    async def parent(self, info: Info) -> Organisation | None:
        if self.parent_pk is None:
            return None
        row = await info.context.loaders(loaders.visible_organisations).load(self.parent_pk)
        return Organisation.from_model(row) if row else None

    @strawberry.field(description="Organisations linked as partners (name and ID only).")
    async def partners(self, info: Info) -> list[PartnerOrganisation]:
        rows = await info.context.loaders(loaders.partners_by_organisation).load(self.pk)
        return [PartnerOrganisation(organisation_id=row.public_id, name=row.name) for row in rows]


#: What a field shows of a user outside the caller's organisations (an external user, seen by the managers
#: of locations given to them): nothing but name and e-mail address.
OUTSIDER = "null (empty) for a user outside your organisations: an external user shows only name and e-mail"


@strawberry.type(description="A person or an API client that logs in.")
class User(Node):
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="E-mail address; also the login name.")
    language: Language | None = strawberry.field(description=f"Language of the interface and of e-mails; {OUTSIDER}.")
    csv_delimiter: str | None = strawberry.field(
        description=f"Column delimiter of CSV files made for this user; {OUTSIDER}."
    )
    csv_thousands_separator: str | None = strawberry.field(
        description=f"Thousands separator in numbers of CSV files made for this user (empty for none); {OUTSIDER}."
    )
    is_active: bool | None = strawberry.field(
        description=f"False once deactivated: the user can no longer log in; {OUTSIDER}."
    )
    two_factor_enabled: bool | None = strawberry.field(description=f"The user logs in with a TOTP code; {OUTSIDER}.")
    created_at: datetime | None = strawberry.field(description=f"When the user was created; {OUTSIDER}.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    requires_two_factor_itself: strawberry.Private[bool]
    #: Outside the caller's organisations (see OUTSIDER); set by seen_by().
    outsider: strawberry.Private[bool] = False

    @classmethod
    def from_model(cls, row: m.User) -> User:
        """A user the caller sees (of their organisations); others go through seen_by()."""
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            name=row.name,
            email=row.email,
            language=Language(row.language),
            csv_delimiter=row.csv_delimiter,
            csv_thousands_separator=row.csv_thousands_separator,
            is_active=row.is_active,
            two_factor_enabled=row.totp_confirmed,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
            requires_two_factor_itself=row.require_two_factor,
        )

    @classmethod
    def seen_by(cls, principal, row: m.User, organisation_path: str) -> User:
        """A user listed with something the caller sees (a location's users), who may be of another
        organisation: outside the caller's subtree only name and e-mail show."""
        if path_visible(principal, organisation_path):
            return cls.from_model(row)
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            name=row.name,
            email=row.email,
            language=None,
            csv_delimiter=None,
            csv_thousands_separator=None,
            is_active=None,
            two_factor_enabled=None,
            created_at=None,
            pk=row.id,
            organisation_pk=row.organisation_id,
            requires_two_factor_itself=False,
            outsider=True,
        )

    @strawberry.field(
        description=f"TOTP is required for this user (by the user's or the organisation's setting); {OUTSIDER}."
    )
    async def two_factor_required(self, info: Info) -> bool | None:
        if self.outsider:
            return None
        if self.requires_two_factor_itself:
            return True
        organisation = await info.context.loaders(loaders.organisations).load(self.organisation_pk)
        return organisation.require_two_factor

    @strawberry.field(description=f"The organisation the user belongs to; {OUTSIDER}.")
    async def organisation(self, info: Info) -> Organisation | None:
        if self.outsider:
            return None
        row = await info.context.loaders(loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row)

    @strawberry.field(description=f"The user's roles; {OUTSIDER}.")
    async def roles(self, info: Info) -> list[RoleEnum]:  # type: ignore[valid-type]
        if self.outsider:
            return []
        return await info.context.loaders(loaders.roles_by_user).load(self.pk)

    @strawberry.field(description=f"Permissions granted to this user on top of those of the roles; {OUTSIDER}.")
    async def granted_permissions(self, info: Info) -> list[PermissionEnum]:  # type: ignore[valid-type]
        if self.outsider:
            return []
        return await info.context.loaders(loaders.granted_permissions_by_user).load(self.pk)

    @strawberry.field(description=f"The user groups the user is a member of; {OUTSIDER}.")
    async def groups(self, info: Info) -> list[Annotated[UserGroup, strawberry.lazy("resolvers.identity.types")]]:
        if self.outsider:
            return []
        rows = await info.context.loaders(loaders.groups_by_user).load(self.pk)
        return [UserGroup.from_model(row) for row in rows]


@strawberry.type(description="A named set of users of one organisation, used to grant access together.")
class UserGroup(Node):
    name: str = strawberry.field(description="Name, unique within the organisation.")
    created_at: datetime = strawberry.field(description="When the group was created.")
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: m.UserGroup) -> UserGroup:
        return cls(
            id=strawberry.ID(to_global_id("UserGroup", row.id)),
            name=row.name,
            created_at=row.created_at,
            pk=row.id,
            organisation_pk=row.organisation_id,
        )

    @strawberry.field(description="The organisation the group belongs to.")
    async def organisation(self, info: Info) -> Organisation:
        row = await info.context.loaders(loaders.organisations).load(self.organisation_pk)
        return Organisation.from_model(row)

    @strawberry.field(description="The members of the group.")
    async def members(self, info: Info) -> list[User]:
        rows = await info.context.loaders(loaders.members_by_group).load(self.pk)
        return [User.from_model(row) for row in rows]

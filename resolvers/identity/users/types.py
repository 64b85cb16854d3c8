"""GraphQL type of users."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph.context import Principal
from graph.lookahead import Batched, relation
from graph.relay import Node, to_global_id
from graph.tenancy import path_visible
from models import identity as m
from resolvers.identity import loaders
from resolvers.identity.contacts.loaders import contact_emails_by_user
from resolvers.identity.contacts.types import ContactEmail
from resolvers.identity.enums import Language, MenuPositionEnum, PermissionEnum, RoleEnum
from resolvers.identity.federated_identities.loaders import identities_by_user, saml_links_by_user
from resolvers.identity.federated_identities.types import FederatedIdentity
from resolvers.identity.groups.loaders import groups_by_user
from resolvers.identity.organisations.types import Organisation
from resolvers.identity.users.loaders import granted_permissions_by_user, roles_by_user

if TYPE_CHECKING:
    from resolvers.identity.groups.types import UserGroup


#: What a field shows of a user outside the caller's organisations (an external user, seen by the managers
#: of locations given to them): nothing but name and e-mail address.
OUTSIDER = "null (empty) for a user outside your organisations: an external user shows only name and e-mail"


@strawberry.type(description="A person or an API client that logs in.")
class User(Node):
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="E-mail address; also the login name.")
    username: str | None = strawberry.field(
        description="Login name within the organisation, used with its customer number (or on its own login "
        f"domain); null when the user has none (they log in by e-mail); {OUTSIDER}."
    )
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
    # personal settings (issue 18, manual §15)
    dark_mode: bool | None = strawberry.field(description=f"The portal is shown in dark mode; {OUTSIDER}.")
    menu_position: MenuPositionEnum | None = strawberry.field(  # type: ignore[valid-type]
        description=f"Where the portal shows its menu; {OUTSIDER}."
    )
    # accounts (issue 17)
    phone: str | None = strawberry.field(
        description=f"Phone number in E.164 (+4917012345678), proven by a code; signs in by SMS; {OUTSIDER}."
    )
    pk: strawberry.Private[int]
    organisation_pk: strawberry.Private[int]
    requires_two_factor_itself: strawberry.Private[bool]
    #: Outside the caller's organisations (see OUTSIDER); set by seen_by().
    outsider: strawberry.Private[bool] = False
    #: Relations its list loaded with the page (graph.lookahead), by resolver name.
    ahead: strawberry.Private[dict[str, Any] | None] = None

    @classmethod
    def from_model(cls, row: m.User) -> User:
        """A user the caller sees (of their organisations); others go through seen_by()."""
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            name=row.name,
            email=row.email,
            username=row.username,
            language=Language(row.language),
            csv_delimiter=row.csv_delimiter,
            csv_thousands_separator=row.csv_thousands_separator,
            is_active=row.is_active,
            two_factor_enabled=row.totp_confirmed,
            created_at=row.created_at,
            dark_mode=row.dark_mode,
            menu_position=row.menu_position,
            phone=row.phone,
            pk=row.id,
            organisation_pk=row.organisation_id,
            requires_two_factor_itself=row.require_two_factor,
        )

    @classmethod
    def seen_by(cls, principal: Principal, row: m.User, organisation_path: str) -> User:
        """A user listed with something the caller sees (a location's users), who may be of another
        organisation: outside the caller's subtree only name and e-mail show."""
        if path_visible(principal, organisation_path):
            return cls.from_model(row)
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            name=row.name,
            email=row.email,
            username=None,
            language=None,
            csv_delimiter=None,
            csv_thousands_separator=None,
            is_active=None,
            two_factor_enabled=None,
            created_at=None,
            dark_mode=None,
            menu_position=None,
            phone=None,
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
    @relation(
        Batched(
            loaders.organisations,
            key=lambda user: None if user.outsider else user.organisation_pk,
            build=Organisation.from_model,
        )
    )
    def organisation(self, info: Info) -> Organisation | None: ...

    @strawberry.field(description=f"The user's roles; {OUTSIDER}.")
    @relation(Batched(roles_by_user, key=lambda user: None if user.outsider else user.pk, many=True))
    def roles(self, info: Info) -> list[RoleEnum]: ...  # type: ignore[valid-type]

    @strawberry.field(description=f"Permissions granted to this user on top of those of the roles; {OUTSIDER}.")
    @relation(Batched(granted_permissions_by_user, key=lambda user: None if user.outsider else user.pk, many=True))
    def granted_permissions(self, info: Info) -> list[PermissionEnum]: ...  # type: ignore[valid-type]

    @strawberry.field(description=f"The user groups the user is a member of; {OUTSIDER}.")
    @relation(
        Batched(
            groups_by_user,
            key=lambda user: None if user.outsider else user.pk,
            build=lambda row: _user_group_type().from_model(row),
            many=True,
        )
    )
    def groups(self, info: Info) -> list[Annotated[UserGroup, strawberry.lazy("resolvers.identity.groups.types")]]: ...

    # accounts (issue 17)
    @strawberry.field(description="Your contact addresses for notifications; empty for anyone but you.")
    @relation(Batched(contact_emails_by_user, key=lambda user: user.pk, build=ContactEmail.from_model, many=True))
    def contact_emails(self, info: Info) -> list[ContactEmail]: ...

    # federated sign-in (issue 19)
    @strawberry.field(
        description="The user's accounts at OpenID Connect / OAuth 2 providers that sign in as them, oldest first; "
        "empty for anyone but the user and those who may read the user."
    )
    @relation(
        Batched(
            identities_by_user,
            key=lambda user: None if user.outsider else user.pk,
            build=FederatedIdentity.from_model,
            many=True,
        )
    )
    def federated_identities(self, info: Info) -> list[FederatedIdentity]: ...

    @strawberry.field(
        description="When the user first signed in by their organisation's SAML single sign-on (which linked "
        "them); null if never, and for anyone but the user and those who may read the user."
    )
    @relation(
        Batched(
            saml_links_by_user, key=lambda user: None if user.outsider else user.pk, build=lambda row: row.linked_at
        )
    )
    def saml_linked_at(self, info: Info) -> datetime | None: ...


def _user_group_type() -> type[UserGroup]:
    # imported when used: a group's type shows its members, so the two modules import each other
    from resolvers.identity.groups.types import UserGroup

    return UserGroup

"""SAML role mapping (issue 19, manual §25): an attribute of the assertion (Entra ID's groups claim, an Okta
group attribute statement) whose values name roles here.

Decisions (README): the roles a mapping names are managed by the IdP. At each sign-in the user's roles among
them become exactly those the assertion's values map to (values compared exactly, case and all); roles the
mapping does not name (given by hand) stay. A user keeps at least one role: USER when the sync would leave
none. PLATFORM_ADMIN and CONSUMER are never mapped, and an admin maps only roles they could give by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context, Principal
from graph.errors import DomainError
from graph.rules import clean_text
from models import identity as m
from models import saml as saml_models
from resolvers.audit.rules import record
from resolvers.identity.accounts import check_assignable_roles, replace_roles
from resolvers.identity.errors import IdentityErrorCode as Code
from resolvers.identity.hooks import REACH_SHRANK

MAX_MAPPINGS = 50
MAX_VALUE_LENGTH = 200
#: The platform's own role, and the self-signed-up consumer's: never given by an organisation's IdP.
NEVER_MAPPED = frozenset({m.Role.PLATFORM_ADMIN, m.Role.CONSUMER})


@dataclass(frozen=True)
class RoleMapping:
    """One IdP value (a group's object ID or name) and the role it gives."""

    value: str
    role: m.Role


def stored(mappings: list[RoleMapping]) -> list[dict[str, str]]:
    return [{"value": mapping.value, "role": mapping.role.value} for mapping in mappings]


def loaded(rows: list[dict] | None) -> list[RoleMapping]:
    return [RoleMapping(str(row["value"]), m.Role(row["role"])) for row in rows or []]


def checked_mappings(principal: Principal, mappings: list[RoleMapping]) -> list[RoleMapping]:
    """The mappings as given, or the first problem; `field` points at the mapping (roleMappings.N)."""
    if len(mappings) > MAX_MAPPINGS:
        raise DomainError(Code.TOO_MANY, f"at most {MAX_MAPPINGS} role mappings", "roleMappings")
    seen: set[tuple[str, m.Role]] = set()
    for index, mapping in enumerate(mappings):
        path = ["roleMappings", str(index)]
        # not stripped: the IdP's values are compared exactly
        clean_text(mapping.value, [*path, "value"], max_length=MAX_VALUE_LENGTH, strip=False, single_line=True)
        if (mapping.value, mapping.role) in seen:
            raise DomainError(Code.DUPLICATE, "this value is mapped to this role already", path)
        seen.add((mapping.value, mapping.role))
    check_mappable(principal, mappings)
    return mappings


def check_mappable(principal: Principal, mappings: list[RoleMapping]) -> None:
    """Every mapped role is one the caller could give by hand: no one gains through the IdP what they could
    not grant themselves."""
    for index, mapping in enumerate(mappings):
        path = ["roleMappings", str(index), "role"]
        if mapping.role in NEVER_MAPPED:
            raise DomainError(Code.NOT_ALLOWED, f"{mapping.role.value} is never given by an identity provider", path)
        try:
            check_assignable_roles(principal, [mapping.role])
        except DomainError as error:
            raise DomainError(error.code, error.message, path) from None


#: What Entra ID sends instead of the groups claim for a user in more groups than fit in a token ("overage").
GROUPS_LINK = "http://schemas.microsoft.com/claims/groups.link"


def groups_withheld(provider: saml_models.SamlProvider, attributes: dict[str, list[str]]) -> bool:
    """The IdP left out the user's groups and sent where to fetch them: their roles cannot be known."""
    return not attributes.get(provider.attribute_roles) and bool(attributes.get(GROUPS_LINK))


def asserted_roles(
    provider: saml_models.SamlProvider, attributes: dict[str, list[str]]
) -> tuple[set[m.Role], set[m.Role]] | None:
    """(the roles the mapping manages, those the assertion's values give), or None without a mapping."""
    mappings = loaded(provider.role_mapping) if provider.attribute_roles else []
    if not mappings:
        return None
    values = set(attributes.get(provider.attribute_roles) or [])
    # NEVER_MAPPED is refused when saving; kept out here too, whatever the stored JSON says
    managed = {mapping.role for mapping in mappings} - NEVER_MAPPED
    return managed, {mapping.role for mapping in mappings if mapping.value in values} & managed


async def synchronise_roles(
    session: AsyncSession,
    context: Context,
    provider: saml_models.SamlProvider,
    user: m.User,
    attributes: dict[str, list[str]],
    *,
    created: bool,
) -> None:
    """Give `user` the roles the assertion maps to: one delete + insert, only when they differ, audited with
    the roles before and after. A new user's roles are all decided here (USER when none maps)."""
    asserted = asserted_roles(provider, attributes)
    if asserted is None and not created:
        return
    managed, given = asserted or (set(), set())
    before: set[m.Role] = (
        set()
        if created
        else set((await session.scalars(select(m.UserRole.role).where(m.UserRole.user_id == user.id))).all())
    )
    after = (before - managed) | given or {m.Role.USER}
    if after == before:
        return
    ordered = sorted(after, key=list(m.Role).index)
    if created:  # nothing to delete yet
        session.add_all(m.UserRole(user_id=user.id, role=role) for role in ordered)
        await session.flush()
    else:
        await replace_roles(session, user, ordered)
    if before - after:  # what the user may reach shrank (remote ends their router connections)
        await REACH_SHRANK(session, {user.id})
    if asserted is None:  # a new user without a mapping: USER, as before mappings existed
        return
    await record(
        session,
        context,
        "saml.roles_synchronised",
        organisation_id=provider.organisation_id,
        target_type="User",
        target_id=user.id,
        actor_label=user.email,
        details={
            "idpEntityId": provider.idp_entity_id,
            "before": sorted(role.value for role in before),
            "after": sorted(role.value for role in after),
        },
    )

"""Roles, the permissions they give, and the field-level permission check."""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from graph.errors import Forbidden, Unauthenticated
from models.identity import Permission, Role

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),
    Role.ORGANISATION_ADMIN: frozenset(
        {
            Permission.USERS_READ,
            Permission.USERS_MANAGE,
            Permission.ORGANISATIONS_READ,
            Permission.ORGANISATIONS_MANAGE,
            Permission.PARTNERS_MANAGE,
            Permission.USER_GROUPS_MANAGE,
            Permission.AUDIT_READ,
            Permission.INVITATIONS_MANAGE,
            Permission.EMAIL_TEMPLATES_MANAGE,
            Permission.DEVICES_READ,
            Permission.DEVICES_CLAIM,
            Permission.KEYS_DOWNLOAD,
            Permission.BATCHES_MANAGE,
            Permission.ROUTERS_READ,
            # held so that organisation admins may create API users for their routers (a role is only
            # given by someone holding all its permissions)
            Permission.ROUTERS_REPORT,
            Permission.LOCATIONS_READ,
            Permission.LOCATIONS_MANAGE,
            Permission.ROUTERS_CONNECT,
            Permission.TELEMETRY_WRITE,
            Permission.MONITORING_MANAGE,
            Permission.ALARMS_HANDLE,
            Permission.METERING_READ,
            Permission.METERING_MANAGE,
            Permission.CASES_MANAGE,
            Permission.PORTAL_MANAGE,
            Permission.CUSTOMERS_MANAGE,
            Permission.CLIENTS_USE,
        }
    ),
    # Users, API users and external users reach only the locations given to them (resolvers.remote.scope).
    Role.USER: frozenset(
        {
            Permission.USERS_READ,
            Permission.ORGANISATIONS_READ,
            Permission.DEVICES_READ,
            Permission.ROUTERS_READ,
            Permission.LOCATIONS_READ,
            Permission.ROUTERS_CONNECT,
            Permission.CASES_MANAGE,
            Permission.CLIENTS_USE,
        }
    ),
    Role.API_USER: frozenset(
        {
            Permission.USERS_READ,
            Permission.ORGANISATIONS_READ,
            Permission.DEVICES_READ,
            Permission.ROUTERS_READ,
            Permission.LOCATIONS_READ,
            Permission.ROUTERS_REPORT,
            Permission.ROUTERS_CONNECT,
            Permission.TELEMETRY_WRITE,
        }
    ),
    # External users see only the locations another organisation gave them, nothing of their own.
    Role.EXTERNAL_USER: frozenset(
        {Permission.ROUTERS_READ, Permission.LOCATIONS_READ, Permission.ROUTERS_CONNECT, Permission.CLIENTS_USE}
    ),
    # Consumers keep their own metering points only (resolvers.metering.scope), nothing of their organisation's.
    Role.CONSUMER: frozenset({Permission.METERING_READ, Permission.METERING_MANAGE}),
}


def effective_permissions(
    roles: set[Role] | frozenset[Role], granted: set[Permission] | frozenset[Permission]
) -> frozenset[Permission]:
    permissions: set[Permission] = set(granted)
    for role in roles:
        permissions |= ROLE_PERMISSIONS[role]
    return frozenset(permissions)


def require_principal(context: Any, *, allow_pending_two_factor: bool = False):
    principal = context.principal
    if principal is None:
        raise Unauthenticated(context.auth_problem or "You must be logged in.")
    if principal.needs_two_factor_enrolment and not allow_pending_two_factor:
        raise Forbidden(
            "Two-factor authentication is required for your account: enrol with twoFactorEnrol first.",
            reason="TWO_FACTOR_ENROLMENT_REQUIRED",
        )
    return principal


def require_permission(context: Any, permission: Permission):
    principal = require_principal(context)
    if permission not in principal.permissions:
        raise Forbidden(f"This needs the {permission.value} permission.", permission=permission.value)
    return principal


@cache
def needs(permission: Permission | None = None, *, allow_pending_two_factor: bool = False) -> type[BasePermission]:
    """A strawberry permission class: logged in, and holding `permission` when one is given.

    It raises the typed error itself, so the client sees UNAUTHENTICATED or FORBIDDEN.
    """

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if permission is None:
            require_principal(info.context, allow_pending_two_factor=allow_pending_two_factor)
        else:
            require_permission(info.context, permission)
        return True

    name = f"Needs{permission.value.title().replace('_', '') if permission else 'Login'}"
    return type(name, (BasePermission,), {"has_permission": has_permission, "message": "not allowed"})

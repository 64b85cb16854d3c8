"""DataLoader batch functions of users."""

from __future__ import annotations

from graph.loaders import related_rows
from models import identity as m

roles_by_user = related_rows(m.UserRole.role, m.UserRole.user_id, order_by=(m.UserRole.role,))
granted_permissions_by_user = related_rows(
    m.UserPermission.permission, m.UserPermission.user_id, order_by=(m.UserPermission.permission,)
)

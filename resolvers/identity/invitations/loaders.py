"""DataLoader batch functions of invitations."""

from __future__ import annotations

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import identity as m

visible_invitations = rows_by_id(
    m.Invitation, lambda principal: m.Invitation.organisation_id.in_(visible_organisation_ids(principal))
)

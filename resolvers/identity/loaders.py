"""DataLoader batch functions used by several identity features and by other domains (one statement each)."""

from __future__ import annotations

from graph.loaders import rows_by_id
from graph.tenancy import organisation_visible, visible_organisation_ids
from models import identity as m

#: Organisations by id, unscoped: only for relations of objects already checked for visibility.
organisations = rows_by_id(m.Organisation)
visible_organisations = rows_by_id(m.Organisation, organisation_visible)
visible_users = rows_by_id(m.User, lambda principal: m.User.organisation_id.in_(visible_organisation_ids(principal)))
visible_user_groups = rows_by_id(
    m.UserGroup, lambda principal: m.UserGroup.organisation_id.in_(visible_organisation_ids(principal))
)


def prime_own_rows(context, user: m.User, organisation: m.Organisation) -> None:
    """graph.domain.Domain.prime_request: the caller's own user and organisation, which every caller may see,
    as `me { … organisation { … } }` and the like would load them."""
    context.loaders(visible_users).prime(user.id, user)
    context.loaders(organisations).prime(organisation.id, organisation)
    context.loaders(visible_organisations).prime(organisation.id, organisation)

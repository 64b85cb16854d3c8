"""DataLoader batch functions of contact addresses: a user's own only (one statement each)."""

from __future__ import annotations

from graph.loaders import related_rows, rows_by_id
from models import identity as m

#: Nobody sees another user's contact addresses, not even an admin of their organisation.
own_contact_emails = rows_by_id(m.ContactEmail, lambda principal: m.ContactEmail.user_id == principal.user_id)
contact_emails_by_user = related_rows(
    m.ContactEmail,
    m.ContactEmail.user_id,
    order_by=(m.ContactEmail.id,),
    visible=lambda principal: m.ContactEmail.user_id == principal.user_id,
)

"""What `rotate-master-key` re-seals in identity: TOTP secrets (declared in its Domain.sealed).

A TOTP secret's version is only in the sealed value's header (graph.secrets.sealed_version).
"""

from __future__ import annotations

from graph.secrets import sealed_column
from models import identity as m


def totp_binding(user_id: int) -> str:
    """Associated data of a user's TOTP secret: copied to another user, it does not open."""
    return f"user:{user_id}:totp"


TOTP_SECRETS = sealed_column("TOTP secrets", "User", m.User.id, m.User.totp_secret_sealed, totp_binding)

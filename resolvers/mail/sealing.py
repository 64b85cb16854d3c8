"""Mail bodies at rest: sealed with the master key until delivered, then cleared.

Password-reset, invitation and e-mail-change mails carry links that act as passwords. They wait in
`outbox_message` until the worker hands them to SMTP (with no SMTP configured, for good), so the
bodies are sealed (graph.secrets, AES-256-GCM) and bound to the message's Message-ID and part:
a database reader sees neither the link nor anything that opens elsewhere. The stored text is

    sealed:<master key version>:<urlsafe base64 of the sealed value>

(the version in clear lets `rotate-master-key` find values on older versions in SQL; the sealed
value carries and binds it again). Bodies written by earlier releases are clear text without that
prefix: they are delivered as they are and sealed by the next `rotate-master-key`.
"""

from __future__ import annotations

import base64
from typing import Protocol

from graph.secrets import Sealer, SecretError, sealed_version

PREFIX = "sealed:"
PARTS = ("text", "html")


class SealedMail(Protocol):
    """What open_bodies reads, read-only: an outbox row or the frozen copy a delivery worker claimed."""

    @property
    def message_id(self) -> str: ...

    @property
    def body_text(self) -> str: ...

    @property
    def body_html(self) -> str: ...


def binding(message_id: str, part: str) -> str:
    """Associated data of a body: a sealed body copied to another message or part does not open."""
    return f"outbox:{message_id}:{part}"


def version_prefix(version: int) -> str:
    return f"{PREFIX}{version}:"


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal_body(sealer: Sealer, message_id: str, part: str, body: str) -> str:
    sealed = sealer.seal(body.encode(), binding(message_id, part))
    return version_prefix(sealed_version(sealed)) + base64.urlsafe_b64encode(sealed).decode("ascii")


def open_body(sealer: Sealer, message_id: str, part: str, stored: str) -> str:
    """The body as written; clear text (earlier releases, or a delivered mail's empty body) as it is."""
    if not is_sealed(stored):
        return stored
    _, _, encoded = stored[len(PREFIX) :].partition(":")
    try:
        sealed = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as error:
        raise SecretError("sealed mail body has an unknown format") from error
    return sealer.open(sealed, binding(message_id, part)).decode()


def stored_version(stored: str) -> int | None:
    """The master key version named by a stored body (None for clear text)."""
    if not is_sealed(stored):
        return None
    version, _, _ = stored[len(PREFIX) :].partition(":")
    return int(version) if version.isdigit() else None


def seal_bodies(sealer: Sealer, message_id: str, body_text: str, body_html: str) -> tuple[str, str]:
    return seal_body(sealer, message_id, "text", body_text), seal_body(sealer, message_id, "html", body_html)


def open_bodies(sealer: Sealer, mail: SealedMail) -> tuple[str, str]:
    """(body_text, body_html) of an outbox row; SecretError when they do not open (wrong key, copied, tampered)."""
    return (
        open_body(sealer, mail.message_id, "text", mail.body_text),
        open_body(sealer, mail.message_id, "html", mail.body_html),
    )

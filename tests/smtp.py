"""A real SMTP server (aiosmtpd on 127.0.0.1) keeping what it accepts, and settings that deliver to it."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from graph.runtime import Runtime
from tests.environment import free_port

SMTP_USER = "mailer"
SMTP_PASSWORD = "S3cret-smtp-Pa55word"


class Collector:
    """aiosmtpd handler keeping every accepted message (the server runs in its own thread)."""

    def __init__(self) -> None:
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def smtp_authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@contextlib.contextmanager
def smtp_server(port: int | None = None, *, auth: bool = False):
    collector = Collector()
    kwargs = dict(authenticator=smtp_authenticator, auth_required=True, auth_require_tls=False) if auth else {}
    controller = Controller(collector, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


def smtp_settings(runtime: Runtime, port: int, **overrides):
    values = dict(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", mail_max_attempts=3, mail_retry_seconds=30
    )
    values.update(overrides)
    return replace(runtime.settings, **values)

"""Outbox rows as a test reads them: bodies are stored sealed (resolvers.mail.sealing)."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import inspect, select

from models.mail import OutboxMessage
from resolvers.mail.sealing import open_bodies


def opened(runtime_or_sealer, row) -> SimpleNamespace:
    """A copy of an outbox row with its bodies opened by the runtime's master key, or by the given
    sealer (the row is not touched)."""
    sealer = getattr(runtime_or_sealer, "sealer", runtime_or_sealer)
    values = {attribute.key: getattr(row, attribute.key) for attribute in inspect(row).mapper.column_attrs}
    values["body_text"], values["body_html"] = open_bodies(sealer, row)
    return SimpleNamespace(**values)


async def outbox(runtime) -> list[SimpleNamespace]:
    """Every outbox row, oldest first, with its bodies opened."""
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [opened(runtime, row) for row in rows]

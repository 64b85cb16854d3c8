"""What `rotate-master-key` re-seals in mail: the bodies of queued mails (declared in its Domain.sealed).

Bodies an earlier release wrote in clear are sealed; delivered mails keep no body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graph.secrets import SealedValues, Sealer
from models import mail as mail_models
from resolvers.mail import sealing

Outbox = mail_models.OutboxMessage


async def stale_outbox_messages(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
    current_prefix = sealing.version_prefix(current)  # the version is in the stored text's prefix
    return (
        await session.execute(
            select(Outbox.id, Outbox.message_id, Outbox.body_text, Outbox.body_html)
            .where(
                Outbox.id > after_id,
                Outbox.status != mail_models.OutboxStatus.SENT,
                or_(~Outbox.body_text.startswith(current_prefix), ~Outbox.body_html.startswith(current_prefix)),
            )
            .order_by(Outbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def reseal_outbox_message(session: AsyncSession, sealer: Sealer, row: Any) -> int:
    body_text, body_html = sealing.open_bodies(sealer, row)
    new_text, new_html = sealing.seal_bodies(sealer, row.message_id, body_text, body_html)
    del body_text, body_html
    # conditional: a worker that delivered (and cleared) the mail meanwhile wins
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row.id, Outbox.body_text == row.body_text, Outbox.body_html == row.body_html)
        .values(body_text=new_text, body_html=new_html)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


async def outbox_versions(session: AsyncSession) -> dict[int, int]:
    """How many undelivered mails each master key version seals (a mail counts once per version it uses)."""
    width = len(sealing.PREFIX) + 12  # "sealed:<version>:" of any version that fits in the header
    rows = await session.execute(
        select(func.substr(Outbox.body_text, 1, width), func.substr(Outbox.body_html, 1, width)).where(
            Outbox.body_text.startswith(sealing.PREFIX) | Outbox.body_html.startswith(sealing.PREFIX)
        )
    )
    counts: dict[int, int] = {}
    for text_head, html_head in rows.all():
        for version in {sealing.stored_version(text_head), sealing.stored_version(html_head)}:
            if version is not None:
                counts[version] = counts.get(version, 0) + 1
    return counts


QUEUED_MAILS = SealedValues(
    name="queued mails",
    row_label="OutboxMessage",
    stale_rows=stale_outbox_messages,
    reseal=reseal_outbox_message,
    count_versions=outbox_versions,
)

"""What `rotate-master-key` re-seals for accounts (Domain.sealed): the SMS gateway's credentials. Queued SMS texts
are sealed too but live minutes (a code is valid 10): they are not re-sealed; remove an old key version only once
the queue has no SMS older than the rotation."""

from __future__ import annotations

from graph.secrets import sealed_column
from models import identity as m
from resolvers.metering.accounts.sms import CREDENTIALS_BINDING

SMS_GATEWAY_CREDENTIALS = sealed_column(
    "SMS gateway credentials",
    "SmsGatewayCredential",
    m.SmsGatewayCredential.id,
    m.SmsGatewayCredential.secret,
    lambda _row_id: CREDENTIALS_BINDING,  # one row, one binding
)

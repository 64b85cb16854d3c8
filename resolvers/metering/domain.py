"""What the metering domain brings to the server (issue 17); its features add themselves here."""

from __future__ import annotations

from graph.domain import Domain
from resolvers.metering.accounts.commands import sms_gateway_credentials
from resolvers.metering.accounts.key_rotation import SMS_GATEWAY_CREDENTIALS
from resolvers.metering.accounts.schema import AccountMutation

DOMAIN = Domain(
    name="metering",
    mutations=(AccountMutation,),
    sealed=(SMS_GATEWAY_CREDENTIALS,),
    commands={"sms-gateway-credentials": sms_gateway_credentials},
)

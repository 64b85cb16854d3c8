"""What the integrations let the other metering features do: notifications tell a point's subscribers of each
transfer that succeeded or failed. Integrations call the hook in the transaction that records the run's outcome
(so a rolled-back outcome notifies nobody); notifications register a handler in the domain's declaration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from graph.domain import Hook


@dataclass(frozen=True, slots=True)
class TransferFinished:
    """One integration run's outcome: a period delivered, or given up on (a failure the user must act on)."""

    organisation_id: int
    metering_point_id: int
    integration_id: int
    #: The integration's kind (EMAIL, WEBHOOK, CITY_PORTAL, STATE_HOUSING, UTILITY).
    kind: str
    #: The local date of the period delivered (resolvers.metering.integrations.schedule.period_key).
    period: date
    succeeded: bool
    #: Why it failed, safe to show and to mail (no secrets, no payload); "" when it succeeded.
    error: str


#: async handler(session, finished: TransferFinished) -> None
TRANSFER_FINISHED = Hook("metering transfer finished")

"""What telemetry ingest lets the other monitoring features do, in the ingest's own transaction (so that a
rejected batch raises no alarm and forwards nothing): alarms evaluate their profiles, forwarding queues
deliveries. Telemetry calls the hook; the features register handlers in the domain's declaration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from graph.domain import Hook


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point as written: after last-write-wins, one per series and time."""

    organisation_id: int
    location_id: int
    #: None: the location's own value (not one of its devices').
    device_id: int | None
    series_id: int
    key: str
    at: datetime
    value: float


#: async handler(session, points: Sequence[StoredPoint]) -> None; raise DomainError to refuse the batch.
POINTS_STORED = Hook("telemetry points stored")

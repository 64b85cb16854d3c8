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
    #: The newest point of its series in the batch and later than the series' latest value before the batch.
    #: A late or re-sent point (False) only changes history: alarms evaluate only points that advance.
    advances: bool = True


#: async handler(session, points: Sequence[StoredPoint]) -> None; raise DomainError to refuse the batch.
POINTS_STORED = Hook("telemetry points stored")

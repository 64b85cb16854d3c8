"""SQLAlchemy 2 ORM models, one module per domain; migrations live in models/migrations."""

from models import alarms, audit, catalogue, datalog, events, forwarding, identity, mail, remote, telemetry  # noqa: F401  (register tables on Base.metadata)
from models.base import Base

__all__ = ["Base"]

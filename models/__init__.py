"""SQLAlchemy 2 ORM models, one module per domain; migrations live in models/migrations."""

from models import (  # noqa: F401  (register tables on Base.metadata)
    alarms,
    audit,
    branding,
    cases,
    catalogue,
    clients,
    datalog,
    events,
    federation,
    forwarding,
    identity,
    mail,
    metering,
    portal,
    remote,
    saml,
    telemetry,
)
from models.base import Base

__all__ = ["Base"]

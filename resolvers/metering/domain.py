"""What the metering domain brings to the server (issue 17); its features add themselves here."""

from __future__ import annotations

from graph.domain import Domain

DOMAIN = Domain(name="metering")

"""Integrations of a metering point: readings pushed to a third party on a schedule (issue 17, manual §3)."""

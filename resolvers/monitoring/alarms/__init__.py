"""Alarm profiles, alarms, their evaluation on ingest and the live alarm stream (issue 16, §21.10-21.13)."""

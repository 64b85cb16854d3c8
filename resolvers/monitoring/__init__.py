"""Data monitoring (issue 16): telemetry, alarms, forwarding, datalog configuration per location."""

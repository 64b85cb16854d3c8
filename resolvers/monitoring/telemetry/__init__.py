"""Telemetry (§21.8): ingest (batch mutation, HTTP, MQTT), latest values, history, retention."""

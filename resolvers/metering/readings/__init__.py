"""Meter readings (issue 17): telemetry points of the meter, ingested over HTTP and MQTT, read per metering point."""

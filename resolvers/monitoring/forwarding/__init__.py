"""Forwarding (§21.9): a location's telemetry sent on to InfluxDB, Blockbax, AWS IoT Core or Azure IoT Hub."""

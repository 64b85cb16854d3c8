"""Background work of the remote domain: router watchdog, MQTT heartbeats, retention, offline notifications."""

"""Background jobs of the metering domain."""

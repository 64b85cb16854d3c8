"""The metering cloud (issue 17): metering points and their meters, readings, integrations, notifications."""

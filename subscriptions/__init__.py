"""Event bus, channel names and payloads; the only place that touches broadcaster."""

"""Graphical configurations (manual §21.6): sanitised SVGs with element bindings to telemetry."""

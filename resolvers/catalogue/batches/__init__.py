"""Batch references: hand devices to an organisation, which takes ownership."""

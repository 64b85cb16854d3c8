"""Importing devices with their keys from a CSV key file (the manufacturer's import)."""

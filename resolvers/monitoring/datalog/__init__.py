"""Data monitoring per location (manual §21-21.7): activation, status, datalog devices, upload, discovery."""

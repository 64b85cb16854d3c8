"""Background jobs of data monitoring."""

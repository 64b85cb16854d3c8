"""Addresses of metering points: search a directory (the sample and stored ones, or Nominatim), bind by handle."""

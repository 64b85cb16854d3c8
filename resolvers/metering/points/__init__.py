"""Metering points: a meter's place (resource, address, room), its bound meter, account number and time zone."""

"""Channel names. Payloads are JSON objects that always carry the organisation path they belong to,
so each subscriber can be filtered by tenant on the server."""

AUDIT = "audit"
#: A router went online or offline: {"routerId", "online", "at", "organisationPath"} ("" while unassigned).
ROUTER_STATE = "router_state"

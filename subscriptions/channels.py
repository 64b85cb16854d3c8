"""Channel names. Payloads are JSON objects that always carry the organisation path they belong to,
so each subscriber can be filtered by tenant on the server."""

AUDIT = "audit"
#: A router went online or offline, or a user connected through it or disconnected:
#: {"kind": ONLINE|OFFLINE|CONNECTED|DISCONNECTED, "routerId", "locationId" (null: the router's location),
#: "connectionId" (connections only), "at", "organisationPath"} ("" while the router is unassigned);
#: made by resolvers.remote.router_events.router_event.
ROUTER_STATE = "router_state"
#: A commit changed who may see what (a token, a role, a grant: the tables models.base.decides_rights marks);
#: empty payload, nobody subscribes. The event stream counts these: subscribers check their rights again.
RIGHTS = "rights"
#: An alarm was raised, repeated, acknowledged or cleared: {"kind": RAISED|UPDATED|ACKNOWLEDGED|CLEARED,
#: "alarm", "location", "profile" (primary keys; profile null once deleted), "severity", "state", "at",
#: "organisationPath" (the location's organisation)}; made by resolvers.monitoring.alarms.engine.
ALARMS = "alarms"

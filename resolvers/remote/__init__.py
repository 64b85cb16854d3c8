"""Remote access: routers, their status and heartbeats, locations."""

"""Remote clients paired by users, and their heartbeats (issue 18; filled in by the clients work)."""

"""Cases and calls at locations, case statuses and activity types (issue 18; filled in by the cases work)."""

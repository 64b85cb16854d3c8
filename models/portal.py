"""Portal settings of organisations: customers and resellers' licence pools, firewall rules, local network
defaults, user preferences (issue 18; filled in by the portal work)."""

"""The device catalogue: devices within the caller's subtree, their filter and their node lookup."""

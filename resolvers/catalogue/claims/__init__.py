"""Claiming devices (the manuals' "Claim device"), one or many."""

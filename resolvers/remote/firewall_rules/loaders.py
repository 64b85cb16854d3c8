"""DataLoader batch functions of firewall rules (one SQL statement per batch)."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from graph.loaders import rows_by_id
from graph.tenancy import visible_organisation_ids
from models import portal as pt


def firewall_rule_visible(principal) -> ColumnElement[bool]:
    """The rules of the caller's organisation and its subtree (platform admins: all)."""
    if principal.is_platform_admin:
        return pt.FirewallRule.id.is_not(None)
    return pt.FirewallRule.organisation_id.in_(visible_organisation_ids(principal))


visible_firewall_rules = rows_by_id(pt.FirewallRule, firewall_rule_visible)

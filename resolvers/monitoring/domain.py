"""What the data monitoring domain brings to the server (see graph.domain)."""

from graph.domain import Domain

DOMAIN = Domain(name="monitoring")

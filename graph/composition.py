"""The composition root: the one module of graph/ that imports the domains."""

from __future__ import annotations

from graph.domain import Domain
from resolvers.audit.domain import DOMAIN as AUDIT
from resolvers.catalogue.domain import DOMAIN as CATALOGUE
from resolvers.identity.domain import DOMAIN as IDENTITY
from resolvers.mail.domain import DOMAIN as MAIL
from resolvers.remote.domain import DOMAIN as REMOTE

DOMAINS: tuple[Domain, ...] = (IDENTITY, AUDIT, MAIL, CATALOGUE, REMOTE)

for _domain in DOMAINS:
    for _hook, _handler in _domain.hooks:
        _hook.register(_handler)

"""The composition root: the one module of graph/ that imports the domains.

The entry points of graph/ (schema, runtime, app, cli) read what the domains bring from here; every
other graph/ module gets it passed in (e.g. graph.secrets.reseal_all takes the SEALED values).
"""

from __future__ import annotations

from graph.domain import Domain
from graph.secrets import SealedValues
from resolvers.audit.domain import DOMAIN as AUDIT
from resolvers.catalogue.domain import DOMAIN as CATALOGUE
from resolvers.identity.domain import DOMAIN as IDENTITY
from resolvers.mail.domain import DOMAIN as MAIL
from resolvers.remote.domain import DOMAIN as REMOTE

DOMAINS: tuple[Domain, ...] = (IDENTITY, AUDIT, MAIL, CATALOGUE, REMOTE)

#: Everything sealed with the master key, for `rotate-master-key`.
SEALED: tuple[SealedValues, ...] = tuple(values for domain in DOMAINS for values in domain.sealed)

for _domain in DOMAINS:
    for _hook, _handler in _domain.hooks:
        _hook.register(_handler)

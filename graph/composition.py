"""The composition root: the one module of graph/ that imports the domains.

The entry points of graph/ (schema, runtime, app, cli) read what the domains bring from here; every
other graph/ module gets it passed in (graph.secrets.reseal_all takes SEALED, graph.demo.seed_demo DEMO).
"""

from __future__ import annotations

from graph.demo import DemoStep
from graph.domain import Domain
from graph.secrets import SealedValues
from graph.settings import Settings
from resolvers.audit.domain import DOMAIN as AUDIT
from resolvers.catalogue.domain import DOMAIN as CATALOGUE
from resolvers.identity.domain import DOMAIN as IDENTITY
from resolvers.mail.domain import DOMAIN as MAIL
from resolvers.metering.domain import DOMAIN as METERING
from resolvers.monitoring.domain import DOMAIN as MONITORING
from resolvers.remote.domain import DOMAIN as REMOTE

DOMAINS: tuple[Domain, ...] = (IDENTITY, AUDIT, MAIL, CATALOGUE, REMOTE, MONITORING, METERING)

#: Everything sealed with the master key, for `rotate-master-key`.
SEALED: tuple[SealedValues, ...] = tuple(values for domain in DOMAINS for values in domain.sealed)

#: The domains' demo data, in composition order (graph.demo.seed_demo).
DEMO: tuple[DemoStep, ...] = tuple(step for domain in DOMAINS for step in domain.demo)


def check_settings(settings: Settings) -> None:
    """Every domain's settings checks (graph.domain.Domain.settings_checks); SettingsError at the first problem."""
    for domain in DOMAINS:
        for check in domain.settings_checks:
            check(settings)


for _domain in DOMAINS:
    for _hook, _handler in _domain.hooks:
        _hook.register(_handler)

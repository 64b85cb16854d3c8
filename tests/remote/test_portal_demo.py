"""The portal's demo (issue 18): IntegraDemo resells to Bakkerij Demo (a router placed at its shop, licences it was
given), has local network defaults its locations copied, and firewall rules; the bakery's admin is Dutch."""

from __future__ import annotations

from sqlalchemy import select

from graph.composition import DEMO
from graph.demo import seed_demo
from models import identity as m
from resolvers.remote.customers.demo import DEMO_BAKER
from tests.factories import issue_token

RESELLER = """{ customers { nodes { organisation { name } licences routerCount } }
  localNetworkDefaults { subnet gateway dnsServers }
  firewallRules { totalCount nodes { protocol ports description } }
  locations { nodes { name localNetwork { settings { subnet } } } } }"""
BAKER = """{ me { language darkMode menuPosition organisation { name } }
  locations { nodes { name router { commonName } localNetwork { settings { subnet gateway } reportedSubnet
    matchesRouter } } }
  connectionLicence { maxActive active } }"""


async def token_of(runtime, email: str) -> str:
    async with runtime.session_factory() as session, session.begin():
        return await issue_token(session, await session.scalar(select(m.User).where(m.User.email == email)))


async def test_the_demo_reseller_and_its_bakery(gql, runtime):
    assert await seed_demo(runtime.session_factory, runtime.sealer, DEMO)
    integra = (await gql(RESELLER, token=await token_of(runtime, "demo@integra-metering.com")))["data"]
    assert integra["customers"]["nodes"] == [
        {"organisation": {"name": "Bakkerij Demo"}, "licences": 3, "routerCount": 1}
    ]
    assert integra["localNetworkDefaults"] == {
        "subnet": "192.168.1.0/24",
        "gateway": "192.168.1.1",
        "dnsServers": ["192.168.1.1", "9.9.9.9"],
    }
    assert integra["firewallRules"]["totalCount"] == 3
    assert integra["firewallRules"]["nodes"][0] == {"protocol": "TCP", "ports": "443", "description": "HMI web panels"}
    # every location copied the defaults, the ones made before them too
    assert {n["name"]: n["localNetwork"]["settings"]["subnet"] for n in integra["locations"]["nodes"]} == {
        "Bakkerij Centrum": "192.168.1.0/24",
        "Pumpstation Nord": "192.168.1.0/24",
        "Wasserwerk Süd": "192.168.1.0/24",
    }

    baker = (await gql(BAKER, token=await token_of(runtime, DEMO_BAKER[1])))["data"]
    assert baker["me"] == {
        "language": "NL",
        "darkMode": True,
        "menuPosition": "TOP",
        "organisation": {"name": "Bakkerij Demo"},
    }
    assert baker["locations"]["nodes"] == [
        {
            "name": "Bakkerij Centrum",
            "router": {"commonName": "R_M26118014A81B8A10"},
            "localNetwork": {
                "settings": {"subnet": "192.168.1.0/24", "gateway": "192.168.1.1"},
                "reportedSubnet": "192.168.1.0/24",
                "matchesRouter": True,
            },
        }
    ]
    assert baker["connectionLicence"] == {"maxActive": 3, "active": 0}

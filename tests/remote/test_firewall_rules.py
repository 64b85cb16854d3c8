"""Firewall rules (issue 18, manual §12): kept by the platform per organisation, a read-only list for the
organisation's users; ports and networks checked (ipaddress), refusals typed and changing nothing."""

from __future__ import annotations

import pytest

from models import portal as pt
from tests.factories import snapshot

CREATE = """mutation($input: FirewallRuleCreateInput!) {
  firewallRuleCreate(input: $input) {
    rule { id direction protocol ports portFrom portTo source destination description }
    errors { code field message }
  }
}"""
DELETE = """mutation($input: FirewallRuleDeleteInput!) {
  firewallRuleDelete(input: $input) { deletedId errors { code field } }
}"""
LIST = """query($organisationId: ID) {
  firewallRules(organisationId: $organisationId, first: 100) { totalCount nodes { protocol ports source description } }
}"""
HTTPS = {
    "direction": "INBOUND",
    "protocol": "TCP",
    "ports": "443",
    "source": "0.0.0.0/0",
    "destination": "192.168.1.0/24",
    "description": "Web panel of the HMI",
}


async def create(gql, world, organisation: str = "a", token: str = "platform", **given) -> dict:
    values = {**HTTPS, "organisationId": world.id("Organisation", organisation), **given}
    result = await gql(CREATE, {"input": values}, token=world.tokens[token])
    assert "errors" not in result, result
    return result["data"]["firewallRuleCreate"]


async def test_the_platform_keeps_them_and_the_organisation_reads_them(gql, world, runtime):
    https = await create(gql, world)
    assert https["errors"] == []
    assert {k: v for k, v in https["rule"].items() if k != "id"} == {
        "direction": "INBOUND",
        "protocol": "TCP",
        "ports": "443",
        "portFrom": 443,
        "portTo": 443,
        "source": "0.0.0.0/0",
        "destination": "192.168.1.0/24",
        "description": "Web panel of the HMI",
    }
    ranged = await create(gql, world, protocol="UDP", ports=" 47808 - 47810 ", source="10.0.0.0/8", description="")
    assert (ranged["rule"]["ports"], ranged["rule"]["portFrom"], ranged["rule"]["portTo"]) == (
        "47808-47810",
        47808,
        47810,
    )
    ping = await create(gql, world, protocol="ICMP", ports=None, direction="OUTBOUND", destination="0.0.0.0/0")
    assert (ping["rule"]["ports"], ping["rule"]["portFrom"]) == ("any", None)
    v6 = await create(gql, world, ports="", source="::/0", destination="fd00:1::/64")
    assert v6["rule"]["ports"] == "any" and v6["rule"]["destination"] == "fd00:1::/64"
    await create(gql, world, organisation="b", description="B's own")

    # every user of A reads A's (a plain user too), never B's; A's admin may read a sub-organisation's
    for token in ("user_a", "admin_a"):
        listed = (await gql(LIST, token=world.tokens[token]))["data"]["firewallRules"]
        assert listed["totalCount"] == 4 and listed["nodes"][0]["description"] == "Web panel of the HMI"
    other = await gql(LIST, {"organisationId": world.id("Organisation", "b")}, token=world.tokens["admin_a"])
    assert other["data"]["firewallRules"]["totalCount"] == 0
    node = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": https["rule"]["id"]}, token=world.tokens["admin_b"]
    )
    assert node["data"]["node"] is None

    # read-only for the organisation: no tenant admin may add or delete
    before = await snapshot(runtime)
    assert (
        await gql(
            CREATE, {"input": {**HTTPS, "organisationId": world.id("Organisation", "a")}}, token=world.tokens["admin_a"]
        )
    )["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await gql(DELETE, {"input": {"id": https["rule"]["id"]}}, token=world.tokens["admin_a"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before
    deleted = await gql(DELETE, {"input": {"id": https["rule"]["id"]}}, token=world.tokens["platform"])
    assert deleted["data"]["firewallRuleDelete"] == {"deletedId": https["rule"]["id"], "errors": []}
    assert (await gql(LIST, token=world.tokens["user_a"]))["data"]["firewallRules"]["totalCount"] == 3


BAD = [
    ({"ports": "0"}, "ports", "1 to 65535"),
    ({"ports": "65536"}, "ports", "1 to 65535"),
    ({"ports": "100-90"}, "ports", "lower port"),
    ({"ports": "80,443"}, "ports", "range"),
    ({"ports": "http"}, "ports", "range"),
    ({"protocol": "ICMP", "ports": "443"}, "ports", "no ports"),
    ({"protocol": "ANY", "ports": "1-10"}, "ports", "no ports"),
    ({"source": "10.0.0.1/8"}, "source", "network is 10.0.0.0/8"),
    ({"source": "10.0.0.0/33"}, "source", "CIDR"),
    ({"source": ""}, "source", "required"),
    ({"destination": "somewhere"}, "destination", "CIDR"),
    ({"destination": "::/0"}, "destination", "same IP version"),
    ({"description": "x" * 501}, "description", ""),
]


@pytest.mark.parametrize(
    ("given", "field", "message"), BAD, ids=[f"{c[1]}:{list(c[0].values())[-1]!s:.12}" for c in BAD]
)
async def test_bad_rules_are_refused_and_change_nothing(gql, world, runtime, given, field, message):
    before = await snapshot(runtime)
    refused = await create(gql, world, **given)
    assert refused["rule"] is None
    [error] = refused["errors"]
    assert error["field"] == [field] and message.lower() in error["message"].lower(), error
    assert await snapshot(runtime) == before


async def test_unknown_and_other_organisations_are_not_found(gql, world, runtime):
    before = await snapshot(runtime)
    for bad in ("Tm9uc2Vuc2U6MQ", world.id("User", "admin_a")):
        refused = await create(gql, world, organisationId=bad)
        assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    gone = await gql(DELETE, {"input": {"id": "RmlyZXdhbGxSdWxlOjk5OTk"}}, token=world.tokens["platform"])
    assert [e["code"] for e in gone["data"]["firewallRuleDelete"]["errors"]] == ["NOT_FOUND"]
    assert await snapshot(runtime) == before


async def test_the_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    counts = []
    for size in (3, 30):
        async with runtime.session_factory() as session, session.begin():
            for n in range(size):
                session.add(
                    pt.FirewallRule(
                        organisation_id=world.organisations["a"].id,
                        direction=pt.FirewallDirection.INBOUND,
                        protocol=pt.FirewallProtocol.TCP,
                        port_from=1000 + n,
                        port_to=1000 + n,
                        source="0.0.0.0/0",
                        destination="192.168.1.0/24",
                    )
                )
        with count_sql() as counter:
            result = await gql(LIST, token=world.tokens["user_a"])
        assert result["data"]["firewallRules"]["totalCount"] in (3, 33)
        counts.append(counter.count)
    # authentication + page + totalCount
    assert counts == [3, 3]

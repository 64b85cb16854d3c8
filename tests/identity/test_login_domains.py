"""Own login domains (issue 18, manual §14): registered per organisation, verified by a DNS TXT record that a
real DNS server on 127.0.0.1 answers (dnspython on both sides), then logins on that domain (the request's Host)
need no customer number."""

from __future__ import annotations

import asyncio
import dataclasses

import dns.message
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import httpx
import pytest
from sqlalchemy import select, update

from models import branding as br
from models import identity as m
from models.audit import AuditEvent
from tests.factories import PASSWORD, add_organisation, add_user, issue_token, snapshot

ADD = """mutation($input: LoginDomainAddInput!) {
  loginDomainAdd(input: $input) {
    loginDomain { id domain state txtRecordName txtRecordValue verifiedAt } errors { code field message } } }"""
VERIFY = """mutation($input: LoginDomainIdInput!) {
  loginDomainVerify(input: $input) { loginDomain { domain state verifiedAt } errors { code field message } } }"""
DELETE = """mutation($input: LoginDomainIdInput!) {
  loginDomainDelete(input: $input) { deletedId errors { code field message } } }"""
DOMAINS = "query($id: ID) { loginDomains(organisationId: $id) { totalCount nodes { domain state } } }"
LOGIN = """mutation($input: LoginInput!) {
  login(input: $input) { accessToken user { email } errors { code field message } } }"""


class TxtServer(asyncio.DatagramProtocol):
    """A small DNS server: answers TXT queries from `records` (name -> values), NXDOMAIN for anything else."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        self.queries.append(name)
        values = self.records.get(name)
        if values is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, 60, dns.rdataclass.IN, dns.rdatatype.TXT, [f'"{v}"' for v in values]
                )
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), address)


@pytest.fixture
async def dns_server(runtime, monkeypatch):
    """The TXT server on 127.0.0.1 and the runtime's settings pointing at it."""
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(TxtServer, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    monkeypatch.setattr(runtime, "settings", dataclasses.replace(runtime.settings, dns_nameservers=f"127.0.0.1:{port}"))
    yield server
    transport.close()


def problems(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]


async def add(gql, token: str, domain: str, organisation_id: str | None = None) -> dict:
    variables = {"input": {"domain": domain, "organisationId": organisation_id}}
    return (await gql(ADD, variables, token=token))["data"]["loginDomainAdd"]


def publish(server: TxtServer, added: dict) -> None:
    domain = added["loginDomain"]
    server.records.setdefault(domain["txtRecordName"], []).append(domain["txtRecordValue"])


async def test_a_domain_is_pending_until_its_txt_record_is_published(gql, world, runtime, dns_server):
    token = world.tokens["admin_a"]
    added = await add(gql, token, " Portal.Acme.Example. ")
    assert added["errors"] == []
    domain = added["loginDomain"]
    assert domain["domain"] == "portal.acme.example" and domain["state"] == "PENDING"
    assert domain["txtRecordName"] == "_fleetgraph-verification.portal.acme.example"
    assert domain["txtRecordValue"].startswith("fleetgraph-verification=") and domain["verifiedAt"] is None

    # not published yet (NXDOMAIN), then a record with another value: refused, nothing changes
    before = await snapshot(runtime)
    not_yet = (await gql(VERIFY, {"input": {"id": domain["id"]}}, token=token))["data"]["loginDomainVerify"]
    assert problems(not_yet) == [("NOT_VERIFIED", ["id"])]
    dns_server.records[domain["txtRecordName"]] = ["fleetgraph-verification=someone-elses-token"]
    wrong = (await gql(VERIFY, {"input": {"id": domain["id"]}}, token=token))["data"]["loginDomainVerify"]
    assert problems(wrong) == [("NOT_VERIFIED", ["id"])]
    assert await snapshot(runtime) == before
    assert dns_server.queries == [domain["txtRecordName"]] * 2  # the check asked the configured server

    publish(dns_server, added)
    verified = (await gql(VERIFY, {"input": {"id": domain["id"]}}, token=token))["data"]["loginDomainVerify"]
    assert verified["errors"] == [] and verified["loginDomain"]["state"] == "VERIFIED"
    assert verified["loginDomain"]["verifiedAt"]
    # verifying again changes nothing and needs no lookup
    again = (await gql(VERIFY, {"input": {"id": domain["id"]}}, token=token))["data"]["loginDomainVerify"]
    assert again["loginDomain"] == verified["loginDomain"] and len(dns_server.queries) == 3
    listed = (await gql(DOMAINS, {}, token=token))["data"]["loginDomains"]
    assert listed == {"totalCount": 1, "nodes": [{"domain": "portal.acme.example", "state": "VERIFIED"}]}
    async with runtime.session_factory() as session:
        actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["login_domain.added", "login_domain.verified"]


async def test_bad_and_duplicate_domains_are_refused(gql, world, runtime):
    token = world.tokens["admin_a"]
    assert (await add(gql, token, "portal.acme.example"))["errors"] == []
    before = await snapshot(runtime)
    for bad in ("", "localhost", "not a domain", "-x.example", "a..example", "acme.example/path", "x" * 260 + ".com"):
        assert problems(await add(gql, token, bad)) == [("INVALID", ["domain"])], bad
    assert problems(await add(gql, token, "PORTAL.acme.example")) == [("DUPLICATE", ["domain"])]
    assert await snapshot(runtime) == before


async def test_a_domain_verified_by_one_organisation_cannot_be_taken_by_another(gql, world, runtime, dns_server):
    first = await add(gql, world.tokens["admin_a"], "portal.shared.example")
    publish(dns_server, first)
    ok = await gql(VERIFY, {"input": {"id": first["loginDomain"]["id"]}}, token=world.tokens["admin_a"])
    assert ok["data"]["loginDomainVerify"]["errors"] == []
    # B may register it (it cannot know), and even publish its own token: verifying is refused
    second = await add(gql, world.tokens["admin_b"], "portal.shared.example")
    assert second["errors"] == []
    publish(dns_server, second)
    before = await snapshot(runtime)
    taken = await gql(VERIFY, {"input": {"id": second["loginDomain"]["id"]}}, token=world.tokens["admin_b"])
    assert problems(taken["data"]["loginDomainVerify"]) == [("DUPLICATE", ["id"])]
    assert await snapshot(runtime) == before


async def test_of_parallel_verifications_by_many_organisations_one_wins(client, world, runtime, dns_server):
    """Eight organisations verify the same domain at once (each published its token): the unique verified
    domain lets exactly one through."""
    tokens = []
    async with runtime.session_factory() as session, session.begin():
        for i in range(8):
            organisation = await add_organisation(session, f"Claimant {i}")
            admin = await add_user(session, organisation, f"admin@claimant{i}.example", [m.Role.ORGANISATION_ADMIN])
            tokens.append(await issue_token(session, admin))
    gql = _Gql(client)
    ids = []
    for token in tokens:
        added = await add(gql, token, "contested.example")
        publish(dns_server, added)
        ids.append(added["loginDomain"]["id"])
    answers = await asyncio.gather(
        *(gql(VERIFY, {"input": {"id": id_}}, token=token) for id_, token in zip(ids, tokens, strict=True))
    )
    payloads = [answer["data"]["loginDomainVerify"] for answer in answers]
    assert sorted(tuple(problems(p)) for p in payloads) == [()] + [(("DUPLICATE", ["id"]),)] * 7
    async with runtime.session_factory() as session:
        states = (await session.scalars(select(br.LoginDomain.state))).all()
    assert sorted(states) == ["PENDING"] * 7 + ["VERIFIED"]


class _Gql:
    def __init__(self, client) -> None:
        self.client = client

    async def __call__(self, query: str, variables: dict, token: str | None = None, host: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if host:
            headers["Host"] = host
        response = await self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


async def test_delete_a_login_domain(gql, world, runtime):
    added = await add(gql, world.tokens["admin_a"], "portal.acme.example")
    deleted = await gql(DELETE, {"input": {"id": added["loginDomain"]["id"]}}, token=world.tokens["admin_a"])
    assert deleted["data"]["loginDomainDelete"] == {"deletedId": added["loginDomain"]["id"], "errors": []}
    assert (await gql(DOMAINS, {}, token=world.tokens["admin_a"]))["data"]["loginDomains"]["totalCount"] == 0


async def test_login_on_a_verified_domain_needs_no_customer_number(world, runtime, live_server, dns_server):
    """End to end over HTTP (uvicorn on 127.0.0.1): the Host header names the organisation."""
    async with runtime.session_factory() as session, session.begin():
        await session.execute(update(m.User).where(m.User.id == world.users["user_a"].id).values(username="jan"))
        await session.execute(update(m.User).where(m.User.id == world.users["user_b"].id).values(username="piet"))
        session.add(br.Theme(organisation_id=world.organisations["a"].id, enabled=True, name="Acme"))
    async with httpx.AsyncClient(base_url=f"http://{live_server}") as http:
        gql = _Gql(http)
        added = await gql(ADD, {"input": {"domain": "portal.acme.example"}}, token=world.tokens["admin_a"])
        domain = added["data"]["loginDomainAdd"]["loginDomain"]

        async def login(host: str, **credentials) -> dict:
            variables = {"input": {"password": PASSWORD, **credentials}}
            return (await gql(LOGIN, variables, host=host))["data"]["login"]

        # pending: the domain names nobody yet
        pending = await login("portal.acme.example", username="jan")
        assert problems(pending) == [("REQUIRED", ["customerNumber"])]
        publish(dns_server, {"loginDomain": domain})
        verified = await gql(VERIFY, {"input": {"id": domain["id"]}}, token=world.tokens["admin_a"])
        assert verified["data"]["loginDomainVerify"]["errors"] == []

        ok = await login("Portal.Acme.Example:443", username="JAN")
        assert ok["errors"] == [] and ok["user"] == {"email": "user@a.example"} and ok["accessToken"]
        # B's "piet" does not log in on A's domain; the answer is the one for a wrong password
        other = await login("portal.acme.example", username="piet")
        wrong = await login("portal.acme.example", username="jan", password="Wrong-Horse#Battery9")
        assert problems(other) == problems(wrong) == [("INVALID_CREDENTIALS", None)]
        assert other["errors"] == wrong["errors"]
        # elsewhere the customer number is needed
        assert problems(await login(live_server, username="jan")) == [("REQUIRED", ["customerNumber"])]
        # the login page on the domain reads A's theme without a customer number
        theme = await gql("{ loginTheme { name } }", {}, host="portal.acme.example")
        assert theme["data"]["loginTheme"] == {"name": "Acme"}
        assert (await gql("{ loginTheme { name } }", {}, host="elsewhere.example"))["data"]["loginTheme"] is None


def test_the_nameserver_setting_is_checked_at_start():
    from graph.settings import Settings, SettingsError

    assert Settings(dns_nameservers="").dns_nameserver_list == []
    assert Settings(dns_nameservers="127.0.0.1:5353, 9.9.9.9").dns_nameserver_list == [
        ("127.0.0.1", 5353),
        ("9.9.9.9", 53),
    ]
    assert Settings(dns_nameservers="::1").dns_nameserver_list == [("::1", 53)]
    for bad in ("dns.example", "127.0.0.1:0", "127.0.0.1:x", "300.1.1.1"):
        with pytest.raises(SettingsError):
            Settings(dns_nameservers=bad)


async def test_the_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    async def statements(expected: int) -> int:
        with count_sql() as counter:
            result = await gql(DOMAINS, {}, token=world.tokens["admin_a"])
        assert result["data"]["loginDomains"]["totalCount"] == expected
        return counter.count

    async def add_domains(numbers: range) -> None:
        async with runtime.session_factory() as session, session.begin():
            organisation_id = world.organisations["a"].id
            session.add_all(
                br.LoginDomain(organisation_id=organisation_id, domain=f"p{i}.acme.example", token="0" * 32)
                for i in numbers
            )

    await add_domains(range(2))
    few = await statements(2)
    await add_domains(range(2, 30))
    # authentication 1 + page 1 + totalCount 1
    assert few == await statements(30) == 3

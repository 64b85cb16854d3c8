"""Customers and resellers (issue 18, manual §24): adding a customer in one step (its admin's login mail on a real
SMTP server), giving and taking back connection licences (a pool that parallel gifts cannot overdraw), and
routers the customer places at its own locations."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from graph.relay import to_global_id
from models import identity as m
from models import portal as pt
from models import remote as r
from models.mail import OutboxMessage
from resolvers.mail.workers.delivery import deliver_due
from tests.burst import burst
from tests.factories import (
    add_connection,
    add_connection_licence,
    add_location,
    add_organisation,
    add_router,
    add_user,
    issue_token,
    snapshot,
)
from tests.identity.invitation_helpers import accept, token_of
from tests.remote.helpers import LOCATION_CREATE, register
from tests.smtp import smtp_server, smtp_settings

ERRORS = "errors { code field message }"
ADD = f"""mutation($input: CustomerAddInput!) {{
  customerAdd(input: $input) {{ customer {{ organisation {{ id name yourReference }} licences routerCount }} {ERRORS} }}
}}"""
GIVE = f"""mutation($input: CustomerLicencesInput!) {{
  customerLicencesGive(input: $input) {{ licences customer {{ licences activeConnections }} {ERRORS} }}
}}"""
TAKE_BACK = f"""mutation($input: CustomerLicencesInput!) {{
  customerLicencesTakeBack(input: $input) {{ licences {ERRORS} }}
}}"""
ROUTER_ASSIGN = f"""mutation($input: CustomerRouterAssignInput!) {{
  customerRouterAssign(input: $input) {{ router {{ commonName organisation {{ name }} }} {ERRORS} }}
}}"""
ROUTER_TAKE_BACK = f"""mutation($input: CustomerRouterTakeBackInput!) {{
  customerRouterTakeBack(input: $input) {{ router {{ commonName organisation {{ name }} }} {ERRORS} }}
}}"""
CUSTOMERS = """{ customers(first: 100) { totalCount nodes { organisation { name } licences activeConnections
  routerCount } } }"""
NEW = {"name": "Bakkerij Jansen", "yourReference": "K-100", "adminName": "Jan Jansen", "adminEmail": "jan@bakkerij.nl"}


async def add_customer_row(runtime, world, name: str, licences: int = 0, reseller: str = "a") -> m.Organisation:
    async with runtime.session_factory() as session, session.begin():
        parent = await session.get(m.Organisation, world.organisations[reseller].id)
        organisation = await add_organisation(session, name, parent)
        session.add(pt.Customer(organisation_id=organisation.id, reseller_id=parent.id))
        await add_connection_licence(session, organisation.id, licences)
        return organisation


async def pool(runtime, organisation_id: int) -> int | None:
    async with runtime.session_factory() as session:
        return await session.scalar(
            select(r.ConnectionLicence.max_active_connections).where(
                r.ConnectionLicence.organisation_id == organisation_id
            )
        )


async def set_pool(runtime, organisation_id: int, count: int) -> None:
    async with runtime.session_factory() as session, session.begin():
        await add_connection_licence(session, organisation_id, count)


async def call(gql, world, document: str, values: dict, token: str = "admin_a") -> dict:
    result = await gql(document, {"input": values}, token=world.tokens[token])
    assert "errors" not in result, result
    return next(iter(result["data"].values()))


async def test_adding_a_customer_mails_its_admin_in_their_language(gql, world, runtime):
    added = await call(gql, world, ADD, {**NEW, "language": "NL"})
    assert added["errors"] == [], added
    assert added["customer"]["organisation"]["name"] == "Bakkerij Jansen"
    assert (added["customer"]["licences"], added["customer"]["routerCount"]) == (0, 0)  # an empty pool, not unlimited

    with smtp_server() as (controller, collector):
        assert await deliver_due(runtime, settings=smtp_settings(runtime, controller.port)) == 1
    [message] = collector.messages
    assert message["To"] == "jan@bakkerij.nl"
    assert message["Subject"] == "Admin nodigt u uit voor Bakkerij Jansen"
    body = message.get_body(("plain",)).get_content()
    assert "Beste Jan Jansen," in body and "één keer worden gebruikt" in body

    registered = await accept(gql, token_of(body))
    assert registered["errors"] == [], registered
    user = registered["user"]
    assert (user["organisation"], user["roles"], user["language"]) == (
        {"name": "Bakkerij Jansen"},
        ["ORGANISATION_ADMIN"],
        "NL",
    )
    listed = (await gql(CUSTOMERS, token=world.tokens["admin_a"]))["data"]["customers"]
    assert listed["nodes"] == [
        {"organisation": {"name": "Bakkerij Jansen"}, "licences": 0, "activeConnections": 0, "routerCount": 0}
    ]
    assert (await gql(CUSTOMERS, token=world.tokens["admin_b"]))["data"]["customers"]["totalCount"] == 0


REFUSED = [
    ({"name": " "}, "REQUIRED", ["name"]),
    ({"adminName": ""}, "REQUIRED", ["adminName"]),
    ({"adminEmail": ""}, "REQUIRED", ["adminEmail"]),
    ({"adminEmail": "not an address"}, "INVALID", ["adminEmail"]),
    ({"adminEmail": "user@a.example"}, "DUPLICATE", ["adminEmail"]),  # a user of A's already has it
]


@pytest.mark.parametrize(("given", "code", "field"), REFUSED, ids=[case[1] + "-" + case[2][0] for case in REFUSED])
async def test_a_refused_customer_stores_nothing_and_sends_nothing(gql, world, runtime, given, code, field):
    before = await snapshot(runtime)
    refused = await call(gql, world, ADD, {**NEW, **given})
    assert refused["customer"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert await snapshot(runtime) == before  # no organisation, invitation, licence, audit event or mail


async def test_only_resellers_add_customers(gql, world, runtime):
    async with runtime.session_factory() as session, session.begin():
        a1 = await session.get(m.Organisation, world.organisations["a1"].id)
        admin_a1 = await issue_token(
            session, await add_user(session, a1, "admin@a1.example", [m.Role.ORGANISATION_ADMIN])
        )
    before = await snapshot(runtime)
    not_a_reseller = await gql(ADD, {"input": NEW}, token=admin_a1)  # A1 may not create organisations
    assert [e["code"] for e in not_a_reseller["data"]["customerAdd"]["errors"]] == ["NOT_ALLOWED"]
    plain = await gql(ADD, {"input": NEW}, token=world.tokens["user_a"])
    assert plain["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await snapshot(runtime) == before


async def test_licences_move_between_the_pools_and_never_beyond_what_is_free(gql, world, runtime):
    reseller = world.organisations["a"].id
    customer = await add_customer_row(runtime, world, "Bakkerij Demo")
    customer_id = to_global_id("Organisation", customer.id)

    # without a pool of its own (unlimited) a reseller has nothing to give
    assert [e["code"] for e in (await call(gql, world, GIVE, {"customerId": customer_id, "count": 1}))["errors"]] == [
        "NOT_ENOUGH_LICENCES"
    ]
    await set_pool(runtime, reseller, 10)
    given = await call(gql, world, GIVE, {"customerId": customer_id, "count": 4})
    assert (given["licences"], given["customer"], given["errors"]) == (4, {"licences": 4, "activeConnections": 0}, [])
    assert await pool(runtime, reseller) == 6

    # the reseller's own active connections keep theirs: 6 held, 1 in use, 5 free
    async with runtime.session_factory() as session, session.begin():
        own = await add_location(session, reseller, "Reseller depot")
        await add_connection(session, own, world.users["user_a"].id, "R_OWN")
        at_customer = await add_location(session, customer.id, "Bakery")
        for n in range(3):
            user = await add_user(session, customer, f"baker{n}@bakkerij.example", [m.Role.USER])
            await add_connection(session, at_customer, user.id, "R_BAKERY")
    before = await snapshot(runtime)
    for document, count, code in ((GIVE, 6, "NOT_ENOUGH_LICENCES"), (TAKE_BACK, 2, "LICENCES_IN_USE")):
        refused = await call(gql, world, document, {"customerId": customer_id, "count": count})
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, ["count"])], refused
    for count in (0, -1, 100_001):
        refused = await call(gql, world, GIVE, {"customerId": customer_id, "count": count})
        assert [e["code"] for e in refused["errors"]] == ["INVALID"]
    assert await snapshot(runtime) == before

    # one free licence of the customer's (4 held, 3 in use) goes back
    assert (await call(gql, world, TAKE_BACK, {"customerId": customer_id, "count": 1}))["licences"] == 3
    assert (await pool(runtime, reseller), await pool(runtime, customer.id)) == (7, 3)
    # another reseller cannot name A's customer
    other = await call(gql, world, GIVE, {"customerId": customer_id, "count": 1}, token="admin_b")
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]


async def test_parallel_gifts_never_overdraw_the_pool(gql, world, runtime):
    """Eight gifts of 3 from a pool of 10: exactly three succeed; nothing goes negative, nothing is lost."""
    reseller = world.organisations["a"].id
    await set_pool(runtime, reseller, 10)
    customers = [await add_customer_row(runtime, world, f"Customer {n}") for n in range(2)]

    async def gift(index: int) -> dict:
        target = to_global_id("Organisation", customers[index % 2].id)
        return await call(gql, world, GIVE, {"customerId": target, "count": 3})

    results = await burst(runtime, 8, gift)
    assert sum(1 for result in results if result["errors"] == []) == 3
    assert {e["code"] for result in results for e in result["errors"]} == {"NOT_ENOUGH_LICENCES"}
    held = [await pool(runtime, reseller)] + [await pool(runtime, c.id) for c in customers]
    assert held[0] == 1 and min(held) >= 0 and sum(held) == 10
    async with runtime.session_factory() as session:
        given = await session.scalar(
            select(func.count())
            .select_from(pt.Customer)
            .join(r.ConnectionLicence, r.ConnectionLicence.organisation_id == pt.Customer.organisation_id)
        )
    assert given == 2

    async def take_back(index: int) -> dict:
        target = to_global_id("Organisation", customers[index % 2].id)
        return await call(gql, world, TAKE_BACK, {"customerId": target, "count": 2})

    back = await burst(runtime, 8, take_back)
    after = [await pool(runtime, reseller)] + [await pool(runtime, c.id) for c in customers]
    assert min(after) >= 0 and sum(after) == 10
    assert after[0] == 1 + 2 * sum(1 for result in back if result["errors"] == [])


async def test_routers_go_to_customers_who_place_them(gql, world, runtime):
    customer = await add_customer_row(runtime, world, "Bakkerij Demo")
    customer_id = to_global_id("Organisation", customer.id)
    router = await register(gql, world, "R_RESOLD1", "00:00:00:00:0a:01", "SN-RESOLD-1")
    placed = await register(gql, world, "R_RESOLD2", "00:00:00:00:0a:02", "SN-RESOLD-2")
    of_b = await register(gql, world, "R_OFB", "00:00:00:00:0a:03", "SN-OFB", organisation="b")
    assert (await call(gql, world, LOCATION_CREATE, {"name": "Own depot", "routerId": placed}))["errors"] == []
    async with runtime.session_factory() as session, session.begin():
        baker = await issue_token(
            session, await add_user(session, customer, "admin@bakkerij.example", [m.Role.ORGANISATION_ADMIN])
        )

    before = await snapshot(runtime)
    for values, code in (
        ({"routerId": placed, "customerId": customer_id}, "ROUTER_IN_USE"),
        ({"routerId": of_b, "customerId": customer_id}, "NOT_FOUND"),
        ({"routerId": router, "customerId": world.id("Organisation", "a1")}, "NOT_FOUND"),  # a1 is no customer
    ):
        refused = await call(gql, world, ROUTER_ASSIGN, values)
        assert [e["code"] for e in refused["errors"]] == [code], refused
    own = await call(gql, world, ROUTER_TAKE_BACK, {"routerId": router})
    assert [e["code"] for e in own["errors"]] == ["WRONG_ORGANISATION"]
    assert await snapshot(runtime) == before

    given = await call(gql, world, ROUTER_ASSIGN, {"routerId": router, "customerId": customer_id})
    assert given == {"router": {"commonName": "R_RESOLD1", "organisation": {"name": "Bakkerij Demo"}}, "errors": []}
    # the customer places it at a location of its own (the existing location mutation)
    result = await gql(LOCATION_CREATE, {"input": {"name": "Bakery", "routerId": router}}, token=baker)
    location = result["data"]["locationCreate"]
    assert location["errors"] == [] and location["location"]["router"] == {"commonName": "R_RESOLD1"}
    # ... where it cannot be taken back
    in_use = await call(gql, world, ROUTER_TAKE_BACK, {"routerId": router})
    assert [e["code"] for e in in_use["errors"]] == ["ROUTER_IN_USE"]
    off = await gql(
        "mutation($input: LocationAssignRouterInput!) { locationAssignRouter(input: $input) { errors { code } } }",
        {"input": {"locationId": location["location"]["id"], "routerId": None}},
        token=baker,
    )
    assert off["data"]["locationAssignRouter"]["errors"] == []
    back = await call(gql, world, ROUTER_TAKE_BACK, {"routerId": router})
    assert back["router"]["organisation"] == {"name": "Tenant A"}
    # B's admin reaches none of it
    other = await call(gql, world, ROUTER_TAKE_BACK, {"routerId": placed}, token="admin_b")
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]


async def test_the_customer_list_runs_in_a_fixed_number_of_statements(gql, world, runtime, count_sql):
    counts = []
    for size in (3, 30):
        for n in range(size):
            customer = await add_customer_row(runtime, world, f"Customer {size}-{n:02d}", licences=n)
            async with runtime.session_factory() as session, session.begin():
                await add_router(
                    session, customer.id, f"R_C{size}X{n}", f"02:01:00:00:{size:02x}:{n:02x}", f"C{size}-{n}"
                )
        with count_sql() as counter:
            result = await gql(CUSTOMERS, token=world.tokens["admin_a"])
        assert result["data"]["customers"]["totalCount"] in (3, 33)
        counts.append(counter.count)
    # authentication + page + totalCount + organisations + licences + active connections + routers
    assert counts == [7, 7]


async def test_nothing_leaves_the_outbox_for_a_refusal(gql, world, runtime):
    await call(gql, world, ADD, {**NEW, "adminEmail": "bad"})
    async with runtime.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

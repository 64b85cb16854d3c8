"""graph.relay.parent_pages / paginate_parent: one page per parent, both ways, one statement for a list."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select

from graph.auth import authenticate
from graph.context import Context
from graph.errors import BadUserInput
from graph.relay import encode_cursor, paginate_parent
from models import catalogue as c
from resolvers.catalogue.batches.loaders import DEVICE_ORDER, device_pages
from resolvers.catalogue.product_types.rules import MANUFACTURER, ensure_product_types

#: Devices per batch: "X" has five of admin A's and one of B's (never visible to A), "Y" two, "Z" none.
BATCHES = {"X": ["X-05", "X-01", "X-04", "X-02", "X-03"], "Y": ["Y-02", "Y-01"], "Z": []}


async def seed(runtime, world) -> dict[str, int]:
    a, b = world.organisations["a"].id, world.organisations["b"].id
    async with runtime.session_factory() as session, session.begin():
        await ensure_product_types(session)
        product_type = await session.scalar(select(c.ProductType.id).where(c.ProductType.name == "TOPAS Mbus"))
        batches = {}
        for reference, serials in BATCHES.items():
            batch = c.Batch(reference=reference, label="l", sender_organisation_id=a, organisation_id=a)
            session.add(batch)
            await session.flush()
            batches[reference] = batch.id
            owners = [(serial, a) for serial in serials] + ([("X-00-B", b)] if reference == "X" else [])
            for serial, owner in owners:
                device = c.Device(
                    manufacturer=MANUFACTURER,
                    serial_number=serial,
                    product_type_id=product_type,
                    organisation_id=owner,
                    batch_id=batch.id,
                )
                session.add(device)
                await session.flush()
                await session.execute(insert(c.BatchDevice), [{"batch_id": batch.id, "device_id": device.id}])
    return batches


@pytest.fixture
async def context(runtime, world):
    principal, _ = await authenticate(runtime.session_factory, world.tokens["admin_a"])
    return Context(runtime, principal=principal)


async def no_count() -> int:
    raise AssertionError("not asked")


def page(context, batch_pk, **arguments):
    return paginate_parent(context, device_pages, batch_pk, DEVICE_ORDER, lambda device: device, no_count, **arguments)


def summary(connection):
    info = connection.page_info
    return (
        [device.serial_number for device in connection.nodes],
        info.has_previous_page,
        info.has_next_page,
    )


def check_cursors(connection):
    assert [edge.cursor() for edge in connection.edges] == [
        encode_cursor([device.serial_number, device.id]) for device in connection.nodes
    ]
    info = connection.page_info
    assert info.start_cursor == (connection.edges[0].cursor() if connection.edges else None)
    assert info.end_cursor == (connection.edges[-1].cursor() if connection.edges else None)


async def test_forward_pages_of_a_list_of_parents_in_one_statement(runtime, world, context, count_sql):
    batches = await seed(runtime, world)
    with count_sql() as counter:
        x, y, z = await asyncio.gather(*(page(context, batches[k], first=2, after=None) for k in "XYZ"))
    assert counter.count == 1  # ROW_NUMBER over the batch: one statement for every parent
    assert summary(x) == (["X-01", "X-02"], False, True)
    assert summary(y) == (["Y-01", "Y-02"], False, False)
    assert summary(z) == ([], False, False)
    for connection in (x, y, z):
        check_cursors(connection)

    following = await page(context, batches["X"], first=2, after=x.page_info.end_cursor)
    assert summary(following) == (["X-03", "X-04"], True, True)
    last = await page(context, batches["X"], first=2, after=following.page_info.end_cursor)
    assert summary(last) == (["X-05"], True, False)  # B's device X-00-B is not A's to see
    check_cursors(last)


async def test_backward_pages(runtime, world, context, count_sql):
    batches = await seed(runtime, world)
    with count_sql() as counter:
        x, y = await asyncio.gather(*(page(context, batches[k], first=None, after=None, last=2) for k in "XY"))
    assert counter.count == 1
    assert summary(x) == (["X-04", "X-05"], True, False)
    assert summary(y) == (["Y-01", "Y-02"], False, False)
    check_cursors(x)

    earlier = await page(context, batches["X"], first=None, after=None, last=2, before=x.page_info.start_cursor)
    assert summary(earlier) == (["X-02", "X-03"], True, True)
    first = await page(context, batches["X"], first=None, after=None, last=2, before=earlier.page_info.start_cursor)
    assert summary(first) == (["X-01"], False, True)
    check_cursors(first)


async def test_a_window_between_two_cursors_and_different_arguments(runtime, world, context, count_sql):
    batches = await seed(runtime, world)
    start = await page(context, batches["X"], first=1, after=None)
    end = await page(context, batches["X"], first=None, after=None, last=1)
    window = await page(
        context, batches["X"], first=5, after=start.page_info.end_cursor, before=end.page_info.start_cursor
    )
    assert [device.serial_number for device in window.nodes] == ["X-02", "X-03", "X-04"]
    assert window.page_info.has_previous_page and not window.page_info.has_next_page

    with count_sql() as counter:
        await asyncio.gather(
            page(context, batches["X"], first=2, after=None),
            page(context, batches["Y"], first=2, after=None),
            page(context, batches["X"], first=2, after=start.page_info.end_cursor),
        )
    assert counter.count == 2  # a statement per distinct set of page arguments, not per parent


async def test_bad_page_arguments(runtime, world, context):
    batches = await seed(runtime, world)
    with pytest.raises(BadUserInput, match="either `first` or `last`"):
        await page(context, batches["X"], first=1, after=None, last=1)
    with pytest.raises(BadUserInput, match="`first` must be between"):
        await page(context, batches["X"], first=5001, after=None)
    with pytest.raises(BadUserInput, match="Invalid cursor"):
        await page(context, batches["X"], first=1, after="not-a-cursor")

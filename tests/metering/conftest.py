"""Fixtures of the metering tests: two consumers in one consumers' organisation under tenant A."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from models import identity as m
from tests.factories import add_organisation, add_user, issue_token


@dataclass
class Consumers:
    organisation: m.Organisation
    users: dict[str, m.User]
    tokens: dict[str, str]


@pytest.fixture
async def consumers(runtime, world) -> Consumers:
    """olga and ivan, consumers of "Consumers A" (a child of tenant A, whose staff see their points)."""
    async with runtime.session_factory() as session, session.begin():
        organisation = await add_organisation(session, "Consumers A", world.organisations["a"])
        users = {
            name: await add_user(session, organisation, f"{name}@consumer.example", [m.Role.CONSUMER])
            for name in ("olga", "ivan")
        }
        tokens = {name: await issue_token(session, user) for name, user in users.items()}
    return Consumers(organisation, users, tokens)

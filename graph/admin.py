"""Creating a platform admin from the command line (no GraphQL caller exists yet)."""

from __future__ import annotations

from sqlalchemy import select

from graph.db import create_engine, create_session_factory
from graph.passwords import check_policy, hash_password
from graph.settings import Settings
from models import identity as m


class AdminError(Exception):
    pass


async def create_platform_admin(
    settings: Settings, *, email: str, name: str, organisation_name: str, password: str
) -> None:
    email = email.strip().lower()
    problems = check_policy(password, email=email, name=name, organisation=organisation_name)
    if problems:
        raise AdminError("the password " + "; ".join(p.message for p in problems))
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            if await session.scalar(select(m.User.id).where(m.User.email == email)) is not None:
                raise AdminError(f"a user with e-mail {email} exists")
            organisation = await session.scalar(
                select(m.Organisation).where(
                    m.Organisation.name == organisation_name, m.Organisation.parent_id.is_(None)
                )
            )
            if organisation is None:
                organisation = m.Organisation(name=organisation_name)
                session.add(organisation)
                await session.flush()
                organisation.path = f"/{organisation.id}/"
            user = m.User(
                organisation_id=organisation.id, email=email, name=name, password_hash=hash_password(password)
            )
            session.add(user)
            await session.flush()
            session.add(m.PasswordHistory(user_id=user.id, password_hash=user.password_hash))
            session.add(m.UserRole(user_id=user.id, role=m.Role.PLATFORM_ADMIN))
    finally:
        await engine.dispose()

"""The data dir and the SQLite files are private to the server's user, like the master key (issue 11)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sqlalchemy import text

from graph.db import create_engine
from graph.secrets import load_sealer
from graph.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def usual_umask():
    """The common 022: without the fix SQLite makes its files 0644 (readable by every local user)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def _write_something(settings: Settings) -> dict[str, int]:
    """Modes of the data dir's files while a connection is open (the -wal and -shm files exist only then)."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS probe (value TEXT)"))
            await connection.execute(text("INSERT INTO probe VALUES ('x')"))
            return {path.name: mode(path) for path in settings.data_dir.iterdir()}
    finally:
        await engine.dispose()


async def test_a_new_data_dir_and_its_database_are_private(tmp_path):
    settings = Settings(data_dir=tmp_path / "fresh" / "data")
    with usual_umask():
        load_sealer(settings)  # the master key file, as a server start makes it
        modes = await _write_something(settings)
    assert mode(settings.data_dir) == 0o700
    assert modes["master.key"] == 0o600
    assert modes["fleetgraph.db"] == 0o600
    assert modes["fleetgraph.db-wal"] == 0o600 and modes["fleetgraph.db-shm"] == 0o600
    assert all(value & 0o077 == 0 for value in modes.values()), modes


async def test_files_an_earlier_release_left_readable_are_tightened(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with usual_umask():
        (tmp_path / "fleetgraph.db").touch(mode=0o644)
        (tmp_path / "fleetgraph.db-wal").touch(mode=0o644)
        (tmp_path / "fleetgraph.db").chmod(0o644)
        (tmp_path / "fleetgraph.db-wal").chmod(0o644)
        modes = await _write_something(settings)
    assert (
        modes["fleetgraph.db"] == 0o600 and modes["fleetgraph.db-wal"] == 0o600 and modes["fleetgraph.db-shm"] == 0o600
    )


async def test_engine_first_or_key_file_first_the_data_dir_is_private(tmp_path):
    """Which comes first does not matter: the engine (migrate) or the key file (a server start)."""
    settings = Settings(data_dir=tmp_path / "data")
    with usual_umask():
        modes = await _write_something(settings)
        load_sealer(settings)
    assert mode(settings.data_dir) == 0o700 and modes["fleetgraph.db"] == 0o600
    assert mode(settings.data_dir / "master.key") == 0o600

"""Sealing at rest: AES-256-GCM under a master key that is not in the database."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets as _random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from graph.secrets import (
    Keyring,
    KeyringError,
    Sealer,
    SecretError,
    add_key_file_version,
    load_keyring,
    load_master_key,
    load_sealer,
    remove_key_file_version,
    sealed_version,
)
from graph.settings import Settings
from tests.environment import FLEETGRAPH, free_port, run_fleetgraph, wait_until_healthy

KEY = bytes(range(32))


def test_round_trip_with_binding():
    sealer = Sealer(KEY)
    sealed = sealer.seal(b"JBSWY3DPEHPK3PXP", "user:7:totp")
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.open(sealed, "user:7:totp") == b"JBSWY3DPEHPK3PXP"


def test_wrong_master_key_does_not_open():
    sealed = Sealer(KEY).seal(b"secret", "user:7:totp")
    with pytest.raises(SecretError):
        Sealer(bytes(32)).open(sealed, "user:7:totp")


def test_tampered_ciphertext_does_not_open():
    sealed = bytearray(Sealer(KEY).seal(b"secret", "user:7:totp"))
    sealed[-1] ^= 0x01
    with pytest.raises(SecretError):
        Sealer(KEY).open(bytes(sealed), "user:7:totp")


def test_value_copied_to_another_owner_does_not_open():
    sealed = Sealer(KEY).seal(b"secret", "user:7:totp")
    with pytest.raises(SecretError):
        Sealer(KEY).open(sealed, "user:8:totp")


def test_other_master_key_version_is_refused():
    sealed = Sealer(KEY, version=1).seal(b"secret", "x")
    with pytest.raises(SecretError):
        Sealer(KEY, version=2).open(sealed, "x")


def test_repr_shows_no_key_material():
    assert KEY.hex() not in repr(Sealer(KEY)) and "version=1" in repr(Sealer(KEY))


def test_master_key_from_environment_must_be_256_bits(tmp_path):
    assert load_master_key(Settings(data_dir=tmp_path, master_key="ab" * 32)) == bytes.fromhex("ab" * 32)
    for bad in ("ab" * 16, "not hex at all"):
        with pytest.raises(ValueError, match="64 hex characters"):
            load_master_key(Settings(data_dir=tmp_path, master_key=bad))
    assert not (tmp_path / "master.key").exists()  # an explicit key never falls back to a file


def _load(data_dir: str, queue) -> None:
    queue.put(load_master_key(Settings(data_dir=__import__("pathlib").Path(data_dir))).hex())


def test_key_file_is_private_and_shared_by_concurrent_starts(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_load, args=(str(tmp_path), queue)) for _ in range(4)]
    for process in processes:
        process.start()
    keys = {queue.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=60)
    assert len(keys) == 1
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    assert load_master_key(Settings(data_dir=tmp_path)).hex() in keys


# --- keyring: versions, legacy forms, rotation of the key file ------------------------------------

KEY2 = bytes(range(100, 132))


def test_versioned_environment_value_current_first(tmp_path):
    keyring = load_keyring(Settings(data_dir=tmp_path, master_key=f"2:{KEY2.hex()}, 1:{KEY.hex()}"))
    assert keyring.current == 2 and keyring.keys == {1: KEY, 2: KEY2} and keyring.versions == [2, 1]
    sealer = Sealer(keyring)
    new = sealer.seal(b"secret", "x")
    old = Sealer(KEY, version=1).seal(b"old", "x")
    assert sealed_version(new) == 2 and sealer.open(new, "x") == b"secret" and sealer.open(old, "x") == b"old"
    # Listing the old version first keeps it current (the first step of a rolling deployment).
    assert (
        sealed_version(Sealer(load_keyring(Settings(master_key=f"1:{KEY.hex()},2:{KEY2.hex()}"))).seal(b"s", "x")) == 1
    )
    for bad in (
        f"{KEY.hex()},{KEY2.hex()}",
        f"1:{KEY.hex()},1:{KEY2.hex()}",
        f"0:{KEY.hex()}",
        f"2:{KEY.hex()[:-2]}",
        "2:",
    ):
        with pytest.raises(KeyringError) as refused:
            load_keyring(Settings(data_dir=tmp_path, master_key=bad))
        assert KEY.hex() not in str(refused.value) and KEY2.hex() not in str(refused.value)
    assert not (tmp_path / "master.key").exists()


def test_version_header_is_bound():
    sealed = bytearray(Sealer(Keyring(keys={1: KEY, 2: KEY}, current=2)).seal(b"secret", "x"))
    sealed[3] = 1  # claim version 1, which here even has the same key
    with pytest.raises(SecretError):
        Sealer(Keyring(keys={1: KEY, 2: KEY}, current=2)).open(bytes(sealed), "x")


def test_values_sealed_by_the_single_key_release_still_open():
    nonce = _random.token_bytes(12)
    legacy = (1).to_bytes(4, "big") + nonce + AESGCM(KEY).encrypt(nonce, b"JBSWY3DPEHPK3PXP", b"user:7:totp")
    assert Sealer(KEY).open(legacy, "user:7:totp") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretError):
        Sealer(KEY).open(legacy, "user:8:totp")


def test_key_file_single_hex_is_version_1_and_rotation_adds_versions(tmp_path):
    settings = Settings(data_dir=tmp_path)
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, KEY.hex().encode() + b"\n")
    os.close(fd)
    sealer = load_sealer(settings)
    before = sealer.seal(b"old", "x")
    assert sealer.version == 1 and load_master_key(settings) == KEY

    keyring = add_key_file_version(settings)
    assert keyring.current == 2 and keyring.keys[1] == KEY
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("2:") and f"1:{KEY.hex()}" in path.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".master.key.") and not p.name.endswith(".lock")]
    # The running sealer notices the file changed: new values use version 2, old ones still open.
    assert sealed_version(sealer.seal(b"new", "x")) == 2 and sealer.open(before, "x") == b"old"
    assert load_master_key(settings) == keyring.keys[2]

    assert add_key_file_version(settings).current == 3
    assert remove_key_file_version(settings, 1).versions == [3, 2]
    assert path.stat().st_mode & 0o777 == 0o600
    assert sealer.version == 3  # it re-reads the changed file (also before every seal)
    with pytest.raises(SecretError):
        sealer.open(before, "x")  # version 1 is gone
    with pytest.raises(KeyringError):
        remove_key_file_version(settings, 3)  # never the current one
    assert KEY.hex() not in repr(sealer) + repr(load_keyring(settings)) + repr(settings)


def _rotate(data_dir: str, queue) -> None:
    queue.put(add_key_file_version(Settings(data_dir=__import__("pathlib").Path(data_dir))).current)


def test_concurrent_rotations_lose_no_version(tmp_path):
    load_keyring(Settings(data_dir=tmp_path))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_rotate, args=(str(tmp_path), queue)) for _ in range(3)]
    for process in processes:
        process.start()
    added = sorted(queue.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert added == [2, 3, 4]
    assert load_keyring(Settings(data_dir=tmp_path)).versions == [4, 3, 2, 1]


# --- the command, as a process on its own SQLite data directory -----------------------------------


async def _seed_cli(settings: Settings) -> tuple[dict[int, bytes], int, bytes]:
    from graph.db import create_engine, create_session_factory
    from models import identity as m
    from models.catalogue import Device, DeviceKey, KeyAlgorithm, KeyKind, ProductType, RadioTechnology
    from resolvers.catalogue.keys import seal_device_key

    sealer = load_sealer(settings)
    engine = create_engine(settings)
    keys: dict[int, bytes] = {}
    try:
        async with create_session_factory(engine)() as session, session.begin():
            product = ProductType(
                name="CLI meter", manufacturer="Test", radio_technology=RadioTechnology.LORAWAN, key_kinds=[]
            )
            organisation = m.Organisation(name="CLI org")
            session.add_all([product, organisation])
            await session.flush()
            device = Device(manufacturer="Test", serial_number="CLI0001", product_type_id=product.id)
            user = m.User(organisation_id=organisation.id, email="cli@keys.example", name="C", password_hash="x")
            session.add_all([device, user])
            await session.flush()
            for kind, algorithm in ((KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128), (KeyKind.OTHER, KeyAlgorithm.DES)):
                key = _random.token_bytes(16 if algorithm == KeyAlgorithm.AES_128 else 8)
                sealed, version = seal_device_key(sealer, device.id, kind, algorithm, key)
                row = DeviceKey(
                    device_id=device.id, kind=kind, algorithm=algorithm, sealed=sealed, master_key_version=version
                )
                session.add(row)
                await session.flush()
                keys[row.id] = key
            user.totp_secret_sealed = sealer.seal(b"JBSWY3DPEHPK3PXP", f"user:{user.id}:totp")
            return keys, user.id, b"JBSWY3DPEHPK3PXP"
    finally:
        await engine.dispose()


async def _read_cli(settings: Settings, sealer: Sealer) -> tuple[dict[int, bytes], dict[int, int], bytes]:
    from sqlalchemy import select

    from graph.db import create_engine, create_session_factory
    from models import identity as m
    from models.catalogue import DeviceKey
    from resolvers.catalogue.keys import open_device_key

    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = (await session.scalars(select(DeviceKey))).all()
            user = (await session.scalars(select(m.User))).one()
            return (
                {row.id: open_device_key(sealer, row) for row in rows},
                {row.id: row.master_key_version for row in rows},
                sealer.open(user.totp_secret_sealed, f"user:{user.id}:totp"),
            )
    finally:
        await engine.dispose()


def test_rotate_master_key_command(tmp_path):

    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    settings = Settings(data_dir=tmp_path)
    keys, _, totp = asyncio.run(_seed_cli(settings))
    first_key = load_master_key(settings)

    result = run_fleetgraph(tmp_path, "rotate-master-key", "--batch-size", "1")
    assert result.returncode == 0, result.stderr
    assert "master key version 2 added" in result.stdout
    assert "re-sealed: 1 TOTP secrets, 0 queued mails, 2 device keys" in result.stdout
    assert "version 2: 1 TOTP secrets, 0 queued mails, 2 device keys" in result.stdout
    assert "version 1: 0 TOTP secrets, 0 queued mails, 0 device keys" in result.stdout
    assert "unused old versions" in result.stdout
    keyring = load_keyring(settings)
    assert keyring.versions == [2, 1] and keyring.keys[1] == first_key
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    for key in [first_key, keyring.keys[2], *keys.values()]:
        assert key.hex() not in result.stdout + result.stderr
    opened, versions, opened_totp = asyncio.run(_read_cli(settings, Sealer(keyring.keys[2], version=2)))
    assert opened == keys and set(versions.values()) == {2} and opened_totp == totp

    removed = run_fleetgraph(tmp_path, "rotate-master-key", "--remove-version", "1")
    assert removed.returncode == 0, removed.stderr
    assert load_keyring(settings).versions == [2]
    refused = run_fleetgraph(tmp_path, "rotate-master-key", "--remove-version", "2")
    assert refused.returncode == 1 and "current" in refused.stderr

    # With the key in the environment the command only prints what to deploy, then re-seals on request.
    environment = {"FLEETGRAPH_MASTER_KEY": load_keyring(settings).dump()}
    printed = run_fleetgraph(tmp_path, "rotate-master-key", env=environment)
    assert printed.returncode == 0, printed.stderr
    assert "nothing was changed" in printed.stdout
    values = [line.split("=", 1)[1] for line in printed.stdout.splitlines() if "FLEETGRAPH_MASTER_KEY=" in line]
    learn, rotated = (Keyring.parse(value, "output") for value in values)
    assert learn.current == 2 and rotated.current == 3 and learn.keys == rotated.keys
    assert asyncio.run(_read_cli(settings, Sealer(load_keyring(settings))))[1] == versions  # nothing re-sealed

    still_used = run_fleetgraph(
        tmp_path, "rotate-master-key", "--report", env={"FLEETGRAPH_MASTER_KEY": rotated.dump()}
    )
    assert "version 2: 1 TOTP secrets, 0 queued mails, 2 device keys" in still_used.stdout
    resealed = run_fleetgraph(
        tmp_path, "rotate-master-key", "--reseal-only", env={"FLEETGRAPH_MASTER_KEY": rotated.dump()}
    )
    assert resealed.returncode == 0, resealed.stderr
    assert "re-sealed: 1 TOTP secrets, 0 queued mails, 2 device keys" in resealed.stdout
    opened, versions, opened_totp = asyncio.run(_read_cli(settings, Sealer(rotated.keys[3], version=3)))
    assert opened == keys and set(versions.values()) == {3} and opened_totp == totp


async def _seed_totp_user(settings: Settings, password: str, secret: str) -> None:
    from graph.db import create_engine, create_session_factory
    from graph.passwords import hash_password
    from models import identity as m

    sealer = load_sealer(settings)
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            organisation = m.Organisation(name="Rotation org")
            session.add(organisation)
            await session.flush()
            organisation.path = f"/{organisation.id}/"
            user = m.User(
                organisation_id=organisation.id,
                email="otp@rotation.example",
                name="O",
                password_hash=hash_password(password),
                totp_confirmed=True,
            )
            session.add(user)
            await session.flush()
            session.add(m.UserRole(user_id=user.id, role=m.Role.USER))
            user.totp_secret_sealed = sealer.seal(secret.encode(), f"user:{user.id}:totp")
    finally:
        await engine.dispose()


def test_a_running_server_keeps_serving_across_a_rotation(tmp_path):
    """A real `fleetgraph serve` opens a TOTP secret sealed with version 1, then (after the command
    re-sealed it with version 2, which the server never saw at start) the same secret again."""
    import subprocess
    import time

    import httpx
    import pyotp

    password, secret = "Rotation#Secret47", pyotp.random_base32()
    assert run_fleetgraph(tmp_path, "migrate").returncode == 0
    asyncio.run(_seed_totp_user(Settings(data_dir=tmp_path), password, secret))
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")}
    environment["FLEETGRAPH_DATA_DIR"] = str(tmp_path)
    server = subprocess.Popen(
        [FLEETGRAPH, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    totp = pyotp.TOTP(secret)

    def login(step: int) -> dict:
        query = "mutation($input: LoginInput!) { login(input: $input) { accessToken errors { code } } }"
        variables = {
            "input": {"email": "otp@rotation.example", "password": password, "otp": totp.at(step * totp.interval)}
        }
        return httpx.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables}, timeout=30
        ).json()

    try:
        wait_until_healthy(server, port)
        first_step = int(time.time() // totp.interval)
        before = login(first_step)["data"]["login"]
        assert before["errors"] == [] and before["accessToken"]

        rotated = run_fleetgraph(tmp_path, "rotate-master-key")
        assert rotated.returncode == 0, rotated.stderr
        assert "re-sealed: 1 TOTP secrets, 0 queued mails, 0 device keys" in rotated.stdout

        # The next step's code (each step counts once): the server must open the version-2 value.
        after = login(int(time.time() // totp.interval) + 1)["data"]["login"]
        assert after["errors"] == [] and after["accessToken"]
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert secret not in output
    for key in load_keyring(Settings(data_dir=tmp_path)).keys.values():
        assert key.hex() not in output

"""Device keys at rest: sealing, bindings, length checks and master key rotation against the test database."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from graph.composition import SEALED
from graph.errors import DomainError
from graph.secrets import Sealer, SecretError, add_key_file_version, reseal_all, sealed_version
from graph.settings import Settings
from models import identity as m
from models.catalogue import KEY_LENGTH, Device, DeviceKey, KeyAlgorithm, KeyKind, ProductType, RadioTechnology
from resolvers.catalogue.errors import CatalogueErrorCode
from resolvers.catalogue.keys import open_device_key, seal_device_key

OTHER_MASTER_KEY = bytes(range(32))


@dataclass
class Row:
    """A DeviceKey-shaped row without a database (for the binding checks)."""

    device_id: int
    kind: KeyKind
    algorithm: KeyAlgorithm
    sealed: bytes


def test_round_trip_and_version():
    sealer = Sealer(OTHER_MASTER_KEY)
    key = secrets.token_bytes(16)
    sealed, version = seal_device_key(sealer, 1, KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128, key)
    assert version == 1 == sealed_version(sealed) and key not in sealed
    assert open_device_key(sealer, Row(1, KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128, sealed)) == key


def test_wrong_master_key_and_tampered_ciphertext_do_not_open():
    key = secrets.token_bytes(16)
    sealed, _ = seal_device_key(Sealer(OTHER_MASTER_KEY), 1, KeyKind.OMS_KEY, KeyAlgorithm.AES_128, key)
    with pytest.raises(SecretError):
        open_device_key(Sealer(bytes(32)), Row(1, KeyKind.OMS_KEY, KeyAlgorithm.AES_128, sealed))
    for position in (0, 3, 4, 20, len(sealed) - 1):  # header, nonce, ciphertext, tag
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(SecretError):
            open_device_key(Sealer(OTHER_MASTER_KEY), Row(1, KeyKind.OMS_KEY, KeyAlgorithm.AES_128, bytes(tampered)))


def test_swapped_device_kind_or_algorithm_does_not_open():
    sealer = Sealer(OTHER_MASTER_KEY)
    sealed, _ = seal_device_key(sealer, 1, KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128, secrets.token_bytes(16))
    for row in (
        Row(2, KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128, sealed),  # copied to device 2
        Row(1, KeyKind.LORAWAN_NWK_KEY, KeyAlgorithm.AES_128, sealed),  # kind swapped
        Row(1, KeyKind.OMS_KEY, KeyAlgorithm.AES_128, sealed),
        Row(1, KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_256, sealed),  # algorithm swapped
    ):
        with pytest.raises(SecretError):
            open_device_key(sealer, row)


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_key_length_is_validated_per_algorithm(algorithm):
    sealer = Sealer(OTHER_MASTER_KEY)
    length = KEY_LENGTH[algorithm]
    assert {KeyAlgorithm.DES: 8, KeyAlgorithm.AES_128: 16, KeyAlgorithm.AES_192: 24, KeyAlgorithm.AES_256: 32}[
        algorithm
    ] == length
    good = secrets.token_bytes(length)
    sealed, _ = seal_device_key(sealer, 5, KeyKind.OTHER, algorithm, good)
    assert open_device_key(sealer, Row(5, KeyKind.OTHER, algorithm, sealed)) == good
    for bad_length in (0, length - 1, length + 1, 2 * length):
        bad = secrets.token_bytes(bad_length)
        with pytest.raises(DomainError) as refused:
            seal_device_key(sealer, 5, KeyKind.OTHER, algorithm, bad)
        assert refused.value.code == CatalogueErrorCode.INVALID and refused.value.field == ["key"]
        assert f"{length} bytes" in refused.value.message
        if bad:
            assert bad.hex() not in str(refused.value) and bad.hex().upper() not in str(refused.value)


def test_unknown_kind_or_algorithm_is_refused():
    sealer = Sealer(OTHER_MASTER_KEY)
    with pytest.raises(DomainError) as refused:
        seal_device_key(sealer, 1, "WIFI", KeyAlgorithm.AES_128, bytes(16))
    assert refused.value.field == ["kind"]
    with pytest.raises(DomainError) as refused:
        seal_device_key(sealer, 1, KeyKind.OTHER, "RC4", bytes(16))
    assert refused.value.field == ["algorithm"]


# --- rotation against the test database --------------------------------------------------------


async def _seed(runtime, sealer: Sealer, *, devices: int = 9) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """Devices with two keys each and TOTP secrets for three users, all sealed by `sealer`.

    Returns (DeviceKey.id -> key, User.id -> TOTP secret)."""
    keys: dict[int, bytes] = {}
    totp: dict[int, bytes] = {}
    async with runtime.session_factory() as session, session.begin():
        product = ProductType(
            name="Key test meter",
            manufacturer="Test",
            radio_technology=RadioTechnology.MULTI,
            key_kinds=[KeyKind.LORAWAN_APP_KEY.value, KeyKind.OMS_KEY.value],
        )
        session.add(product)
        await session.flush()
        for number in range(devices):
            device = Device(manufacturer="Test", serial_number=f"KT{number:06d}", product_type_id=product.id)
            session.add(device)
            await session.flush()
            for kind, algorithm in (
                (KeyKind.LORAWAN_APP_KEY, KeyAlgorithm.AES_128),
                (KeyKind.OMS_KEY, KeyAlgorithm.AES_256),
            ):
                key = secrets.token_bytes(KEY_LENGTH[algorithm])
                sealed, version = seal_device_key(sealer, device.id, kind, algorithm, key)
                row = DeviceKey(
                    device_id=device.id, kind=kind, algorithm=algorithm, sealed=sealed, master_key_version=version
                )
                session.add(row)
                await session.flush()
                keys[row.id] = key
        organisation = m.Organisation(name="Key test org")
        session.add(organisation)
        await session.flush()
        organisation.path = f"/{organisation.id}/"
        for number in range(3):
            user = m.User(
                organisation_id=organisation.id, email=f"totp{number}@keys.example", name="T", password_hash="x"
            )
            session.add(user)
            await session.flush()
            secret = f"JBSWY3DPEHPK3PX{number}".encode()
            user.totp_secret_sealed = sealer.seal(secret, f"user:{user.id}:totp")
            totp[user.id] = secret
    return keys, totp


async def _opened(runtime, sealer: Sealer) -> tuple[dict[int, bytes], dict[int, bytes], dict[int, int]]:
    async with runtime.session_factory() as session:
        rows = (await session.scalars(select(DeviceKey))).all()
        users = (
            await session.execute(
                select(m.User.id, m.User.totp_secret_sealed).where(m.User.totp_secret_sealed.is_not(None))
            )
        ).all()
    versions: dict[int, int] = {}
    for row in rows:
        assert sealed_version(row.sealed) == row.master_key_version
        versions[row.master_key_version] = versions.get(row.master_key_version, 0) + 1
    for _, sealed in users:
        versions[sealed_version(sealed)] = versions.get(sealed_version(sealed), 0) + 1
    return (
        {row.id: open_device_key(sealer, row) for row in rows},
        {user_id: sealer.open(sealed, f"user:{user_id}:totp") for user_id, sealed in users},
        versions,
    )


async def test_rotation_keeps_every_key_and_totp_secret_readable(runtime, tmp_path, caplog):
    settings = Settings(data_dir=tmp_path)
    (tmp_path / "master.key").write_text(OTHER_MASTER_KEY.hex())  # the original single-key file: version 1
    (tmp_path / "master.key").chmod(0o600)
    sealer = Sealer.from_file(tmp_path / "master.key")
    keys, totp = await _seed(runtime, sealer)
    assert sealer.version == 1

    keyring = add_key_file_version(settings)
    assert keyring.current == 2 and keyring.keys[1] == OTHER_MASTER_KEY
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL and its parameters go to the log too
    try:
        report = await reseal_all(runtime.session_factory, sealer, SEALED, batch_size=4)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert sealer.version == 2  # the sealer read the changed key file
    assert report.resealed["device keys"] == len(keys) and report.resealed["TOTP secrets"] == len(totp)
    assert report.versions["device keys"] == {2: len(keys)} and report.versions["TOTP secrets"] == {2: len(totp)}
    assert report.failed == [] and report.remaining == 0

    opened_keys, opened_totp, versions = await _opened(runtime, sealer)
    assert opened_keys == keys and opened_totp == totp and versions == {2: len(keys) + len(totp)}
    # Version 2 alone opens everything now; version 1 alone opens nothing.
    assert (await _opened(runtime, Sealer(keyring.keys[2], version=2)))[0] == keys
    with pytest.raises(SecretError):
        await _opened(runtime, Sealer(OTHER_MASTER_KEY, version=1))

    assert "UPDATE device_key" in caplog.text  # the log did see the rotation
    for secret in [*keys.values(), *totp.values()]:
        assert secret.hex() not in caplog.text.lower() and repr(secret) not in caplog.text
    assert OTHER_MASTER_KEY.hex() not in caplog.text and keyring.keys[2].hex() not in caplog.text
    assert keyring.keys[2].hex() not in repr(sealer) + repr(keyring) + repr(report)

    again = await reseal_all(runtime.session_factory, sealer, SEALED, batch_size=4)  # nothing left to do
    assert set(again.resealed.values()) == {0}


async def test_a_value_that_does_not_open_is_reported_and_left_alone(runtime, tmp_path):
    (tmp_path / "master.key").write_text(OTHER_MASTER_KEY.hex())
    sealer = Sealer.from_file(tmp_path / "master.key")
    keys, _ = await _seed(runtime, sealer, devices=2)
    broken_id = min(keys)
    async with runtime.session_factory() as session, session.begin():
        row = await session.get(DeviceKey, broken_id)
        other = await session.get(DeviceKey, max(keys))
        row.sealed = other.sealed  # a ciphertext of another device copied into this row
    add_key_file_version(Settings(data_dir=tmp_path))
    report = await reseal_all(runtime.session_factory, sealer, SEALED, batch_size=2)
    assert report.failed == [f"DeviceKey {broken_id}"]
    assert report.resealed["device keys"] == len(keys) - 1
    assert report.versions["device keys"] == {1: 1, 2: len(keys) - 1}


# --- a server process keeps opening keys during rotation ---------------------------------------


def _digest(keys: dict[int, bytes], totp: dict[int, bytes]) -> str:
    text = (
        ";".join(f"{k}={v.hex()}" for k, v in sorted(keys.items()))
        + "|"
        + ";".join(f"{k}={v.hex()}" for k, v in sorted(totp.items()))
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _server(database_url: str, key_file: str, connection) -> None:
    """Another process, like a running server: its keyring was read from the key file before the rotation."""
    asyncio.run(_serve(database_url, key_file, connection))


async def _serve(database_url: str, key_file: str, connection) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    sealer = Sealer.from_file(Path(key_file))
    engine = create_async_engine(database_url)

    class Holder:
        session_factory = async_sessionmaker(engine)

    connection.send(("ready", sealer.version))
    while connection.recv() == "open":
        try:
            keys, totp, versions = await _opened(Holder, sealer)
            connection.send(("ok", _digest(keys, totp), versions))
        except Exception as error:  # reported to the test, which fails on it
            connection.send(("error", type(error).__name__, {}))
    await engine.dispose()


async def test_a_server_keeps_opening_keys_during_rotation(runtime, tmp_path):
    (tmp_path / "master.key").write_text(OTHER_MASTER_KEY.hex())
    sealer = Sealer.from_file(tmp_path / "master.key")
    keys, totp = await _seed(runtime, sealer, devices=6)
    expected = _digest(keys, totp)

    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(
        target=_server, args=(runtime.settings.effective_database_url, str(tmp_path / "master.key"), theirs)
    )
    server.start()
    try:
        assert await asyncio.to_thread(ours.recv) == ("ready", 1)
        answers = []

        async def ask_server() -> None:
            ours.send("open")
            answers.append(await asyncio.to_thread(ours.recv))

        await ask_server()
        add_key_file_version(Settings(data_dir=tmp_path))
        await reseal_all(runtime.session_factory, sealer, SEALED, batch_size=3, on_batch=ask_server)
        await ask_server()
        ours.send("stop")
    finally:
        server.join(timeout=60)
        if server.is_alive():
            server.kill()
    assert all(answer[0] == "ok" and answer[1] == expected for answer in answers), answers
    total = len(keys) + len(totp)
    assert answers[0][2] == {1: total} and answers[-1][2] == {2: total}
    assert any(set(answer[2]) == {1, 2} for answer in answers)  # it opened both versions side by side

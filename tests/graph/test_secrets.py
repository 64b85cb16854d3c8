"""Sealing at rest: AES-256-GCM under a master key that is not in the database."""

from __future__ import annotations

import multiprocessing

import pytest

from graph.secrets import Sealer, SecretError, load_master_key
from graph.settings import Settings

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

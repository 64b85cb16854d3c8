"""Sealing secrets at rest with AES-256-GCM under a master key that never lives in the database.

A sealed value is: version (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag.
The caller binds what the secret belongs to (e.g. "user:7:totp") as associated data, so a
ciphertext copied to another row does not open.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from graph.settings import Settings

KEY_FILE_NAME = "master.key"


class SecretError(Exception):
    """A sealed value could not be opened (wrong key, tampered, or bound to something else)."""


class Sealer:
    def __init__(self, key: bytes, version: int = 1) -> None:
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self.version = version

    def __repr__(self) -> str:  # never show key material
        return f"Sealer(version={self.version})"

    def seal(self, plaintext: bytes, associated_data: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return (
            self.version.to_bytes(4, "big")
            + nonce
            + self._aead.encrypt(nonce, plaintext, associated_data.encode())
        )

    def open(self, sealed: bytes, associated_data: str) -> bytes:
        if len(sealed) < 4 + 12 + 16 or int.from_bytes(sealed[:4], "big") != self.version:
            raise SecretError("sealed value has an unknown format or master key version")
        try:
            return self._aead.decrypt(sealed[4:16], sealed[16:], associated_data.encode())
        except InvalidTag as exc:
            raise SecretError("sealed value does not open under this master key and binding") from exc


def load_master_key(settings: Settings) -> bytes:
    if settings.master_key:
        try:
            key = bytes.fromhex(settings.master_key)
        except ValueError as exc:
            raise ValueError("FLEETGRAPH_MASTER_KEY must be 64 hex characters") from exc
        if len(key) != 32:
            raise ValueError("FLEETGRAPH_MASTER_KEY must be 64 hex characters")
        return key
    path = Path(settings.data_dir) / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: two workers starting at once agree on one key.
        temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = bytes.fromhex(path.read_text().strip())
    if len(key) != 32:
        raise ValueError(f"{path} does not hold a 32-byte hex key")
    return key

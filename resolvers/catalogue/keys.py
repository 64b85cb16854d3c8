"""Device keys at rest: sealed with the master key (graph.secrets), bound to device, kind and algorithm.

Key bytes only ever exist in memory between open_device_key() and the key download; they never go
into a log, an exception message, an audit record or a repr.
"""

from __future__ import annotations

from typing import Protocol

from graph.errors import DomainError
from graph.secrets import Sealer, SecretError, sealed_version
from models.catalogue import KEY_LENGTH, KeyAlgorithm, KeyKind
from resolvers.catalogue.errors import CatalogueErrorCode


class SealedKeyRow(Protocol):
    device_id: int
    kind: KeyKind
    algorithm: KeyAlgorithm
    sealed: bytes


def device_key_binding(device_id: int, kind: KeyKind | str, algorithm: KeyAlgorithm | str) -> str:
    """Associated data of a device key: a ciphertext copied to another device, kind or algorithm does not open."""
    return f"device:{int(device_id)}:key:{KeyKind(kind).value}:{KeyAlgorithm(algorithm).value}"


def check_key_length(algorithm: KeyAlgorithm | str, key_bytes: bytes, field: str = "key") -> KeyAlgorithm:
    try:
        algorithm = KeyAlgorithm(algorithm)
    except ValueError:
        raise DomainError(CatalogueErrorCode.INVALID, "unknown key algorithm", "algorithm") from None
    expected = KEY_LENGTH[algorithm]
    if len(key_bytes) != expected:
        # Only lengths in the message, never the key.
        raise DomainError(
            CatalogueErrorCode.INVALID,
            f"a {algorithm.value} key has {expected} bytes ({expected * 2} hex characters), not {len(key_bytes)}",
            field,
        )
    return algorithm


def seal_device_key(
    sealer: Sealer, device_id: int, kind: KeyKind | str, algorithm: KeyAlgorithm | str, key_bytes: bytes
) -> tuple[bytes, int]:
    """Seal one device key; returns (sealed, master key version) for DeviceKey.sealed/master_key_version."""
    try:
        kind = KeyKind(kind)
    except ValueError:
        raise DomainError(CatalogueErrorCode.INVALID, "unknown key kind", "kind") from None
    algorithm = check_key_length(algorithm, key_bytes)
    sealed = sealer.seal(bytes(key_bytes), device_key_binding(device_id, kind, algorithm))
    return sealed, sealed_version(sealed)


def open_device_key(sealer: Sealer, row: SealedKeyRow) -> bytes:
    """The key bytes of a DeviceKey row; SecretError if it was copied, tampered with or the key is wrong."""
    key = sealer.open(row.sealed, device_key_binding(row.device_id, row.kind, row.algorithm))
    if len(key) != KEY_LENGTH[KeyAlgorithm(row.algorithm)]:
        raise SecretError("device key has the wrong length for its algorithm")
    return key

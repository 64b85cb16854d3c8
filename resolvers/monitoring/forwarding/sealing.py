"""A target's secrets at rest: one JSON object sealed with the master key (graph.secrets), bound to the target, so
a sealed value copied to another target does not open. Only a fingerprint is ever shown."""

from __future__ import annotations

import hashlib
import json

from graph.secrets import Sealer, sealed_version


def binding(target_id: int) -> str:
    return f"forwarding_target:{target_id}:secret"


def seal_secret(sealer: Sealer, target_id: int, secrets: dict[str, str]) -> tuple[bytes, int, str]:
    """(sealed value, master key version, fingerprint)."""
    plain = json.dumps(secrets, sort_keys=True).encode()
    sealed = sealer.seal(plain, binding(target_id))
    return sealed, sealed_version(sealed), fingerprint(plain)


def fingerprint(plain: bytes) -> str:
    """Tells two secrets apart without telling anything of them (12 hex of a SHA-256)."""
    return hashlib.sha256(b"fleetgraph forwarding secret\0" + plain).hexdigest()[:12]


def open_secret(sealer: Sealer, target_id: int, sealed: bytes | None) -> dict[str, str]:
    if sealed is None:
        return {}
    return json.loads(sealer.open(sealed, binding(target_id)))

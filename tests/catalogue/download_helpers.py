"""What the key download tests share: devices with sealed keys, keyDownloadCreate and reading what is served."""

from __future__ import annotations

import csv
import io
import secrets
from urllib.parse import urlsplit

from graph.relay import to_global_id
from models import catalogue as c
from resolvers.catalogue.keys import seal_device_key
from tests.factories import add_devices

CREATE = """mutation($input: KeyDownloadCreateInput!) {
  keyDownloadCreate(input: $input) {
    keyDownload { id deviceCount keyCount expiresAt downloadedAt csvDelimiter user { email } organisation { name } }
    url
    errors { code field message }
  }
}"""
HEADER = ["serial_number", "product_type", "key_kind", "algorithm", "key"]


async def add_keys(
    runtime, device_ids: dict[str, int], *, revoked: bool = False
) -> dict[str, list[tuple[str, str, bytes]]]:
    """One LoRaWAN AppKey (AES-128) and one OMS key per device, sealed: {serial: [(kind, algorithm, bytes)]}."""
    keys: dict[str, list[tuple[str, str, bytes]]] = {}
    async with runtime.session_factory() as session, session.begin():
        for serial, device_id in device_ids.items():
            for kind, algorithm, length in (
                (c.KeyKind.LORAWAN_APP_KEY, c.KeyAlgorithm.AES_128, 16),
                (c.KeyKind.OMS_KEY, c.KeyAlgorithm.AES_256, 32),
            ):
                key = secrets.token_bytes(length)
                sealed, version = seal_device_key(runtime.sealer, device_id, kind, algorithm, key)
                session.add(
                    c.DeviceKey(
                        device_id=device_id,
                        kind=kind,
                        algorithm=algorithm,
                        sealed=sealed,
                        master_key_version=version,
                        state=c.KeyState.REVOKED if revoked else c.KeyState.ACTIVE,
                    )
                )
                keys.setdefault(serial, []).append((kind.value, algorithm.value, key))
    return keys


async def seed(runtime, world) -> tuple[dict[str, int], dict[str, list]]:
    """Tenant A: three claimed devices with keys (one in A1), one unclaimed; tenant B: one claimed with keys."""
    ids = await add_devices(
        runtime,
        world.organisations["a"].id,
        [
            ("A-0002", "TOPAS Lora W8", True, ["north"]),
            ("A-0001", "CalecST III WM-Bus", True, []),
            ("A-UNCLAIMED", "TOPAS Lora W8", False, []),
        ],
    )
    ids |= await add_devices(runtime, world.organisations["a1"].id, [("A1-0001", "aquastream LoRa", True, [])])
    ids |= await add_devices(runtime, world.organisations["b"].id, [("B-0001", "TOPAS Mbus", True, [])])
    keys = await add_keys(runtime, {s: ids[s] for s in ("A-0001", "A-0002", "A1-0001", "B-0001", "A-UNCLAIMED")})
    await add_keys(runtime, {"A-0001": ids["A-0001"]}, revoked=True)  # revoked keys are never downloaded
    return ids, keys


def gid(pk: int) -> str:
    return to_global_id("Device", pk)


async def create(gql, token: str, **input_) -> dict:
    response = await gql(CREATE, {"input": input_}, token=token)
    assert "errors" not in response, response
    return response["data"]["keyDownloadCreate"]


def parse(body: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body), delimiter=delimiter))


def path_of(url: str) -> str:
    return urlsplit(url).path

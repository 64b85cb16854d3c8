"""The manuals' product types, shipped with the platform and installed idempotently."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalogue import KeyKind, ProductType, RadioTechnology

MANUFACTURER = "INTEGRA Metering AG"

_LORA = [KeyKind.LORAWAN_APP_KEY]
_OMS = [KeyKind.OMS_KEY]
_BOTH = [KeyKind.LORAWAN_APP_KEY, KeyKind.OMS_KEY]

#: name -> (radio technology, key kinds). The product family names (manuals, "compatible products")
#: and the variants that appear in the device tables.
PRODUCT_TYPES: dict[str, tuple[RadioTechnology, list[KeyKind]]] = {
    "TOPAS SONIC": (RadioTechnology.MULTI, _BOTH),
    "RUBIN SONIC": (RadioTechnology.MULTI, _BOTH),
    "aquastream LoRa": (RadioTechnology.LORAWAN, _LORA),
    "aquaradio MultiCom": (RadioTechnology.MULTI, _BOTH),
    "AMTRON SONIC D": (RadioTechnology.WMBUS, _OMS),
    "CALEC ST III LoRa": (RadioTechnology.LORAWAN, _LORA),
    "TOPAS Lora W8": (RadioTechnology.LORAWAN, _LORA),
    # wired M-Bus has no radio key; its optional encryption key is an OMS-style AES key
    "TOPAS Mbus": (RadioTechnology.MBUS, _OMS),
    "CalecST III WM-Bus": (RadioTechnology.WMBUS, _OMS),
    "CalecST III LoRa Module": (RadioTechnology.LORAWAN, _LORA),
    "Aquastream WM-Bus": (RadioTechnology.WMBUS, _OMS),
    "aquastream Radio L8": (RadioTechnology.LORAWAN, _LORA),
    # the metering cloud's water meters (issue 17): NB-IoT, an AES payload key
    "VSKM-15 IWAN": (RadioTechnology.NB_IOT, [KeyKind.OTHER]),
    "VSGM-15 IWAN": (RadioTechnology.NB_IOT, [KeyKind.OTHER]),
}
#: Product types of other manufacturers than MANUFACTURER.
MANUFACTURERS = {"VSKM-15 IWAN": "DECAST", "VSGM-15 IWAN": "DECAST"}


async def ensure_product_types(session: AsyncSession) -> None:
    """Add the shipped product types the database lacks (existing rows are left as they are)."""
    present = set((await session.scalars(select(ProductType.name))).all())
    session.add_all(
        ProductType(
            name=name,
            manufacturer=MANUFACTURERS.get(name, MANUFACTURER),
            radio_technology=radio,
            key_kinds=[k.value for k in kinds],
        )
        for name, (radio, kinds) in PRODUCT_TYPES.items()
        if name not in present
    )
    await session.flush()

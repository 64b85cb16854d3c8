"""Address directories: where addressSearch looks and what a handle binds.

A found address carries a handle, "<source>:<external id>" (e.g. "SAMPLE:msk-0012", "NOMINATIM:W104393803"),
which metering point mutations take to store the address, once per source and external id. The embedded
directory (the default) searches the addresses of the points the caller sees and the shipped sample
(sample.json: a few hundred addresses in Moscow and Berlin); the Nominatim one asks a Nominatim server
(FLEETGRAPH_NOMINATIM_URL, /search and /lookup with format=jsonv2 and addressdetails=1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Principal
from graph.settings import Settings
from models import metering as mt
from resolvers.metering.scope import metering_point_visible

SAMPLE = Path(__file__).resolve().parent / "sample.json"
MAX_RESULTS = 50
USER_AGENT = "fleetgraph address search"


class DirectoryUnavailable(Exception):
    """The directory did not answer, or not with addresses (its text is never shown: it may hold anything)."""


@dataclass(frozen=True)
class FoundAddress:
    source: mt.AddressSource
    external_id: str
    country: str
    city: str
    street: str
    house: str
    postcode: str
    latitude: float | None
    longitude: float | None
    display_name: str

    @property
    def handle(self) -> str:
        return f"{self.source.value}:{self.external_id}"

    def columns(self) -> dict[str, Any]:
        """The values of an mt.Address row, cut to its column sizes."""
        return {
            "source": self.source,
            "external_id": self.external_id[:100],
            "country": self.country[:100],
            "city": self.city[:200],
            "street": self.street[:200],
            "house": self.house[:50],
            "postcode": self.postcode[:20],
            "latitude": self.latitude,
            "longitude": self.longitude,
            "display_name": self.display_name[:500],
        }

    @classmethod
    def of_row(cls, row: mt.Address) -> FoundAddress:
        return cls(
            mt.AddressSource(row.source),
            row.external_id,
            row.country,
            row.city,
            row.street,
            row.house,
            row.postcode,
            row.latitude,
            row.longitude,
            row.display_name,
        )


def parse_handle(handle: str) -> tuple[mt.AddressSource, str] | None:
    source, _, external_id = handle.strip().partition(":")
    if source not in mt.AddressSource.__members__ or not external_id or len(external_id) > 100:
        return None
    return mt.AddressSource(source), external_id


class AddressDirectory(Protocol):
    async def search(self, session: AsyncSession, principal: Principal, query: str, limit: int) -> list[FoundAddress]:
        """Addresses matching `query`, at most `limit`; raises DirectoryUnavailable."""

    async def lookup(self, source: mt.AddressSource, external_id: str) -> FoundAddress | None:
        """The address of a handle not stored yet, or None; raises DirectoryUnavailable."""


@lru_cache(maxsize=1)
def sample_addresses() -> dict[str, FoundAddress]:
    entries = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return {
        entry["id"]: FoundAddress(
            mt.AddressSource.SAMPLE,
            entry["id"],
            entry["country"],
            entry["city"],
            entry["street"],
            entry["house"],
            entry["postcode"],
            entry["latitude"],
            entry["longitude"],
            entry["displayName"],
        )
        for entry in entries
    }


def _words(query: str) -> list[str]:
    return [word for word in query.casefold().replace(",", " ").split() if word][:10]


class EmbeddedDirectory:
    """The addresses of the points the caller sees (another tenant's addresses stay unknown), then the sample."""

    async def search(self, session: AsyncSession, principal: Principal, query: str, limit: int) -> list[FoundAddress]:
        words = _words(query)
        if not words:
            return []
        A, P = mt.Address, mt.MeteringPoint
        seen = select(P.address_id).where(P.address_id.is_not(None), metering_point_visible(principal))
        statement = (
            select(A)
            .where(A.id.in_(seen), and_(*(func.lower(A.display_name).contains(word) for word in words)))
            .order_by(A.display_name, A.id)
            .limit(limit)
        )
        found = [FoundAddress.of_row(row) for row in (await session.scalars(statement)).all()]
        handles = {address.handle for address in found}
        for address in sample_addresses().values():
            if len(found) >= limit:
                break
            text = address.display_name.casefold()
            if address.handle not in handles and all(word in text for word in words):
                found.append(address)
        return found

    async def lookup(self, source: mt.AddressSource, external_id: str) -> FoundAddress | None:
        return sample_addresses().get(external_id) if source == mt.AddressSource.SAMPLE else None


class NominatimDirectory:
    """A Nominatim server's search API (OpenStreetMap's, or one's own); the sample's handles still bind."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def _get(self, path: str, params: dict[str, str]) -> list[Any]:
        params = {**params, "format": "jsonv2", "addressdetails": "1"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers={"User-Agent": USER_AGENT}) as client:
                response = await client.get(f"{self.base_url}{path}", params=params)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise DirectoryUnavailable(type(error).__name__) from None
        if not isinstance(body, list):
            raise DirectoryUnavailable("not a list of places")
        return body

    async def search(self, session: AsyncSession, principal: Principal, query: str, limit: int) -> list[FoundAddress]:
        places = await self._get("/search", {"q": query, "limit": str(limit)})
        return [address for address in map(nominatim_address, places) if address is not None][:limit]

    async def lookup(self, source: mt.AddressSource, external_id: str) -> FoundAddress | None:
        if source == mt.AddressSource.SAMPLE:
            return sample_addresses().get(external_id)
        if source != mt.AddressSource.NOMINATIM:
            return None
        places = await self._get("/lookup", {"osm_ids": external_id})
        found = [address for address in map(nominatim_address, places) if address is not None]
        return next((address for address in found if address.external_id == external_id), None)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def nominatim_address(place: Any) -> FoundAddress | None:
    """A Nominatim jsonv2 place as an address; None for what has no OSM identity."""
    if not isinstance(place, dict) or not place.get("osm_type") or place.get("osm_id") is None:
        return None
    details: dict[str, Any] = place["address"] if isinstance(place.get("address"), dict) else {}
    city = next((details[key] for key in ("city", "town", "village", "municipality") if details.get(key)), "")
    return FoundAddress(
        mt.AddressSource.NOMINATIM,
        f"{str(place['osm_type'])[:1].upper()}{place['osm_id']}",
        str(details.get("country", "")),
        str(city),
        str(details.get("road") or details.get("pedestrian") or ""),
        str(details.get("house_number", "")),
        str(details.get("postcode", "")),
        _float(place.get("lat")),
        _float(place.get("lon")),
        str(place.get("display_name", "")),
    )


def address_directory(settings: Settings) -> AddressDirectory:
    if settings.address_directory == "nominatim":
        return NominatimDirectory(settings.nominatim_url, settings.nominatim_timeout_seconds)
    return EmbeddedDirectory()

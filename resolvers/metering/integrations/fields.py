"""Each integration kind's own fields: what it needs, how it is checked, what is sealed and what is shown.

- EMAIL: recipient (an e-mail address, e.g. the management company's);
- WEBHOOK: url (http or https) and secret (the HMAC key, sealed with the master key, never returned);
- CITY_PORTAL (mos.ru): payerId (the "KOD" on the water bill, digits), apartment, responsiblePerson (optional;
  shown masked, "М***н Артём Дмитриевич");
- STATE_HOUSING (GIS ZhKKh): unifiedAccountNumber (the ЕЛС, 10 characters of letters and digits);
- UTILITY (Mosvodokanal): subscriberNumber (digits).

CITY_PORTAL, STATE_HOUSING and UTILITY need the metering point's personal account number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from graph.errors import DomainError
from graph.rules import clean_text
from graph.secrets import Sealer, sealed_version
from models import metering as mt
from resolvers.metering.errors import MeteringErrorCode as Code

K = mt.IntegrationKind
#: The kinds that deliver to a settlement centre, which knows the point by its personal account number.
NEED_ACCOUNT = frozenset({K.CITY_PORTAL, K.STATE_HOUSING, K.UTILITY})
#: The input object each kind takes its fields from.
INPUT_FIELD = {
    K.EMAIL: "email",
    K.WEBHOOK: "webhook",
    K.CITY_PORTAL: "cityPortal",
    K.STATE_HOUSING: "stateHousing",
    K.UTILITY: "utility",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DIGITS = re.compile(r"\d{4,20}")
_ELS = re.compile(r"[0-9A-ZА-Я]{10}")
MIN_SECRET, MAX_SECRET = 16, 200


@dataclass(frozen=True, slots=True)
class KindFields:
    """The kind's fields from the input: plain ones (stored as the integration's settings) and the secret."""

    settings: dict[str, str]
    secret: str | None


def _text(data: dict[str, Any], name: str, path: str, *, required: bool = True, max_length: int = 200) -> str:
    return clean_text(data.get(name), [path, name], max_length=max_length, required=required, single_line=True)


def _matching(value: str, pattern: re.Pattern[str], field: list[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise DomainError(Code.INVALID, f"Not {what}.", field)
    return value


def clean_fields(kind: mt.IntegrationKind, data: dict[str, Any] | None, old: dict[str, Any]) -> KindFields:
    """The kind's fields from its input object (`data`; None: keep `old`), checked; DomainError otherwise."""
    path = INPUT_FIELD[kind]
    if data is None:
        if not old:
            raise DomainError(Code.REQUIRED, f"A {kind.value} integration needs its fields.", path)
        return KindFields(dict(old), None)
    data = {key: value for key, value in data.items() if value is not None}
    if kind is K.EMAIL:
        recipient = _text(data, "recipient", path, max_length=254)
        return KindFields({"recipient": _matching(recipient, _EMAIL, [path, "recipient"], "an e-mail address")}, None)
    if kind is K.WEBHOOK:
        url = _text(data, "url", path, max_length=2000)
        if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url):
            raise DomainError(Code.INVALID, "Not an http or https URL.", [path, "url"])
        secret = data.get("secret")
        if secret is None and not old:
            raise DomainError(Code.REQUIRED, "A webhook needs an HMAC secret.", [path, "secret"])
        if secret is not None and not MIN_SECRET <= len(secret) <= MAX_SECRET:
            raise DomainError(
                Code.INVALID, f"The secret has {MIN_SECRET} to {MAX_SECRET} characters.", [path, "secret"]
            )
        return KindFields({"url": url}, secret)
    if kind is K.CITY_PORTAL:
        payer = _matching(_text(data, "payerId", path, max_length=20), _DIGITS, [path, "payerId"], "a payer ID")
        settings = {"payerId": payer, "apartment": _text(data, "apartment", path, max_length=20)}
        person = _text(data, "responsiblePerson", path, required=False, max_length=200)
        return KindFields({**settings, "responsiblePerson": person} if person else settings, None)
    if kind is K.STATE_HOUSING:
        number = _text(data, "unifiedAccountNumber", path, max_length=10).upper()
        field = [path, "unifiedAccountNumber"]
        return KindFields({"unifiedAccountNumber": _matching(number, _ELS, field, "a unified account number")}, None)
    number = _text(data, "subscriberNumber", path, max_length=20)
    return KindFields({"subscriberNumber": _matching(number, _DIGITS, [path, "subscriberNumber"], "a number")}, None)


def masked_person(name: str) -> str:
    """The surname masked as the manual shows it: "Мартынов Артём Дмитриевич" -> "М***в Артём Дмитриевич"."""
    surname, _, rest = name.strip().partition(" ")
    shown = f"{surname[0]}***{surname[-1]}" if len(surname) > 1 else surname
    return f"{shown} {rest}".strip()


def binding(integration_id: int) -> str:
    return f"metering_integration:{integration_id}:secret"


def seal_secret(sealer: Sealer, integration_id: int, secret: str) -> tuple[bytes, int]:
    sealed = sealer.seal(json.dumps({"hmac": secret}).encode(), binding(integration_id))
    return sealed, sealed_version(sealed)


def open_secret(sealer: Sealer, integration_id: int, sealed: bytes | None) -> str:
    if sealed is None:
        return ""
    return str(json.loads(sealer.open(sealed, binding(integration_id)))["hmac"])

"""Where a code goes: an e-mail address (lower case) or a phone number (E.164), normalised so that one person's
address is one key for codes, limits and accounts."""

from __future__ import annotations

import phonenumbers

from graph.errors import DomainError
from resolvers.identity.accounts import clean_email
from resolvers.identity.errors import IdentityErrorCode as Code

#: The login name of an account made by SMS sign-up: the e-mail column is required and unique, and `.invalid`
#: (RFC 2606) can never receive mail.
PHONE_ACCOUNT_DOMAIN = "phone.invalid"


def clean_phone(value: str, field: str = "phone") -> str:
    """E.164 (+4917012345678). International form only: the server cannot guess the caller's country."""
    invalid = DomainError(
        Code.INVALID, "is not a valid phone number in international form, e.g. +49 170 1234567", field
    )
    text = value.strip()
    if len(text) > 32 or not text.startswith("+"):
        raise invalid
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise invalid from None
    if not phonenumbers.is_valid_number(number):
        raise invalid
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sign_in_address(email: str | None, phone: str | None) -> tuple[str, bool]:
    """(normalised address, is a phone number) from exactly one of the two."""
    if (email is None) == (phone is None):
        raise DomainError(Code.INVALID, "give either an e-mail address or a phone number", "email")
    if email is not None:
        return clean_email(email), False
    assert phone is not None
    return clean_phone(phone), True


def phone_account_email(phone: str) -> str:
    return f"{phone.lstrip('+')}@{PHONE_ACCOUNT_DOMAIN}"

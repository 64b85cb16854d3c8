"""Password hashing (Argon2id) and the password policy of the manuals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id with RFC 9106 low-memory parameters

MAX_PASSWORD_LENGTH = 128
SPECIAL = re.compile(r"[^A-Za-z0-9]")
RUN_LENGTH = 3  # "aaa", "abc", "321" are runs


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: Verified against when an account does not exist, so that timing does not reveal it.
_DUMMY_HASH = _hasher.hash("fleetgraph-dummy-password")


def burn_verification_time(password: str) -> None:
    verify_password(_DUMMY_HASH, password)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from public breach corpora.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


def _is_common(password: str) -> bool:
    """A common password, alone or decorated ("Password123!", "P@ssw0rd2024x")."""
    common = _common_passwords()
    for form in {password.lower(), password.lower().translate(_LEET)}:
        core = re.sub(r"[^a-z]+$", "", re.sub(r"^[^a-z]+", "", form))
        if form in common or (len(core) >= 4 and core in common):
            return True
        # a common word followed by a short decoration
        if any(form[:end] in common for end in range(6, len(form) + 1) if len(form) - end <= 5):
            return True
    return False


def _has_run(password: str) -> bool:
    lowered = password.lower()
    for i in range(len(lowered) - RUN_LENGTH + 1):
        window = [ord(c) for c in lowered[i : i + RUN_LENGTH]]
        steps = {b - a for a, b in zip(window, window[1:])}
        if len(steps) == 1 and steps.pop() in (-1, 0, 1) and lowered[i : i + RUN_LENGTH].isalnum():
            return True
    return False


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


def check_policy(password: str, *, min_length: int = 12, email: str = "", name: str = "") -> list[PolicyViolation]:
    """Every rule the password breaks (empty when it is acceptable)."""
    problems: list[PolicyViolation] = []
    if len(password) < min_length:
        problems.append(PolicyViolation("TOO_SHORT", f"must be at least {min_length} characters long"))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(PolicyViolation("TOO_LONG", f"must be at most {MAX_PASSWORD_LENGTH} characters long"))
    if not re.search(r"[a-z]", password):
        problems.append(PolicyViolation("NO_LOWERCASE", "must contain a lower-case letter"))
    if not re.search(r"[A-Z]", password):
        problems.append(PolicyViolation("NO_UPPERCASE", "must contain an upper-case letter"))
    if not re.search(r"[0-9]", password):
        problems.append(PolicyViolation("NO_DIGIT", "must contain a digit"))
    if not SPECIAL.search(password):
        problems.append(PolicyViolation("NO_SPECIAL", "must contain a special character"))
    if _has_run(password):
        problems.append(
            PolicyViolation("SEQUENCE", "must not contain runs such as 'abc', '321' or 'aaa'")
        )
    personal = [part for part in re.split(r"[^a-z0-9]+", f"{email} {name}".lower()) if len(part) >= 4]
    if _is_common(password) or any(part in password.lower() for part in personal):
        problems.append(PolicyViolation("COMMON", "is too common or contains your name or e-mail"))
    return problems

"""Password hashing (Argon2id) and the password policy of the manuals."""

from __future__ import annotations

import gzip
import itertools
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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


#: The product's name: a password made of it and decorations is refused (NIST SP 800-63B, 3.1.1.2).
PRODUCT_NAME = "fleetgraph"
#: Passwords from public breaches; graph/password_lists/README.md says where the list comes from.
BREACHED_LIST = Path(__file__).resolve().parent / "password_lists" / "breached-passwords.txt.gz"
#: Shorter candidates are not looked up: random fragments that short match some list entry.
MIN_LOOKUP = 4


class BreachedPasswords:
    """A set of lower-case passwords, kept as a sorted array of 64-bit string hashes.

    About 3 MB for 400,000 passwords, where a set of the strings would take about 40 MB in every
    server process. Python's string hash is random per process, but stable within it, where the
    array is built. Two passwords share a hash with a probability of about 1 in 10^13. Such a
    password would be refused as a common one, which is harmless.
    """

    def __init__(self, passwords: Iterable[str]) -> None:
        self._hashes = array("q", sorted({hash(password) for password in passwords}))

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, password: object) -> bool:
        digest = hash(password)
        index = bisect_left(self._hashes, digest)
        return index < len(self._hashes) and self._hashes[index] == digest


@lru_cache(maxsize=1)
def breached_passwords() -> BreachedPasswords:
    """The breached-password list, loaded on first use, once per process (about half a second)."""
    # zxcvbn ships 30,000 common passwords; a few of them are not in the breached list.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    with gzip.open(BREACHED_LIST, "rt", encoding="utf-8", errors="replace") as lines:
        passwords = {line.rstrip("\r\n").lower() for line in lines}
    passwords.update(password.lower() for password in FREQUENCY_LISTS["passwords"])
    passwords.discard("")
    return BreachedPasswords(passwords)


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_LETTER = re.compile(r"[a-z]")
_LEET_INSIDE = re.compile(r"(?<=[a-z])[013457@$!]+(?=[a-z])")
_NAME_PARTS = re.compile(r"[^a-z0-9]+")
# Decorations at the ends: digits and symbols, only symbols ("trustno1!"), or digits and symbols with
# one or two letters beyond them ("letmein!2024x").
_STEPS = [re.compile(pattern) for pattern in (r"^[^a-z]+", r"[^a-z]+$", r"^[^a-z0-9]+", r"[^a-z0-9]+$")]
_STEPS_WITH_LETTERS = [re.compile(r"^[a-z]{1,2}[^a-z]+"), re.compile(r"[^a-z]+[a-z]{1,2}$")]


def _context_words(organisation: str) -> list[str]:
    """The product's and the organisation's name: whole (without spaces) and word by word, longest first."""
    words: set[str] = set()
    for name in (PRODUCT_NAME, organisation.lower()):
        parts = [part for part in _NAME_PARTS.split(name) if part]
        words.add("".join(parts))
        words.update(parts)
    return sorted((word for word in words if len(word) >= MIN_LOOKUP), key=len, reverse=True)


def _unrepeated(form: str) -> str | None:
    """The unit of a repeated password: "welcome1!" of "welcome1!welcome1!", "trustno1" of "trustno1!trustno1"."""
    length = len(form)
    for size in range(1, length // 2 + 1):
        unit = form[:size]
        if length % size == 0 and unit * (length // size) == form:
            return unit
        between = form[size : length - size]
        # the unit twice, a few digits or symbols between
        if size >= MIN_LOOKUP and form.endswith(unit) and 0 < len(between) <= 3 and not _LETTER.search(between):
            return unit
    return None


def _undecorated(form: str) -> set[str]:
    """`form` and what is left of it as decorations come off, step by step.

    A step takes digits and symbols off an end, or a repetition apart. Letters go with digits and
    symbols at most once: more would cut random passwords down to fragments that match some
    breached password. Every step shortens the form, so this ends.
    """
    seen: set[tuple[str, bool]] = set()
    todo = [(form, False)]
    while todo:
        current, letters_cut = todo.pop()
        if (current, letters_cut) in seen or not current:
            continue
        seen.add((current, letters_cut))
        steps = [(step.sub("", current), letters_cut) for step in _STEPS]
        if not letters_cut:
            steps += [(step.sub("", current), True) for step in _STEPS_WITH_LETTERS]
        unit = _unrepeated(current)
        if unit is not None:
            steps.append((unit, letters_cut))
        todo.extend(step for step in steps if step[0] != current)
    return {current for current, _ in seen}


def _unleet(form: str) -> set[str]:
    """Spellings with digits and symbols read as letters: inside words only ("fl33tgraph#2024" is
    "fleetgraph#2024", so the year stays a decoration), and everywhere ("p@ssw0rd")."""
    inside = _LEET_INSIDE.sub(lambda match: match.group(0).translate(_LEET), form)
    return {inside, form.translate(_LEET)}


def _is_common(password: str, organisation: str = "") -> bool:
    """A breached password, alone or decorated ("Letmein!2024x", "Welcome1!Welcome1!"), or the
    product's or organisation's name with little more than decorations ("Fleetgraph2024!").

    NIST SP 800-63B (3.1.1.2) asks to check the password against breached passwords and
    context-specific words. Decorations (digits and symbols at the ends, repetition, the names) are
    what people add to a common password to pass a composition rule, so they are stripped first.
    """
    breached = breached_passwords()
    names = _context_words(organisation)
    lowered = password.lower()
    for form in {lowered} | _unleet(lowered):
        without_names = form
        for name in names:
            without_names = without_names.replace(name, " ")  # a name counts as a decoration
        if without_names != form and len(_LETTER.findall(without_names)) < 3:
            return True  # the names, decorations and a letter or two
        for variant in {form, without_names}:
            for candidate in _undecorated(variant):
                if candidate in names or (
                    len(candidate) >= MIN_LOOKUP and (candidate in breached or candidate.translate(_LEET) in breached)
                ):
                    return True
            # a breached password followed by a short decoration of any kind ("password1abc")
            if any(variant[:end] in breached for end in range(6, len(variant) + 1) if len(variant) - end <= 5):
                return True
    return False


def _has_run(password: str) -> bool:
    lowered = password.lower()
    for i in range(len(lowered) - RUN_LENGTH + 1):
        window = [ord(c) for c in lowered[i : i + RUN_LENGTH]]
        steps = {b - a for a, b in itertools.pairwise(window)}
        if len(steps) == 1 and steps.pop() in (-1, 0, 1) and lowered[i : i + RUN_LENGTH].isalnum():
            return True
    return False


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


def check_policy(
    password: str, *, min_length: int = 12, email: str = "", name: str = "", organisation: str = ""
) -> list[PolicyViolation]:
    """Every rule the password breaks (empty when it is acceptable).

    `organisation` is the name of the user's organisation."""
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
        problems.append(PolicyViolation("SEQUENCE", "must not contain runs such as 'abc', '321' or 'aaa'"))
    personal = [part for part in re.split(r"[^a-z0-9]+", f"{email} {name}".lower()) if len(part) >= 4]
    if _is_common(password, organisation) or any(part in password.lower() for part in personal):
        problems.append(
            PolicyViolation(
                "COMMON",
                "is a known breached password (also with digits, symbols or repetition around it), "
                "is made of the product's or organisation's name, or contains your name or e-mail",
            )
        )
    return problems

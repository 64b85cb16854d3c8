"""The serial numbers of a batch: typed in (each entry possibly comma-separated) or read from a file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.errors import DomainError
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.serial_numbers import MAX_SERIAL, is_serial_number

MAX_BATCH_SERIALS = 10_000
#: Serial numbers given (before duplicates are dropped): a bound on the work for repeated input.
MAX_SERIAL_TOKENS = 50_000
_SEPARATORS = re.compile(r"[,;\r\n]+")


def _split(text: str) -> list[str]:
    """Serial numbers separated by commas, semicolons or line breaks; blanks and CSV quotes dropped."""
    tokens = []
    for token in _SEPARATORS.split(text):
        token = token.strip()
        if len(token) >= 2 and token[0] == token[-1] == '"':
            token = token[1:-1].strip()
        if token:
            tokens.append(token)
    return tokens


def serial_numbers_from_file(data: bytes) -> list[str]:
    """The serial numbers of an uploaded .txt or .csv file (the manuals: comma-separated serials).

    Separators: commas, semicolons and line breaks. UTF-8, a byte-order mark is ignored. Raises
    DomainError (field "file") for text that is not UTF-8, NUL bytes, or no serial number at all;
    name and size are checked when the upload is read (graph.uploads.read_upload).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(Code.INVALID, f"The file is not UTF-8 text (byte {error.start + 1}).", "file") from error
    if "\x00" in text:
        raise DomainError(Code.INVALID, "The file contains NUL characters: it is not a text file.", "file")
    serials = _split(text)
    if not serials:
        raise DomainError(Code.REQUIRED, "The file contains no serial number.", "file")
    return serials


@dataclass
class Serial:
    value: str
    field: list[str]


def gather_serials(typed: list[str] | None, from_file: list[str] | None, problems: list[DomainError]) -> list[Serial]:
    """Distinct serial numbers in input order (typed ones first), each with where it came from."""
    tokens: list[Serial] = []
    for index, entry in enumerate(typed or []):
        # an entry may itself be a comma-separated list (the text field of the manuals)
        tokens.extend(Serial(token, ["serialNumbers", str(index)]) for token in _split(entry))
    tokens.extend(Serial(token, ["file"]) for token in from_file or [])
    if len(tokens) > MAX_SERIAL_TOKENS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BATCH_SERIALS:,} serial numbers per batch.", "serialNumbers")
    distinct: dict[str, Serial] = {}
    for token in tokens:
        distinct.setdefault(token.value, token)
    if len(distinct) > MAX_BATCH_SERIALS:
        raise DomainError(Code.TOO_MANY, f"At most {MAX_BATCH_SERIALS:,} serial numbers per batch.", "serialNumbers")
    if not distinct and from_file is None:
        problems.append(
            DomainError(Code.REQUIRED, "Give at least one serial number (typed in or in a file).", "serialNumbers")
        )
    good = []
    for serial in distinct.values():
        if is_serial_number(serial.value):
            good.append(serial)
        else:
            problems.append(
                DomainError(Code.INVALID, f"{serial.value[:MAX_SERIAL]!r} is not a serial number.", serial.field)
            )
    return good

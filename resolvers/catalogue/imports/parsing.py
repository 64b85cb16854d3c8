"""Importing devices with their keys from a CSV key file (the manufacturer's import).

The file format is the key download's, so a download re-imports elsewhere unchanged:

- UTF-8 (a byte order mark is tolerated), a header row, then one row per key; a device with
  several keys has several rows (same serial number, same product type).
- Columns (any order, named in the header): serial_number, product_type, key_kind, algorithm, key,
  and optionally labels (separated by `|`). The delimiter is whichever of `,` `;` tab `|` makes the
  header name the columns; fields may be quoted as in RFC 4180.
- product_type by name (the manufacturer comes from it), key_kind a KeyKind value
  (LORAWAN_APP_KEY), algorithm a KeyAlgorithm value (AES_128), key in hex (any case).
- Optionally pin: the PIN of the device passport (4 to 8 digits; the same on every row of the device), with
  which a consumer binds the meter to a metering point (issue 17). Stored as an Argon2id hash only.

All or nothing: every row is checked, every problem is reported with its line number, and nothing
is stored while any row is bad. Messages name lines and columns but never repeat a cell: a shifted
column could put a key anywhere, and keys never go into an error, a log line or the audit history.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from graph.errors import DomainError, RowProblems
from models import catalogue as c
from resolvers.catalogue.errors import CatalogueErrorCode as Code
from resolvers.catalogue.keys import check_key_length
from resolvers.catalogue.serial_numbers import MAX_SERIAL, is_serial_number

COLUMNS = ("serial_number", "product_type", "key_kind", "algorithm", "key")
OPTIONAL_COLUMNS = ("labels", "pin")
_PIN = re.compile(r"[0-9]{4,8}")
DELIMITERS = (",", ";", "\t", "|")
LABEL_SEPARATOR = "|"
MAX_LABEL = 100
MAX_ROWS = 200_000

_HEX = re.compile(r"[0-9A-Fa-f]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_KINDS = {kind.value: kind for kind in c.KeyKind}
_ALGORITHMS = {algorithm.value: algorithm for algorithm in c.KeyAlgorithm}
Member = TypeVar("Member", bound=Enum)


@dataclass
class ParsedKey:
    kind: c.KeyKind
    algorithm: c.KeyAlgorithm
    key: bytes = field(repr=False)  # never in a repr (tracebacks, debuggers, logs)


@dataclass
class ParsedDevice:
    serial_number: str
    product_type: c.ProductType | None  # None only with a problem of its row: such a file is never stored
    product_type_cell: str
    line: int
    labels: dict[str, None] = field(default_factory=dict)
    keys: list[ParsedKey] = field(default_factory=list)
    pin: str | None = field(default=None, repr=False)  # never in a repr, like the keys


def _decode(data: bytes, problems: RowProblems) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(Code.INVALID, "not UTF-8 text (the file must be UTF-8).", line)
        return None


def _header(line: str) -> tuple[str, dict[str, int]] | None:
    """(delimiter, column -> index) when one of DELIMITERS makes the header name every column."""
    for delimiter in DELIMITERS:
        try:
            names = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        names = [name.strip().lower() for name in names]
        if set(COLUMNS) <= set(names):
            return delimiter, {name: index for index, name in enumerate(names)}
    return None


def _serial_problem(serial: str) -> tuple[Code, str] | None:
    if not serial:
        return Code.REQUIRED, "the serial number is missing."
    if not is_serial_number(serial):
        return Code.INVALID, f"not a serial number (at most {MAX_SERIAL} characters, no spaces)."
    return None


def _enum_value(values: dict[str, Member], cell: str) -> Member | None:
    """The enum member a cell names (AES_128; also aes-128), or None."""
    return values.get(cell) or values.get(cell.upper().replace("-", "_"))


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, cells) of the data rows, blank lines skipped; (line, None) where the CSV breaks."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)  # the header
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield line + 1, None
            return
        start, line = line + 1, reader.line_num  # a quoted field may span lines: report the first
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        yield start, record


def parse(
    data: bytes, product_types: list[c.ProductType], problems: RowProblems
) -> tuple[dict[str, ParsedDevice], int]:
    """The devices of the file by serial number and the number of key rows; problems go to `problems`."""
    devices: dict[str, ParsedDevice] = {}
    text = _decode(data, problems)
    if text is None:
        return devices, 0
    header_line = _LINE_BREAK.split(text, maxsplit=1)[0]
    if not text.strip():
        problems.add(Code.REQUIRED, "The file is empty: it needs a header row and a row per key.")
        return devices, 0
    header = _header(header_line)
    if header is None:
        problems.add(
            Code.INVALID,
            f"the header must name the columns {', '.join(COLUMNS)} (and optionally labels, pin), "
            "separated by one of , ; tab |.",
            1,
        )
        return devices, 0
    delimiter, index = header
    unknown = [name for name in index if name not in COLUMNS + OPTIONAL_COLUMNS]
    if unknown or len(index) != len(next(csv.reader([header_line], delimiter=delimiter))):
        problems.add(
            Code.INVALID,
            f"the header names an unknown or repeated column; the columns are {', '.join(COLUMNS + OPTIONAL_COLUMNS)}.",
            1,
        )
        return devices, 0
    width = len(index)
    by_name = {pt.name.casefold(): pt for pt in product_types}
    first_line: dict[tuple[str, c.KeyKind], int] = {}
    rows = 0
    for line, fields in _records(text, delimiter):
        if fields is None:
            problems.add(
                Code.INVALID,
                f"unreadable CSV (a field over {csv.field_size_limit()} characters?); the rest was not read.",
                line,
            )
            break
        rows += 1
        if rows > MAX_ROWS:
            problems.add(Code.TOO_MANY, f"more than {MAX_ROWS} rows: split the file.", line)
            break
        if len(fields) != width:
            problems.add(Code.INVALID, f"{len(fields)} fields, but the header has {width}.", line)
            continue
        row = _Row(line, {name: fields[i].strip() for name, i in index.items()}, problems)
        row.check(by_name, devices, first_line)
    if rows == 0 and problems.count == 0:
        problems.add(Code.REQUIRED, "The file has a header but no rows.")
    return devices, rows


class _Row:
    """One data row of the file: its checks, each problem added to `problems` with the row's line."""

    def __init__(self, line: int, cells: dict[str, str], problems: RowProblems) -> None:
        self.line = line
        self.cells = cells
        self.problems = problems
        self.ok = True

    def bad(self, code: Code, reason: str, column: str) -> None:
        self.ok = False
        self.problems.add(code, reason, self.line, column)

    def check(
        self,
        by_name: dict[str, c.ProductType],
        devices: dict[str, ParsedDevice],
        first_line: dict[tuple[str, c.KeyKind], int],
    ) -> None:
        """Check every cell; add the row's key (and labels) to its device when the row is good."""
        serial = self.cells["serial_number"]
        serial_problem = _serial_problem(serial)
        if serial_problem:
            self.bad(*serial_problem, "serial_number")
        product_type = self.product_type(by_name)
        kind = self.kind(product_type)
        algorithm = _enum_value(_ALGORITHMS, self.cells["algorithm"])
        if algorithm is None:
            self.bad(
                Code.INVALID, f"unknown algorithm; one of {', '.join(a.value for a in c.KeyAlgorithm)}.", "algorithm"
            )
        key = self.key(algorithm)
        labels = self.labels()
        pin = self.pin()
        if serial_problem is None:
            device = self.add_to_device(serial, product_type, kind, devices, first_line)
            if pin and device.pin is not None and device.pin != pin:
                self.bad(Code.INVALID, f"the serial number has another PIN on line {device.line}.", "pin")
            if self.ok:
                assert kind is not None and algorithm is not None and key is not None  # else the row is not ok
                device.labels.update(dict.fromkeys(labels))
                device.keys.append(ParsedKey(kind, algorithm, key))
                device.pin = pin or device.pin

    def pin(self) -> str:
        pin = self.cells.get("pin") or ""
        if pin and not _PIN.fullmatch(pin):
            self.bad(Code.INVALID, "the PIN must be 4 to 8 digits.", "pin")  # the cell is never repeated
        return pin

    def product_type(self, by_name: dict[str, c.ProductType]) -> c.ProductType | None:
        if not self.cells["product_type"]:
            self.bad(Code.REQUIRED, "the product type is missing.", "product_type")
            return None
        product_type = by_name.get(self.cells["product_type"].casefold())
        if product_type is None:
            self.bad(
                Code.NOT_FOUND, "unknown product type (the names are listed by the productTypes query).", "product_type"
            )
        return product_type

    def kind(self, product_type: c.ProductType | None) -> c.KeyKind | None:
        kind = _enum_value(_KINDS, self.cells["key_kind"])
        if kind is None:
            self.bad(Code.INVALID, f"unknown key kind; one of {', '.join(k.value for k in c.KeyKind)}.", "key_kind")
        elif product_type is not None and kind.value not in product_type.key_kinds:
            carried = ", ".join(product_type.key_kinds) or "none"
            self.bad(Code.INVALID, f"this product type carries no {kind.value} key (it carries {carried}).", "key_kind")
        return kind

    def key(self, algorithm: c.KeyAlgorithm | None) -> bytes | None:
        key_hex = self.cells["key"]
        if not key_hex:
            self.bad(Code.REQUIRED, "the key is missing.", "key")
            return None
        if not _HEX.fullmatch(key_hex) or len(key_hex) % 2:
            self.bad(Code.INVALID, "the key is not hexadecimal (two hex digits per byte, nothing else).", "key")
            return None
        key = bytes.fromhex(key_hex)
        if algorithm is not None:
            try:
                check_key_length(algorithm, key)
            except DomainError as error:  # its message has lengths only
                self.bad(Code.INVALID, f"{error.message}.", "key")
        return key

    def labels(self) -> list[str]:
        labels: list[str] = []
        for label in (self.cells.get("labels") or "").split(LABEL_SEPARATOR):
            label = label.strip()
            if len(label) > MAX_LABEL:
                self.bad(Code.TOO_LONG, f"a label has more than {MAX_LABEL} characters.", "labels")
            elif label:
                labels.append(label)
        return labels

    def add_to_device(
        self,
        serial: str,
        product_type: c.ProductType | None,
        kind: c.KeyKind | None,
        devices: dict[str, ParsedDevice],
        first_line: dict[tuple[str, c.KeyKind], int],
    ) -> ParsedDevice:
        """The row's device (new, or the one of an earlier row: same product type, not the same kind twice)."""
        cell = self.cells["product_type"].casefold()
        device = devices.get(serial)
        if device is None:
            device = devices[serial] = ParsedDevice(serial, product_type, cell, self.line)
        elif device.product_type_cell != cell:
            self.bad(Code.INVALID, f"the serial number has another product type on line {device.line}.", "product_type")
        if kind is not None:
            earlier = first_line.setdefault((serial, kind), self.line)
            if earlier != self.line:
                self.bad(
                    Code.DUPLICATE, f"the serial number already has a {kind.value} key on line {earlier}.", "key_kind"
                )
        return device

"""What a serial number may be: the one rule claims, batches and imports check."""

from __future__ import annotations

import re

MAX_SERIAL = 64
_NOT_SERIAL = re.compile(r"[\s\x00-\x1f\x7f]")


def is_serial_number(value: str) -> bool:
    """At most MAX_SERIAL characters, none of them whitespace or a control character (the value is stripped)."""
    return 0 < len(value) <= MAX_SERIAL and _NOT_SERIAL.search(value) is None

"""Text filters of list fields: trimmed, NUL refused, length bounded, and LIKE patterns escaped.

A "contains" or "starts with" filter becomes a LIKE pattern. The user's text is matched literally
(`%`, `_` and the escape character are escaped), and it is bounded: SQLite refuses patterns over
50,000 bytes ("LIKE or GLOB pattern too complex") and PostgreSQL works hard on long ones, while no
column we search is longer than 254 characters, so a longer text could never match anyway.
"""

from __future__ import annotations

from typing import Any

from graph.errors import BadUserInput

#: Longest text of a filter (the longest searchable column is an e-mail address, 254 characters).
MAX_FILTER_TEXT = 254


def filter_text(value: str, argument: str, max_length: int = MAX_FILTER_TEXT) -> str:
    """The filter text, trimmed; BAD_USER_INPUT naming `argument` for NUL or more than `max_length` characters."""
    value = value.strip()
    if "\x00" in value:  # PostgreSQL refuses NUL in text; graph.inputs refuses it earlier too
        raise BadUserInput("Text filters cannot contain NUL characters.", argument=argument)
    if len(value) > max_length:
        raise BadUserInput(f"At most {max_length} characters.", argument=argument)
    return value


def contains(column: Any, value: str, argument: str, max_length: int = MAX_FILTER_TEXT) -> Any:
    """Case-insensitive "contains", wildcards taken literally."""
    return column.icontains(filter_text(value, argument, max_length), autoescape=True)


def starts_with(column: Any, value: str, argument: str, max_length: int = MAX_FILTER_TEXT) -> Any:
    """Case-sensitive prefix, wildcards taken literally."""
    return column.startswith(filter_text(value, argument, max_length), autoescape=True)

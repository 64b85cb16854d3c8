"""The README's Quick tour, read as a script: its code blocks in order, who each GraphQL block runs as, and the
IDs a block takes from an earlier answer (tests/graph/test_readme.py runs them against `fleetgraph serve --demo`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.relay import InvalidGlobalId, from_global_id

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: The first line of every GraphQL block of the tour names the demo user it runs as.
AS_USER = re.compile(r"^# as (\S+@\S+)\s*$")
#: The comment that marks a line whose IDs come from the answer of the query before it.
FROM_ABOVE = "the query above returned"
BLOCK = re.compile(r"^```(\w+)\n(.*?)\n```$", re.DOTALL | re.MULTILINE)
STRING = re.compile(r'"([A-Za-z0-9_-]{6,})"')


@dataclass(frozen=True)
class Block:
    language: str
    text: str

    @property
    def user(self) -> str:
        match = AS_USER.match(self.text.splitlines()[0])
        assert match, f"a GraphQL block of the tour must start with '# as <email>':\n{self.text}"
        return match.group(1)

    @property
    def operation(self) -> str:
        """query, mutation or subscription."""
        body = "\n".join(line.split("#", 1)[0] for line in self.text.splitlines()).strip()
        return "query" if body.startswith(("{", "query")) else body.split(None, 1)[0]

    def ids_from_above(self) -> list[str]:
        """The global IDs on lines marked as coming from the query before."""
        return [i for line in self.text.splitlines() if FROM_ABOVE in line for i in global_ids(line)]


def readme_text() -> str:
    return README.read_text()


def tour_section(text: str) -> str:
    start = text.index("\n## Quick tour\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def tour_blocks(text: str) -> list[Block]:
    return [Block(language, body) for language, body in BLOCK.findall(tour_section(text))]


def global_ids(text: str) -> list[str]:
    """String literals of `text` that are global IDs (`Type:<pk>` in URL-safe base64)."""
    found = []
    for candidate in STRING.findall(text):
        try:
            type_name, _ = from_global_id(candidate)
        except InvalidGlobalId:
            continue
        if type_name.isidentifier() and type_name[:1].isupper():
            found.append(candidate)
    return found


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every entry of every object in a JSON answer."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def payload_errors(answer: dict) -> list[tuple[str, Any]]:
    """Every non-empty `errors` list inside `data` (typed payload errors), with its path."""
    return [(path, item) for path, key, item in walk(answer.get("data")) if key == "errors" and item]


def ids_in(answer: dict) -> set[str]:
    return {item for _, key, item in walk(answer) if key == "id" and isinstance(item, str)}

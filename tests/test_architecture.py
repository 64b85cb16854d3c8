"""The code's shape, as ARCHITECTURE.md states it: which package may import which, one alias per models
module, no test module importing another, and size limits that keep modules and functions readable."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "models", "resolvers", "subscriptions")

#: The one module of graph/ that imports the domains.
COMPOSITION_ROOT = "graph.composition"

#: Which other domains a domain may import (public names only). Identity does not reach into remote:
#: remote registers a hook (graph.domain.Hook) instead.
DOMAIN_DEPENDENCIES = {
    "identity": {"audit", "mail"},
    "audit": {"identity"},
    "mail": {"audit", "identity"},
    "catalogue": {"audit", "identity", "mail"},
    "remote": {"audit", "identity", "mail"},
    "monitoring": {"audit", "identity", "mail", "remote"},
    # meters are catalogue devices; readings go through monitoring's telemetry rule, integrations through its
    # outbound-delivery engine
    "metering": {"audit", "catalogue", "identity", "mail", "monitoring"},
}

#: The alias of each models module wherever one is used.
MODEL_ALIASES = {
    "models.identity": "m",
    "models.catalogue": "c",
    "models.remote": "r",
    "models.mail": "mail_models",
    "models.audit": "audit_models",
    "models.telemetry": "tel",
    "models.alarms": "al",
    "models.forwarding": "fw",
    "models.datalog": "dl",
    "models.metering": "mt",
    "models.cases": "cs",
    "models.portal": "pt",
    "models.branding": "br",
    "models.clients": "cl",
    "models.federation": "fed",
    "models.saml": "saml_models",
}

MAX_RESOLVERS_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: A longer function says why in its docstring, starting a line or sentence with this.
LONG_FUNCTION_REASON = "Long because"


def _modules(*roots: str) -> Iterator[tuple[str, Path]]:
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of the module, lazy ones included."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name, node.lineno


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "resolvers" and len(parts) > 1 else None


def _is_private(module: str, name: str | None) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in module.split(".")) or (
        name is not None and name.startswith("_") and not name.startswith("__")
    )


def test_graph_models_and_subscriptions_import_no_domain_but_in_the_composition_root():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in _modules("graph", "models", "subscriptions")
        if module != COMPOSITION_ROOT
        for target, _, line in _imports(module, path)
        if target == "resolvers" or target.startswith("resolvers.")
    ]
    assert wrong == []


def test_models_import_neither_graph_nor_domains():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in _modules("models")
        for target, _, line in _imports(module, path)
        if target.split(".")[0] in {"graph", "resolvers", "subscriptions"}
    ]
    assert wrong == []


def test_domains_import_only_the_domains_they_declare_and_only_public_names():
    wrong = []
    for module, path in _modules("resolvers"):
        own = _domain(module)
        for target, name, line in _imports(module, path):
            other = _domain(target)
            if other is None or other == own or own is None:
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if other not in DOMAIN_DEPENDENCIES[own]:
                wrong.append(f"{where}: {own} may not import {other} ({target})")
            elif _is_private(target, name):
                wrong.append(f"{where}: private name {target}.{name}")
    assert wrong == []


def test_every_domain_is_declared_in_the_dependency_table():
    domains = {path.name for path in (ROOT / "resolvers").iterdir() if (path / "domain.py").exists()}
    assert domains == set(DOMAIN_DEPENDENCIES)


def test_no_module_imports_a_private_name_of_another_module():
    """Within a domain too: what a module shares has a public name."""
    wrong = []
    for module, path in _modules(*PACKAGES):
        for target, name, line in _imports(module, path):
            if target.split(".")[0] in PACKAGES and name is not None and _is_private(target, name):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}.{name}")
    assert wrong == []


def test_each_models_module_has_one_alias():
    wrong = []
    for _, path in _modules(*PACKAGES, "tests", "bench"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "models":
                for alias in node.names:
                    expected = MODEL_ALIASES.get(f"models.{alias.name}")
                    if alias.asname is not None and alias.asname != expected:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} models.{alias.name} as {alias.asname}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    expected = MODEL_ALIASES.get(alias.name)
                    if expected is not None and alias.asname not in (None, expected):
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {alias.name} as {alias.asname}")
    assert wrong == []


def test_no_test_module_imports_another_test_module():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in _modules("tests")
        for target, _, line in _imports(module, path)
        if target.startswith("tests.") and target.rpartition(".")[2].startswith("test_")
    ]
    assert wrong == []


def test_no_resolvers_module_is_over_the_line_limit():
    long = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for _, path in _modules("resolvers")
        if (count := len(path.read_text().splitlines())) > MAX_RESOLVERS_MODULE_LINES
    ]
    assert long == []


@pytest.mark.parametrize(
    "root",
    ["graph", "models", "resolvers", "subscriptions", "tests"],
)
def test_no_function_is_over_the_line_limit_unless_its_docstring_says_why(root):
    long = []
    for _, path in _modules(root):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                count = node.end_lineno - node.lineno + 1
                if count > MAX_FUNCTION_LINES and LONG_FUNCTION_REASON not in (ast.get_docstring(node) or ""):
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {count} lines")
    assert long == []


def test_every_type_with_relations_carries_what_its_list_loaded_ahead():
    """A relation field (graph.lookahead.relation) reads `self.ahead`: a type without that field would fail
    wherever its relation is asked for."""
    import dataclasses

    from strawberry.types.base import StrawberryObjectDefinition

    from graph.lookahead import relations_of
    from graph.schema import build_schema

    types = {
        concrete.definition.origin
        for concrete in build_schema().schema_converter.type_map.values()
        if isinstance(concrete.definition, StrawberryObjectDefinition)
    }
    with_relations = [item_type for item_type in types if relations_of(item_type)]
    assert len(with_relations) >= 20  # every domain declares some
    missing = [t.__name__ for t in with_relations if "ahead" not in {f.name for f in dataclasses.fields(t)}]
    assert missing == []

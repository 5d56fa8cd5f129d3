"""The import directions of DESIGN.md, checked on every module's import statements."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {
    "campusedge",
    "drivers",
    "edge",
    "gateway",
    "simulators",
    "models",
    "firmware_configs",
    "tests",
}
ALLOWED = {
    "campusedge": {"campusedge"},
    "drivers": {"campusedge", "drivers"},
    "edge": {"campusedge", "drivers", "edge"},
    "gateway": {"campusedge", "drivers", "gateway"},
    "simulators": {"campusedge", "drivers", "simulators"},
}
# The vocabulary package may use the standard library and pydantic, and paho for the one MQTT
# client module (campusedge/mqtt_client.py) that the edge agent and the gateway both build on.
# pydantic_core is pydantic's own validator core (its custom schemas are built with it).
CAMPUSEDGE_THIRD_PARTY = {"pydantic", "pydantic_core", "pydantic_settings", "paho"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def modules() -> list[Path]:
    return sorted(p for pkg in ALLOWED for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_design(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    roots = imported_roots(path)
    wrong = {r for r in roots if r in PROJECT and r not in ALLOWED[package]}
    assert not wrong, (
        f"{path.relative_to(ROOT)} imports {sorted(wrong)}; DESIGN.md allows "
        f"{sorted(ALLOWED[package])}"
    )
    if package == "campusedge":
        outside = {
            r
            for r in roots - PROJECT
            if r not in sys.stdlib_module_names and r not in CAMPUSEDGE_THIRD_PARTY
        }
        assert not outside, (
            f"{path.relative_to(ROOT)} imports {sorted(outside)}; the "
            "vocabulary package may use only the standard library and pydantic"
        )


def test_edge_and_gateway_never_import_each_other() -> None:
    for package, other in (("edge", "gateway"), ("gateway", "edge")):
        for path in (ROOT / package).rglob("*.py"):
            assert other not in imported_roots(path), f"{path} imports {other}"


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from gateway.ingest import Ingest\nimport edge.pe\n")
    assert imported_roots(bad) == {"gateway", "edge"}


# The relational state's libraries belong to the gateway (DESIGN.md: "relational state ...
# through SQLAlchemy Core"): edge boxes, drivers and simulators stay free of them.
STATE_LIBRARIES = {"sqlalchemy", "alembic", "psycopg"}


def test_only_the_gateway_uses_the_state_database_libraries() -> None:
    for package in ("campusedge", "drivers", "edge", "simulators"):
        for path in (ROOT / package).rglob("*.py"):
            used = imported_roots(path) & STATE_LIBRARIES
            assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}"


def test_state_tables_and_revisions_import_no_gateway_service() -> None:
    """Table declarations and schema revisions stand alone: a revision must run the same way
    whatever the services become, so it may use only the tables and the shared codecs."""
    for folder in ("gateway/tables", "gateway/migrations/versions"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            modules = {
                node.module
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            } | {
                alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
                for alias in node.names
            }
            gateway = {m for m in modules if m.split(".")[0] == "gateway"}
            assert gateway <= {"gateway.tables"}, f"{path.relative_to(ROOT)} imports {gateway}"

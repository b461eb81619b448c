"""The layering rules of docs/ARCHITECTURE.md, checked on every run, and the migrations' numbering."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from db.migrate import SKIPPED, load_migrations, new_migration
from db.store import StoreError

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(
    r"^\s*(SELECT\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s"
    r"|(CREATE|ALTER|DROP)\s+(TABLE|INDEX)\s)"
)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("bot/domain", {"discord", "aiosqlite", "db", "cogs"}), ("db", {"discord", "cogs"})],
)
def test_layers_import_only_downwards(folder: str, forbidden: set[str]) -> None:
    for path in sorted((ROOT / folder).rglob("*.py")):
        bad = imports_of(path) & forbidden
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_sql_outside_db() -> None:
    for folder in ("cogs", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                    raise AssertionError(f"SQL in {path.relative_to(ROOT)}: {node.value[:60]!r}")


def test_migrations_are_numbered_without_gaps_but_the_documented_one() -> None:
    versions = [m.version for m in load_migrations()]
    expected = [v for v in range(1, max(versions) + 1) if v not in SKIPPED]
    assert versions == expected
    assert not set(versions) & SKIPPED


def test_new_migration_takes_the_next_number(tmp_path: Path) -> None:
    for name in ("001-base.sql", "013-x.sql", "015-y.sql"):
        (tmp_path / name).write_text("")
    made = new_migration("Awards: anonymous results", tmp_path)
    assert made.name == "016-awards-anonymous-results.sql" and made.read_text().startswith("-- Awards")
    with pytest.raises(StoreError):
        new_migration("!!!", tmp_path)

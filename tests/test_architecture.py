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


FEATURES = sorted(p.name for p in (ROOT / "cogs").iterdir() if (p / "__init__.py").exists())
# Features whose commands still do their own storage work; each leaves this list when its cog is thinned
# over a service (issue 18). strict xfail: a feature that is fixed but still listed fails the run.
NOT_YET_THIN: set[str] = set()


def _cog_modules(feature: str) -> list[Path]:
    """The feature's modules that define a Cog (commands and listeners)."""
    found = []
    for path in sorted((ROOT / "cogs" / feature).glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Attribute) and b.attr == "Cog" for b in node.bases
            ):
                found.append(path)
                break
    return found


def _storage_work(path: Path) -> list[str]:
    """Transactions and repository calls in a module: ``x.transaction()`` and any ``db`` module imported to call."""
    problems = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "transaction":
            problems.append(f"line {node.lineno}: opens a transaction")
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "db":
                problems.append(f"line {node.lineno}: imports repositories {[a.name for a in node.names]}")
            elif node.module.startswith("db."):
                # Constants and types are fine (``from db.awards import CLOSED, Poll``); functions are not.
                calls = [a.name for a in node.names if a.name[:1].islower()]
                if calls:
                    problems.append(f"line {node.lineno}: imports repository functions {calls}")
        if isinstance(node, ast.Import) and any(a.name.startswith("db.") for a in node.names):
            problems.append(f"line {node.lineno}: imports a repository module")
    return problems


@pytest.mark.parametrize(
    "feature",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason="cog not thinned yet")) if f in NOT_YET_THIN else f
        for f in FEATURES
    ],
)
def test_cogs_read_input_and_reply_while_services_do_the_work(feature: str) -> None:
    modules = _cog_modules(feature)
    assert modules, f"cogs/{feature} defines no Cog"
    for path in modules:
        problems = _storage_work(path)
        assert not problems, f"{path.relative_to(ROOT)}: {problems}"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                length = (node.end_lineno or node.lineno) - node.lineno
                assert length <= 420, f"{path.relative_to(ROOT)}: class {node.name} is {length} lines"


# Features that still look another one up by name or import its modules (issue 18); strict, as above.
NOT_YET_APART: set[str] = set()


@pytest.mark.parametrize(
    "feature",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason="still reaches another feature"))
        if f in NOT_YET_APART
        else f
        for f in FEATURES
    ],
)
def test_features_meet_only_through_services(feature: str) -> None:
    """No feature imports another feature's modules, and nobody looks a cog up by name."""
    for path in sorted((ROOT / "cogs" / feature).rglob("*.py")):
        text = path.read_text()
        assert "get_cog(" not in text, f"{path.relative_to(ROOT)} looks a cog up by name; use the bot's service"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cogs."):
                other = node.module.split(".")[1]
                assert other == feature, f"{path.relative_to(ROOT)} imports {node.module}; use bot.{other}"

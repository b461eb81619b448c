"""docker-compose.yml, checked without Docker: the clusters' shard ranges cover every shard exactly once with one
count, they share one PostgreSQL database, one token and one web key file, they wait for a healthy database, and
no secret is written in the file (every variable it needs is in .env.example)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.domain.shards import ShardRange, parse_shards
from db.dialect import is_postgres_url

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?|-|\?)([^}]*))?\}")


def example_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``; a required variable left empty fails."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if env.get(name):
            return env[name]
        if op in (":?", "?"):
            raise KeyError(f"{name} is required: {arg}")
        return arg if op in (":-", "-") else ""

    return VARIABLE.sub(value, text)


def load(env: dict[str, str]) -> dict[str, Any]:
    doc = yaml.safe_load(interpolate(COMPOSE.read_text(), env))
    assert isinstance(doc, dict)
    return doc


@pytest.fixture
def compose() -> dict[str, Any]:
    env = example_env()
    env.update(DISCORD_TOKEN="token-from-env", POSTGRES_PASSWORD="pw-from-env")  # what an operator fills in
    return load(env)


def clusters(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in doc["services"].items() if "FILMCLUB_SHARDS" in svc.get("environment", {})}


def test_the_shard_ranges_cover_every_shard_exactly_once_with_one_count(compose: dict[str, Any]) -> None:
    ranges: dict[str, ShardRange] = {
        name: parse_shards(str(svc["environment"]["FILMCLUB_SHARDS"])) for name, svc in clusters(compose).items()
    }
    assert len(ranges) >= 2
    counts = {r.count for r in ranges.values()}
    assert len(counts) == 1, f"every cluster needs the same shard count: {ranges}"
    covered = sorted(shard for r in ranges.values() for shard in r.ids)
    assert covered == list(range(counts.pop())), f"each shard exactly once: {ranges}"
    assert sum(r.runs_shard_zero for r in ranges.values()) == 1  # one cluster syncs the commands


def test_the_clusters_share_one_database_token_and_web_key(compose: dict[str, Any]) -> None:
    found = clusters(compose)
    env = [svc["environment"] for svc in found.values()]
    for key in ("FILMCLUB_DB", "DISCORD_TOKEN", "FILMCLUB_WEB_KEY_FILE"):
        assert len({e[key] for e in env}) == 1, key
    url = env[0]["FILMCLUB_DB"]
    assert is_postgres_url(url) and "pw-from-env" in url and env[0]["DISCORD_TOKEN"] == "token-from-env"
    db_service = urlsplit(url).hostname
    assert db_service in compose["services"] and db_service not in found
    database = compose["services"][db_service]
    assert "healthcheck" in database and database["environment"]["POSTGRES_PASSWORD"] == "pw-from-env"
    assert urlsplit(url).path.strip("/") == database["environment"]["POSTGRES_DB"]
    assert urlsplit(url).username == database["environment"]["POSTGRES_USER"]
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in database["volumes"])  # data survives
    key_file = Path(env[0]["FILMCLUB_WEB_KEY_FILE"])
    for name, svc in found.items():
        assert svc["depends_on"][db_service]["condition"] == "service_healthy", name
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc["volumes"]}
        folder = str(key_file.parent)
        assert folder in mounts and mounts[folder] in compose["volumes"], f"{name}: the key file on a shared volume"
        assert svc["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_the_web_pages_run_on_one_cluster_only(compose: dict[str, Any]) -> None:
    env = example_env()
    env.update(DISCORD_TOKEN="t", POSTGRES_PASSWORD="p", FILMCLUB_WEB_PORT="8123")
    serving = [name for name, svc in clusters(load(env)).items() if svc["environment"].get("FILMCLUB_WEB_PORT")]
    assert len(serving) == 1
    assert load(env)["services"][serving[0]]["ports"] == ["127.0.0.1:8123:8123"]
    assert not [n for n, s in clusters(compose).items() if s["environment"].get("FILMCLUB_WEB_PORT")]  # off


def test_no_secret_in_the_file_and_every_variable_in_env_example() -> None:
    text = COMPOSE.read_text()
    names = {m.group(1) for m in VARIABLE.finditer(text)}
    assert {"DISCORD_TOKEN", "POSTGRES_PASSWORD"} <= names
    assert names <= set(example_env()), f"missing from .env.example: {names - set(example_env())}"
    for required in ("DISCORD_TOKEN", "POSTGRES_PASSWORD"):
        assert example_env()[required] == ""  # the example carries no secret
        with pytest.raises(KeyError, match=required):  # and compose refuses to start without one
            load({k: v for k, v in {**example_env(), "DISCORD_TOKEN": "t", "POSTGRES_PASSWORD": "p"}.items()
                  if k != required})
    raw = yaml.safe_load(text)  # before interpolation: every secret is a ${VARIABLE}
    for name, svc in raw["services"].items():
        for key, value in svc.get("environment", {}).items():
            if key.endswith(("PASSWORD", "TOKEN")):
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"
            if key == "FILMCLUB_DB":
                assert re.match(r"postgresql://\w+:\$\{POSTGRES_PASSWORD[:?}]", str(value)), value

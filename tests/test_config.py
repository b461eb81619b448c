"""Configuration: required token, defaults, and the token never leaking."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config
from bot.logsetup import OneLineFormatter, RedactFilter

ROOT = Path(__file__).resolve().parents[1]


def test_missing_token_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        load_config(env={}, env_file=tmp_path / "none.env")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        load_config(env={"DISCORD_TOKEN": "   "}, env_file=None)


def test_defaults_and_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\nFILMCLUB_DEV_GUILD=42\nLOG_LEVEL=debug\n")
    config = load_config(env={}, env_file=env_file)
    assert config.token == "from-file"
    assert config.dev_guild == 42
    assert config.log_level == "DEBUG"
    assert config.db_path == Path("./data/filmclub.db")
    # The process environment wins over the file.
    config = load_config(env={"DISCORD_TOKEN": "from-env", "FILMCLUB_DB": "/x/y.db"}, env_file=env_file)
    assert config.token == "from-env"
    assert config.db_path == Path("/x/y.db")


def test_bad_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="FILMCLUB_DEV_GUILD"):
        load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_DEV_GUILD": "abc"}, env_file=None)
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_config(env={"DISCORD_TOKEN": "t", "LOG_LEVEL": "LOUD"}, env_file=None)


def test_repr_hides_token() -> None:
    config = Config(token="super-secret-token-123")
    assert "super-secret-token-123" not in repr(config)
    assert "super-secret-token-123" not in str(config)


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["FILMCLUB_DB"] = str(tmp_path / "x.db")
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in proc.stderr


def test_redact_filter_scrubs_messages_args_and_tracebacks() -> None:
    secret = "MTIzNDU2Nzg5.abcdef.secret-token"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactFilter([secret]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token is %s", secret)
        try:
            raise RuntimeError(f"bad auth header Bot {secret}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert secret not in output
    assert output.count("<redacted>") >= 2
    assert len(output.strip().splitlines()) == 2  # one line per event, tracebacks folded


def test_interaction_tokens_and_webhook_urls_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OneLineFormatter("%(message)s"))
    handler.addFilter(RedactFilter([]))
    logger = logging.getLogger("test.redact.interactions")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OkxvbmdTZWNyZXQ.x-y_z"
    try:
        logger.debug("POST https://discord.com/api/v10/interactions/123456789/%s/callback?with_response=1", token)
        logger.debug("PATCH https://discord.com/api/v10/webhooks/42/%s/messages/@original", token)
        logger.debug("payload %s", {"id": "1", "token": token})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert token not in text
    assert "/interactions/123456789/<redacted>/callback" in text and "/webhooks/42/<redacted>/messages" in text


def test_web_settings_off_by_default_and_checked() -> None:
    config = load_config(env={"DISCORD_TOKEN": "t"}, env_file=None)
    assert config.web_port is None and config.web_host == "127.0.0.1" and config.public_url is None
    config = load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_WEB_PORT": "8080", "FILMCLUB_WEB_HOST": "0.0.0.0",
                              "FILMCLUB_PUBLIC_URL": "https://club.example/films/"}, env_file=None)
    assert (config.web_port, config.web_host, config.public_url) == (8080, "0.0.0.0", "https://club.example/films")
    for bad in ("http", "0", "70000", "-1"):
        with pytest.raises(ConfigError, match="FILMCLUB_WEB_PORT"):
            load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_WEB_PORT": bad}, env_file=None)
    with pytest.raises(ConfigError, match="FILMCLUB_PUBLIC_URL"):
        load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_PUBLIC_URL": "club.example"}, env_file=None)


def test_shards_take_a_range_or_one_shard() -> None:
    from bot.domain.shards import ShardRange

    assert load_config(env={"DISCORD_TOKEN": "t"}, env_file=None).shards is None
    assert load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_SHARDS": "0-3/8"}, env_file=None).shards == ShardRange(
        0, 3, 8)
    assert load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_SHARDS": "5/8"}, env_file=None).shards == ShardRange(
        5, 5, 8)
    for bad in ("4-2/8", "0-8/8", "all", "3"):
        with pytest.raises(ConfigError) as info:
            load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_SHARDS": bad}, env_file=None)
        message = str(info.value)
        assert "\n" not in message and message.startswith("FILMCLUB_SHARDS must be FIRST-LAST/COUNT")
        assert "0 <= FIRST <= LAST < COUNT" in message and repr(bad) in message


def test_bad_shards_exit_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DISCORD_TOKEN": "t", "FILMCLUB_DB": str(tmp_path / "x.db"), "FILMCLUB_SHARDS": "2-9/8",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "FILMCLUB_SHARDS must be FIRST-LAST/COUNT" in lines[0] and "'2-9/8'" in lines[0]


def test_postgres_url_password_hidden_and_web_key_location(tmp_path: Path) -> None:
    url = "postgresql://club:hunter2-secret@db.example.org:5432/filmclub?sslmode=require"
    config = load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_DB": url, "FILMCLUB_PG_BACKUP_DONE": "20"},
                         env_file=None)
    assert config.db_url == url and config.db_target == url and config.pg_backup_done == "20"
    assert "hunter2-secret" not in repr(config) and "hunter2-secret" not in config.db_label
    assert "postgresql://club:***@db.example.org:5432/filmclub" in repr(config)
    assert config.web_key_path == Path("./data/filmclub.webkey")  # shared by every process on the database
    keyed = load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_DB": "postgres://club@db/filmclub",
                             "FILMCLUB_WEB_KEY_FILE": str(tmp_path / "k")}, env_file=None)
    assert keyed.web_key_path == tmp_path / "k"
    sqlite = load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_DB": str(tmp_path / "club.db")}, env_file=None)
    assert sqlite.db_url is None and sqlite.db_target == tmp_path / "club.db"
    assert sqlite.web_key_path == tmp_path / "club.db.webkey"
    with pytest.raises(ConfigError, match="needs a database name") as info:
        load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_DB": "postgresql://club:hunter2-secret@db.example.org"},
                    env_file=None)
    assert "hunter2-secret" not in str(info.value)


def test_global_limit_defaults_to_discords_and_is_checked() -> None:
    assert load_config(env={"DISCORD_TOKEN": "t"}, env_file=None).global_limit == 50
    assert load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_GLOBAL_LIMIT": "1200"}, env_file=None).global_limit == 1200
    for bad in ("0", "-5", "fifty", "1.5"):
        with pytest.raises(ConfigError, match="FILMCLUB_GLOBAL_LIMIT must be"):
            load_config(env={"DISCORD_TOKEN": "t", "FILMCLUB_GLOBAL_LIMIT": bad}, env_file=None)

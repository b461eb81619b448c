"""Typed configuration from environment variables and an optional ``.env`` file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.domain.shards import SHAPE as SHARDS_SHAPE
from bot.domain.shards import ShardRange, parse_shards
from db.dialect import is_postgres_url, redact_url

TOKEN_HELP = (
    "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications "
    "(Bot > Reset Token), then put DISCORD_TOKEN=... in the environment or in a .env file."
)
LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(Exception):
    """The configuration cannot start the bot; the message is one line for the operator."""


@dataclass(frozen=True)
class Config:
    token: str = field(repr=False)
    db_path: Path = Path("./data/filmclub.db")
    dev_guild: int | None = None
    log_level: str = "INFO"
    message_content: bool = False
    web_port: int | None = None  # the club's web pages and calendar feeds: off unless set
    web_host: str = "127.0.0.1"
    public_url: str | None = None  # the pages' address as people reach it (behind a reverse proxy)
    shards: ShardRange | None = None  # FILMCLUB_SHARDS: this process's shards; None = every shard Discord recommends
    global_limit: int = 50  # FILMCLUB_GLOBAL_LIMIT: the bot's global rate limit (requests a second), for all clusters
    db_url: str | None = field(default=None, repr=False)  # FILMCLUB_DB as a PostgreSQL URL (wins over db_path)
    pg_backup_done: str | None = None  # FILMCLUB_PG_BACKUP_DONE: the schema version a dump was taken of
    web_key_file: Path | None = None  # FILMCLUB_WEB_KEY_FILE

    @property
    def db_target(self) -> str | Path:
        """What :func:`db.make_store` opens: the PostgreSQL URL, else the SQLite file."""
        return self.db_url if self.db_url else self.db_path

    @property
    def db_label(self) -> str:
        """The database as logs and messages name it (a URL never with its password)."""
        return redact_url(self.db_url) if self.db_url else str(self.db_path)

    @property
    def web_key_path(self) -> Path:
        """The web pages' token key: FILMCLUB_WEB_KEY_FILE, else beside an SQLite file, else (PostgreSQL, shared by
        every cluster) ./data/filmclub.webkey."""
        if self.web_key_file is not None:
            return self.web_key_file
        if self.db_url:
            return Path("./data/filmclub.webkey")
        return self.db_path.with_name(self.db_path.name + ".webkey")

    def __repr__(self) -> str:  # never show the token or a database password, even by accident
        return (
            f"Config(token=<hidden>, db={self.db_label}, dev_guild={self.dev_guild}, "
            f"log_level={self.log_level}, message_content={self.message_content}, web_port={self.web_port}, "
            f"web_host={self.web_host}, public_url={self.public_url}, shards={self.shards})"
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_config(env: dict[str, str] | None = None, env_file: str | Path | None = ".env") -> Config:
    """Build the config; process environment wins over the ``.env`` file."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if env is None else env)

    token = values.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError(TOKEN_HELP)

    dev_guild_raw = values.get("FILMCLUB_DEV_GUILD", "").strip()
    dev_guild: int | None = None
    if dev_guild_raw:
        if not dev_guild_raw.isdigit():
            raise ConfigError("FILMCLUB_DEV_GUILD must be a server id (a number), or left unset.")
        dev_guild = int(dev_guild_raw)

    level = values.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}; got {level!r}.")

    db_raw = values.get("FILMCLUB_DB", "").strip()
    db_url: str | None = None
    db_path = Path("./data/filmclub.db")
    if is_postgres_url(db_raw):
        db_url = db_raw
        try:
            database = urlsplit(db_raw).path.strip("/")
        except ValueError:
            database = ""
        if not database:
            raise ConfigError(
                "FILMCLUB_DB as a PostgreSQL URL needs a database name: "
                f"postgresql://user:password@host:5432/filmclub (got {redact_url(db_raw)})."
            )
    elif db_raw:
        db_path = Path(db_raw)
    web_key_raw = values.get("FILMCLUB_WEB_KEY_FILE", "").strip()

    web_port_raw = values.get("FILMCLUB_WEB_PORT", "").strip()
    web_port: int | None = None
    if web_port_raw:
        if not web_port_raw.isdigit() or not 0 < int(web_port_raw) < 65536:
            raise ConfigError(
                f"FILMCLUB_WEB_PORT must be a port number (1-65535), or left unset; got {web_port_raw!r}."
            )
        web_port = int(web_port_raw)
    public_url = values.get("FILMCLUB_PUBLIC_URL", "").strip().rstrip("/") or None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"FILMCLUB_PUBLIC_URL must start with https:// or http://; got {public_url!r}.")
    limit_raw = values.get("FILMCLUB_GLOBAL_LIMIT", "").strip()
    if limit_raw and (not limit_raw.isdigit() or int(limit_raw) < 1):
        raise ConfigError(
            f"FILMCLUB_GLOBAL_LIMIT must be the bot's global rate limit in requests a second (50 unless Discord "
            f"raised it), or left unset; got {limit_raw!r}."
        )
    global_limit = int(limit_raw) if limit_raw else 50
    shards_raw = values.get("FILMCLUB_SHARDS", "").strip()
    try:
        shards = parse_shards(shards_raw) if shards_raw else None
    except ValueError:
        raise ConfigError(f"FILMCLUB_SHARDS must be {SHARDS_SHAPE}, or left unset; got {shards_raw!r}.") from None
    return Config(
        token=token,
        db_path=db_path,
        dev_guild=dev_guild,
        log_level=level,
        message_content=_truthy(values.get("FILMCLUB_MESSAGE_CONTENT")),
        web_port=web_port,
        web_host=values.get("FILMCLUB_WEB_HOST", "").strip() or "127.0.0.1",
        public_url=public_url,
        shards=shards,
        global_limit=global_limit,
        db_url=db_url,
        pg_backup_done=values.get("FILMCLUB_PG_BACKUP_DONE", "").strip() or None,
        web_key_file=Path(web_key_raw) if web_key_raw else None,
    )

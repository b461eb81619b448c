"""Typed configuration from environment variables and an optional ``.env`` file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.domain.shards import SHAPE as SHARDS_SHAPE
from bot.domain.shards import ShardRange, parse_shards

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

    def __repr__(self) -> str:  # never show the token, even by accident
        return (
            f"Config(token=<hidden>, db_path={self.db_path!s}, dev_guild={self.dev_guild}, "
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

    db_path = Path(values.get("FILMCLUB_DB", "").strip() or "./data/filmclub.db")

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
    )

"""``python -m bot`` / ``filmclub``: run the bot until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import aiohttp
import discord

from bot.config import ConfigError, load_config
from bot.logsetup import setup_logging
from db import make_store
from db.store import StoreError

log = logging.getLogger("bot")


def fail(message: str) -> int:
    print(f"filmclub: {message}", file=sys.stderr)
    return 2


async def _run(bot: discord.Client, token: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on Windows
            pass
    runner = asyncio.create_task(_start(bot, token, stop))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if stopper in done:
        log.info("signal received; shutting down")
        await bot.close()
        try:
            await runner
        except asyncio.CancelledError:
            pass
    else:
        stopper.cancel()
        if not bot.is_closed():
            await bot.close()
        runner.result()  # re-raise what stopped the bot


async def _check_store(target: str | Path) -> None:
    """Open, check and close the database before anything else, so a damaged file (or a PostgreSQL server that
    cannot be reached, or refuses the login) is one line, not a hang."""
    store = make_store(target)
    await store.open()
    await store.close()


RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between attempts to reach Discord at start, doubling


async def _start(bot: discord.Client, token: str, stop: asyncio.Event) -> None:
    """Log in (retrying while Discord cannot be reached), then connect; discord.py reconnects from there on."""
    delay = RETRY_FIRST
    while True:
        try:
            await bot.login(token)
            break
        except (TimeoutError, aiohttp.ClientError, OSError, discord.DiscordServerError) as exc:
            if getattr(bot, "store", None) is not None and bot.store.is_open:  # type: ignore[attr-defined]
                raise  # failed after setup: not a network problem at start
            reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            log.warning("cannot reach Discord: %s; retrying in %d s", reason[:200], delay)
            # Each attempt opens a new HTTP session; close this one (and its connector) first.
            await bot.http.close()
            bot.http.connector = discord.utils.MISSING
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                return  # stopped while waiting
            except TimeoutError:
                pass
            delay = min(delay * 2, RETRY_MAX)
    await bot.connect()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:  # an operator's command (bot/cli.py); no arguments runs the bot
        from bot.cli import run

        return run(args)
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(str(exc))
    setup_logging(config.log_level, [config.token])

    try:
        asyncio.run(_check_store(config.db_target))
    except StoreError as exc:
        return fail(str(exc))

    from bot.app import FilmClubBot  # after logging, so import-time logs are formatted

    bot = FilmClubBot(config)
    try:
        asyncio.run(_run(bot, config.token))
    except discord.LoginFailure:
        return fail("Discord refused DISCORD_TOKEN (401 Unauthorized). Reset the token in the developer portal.")
    except discord.PrivilegedIntentsRequired:
        return fail(
            "Discord refused a privileged intent. Turn on Message Content in the developer portal "
            "(Bot > Privileged Gateway Intents) or unset FILMCLUB_MESSAGE_CONTENT."
        )
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:
            return fail("Discord refused DISCORD_TOKEN (authentication failed). Reset the token.")
        return fail(f"Discord closed the connection (code {exc.code}).")
    except StoreError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

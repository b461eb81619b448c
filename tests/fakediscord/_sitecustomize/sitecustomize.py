"""Loaded by Python at start-up when this directory is on PYTHONPATH (the fake's process mode puts it there).

When ``FAKEDISCORD_API`` / ``FAKEDISCORD_GATEWAY`` are set, point discord.py at the fake Discord so the bot's
own code needs no test hooks. ``FAKEDISCORD_GUILD_READY_TIMEOUT`` shortens discord.py's wait for GUILD_CREATEs
(2 s by default) so on_ready fires quickly. ``FAKEDISCORD_PROCESS_NAME`` is appended to discord.py's User-Agent
(`` fakediscord-process/NAME``, after the parts Discord requires) so the fake can tell several bot processes apart.
"""

from __future__ import annotations

import os


def _patch() -> None:
    api = os.environ.get("FAKEDISCORD_API")
    if not api:
        return
    try:
        import discord.gateway
        import discord.http
        import discord.state
        import yarl
    except ImportError:  # pragma: no cover - discord.py missing
        return
    discord.http.Route.BASE = api
    gateway = os.environ.get("FAKEDISCORD_GATEWAY")
    if gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    name = os.environ.get("FAKEDISCORD_PROCESS_NAME")
    if name:
        original_http_init = discord.http.HTTPClient.__init__

        def http_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            original_http_init(self, *args, **kwargs)
            self.user_agent += " fakediscord-process/" + name  # same text as process.AGENT_TAG

        discord.http.HTTPClient.__init__ = http_init  # type: ignore[method-assign]
    timeout = os.environ.get("FAKEDISCORD_GUILD_READY_TIMEOUT")
    if timeout:
        original = discord.state.ConnectionState.__init__

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            original(self, *args, **kwargs)
            if "guild_ready_timeout" not in kwargs:
                self.guild_ready_timeout = float(timeout)

        discord.state.ConnectionState.__init__ = __init__  # type: ignore[method-assign]


_patch()

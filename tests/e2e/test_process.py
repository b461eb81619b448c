"""The real `python -m bot` process: clean shutdown, refused token, no token in logs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.fakediscord.server import FakeDiscord

pytestmark = pytest.mark.process


async def test_sigterm_shuts_down_cleanly_and_token_never_logged(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    g = fake.standard_guild()
    proc = bot_process(
        "bot",
        env={"FILMCLUB_DB": str(tmp_path / "club.db"), "FILMCLUB_DEV_GUILD": str(g.guild.id), "LOG_LEVEL": "DEBUG"},
        commands=True,
    )
    await proc.start()
    assert "filmclub" in fake.command_names(g.guild)
    handle = await fake.slash(g.alice, g.general, "filmclub about")
    reply = await handle.reply()
    assert reply.embeds and reply.embeds[0]["title"] == "filmclub"
    code = await proc.stop()  # SIGTERM
    assert code == 0
    output = proc.output()
    assert "signal received; shutting down" in output
    assert fake.token not in output
    # Interaction tokens are secrets too (15 minutes of posting as the bot): DEBUG logs the callback URL.
    assert "/interactions/" in output and "<redacted>/callback" in output
    assert handle.token not in output
    assert "Traceback" not in output
    # A second start on the same database does not sync commands again (tree unchanged).
    syncs = len(fake.command_syncs)
    await proc.start(commands=False)
    await asyncio.sleep(0.3)
    assert len(fake.command_syncs) == syncs
    assert "command tree unchanged" in proc.output()
    await proc.stop()


async def test_refused_token_exits_2_with_one_line(fake: FakeDiscord, bot_process: Any, tmp_path: Path) -> None:
    fake.standard_guild()
    bad = "definitely-not-the-token.abc.def"
    proc = bot_process("bot", env={"FILMCLUB_DB": str(tmp_path / "club.db"), "DISCORD_TOKEN": bad})
    await proc.start(wait=False)
    for _ in range(200):
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    assert proc.returncode == 2
    output = proc.output()
    lines = [line for line in output.splitlines() if line.startswith("filmclub:")]
    assert len(lines) == 1 and "refused DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in output
    assert bad not in output


async def _exit_code_within(proc: Any, seconds: float) -> int | None:
    for _ in range(int(seconds / 0.05)):
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    return proc.returncode  # type: ignore[no-any-return]


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
async def test_damaged_database_exits_2_with_one_line(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path, damage: str
) -> None:
    """A truncated or foreign database file: exit 2 quickly, one line naming the file and the backup, no hang."""
    fake.standard_guild()
    db = tmp_path / "club.db"
    first = bot_process("bot", env={"FILMCLUB_DB": str(db)})
    await first.start()
    await first.stop()
    backup = db.with_name("club.db.bak-v015-20261201T000000")
    backup.write_bytes(db.read_bytes())  # what the bot leaves before a migration
    data = db.read_bytes()
    assert len(data) > 8192
    if damage == "truncated":
        db.write_bytes(data[: len(data) // 2])
    else:
        db.write_bytes(bytes(range(256)) * (len(data) // 256))
    for extra in ("-wal", "-shm"):
        db.with_name(db.name + extra).unlink(missing_ok=True)
    proc = bot_process("bot", env={"FILMCLUB_DB": str(db)})
    await proc.start(wait=False)
    assert await _exit_code_within(proc, 10) == 2
    output = proc.output().rsplit("===== start", 1)[-1]
    assert "Traceback" not in output
    lines = [line for line in output.splitlines()[1:] if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("filmclub: The database") and str(db) in lines[0]
    assert str(backup) in lines[0] and "restore" in lines[0]


async def test_starting_without_discord_retries_with_one_line_and_stops_cleanly(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """Discord unreachable at start (DNS failure, outage): one line per attempt, no traceback, no voice-support
    warnings; SIGTERM while it waits still exits 0."""
    import socket

    with socket.socket() as probe:  # a local port where nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    proc = bot_process("bot", env={"FILMCLUB_DB": str(tmp_path / "club.db"),
                                   "FAKEDISCORD_API": f"http://127.0.0.1:{dead}/api/v10"})
    await proc.start(wait=False)
    for _ in range(200):
        if "cannot reach Discord" in proc.output():
            break
        await asyncio.sleep(0.05)
    assert proc.returncode is None  # still running, waiting to try again
    code = await proc.stop()  # SIGTERM
    assert code == 0
    output = proc.output()
    lines = [line for line in output.splitlines() if "cannot reach Discord" in line]
    assert len(lines) == 1 and "retrying in 5 s" in lines[0], output
    assert "Traceback" not in output and "voice will NOT be supported" not in output


async def test_web_pages_start_with_the_process_and_stop_on_sigterm(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    import socket

    import aiohttp

    with socket.socket() as probe:  # a free port for the pages
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    g = fake.standard_guild()
    proc = bot_process("bot", env={
        "FILMCLUB_DB": str(tmp_path / "club.db"), "FILMCLUB_DEV_GUILD": str(g.guild.id),
        "FILMCLUB_WEB_PORT": str(port), "FILMCLUB_PUBLIC_URL": "https://films.example",
    }, commands=True)
    await proc.start()
    reply = await (await fake.slash(g.admin, g.general, "filmclub web", action="on")).reply()
    assert "https://films.example/c/" in reply.content
    page = reply.content.split("<https://films.example", 1)[1].split(">", 1)[0]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{page}") as response:
            assert response.status == 200 and "Next screenings" in await response.text()
        async with session.get(f"http://127.0.0.1:{port}/c/{'A' * 32}/") as response:
            assert response.status == 404
    assert (tmp_path / "club.db.webkey").stat().st_mode & 0o077 == 0  # the key file is the owner's only
    assert await proc.stop() == 0
    assert page.split("/")[2] not in proc.output()  # the token never reaches the log
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))

"""Payload and count rules of the fake, each broken once: Discord's status and JSON code come back.

Sources (tests/fakediscord/README.md lists them): Application Commands "Registering a Command" (200 creates a day
per scope, 30034); Guild Scheduled Event (structure, entity metadata, field requirements, status automation);
Channel "Start Thread ..." / "Modify Channel" and "Thread Metadata Object" (thread name, auto_archive_duration).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import discord

from tests.fakediscord.clock import FakeClock
from tests.fakediscord.server import FakeDiscord


async def _call(fake: FakeDiscord, method: str, path: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as s:
        async with s.request(method, fake.api_url + path, json=body) as r:
            return r.status, await r.json() if r.content_type == "application/json" else None


def _cmd(name: str) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 1}


async def test_200_command_creates_a_day_per_scope(fake: FakeDiscord, fake_clock: FakeClock) -> None:
    g = fake.standard_guild()
    app = fake.application_id
    guild_path = f"/applications/{app}/guilds/{g.guild.id}/commands"
    # 100 new commands, then the same 100 again (updates, not creates), then 100 other names: 200 creates.
    for prefix in ("a", "a", "b"):
        status, _ = await _call(fake, "PUT", guild_path, [_cmd(f"{prefix}{i}") for i in range(100)])
        assert status == 200
    status, body = await _call(fake, "POST", guild_path, _cmd("one-more"))
    assert (status, body["code"]) == (400, 30034)
    assert fake.command_names(g.guild)[:1] == ["b0"]  # nothing changed
    status, body = await _call(fake, "PUT", guild_path, [_cmd("c0")])
    assert (status, body["code"]) == (400, 30034)
    # Another scope has its own count; a day later the guild may create again.
    status, _ = await _call(fake, "POST", f"/applications/{app}/commands", _cmd("global"))
    assert status == 201
    fake_clock.set(fake_clock.now() + timedelta(days=1, seconds=1))
    status, _ = await _call(fake, "POST", guild_path, _cmd("one-more"))
    assert status == 201


async def test_external_events_start_and_complete_on_their_own(fake: FakeDiscord, fake_clock: FakeClock) -> None:
    g = fake.standard_guild()
    client = discord.Client(intents=discord.Intents.default())
    updates: list[discord.EventStatus] = []

    async def on_scheduled_event_update(before: discord.ScheduledEvent, after: discord.ScheduledEvent) -> None:
        updates.append(after.status)

    client.event(on_scheduled_event_update)
    await fake.run_bot(client)
    guild = client.get_guild(g.guild.id)
    assert guild is not None
    start = fake_clock.now() + timedelta(hours=1)
    event = await guild.create_scheduled_event(
        name="Her (2013)", start_time=start, end_time=start + timedelta(hours=2), location="Ada's sofa",
        entity_type=discord.EntityType.external, privacy_level=discord.PrivacyLevel.guild_only,
    )
    voice = await guild.create_scheduled_event(
        name="Rocky", start_time=start, end_time=start + timedelta(hours=2), channel=guild.get_channel(g.voice.id),
        entity_type=discord.EntityType.voice, privacy_level=discord.PrivacyLevel.guild_only,
    )
    await fake_clock.advance(3599)
    assert fake.scheduled_event(g.guild, "Her (2013)").status == 1 and updates == []
    await fake_clock.advance(1)
    await fake.settle()
    assert fake.scheduled_event(g.guild, "Her (2013)").status == 2 and updates == [discord.EventStatus.active]
    await fake_clock.advance(2 * 3600)
    await fake.settle()
    assert updates == [discord.EventStatus.active, discord.EventStatus.completed]
    assert fake.scheduled_event(g.guild, "Rocky").status == 1  # only external events run themselves
    # A finished event cannot change any more (180000).
    status, body = await _call(fake, "PATCH", f"/guilds/{g.guild.id}/scheduled-events/{event.id}", {"status": 2})
    assert (status, body["code"]) == (400, 180000)
    assert voice.status is discord.EventStatus.scheduled


async def test_moving_an_external_event_moves_its_automation(fake: FakeDiscord, fake_clock: FakeClock) -> None:
    g = fake.standard_guild()
    start = fake_clock.now() + timedelta(hours=1)
    e = fake.create_event(
        g.guild, "Later", start, end=start + timedelta(hours=1), location="Park", creator=fake.bot_user
    )
    path = f"/guilds/{g.guild.id}/scheduled-events/{e.id}"
    later = start + timedelta(hours=5)
    status, _ = await _call(fake, "PATCH", path, {"scheduled_start_time": later.isoformat(),
                                                  "scheduled_end_time": (later + timedelta(hours=1)).isoformat()})
    assert status == 200
    await fake_clock.advance(2 * 3600)
    assert e.status == 1
    await fake_clock.advance(4 * 3600)
    assert e.status == 2


async def test_scheduled_event_payload_limits(fake: FakeDiscord, fake_clock: FakeClock) -> None:
    g = fake.standard_guild()
    start = fake_clock.now() + timedelta(days=1)
    good = {
        "name": "Her", "privacy_level": 2, "entity_type": 3, "scheduled_start_time": start.isoformat(),
        "scheduled_end_time": (start + timedelta(hours=2)).isoformat(), "entity_metadata": {"location": "Sofa"},
        "description": "A film.",
    }
    path = f"/guilds/{g.guild.id}/scheduled-events"
    fake.rate_limits = False  # eight creates in a row, faster than the route's bucket; this test is about payloads
    broken: list[tuple[str, dict[str, Any]]] = [
        ("name", {"name": ""}),
        ("name", {"name": "x" * 101}),
        ("description", {"description": ""}),
        ("description", {"description": "x" * 1001}),
        ("entity_metadata", {"entity_metadata": {"location": "x" * 101}}),
        ("entity_metadata", {"entity_metadata": {}}),
        ("scheduled_end_time", {"scheduled_end_time": None}),
    ]
    for field, change in broken:
        status, body = await _call(fake, "POST", path, {**good, **change})
        assert (status, body["code"]) == (400, 50035), change
        assert field in body["errors"], change
    status, body = await _call(fake, "POST", path, {**good, "name": "x" * 100, "description": "x" * 1000,
                                                    "entity_metadata": {"location": "x" * 100}})
    assert status == 200, body


async def test_thread_name_and_archive_duration(fake: FakeDiscord) -> None:
    g = fake.standard_guild()
    path = f"/channels/{g.general.id}/threads"
    for change in ({"name": ""}, {"name": "x" * 101}, {"auto_archive_duration": 30}, {"auto_archive_duration": 2880}):
        status, body = await _call(fake, "POST", path, {"name": "talk", "type": 11, **change})
        assert (status, body["code"]) == (400, 50035), change
    status, body = await _call(fake, "POST", path, {"name": "x" * 100, "type": 11, "auto_archive_duration": 10080})
    assert status == 201
    thread = body["id"]
    for change in ({"name": "x" * 101}, {"auto_archive_duration": 120}):
        status, body = await _call(fake, "PATCH", f"/channels/{thread}", change)
        assert (status, body["code"]) == (400, 50035), change
    status, _ = await _call(fake, "PATCH", f"/channels/{thread}", {"name": "renamed", "auto_archive_duration": 60})
    assert status == 200

"""pytest plugin: ``fake``, ``fake_clock``, ``run_bot`` and ``bot_process`` fixtures.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.fakediscord.plugin"]``.

Honesty checks at teardown of ``fake``: the test FAILS if a client hit a route the fake does not know, or if
discord.py logged an ERROR (e.g. "Ignoring exception in command ..."). Opt out per test with
``@pytest.mark.fakediscord_allow_errors`` / ``@pytest.mark.fakediscord_allow_unknown_routes``, or allow specific
errors with ``fake.expect_log_error(r"regex")``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from .clock import FakeClock, release_all
from .process import BotProcess
from .server import FakeDiscord


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fakediscord_allow_errors: discord.py ERROR logs do not fail the test")
    config.addinivalue_line("markers", "fakediscord_allow_unknown_routes: unknown REST routes do not fail the test")


def _format_record(r: logging.LogRecord) -> str:
    text = f"{r.name}: {r.getMessage()}"
    if r.exc_info and r.exc_info[1] is not None:
        text += f" [{type(r.exc_info[1]).__name__}: {r.exc_info[1]}]"
    return text


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """A :class:`FakeClock` (starts Monday 2026-01-05 12:00 UTC). With ``fake`` it also drives message
    timestamps and snowflakes, and ``advance`` waits for the fake to settle."""
    clock = FakeClock()
    yield clock
    clock.close()


@pytest.fixture(autouse=True)
def _real_wall_clock_after_each_test() -> Iterator[None]:
    """A fake clock holds the wall clock (time-machine) while a scheduler runs on it; whatever a test left
    running, the next test starts on the real clock."""
    yield
    release_all()


@pytest_asyncio.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord`; discord.py is pointed at it for the test."""
    clock: FakeClock | None = None
    if "fake_clock" in request.fixturenames:
        clock = request.getfixturevalue("fake_clock")
    server = FakeDiscord(clock=clock)
    collector = _ErrorCollector()
    discord_logger = logging.getLogger("discord")
    discord_logger.addHandler(collector)
    server.log_errors = collector.records
    await server.start()
    try:
        yield server
    finally:
        try:
            for proc in list(server.processes):
                proc.kill()
            await server.stop()
        finally:
            discord_logger.removeHandler(collector)
    problems: list[str] = []
    if server.unknown_routes and not request.node.get_closest_marker("fakediscord_allow_unknown_routes"):
        problems.append(
            "the bot called routes the fake Discord does not implement: "
            + ", ".join(f"{c.method} {c.path}" for c in server.unknown_routes)
        )
    if not request.node.get_closest_marker("fakediscord_allow_errors"):
        bad = [r for r in collector.records if not any(p.search(_format_record(r)) for p in server.expected_errors)]
        if bad:
            problems.append("discord.py logged errors:\n  " + "\n  ".join(_format_record(r) for r in bad))
    if server.protocol_errors:
        problems.append("gateway protocol problems: " + "; ".join(server.protocol_errors))
    if problems:
        pytest.fail("fake discord honesty check failed:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def short_rate_windows(fake: FakeDiscord) -> FakeDiscord:
    """Leniency asked for by name: per-route rate-limit windows ten times shorter (limits and the global limit
    unchanged), for tests that post dozens of messages into one channel and are not about rate limits."""
    fake.limiter.window_scale = 0.1
    return fake


@pytest.fixture
def run_bot(fake: FakeDiscord) -> Callable[..., Awaitable[Any]]:
    """``await run_bot(client, wait_commands=False)``: start a Client/Bot in-process against ``fake``, wait
    until ready; it is closed at teardown."""

    async def _run(client: Any, **kwargs: Any) -> Any:
        return await fake.run_bot(client, **kwargs)

    return _run


@pytest.fixture
def bot_process(fake: FakeDiscord, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """``bot_process(module="bot", env={...})`` -> :class:`BotProcess` (not started yet); killed at teardown."""
    procs: list[BotProcess] = fake.processes

    def _make(module: str = "bot", env: dict[str, str] | None = None, **kwargs: Any) -> BotProcess:
        proc = BotProcess(fake, module=module, env=env or {}, workdir=tmp_path, **kwargs)
        procs.append(proc)
        return proc

    yield _make
    for p in procs:
        p.kill()

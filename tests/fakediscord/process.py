"""Process mode: run a bot as a real subprocess (``python -m <module>``) against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .server import FakeDiscord

REPO_ROOT = Path(__file__).resolve().parents[2]
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "_sitecustomize"
#: sitecustomize.py appends this and the process's name to discord.py's User-Agent (same text there).
AGENT_TAG = " fakediscord-process/"


def process_tag(user_agent: str) -> str | None:
    """The BotProcess name a User-Agent carries, None if none (an in-process client)."""
    _, found, name = user_agent.partition(AGENT_TAG)
    return name.split()[0] if found and name.strip() else None


class BotProcess:
    """A bot subprocess pointed at ``fake`` through env vars + ``sitecustomize.py`` on PYTHONPATH.

    ``await p.start()`` launches and waits until the bot IDENTIFYed, got READY and (``commands=True``) synced
    commands. ``await p.stop()`` sends SIGTERM (``kill=True``: SIGKILL); ``await p.restart()`` does both with the
    same env (so the same database file). ``p.output()`` is everything it printed.

    ``name`` (default: the module) names its log file and tags its REST calls (``RestCall.process``), so a test
    running several bot processes at once can tell which one sent what.
    """

    def __init__(
        self,
        fake: FakeDiscord,
        *,
        module: str = "bot",
        env: dict[str, str] | None = None,
        workdir: Path,
        python: str = sys.executable,
        commands: bool = False,
        ready_timeout: float = 20.0,
        name: str | None = None,
    ) -> None:
        self.fake = fake
        self.module = module
        self.name = name or module.replace(".", "_")
        self.extra_env = dict(env or {})
        self.workdir = workdir
        self.python = python
        self.commands = commands
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = workdir / f"{self.name}-process.log"
        self._log: IO[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        paths = [str(SITECUSTOMIZE_DIR), str(REPO_ROOT)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(paths),
                "PYTHONUNBUFFERED": "1",
                "FAKEDISCORD_API": self.fake.api_url,
                "FAKEDISCORD_GATEWAY": self.fake.gateway_url,
                "FAKEDISCORD_GUILD_READY_TIMEOUT": "0.1",
                "DISCORD_TOKEN": self.fake.token,
                "FAKEDISCORD_PROCESS_NAME": self.name,
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    async def start(self, *, wait: bool = True, commands: bool | None = None) -> BotProcess:
        if self.running:
            raise RuntimeError("bot process already running")
        identified_before = sum(1 for s in self.fake.sessions.values() if s.ready_sent.is_set())
        syncs_before = len(self.fake.command_syncs)
        self._spawn()
        self.starts += 1
        if wait:
            await self.wait_ready(identified_before, syncs_before, self.commands if commands is None else commands)
        return self

    def _spawn(self) -> None:
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n===== start #{self.starts + 1}: python -m {self.module}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            [self.python, "-m", self.module],
            cwd=str(REPO_ROOT),
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, identified_before: int, syncs_before: int, commands: bool) -> None:
        def ready() -> bool:
            if not self.running:
                raise RuntimeError(f"bot process exited with {self.returncode}:\n{self.output()[-4000:]}")
            done = sum(1 for s in self.fake.sessions.values() if s.ready_sent.is_set()) > identified_before
            if commands:
                done = done and len(self.fake.command_syncs) > syncs_before
            return done

        try:
            await self.fake.wait_until(ready, self.ready_timeout, f"bot process {self.module} to be ready")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n--- output ---\n{self.output()[-4000:]}") from None
        await self.fake.settle(idle=0.15)

    async def stop(self, *, kill: bool = False, timeout: float = 10.0) -> int | None:
        """SIGTERM (or SIGKILL) the bot and wait for it to exit (the event loop keeps serving meanwhile)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while self.proc.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.02)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        self._close_log()
        await self.fake.settle(idle=0.05)
        return self.proc.returncode

    def kill(self) -> None:
        """Synchronous SIGKILL (teardown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._close_log()

    async def restart(self, *, kill: bool = False, wait: bool = True) -> BotProcess:
        await self.stop(kill=kill)
        return await self.start(wait=wait)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

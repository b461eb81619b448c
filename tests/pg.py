"""A throwaway PostgreSQL server for the tests, and a fresh database per test.

The server is started once per test session (``initdb`` + ``pg_ctl`` in a temporary folder, fsync off, on a free
localhost port, password login over TCP) and stopped at the end. The binaries are found on PATH or under
``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package, which ``./dev.sh test`` installs when it is
missing and it runs as root). ``initdb`` refuses to run as root, so as root the server runs as the ``postgres``
user (Debian's package creates it).

Each test gets its own database, created from a template that was migrated once (``CREATE DATABASE ...
TEMPLATE``): a few milliseconds instead of running every migration again.

Without PostgreSQL the PostgreSQL cases are skipped with the reason, except in CI (``CI`` set), where a missing
server fails the run loudly.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

USER = "filmclub"
PASSWORD = "s3cret-pw-never-logged"
TEMPLATE = "filmclub_template"


@dataclass
class PgServer:
    folder: Path
    port: int
    bin_dir: Path
    run_as: str | None

    def url(self, database: str = "postgres", *, password: str | None = PASSWORD) -> str:
        auth = f"{USER}:{password}" if password is not None else USER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"],
             self.run_as, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def find_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _run(cmd: list[str], run_as: str | None, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if run_as is not None:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> PgServer:
    """Start a server; raise RuntimeError (with the reason) when that cannot be done."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql)")
    run_as: str | None = None
    folder = Path(tempfile.mkdtemp(prefix="filmclub-pg-"))
    if os.geteuid() == 0:  # initdb refuses root
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from exc
        run_as = "postgres"
        shutil.chown(folder, "postgres")
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        shutil.chown(pwfile, run_as)
    data = folder / "data"
    init = _run([str(bin_dir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"], run_as, check=False)
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = _free_port()
    options = (f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
               "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
               "-c shared_buffers=64MB")
    started = _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
                    "-t", "60", "start"], run_as, check=False)
    if started.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()[-300:]} {log[-500:]}")
    server = PgServer(folder, port, bin_dir, run_as)
    atexit.register(server.stop)  # even if the session is interrupted
    return server


_server: PgServer | None = None
_server_error: str | None = None
_names = itertools.count(1)
_template_ready = False
_to_drop: list[str] = []


def server() -> PgServer:
    """The session's server (started on first use); skips, or fails in CI, when PostgreSQL cannot start."""
    global _server, _server_error
    if _server is None and _server_error is None:
        try:
            _server = start_server()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _server_error = str(exc)
    if _server is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot run in CI: {_server_error}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {_server_error}")
    return _server


async def fresh_database() -> str:
    """A new, migrated, empty database on the session's server; returns its URL."""
    import asyncpg

    from db.migrate import migrate
    from db.pgstore import PgStore

    global _template_ready
    srv = server()
    admin = await asyncpg.connect(srv.url())
    try:
        await _drop_queued(admin)
        if not _template_ready:
            await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
            store = PgStore(srv.url(TEMPLATE))
            await store.open()
            try:
                await migrate(store)
            finally:
                await store.close()
            _template_ready = True
        name = f"t{os.getpid()}_{next(_names)}_{int(time.time() * 1000) % 100000}"
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    return srv.url(name)


async def empty_database() -> str:
    """A new database with nothing in it (not even the schema)."""
    import asyncpg

    srv = server()
    admin = await asyncpg.connect(srv.url())
    try:
        await _drop_queued(admin)
        name = f"e{os.getpid()}_{next(_names)}_{int(time.time() * 1000) % 100000}"
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return srv.url(name)


async def drop_database(url: str) -> None:
    """Drop the test's database at the start of the next test: a bot of this test may still be stopping (its
    fixtures tear down after this one) and must not see its database vanish under it."""
    _to_drop.append(url.rsplit("/", 1)[1])


async def _drop_queued(admin: Any) -> None:
    while _to_drop:
        await admin.execute(f"DROP DATABASE IF EXISTS {_to_drop.pop()} WITH (FORCE)")

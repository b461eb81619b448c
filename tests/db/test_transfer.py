"""``migrate-store``'s copy (db/transfer.py) and its command line (bot/cli.py), on real databases."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from db import transfer as transfer_mod
from db.migrate import load_migrations, migrate
from db.store import Store
from db.transfer import (
    CountMismatch,
    Table,
    TransferError,
    TransferRefused,
    copy_order,
    describe,
    scrub,
    transfer,
)

ROOT = Path(__file__).resolve().parents[2]
LATEST = max(m.version for m in load_migrations())
GUILD = 111_222_333_444_555_666  # Discord ids need 64 bits
PHOTO = bytes(range(256)) * 40  # every byte value, 10 KiB


async def open_store(path: Path) -> Store:
    store = Store(path)
    await store.open()
    await migrate(store)
    return store


async def populate(store: Store) -> None:
    """A little of everything: references between tables, a runoff pointing at a LATER poll, BLOBs, REALs,
    64-bit ids, text keys, non-ASCII text, NULLs, and deleted rows (so sequences are ahead of the kept ids)."""
    for i in range(1, 8):
        await store.execute(
            "INSERT INTO screenings (guild_id, film_key, title, year, runtime, starts_at, ends_at, channel_id,"
            " created_by, created_at, updated_at, notes) VALUES (?, 'her-2013', ?, 2013, 126, ?, ?, 5, 6, 7, 8, ?)",
            (GUILD, f"Her night {i} – “Samantha” 🎬", 1000 * i, 1000 * i + 126 * 60, None if i % 2 else "bring tea"),
        )
    await store.execute("DELETE FROM screenings WHERE id = 7")  # the sequence stays at 7
    for user in range(40):
        await store.execute(
            "INSERT INTO screening_rsvps (screening_id, user_id, answer, updated_at) VALUES (?, ?, ?, 1)",
            (1 + user % 6, 900_000_000_000_000_000 + user, ("going", "maybe", "cant")[user % 3]),
        )
    # Poll 1 is the runoff of poll 2 (a reference to a later row: order by id alone would break it).
    for poll_id in (1, 2, 3):
        await store.execute(
            "INSERT INTO award_polls (id, guild_id, channel_id, category, nominees, opened_by, created_at,"
            " closes_at, status) VALUES (?, ?, 2, ?, '[\"Coke\", \"Nachos\"]', 3, 4, 5, 'closed')",
            (poll_id, GUILD, f"Best snack {poll_id}"),
        )
    await store.execute("UPDATE award_polls SET runoff_of = 2 WHERE id = 1")
    await store.execute("UPDATE award_polls SET runoff_of = 1 WHERE id = 3")
    for user in range(30):
        await store.execute(
            "INSERT INTO award_ballots (poll_id, user_id, choice, updated_at) VALUES (?, ?, ?, 1)",
            (1 + user % 3, user, None if user == 7 else user % 2),
        )
    await store.execute(
        "INSERT INTO basil_memorials (guild_id, name, name_key, author_id, status, created_at, updated_at, story)"
        " VALUES (?, 'Basil', 'basil', 1, 'approved', 2, 3, 'Ça va, 바질')",
        (GUILD,),
    )
    await store.execute(
        "INSERT INTO basil_photos (memorial_id, filename, content_type, data) VALUES (1, 'b.png', 'image/png', ?)",
        (PHOTO,),
    )
    await store.execute(
        "INSERT INTO basil_pending_edits (memorial_id, guild_id, member_id, story, anniversaries, photo_data,"
        " created_at) VALUES (1, ?, 1, 'edit', 1, NULL, 5)",
        (GUILD,),
    )
    await store.execute(
        "INSERT INTO letterboxd_ratings (guild_id, user_id, film_key, stars, thumbs, imported_at)"
        " VALUES (?, 1, 'her-2013', 4.5, 5, 1)",
        (GUILD,),
    )
    await store.execute("INSERT INTO meta (key, value) VALUES ('commands_hash', 'abc'), ('z', 'ü')")
    for member in range(12):
        await store.execute(
            "INSERT INTO trivia_scores (guild_id, member_id, pack, points, correct, games, updated_at)"
            " VALUES (?, ?, ?, ?, 1, 1, 1)",
            (GUILD, member, ("her", "rocky")[member % 2], 250 * member),
        )


async def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (schema_migrations' times aside), in a stable order."""
    names = [r[0] for r in await store.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name in names:
        cols = "version, name" if name == "schema_migrations" else "*"
        out[name] = sorted((tuple(r) for r in await store.fetchall(f'SELECT {cols} FROM "{name}"')), key=repr)
    return out


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "source.db"
    store = await open_store(path)
    try:
        await populate(store)
    finally:
        await store.close()
    yield path


async def read(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    store = Store(path)
    await store.open()
    try:
        return await dump(store)
    finally:
        await store.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "migrate-store" in p.name)


# ------------------------------------------------------------------------------------------------ the copy


@pytest.mark.parametrize("batch", [3, 500])
async def test_copy_is_row_for_row_identical_with_counts_checked(source: Path, tmp_path: Path, batch: int) -> None:
    target = tmp_path / "sub" / "target.db"
    report = await transfer(str(source), str(target), batch=batch)
    assert report.version == LATEST
    counts = {c.table: (c.source, c.target) for c in report.counts}
    assert counts["screening_rsvps"] == (40, 40) and counts["award_ballots"] == (30, 30)
    assert counts["screenings"] == (6, 6) and counts["basil_photos"] == (1, 1)
    assert counts["schema_migrations"] == (len(load_migrations()),) * 2
    assert all(c.ok for c in report.counts) and report.rows == 6 + 40 + 3 + 30 + 1 + 1 + 1 + 1 + 2 + 12
    # Every table is found from the schema: all of them are in the check.
    before, after = await read(source), await read(target)
    assert set(counts) == set(before) - {"sqlite_sequence"}
    assert after == before  # same ids, same references, same bytes
    photo = after["basil_photos"][0][3]
    assert isinstance(photo, bytes) and photo == PHOTO
    assert leftovers(target.parent) == []


async def test_ids_keep_their_references_and_sequences_move_past_deleted_rows(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    await transfer(str(source), str(target))
    store = Store(target)
    await store.open()
    try:
        rows = await store.fetchall("SELECT id, runoff_of FROM award_polls ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, 2), (2, None), (3, 1)]
        going = await store.fetchone(
            "SELECT count(*) FROM screening_rsvps r JOIN screenings s ON s.id = r.screening_id WHERE s.id = 1")
        assert going[0] == 7
        # Screening 7 was deleted before the move: a new screening takes 8, never 7 again.
        new = await store.execute(
            "INSERT INTO screenings (guild_id, film_key, title, runtime, starts_at, ends_at, channel_id,"
            " created_by, created_at, updated_at) VALUES (1, 'rocky-1976', 'Rocky', 120, 1, 2, 3, 4, 5, 6)")
        assert new.lastrowid == 8
        poll = await store.execute(
            "INSERT INTO award_polls (guild_id, channel_id, category, nominees, opened_by, created_at, closes_at)"
            " VALUES (1, 2, 'x', '[]', 3, 4, 5)")
        assert poll.lastrowid == 4
    finally:
        await store.close()


async def test_an_existing_empty_file_is_a_fine_target(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    target.touch()
    await transfer(str(source), str(target))
    assert (await read(target))["award_polls"] == (await read(source))["award_polls"]


def test_copy_order_puts_parents_first_and_refuses_a_cycle() -> None:
    def t(name: str, *parents: str) -> Table:
        return Table(name, (), frozenset(parents))

    order = [x.name for x in copy_order([t("rsvps", "screenings"), t("screenings"), t("photos", "memorials"),
                                         t("memorials"), t("nights", "series", "screenings"), t("series")])]
    for child, parent in (("rsvps", "screenings"), ("photos", "memorials"), ("nights", "series"),
                          ("nights", "screenings")):
        assert order.index(parent) < order.index(child)
    with pytest.raises(TransferError, match="cycle"):
        copy_order([t("a", "b"), t("b", "a")])


# ------------------------------------------------------------------------------------------------- refusals


async def test_a_non_empty_target_is_refused_and_left_alone(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    conn = sqlite3.connect(target)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = target.read_bytes()
    with pytest.raises(TransferRefused, match="not empty"):
        await transfer(str(source), str(target))
    assert target.read_bytes() == before and leftovers(tmp_path) == []
    # A filmclub database as the target (a move done before): refused the same way, and left as it is.
    done = tmp_path / "done.db"
    await transfer(str(source), str(done))
    before = await read(done)
    with pytest.raises(TransferRefused, match="not empty"):
        await transfer(str(source), str(done))
    assert await read(done) == before


async def test_a_target_that_is_not_a_database_is_refused(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("hello")
    with pytest.raises(TransferRefused, match="not an SQLite database"):
        await transfer(str(source), str(target))
    assert target.read_text() == "hello"
    with pytest.raises(TransferRefused, match="is a folder"):
        await transfer(str(source), str(tmp_path))


async def test_the_source_must_exist_and_be_this_bots_schema(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    with pytest.raises(TransferRefused, match="does not exist"):
        await transfer(str(tmp_path / "missing.db"), str(target))
    assert not (tmp_path / "missing.db").exists()  # not created by looking

    older = tmp_path / "older.db"
    store = Store(older)
    await store.open()
    await migrate(store, load_migrations()[:-1])
    await store.close()
    with pytest.raises(TransferRefused, match=r"older than this filmclub's .*start the bot once on it"):
        await transfer(str(older), str(target))

    conn = sqlite3.connect(source)
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)", (LATEST + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(TransferRefused, match=r"newer than this filmclub knows .*upgrade the bot"):
        await transfer(str(source), str(target))

    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(TransferRefused, match="not a filmclub database"):
        await transfer(str(plain), str(target))
    with pytest.raises(TransferRefused, match="same file"):
        await transfer(str(plain), str(tmp_path / "." / "plain.db"))
    assert not target.exists() and leftovers(tmp_path) == []


# -------------------------------------------------------------------------------------------- failure midway


async def test_a_broken_reference_in_the_source_fails_the_copy_and_leaves_no_target(
    source: Path, tmp_path: Path
) -> None:
    conn = sqlite3.connect(source)  # foreign keys are off on a plain connection: write a dangling RSVP
    conn.execute("INSERT INTO screening_rsvps (screening_id, user_id, answer, updated_at) VALUES (99, 1, 'going', 1)")
    conn.commit()
    conn.close()
    target = tmp_path / "new" / "folder" / "target.db"
    with pytest.raises(TransferError, match=r"left empty.*FOREIGN KEY") as caught:
        await transfer(str(source), str(target))
    assert not isinstance(caught.value, TransferRefused)
    assert not (tmp_path / "new").exists() and leftovers(tmp_path) == []  # nor the folders made for it


async def test_a_failure_after_some_batches_leaves_the_target_as_it_was(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target.db"
    target.touch()  # an empty file given by the operator stays, empty
    real = transfer_mod._copy_table
    copied: list[str] = []

    async def copy_then_fail(*args: Any, **kwargs: Any) -> Any:
        table: Table = args[3]
        if len(copied) == 5:
            raise OSError("disk unplugged")
        copied.append(table.name)
        return await real(*args, **kwargs)

    monkeypatch.setattr(transfer_mod, "_copy_table", copy_then_fail)
    with pytest.raises(TransferError, match="disk unplugged"):
        await transfer(str(source), str(target), batch=2)
    assert target.read_bytes() == b"" and leftovers(tmp_path) == []


async def test_a_count_mismatch_keeps_nothing(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = transfer_mod._count
    seen: list[int] = []

    async def off_by_one(ex: Any, table: str) -> int:
        n = await real(ex, table)
        if table == "award_ballots":
            seen.append(n)
            if len(seen) == 2:  # the source is counted first, then the target: one row "lost"
                return n + 1
        return n

    monkeypatch.setattr(transfer_mod, "_count", off_by_one)
    target = tmp_path / "target.db"
    with pytest.raises(CountMismatch, match="award_ballots: 30 -> 31") as caught:
        await transfer(str(source), str(target))
    assert [c.table for c in caught.value.counts if not c.ok] == ["award_ballots"]
    assert not target.exists() and leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------ passwords, output


def test_a_urls_password_is_never_shown() -> None:
    url = "postgresql://filmclub:s3cr%3At@db.example.org:5432/club"
    assert describe(url) == "postgresql://filmclub:***@db.example.org:5432/club"
    assert describe("postgres://u@h/db") == "postgres://u@h/db"
    assert describe("postgresql://h/db?password=x%21&sslmode=require") == "postgresql://h/db?password=***&sslmode=require"
    assert scrub("bad password x! for x%21", "postgresql://h/db?password=x%21") == "bad password *** for ***"
    assert describe("./data/filmclub.db") == "./data/filmclub.db"
    assert scrub("login failed for s3cr%3At", url) == "login failed for ***"


def test_format_counts_is_an_aligned_table() -> None:
    from db.transfer import TableCount

    text = cli.format_counts([TableCount("award_ballots", 1200, 1200), TableCount("meta", 3, 2)])
    assert text.splitlines() == [
        "table          source  target",
        "award_ballots   1,200   1,200",
        "meta                3       2  MISMATCH",
    ]


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                            "PYTHONDONTWRITEBYTECODE": "1", **env})


def test_the_command_line_moves_refuses_and_explains(source: Path, tmp_path: Path) -> None:
    helped = run_cli("migrate-store", "--help", cwd=tmp_path)
    assert helped.returncode == 0
    for words in ("empty", "older or newer", "PostgreSQL", "password", "Exit codes"):
        assert words in helped.stdout
    moved = run_cli("migrate-store", "--from", str(source), "--to", "moved.db", cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    lines = moved.stdout.splitlines()
    assert lines[1].split() == ["table", "source", "target"]
    assert "screening_rsvps 40 40" in [" ".join(line.split()) for line in lines]
    assert lines[-1].startswith("Moved 97 rows in ") and "every count matches" in lines[-1]
    assert moved.stderr == ""
    again = run_cli("migrate-store", "--from", str(source), "--to", "moved.db", cwd=tmp_path)
    assert again.returncode == 2
    [line] = again.stderr.splitlines()
    assert line.startswith("filmclub: The target moved.db is not empty")
    missing = run_cli("migrate-store", "--from", str(source), cwd=tmp_path)
    assert missing.returncode == 2 and "--to" in missing.stderr


def test_the_password_stays_out_of_every_line(source: Path, tmp_path: Path) -> None:
    secret = "Tr0ub4dor&3"
    url = f"postgresql://club:{secret}@127.0.0.1:1/filmclub"
    for args in (("--from", str(source), "--to", url), ("--from", url, "--to", "x.db"),
                 ("--from", str(source), "--to", url, "--log-level", "DEBUG"), ("--from", url, "--to", url, url)):
        done = run_cli("migrate-store", *args, cwd=tmp_path)
        assert done.returncode != 0
        assert secret not in done.stdout + done.stderr
        assert "club:***@127.0.0.1:1" in done.stdout + done.stderr
    assert leftovers(tmp_path) == [] and not (tmp_path / "x.db").exists()


# ------------------------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty database on the session's throwaway PostgreSQL server (tests/pg.py)."""
    from tests import pg

    url = await pg.empty_database()
    try:
        yield url
    finally:
        await pg.drop_database(url)


async def pg_dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    from db.pgstore import PgStore

    store = PgStore(url)
    await store.open()
    try:
        names = [r[0] for r in await store.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        out: dict[str, list[tuple[Any, ...]]] = {}
        for name in names:
            cols = "version, name" if name == "schema_migrations" else "*"
            out[name] = sorted((tuple(r) for r in await store.fetchall(f'SELECT {cols} FROM "{name}"')), key=repr)
        return out
    finally:
        await store.close()


async def pg_relations(url: str) -> list[str]:
    from db.pgstore import PgStore

    store = PgStore(url)
    await store.open()
    try:
        rows = await store.fetchall(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema()")
        return sorted(str(r[0]) for r in rows)
    finally:
        await store.close()


async def test_sqlite_to_postgresql_and_back_is_row_for_row_identical(
    source: Path, tmp_path: Path, pg_url: str
) -> None:
    there = await transfer(str(source), pg_url, batch=7)
    assert all(c.ok for c in there.counts) and there.rows == 97
    assert "***" in there.target and pg_url.split(":")[2].split("@")[0] not in there.target
    before = await read(source)
    on_pg = await pg_dump(pg_url)
    assert on_pg == {k: v for k, v in before.items() if k != "sqlite_sequence"}  # ids, bytes, REALs, 64-bit ids
    back = tmp_path / "back.db"
    report = await transfer(pg_url, str(back), batch=7)
    assert [(c.table, c.source, c.target) for c in report.counts] == [
        (c.table, c.source, c.target) for c in there.counts
    ]
    after = await read(back)
    assert after == before  # sqlite_sequence too: the sequences made it there and back


async def test_postgresql_sequences_move_past_the_copied_ids(source: Path, pg_url: str) -> None:
    from db.pgstore import PgStore

    await transfer(str(source), pg_url)
    store = PgStore(pg_url)
    await store.open()
    try:
        new = await store.execute(
            "INSERT INTO screenings (guild_id, film_key, title, runtime, starts_at, ends_at, channel_id,"
            " created_by, created_at, updated_at) VALUES (1, 'rocky-1976', 'Rocky', 120, 1, 2, 3, 4, 5, 6)")
        assert new.lastrowid == 8  # 7 was deleted in the source before the move: never handed out twice
        poll = await store.execute(
            "INSERT INTO award_polls (guild_id, channel_id, category, nominees, opened_by, created_at, closes_at)"
            " VALUES (1, 2, 'x', '[]', 3, 4, 5)")
        assert poll.lastrowid == 4
    finally:
        await store.close()


async def test_a_postgresql_target_with_any_table_is_refused_and_left_alone(source: Path, pg_url: str) -> None:
    from db.pgstore import PgStore

    store = PgStore(pg_url)
    await store.open()
    await store.execute("CREATE TABLE notes (x TEXT)")
    await store.execute("INSERT INTO notes VALUES ('keep me')")
    await store.close()
    with pytest.raises(TransferRefused, match="not empty"):
        await transfer(str(source), pg_url)
    assert await pg_dump(pg_url) == {"notes": [("keep me",)]}


async def test_a_failed_copy_into_postgresql_drops_everything_it_created(
    source: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = sqlite3.connect(source)
    conn.execute("INSERT INTO screening_rsvps (screening_id, user_id, answer, updated_at) VALUES (99, 1, 'going', 1)")
    conn.commit()
    conn.close()
    with pytest.raises(TransferError, match="left empty") as caught:
        await transfer(str(source), pg_url)
    assert not isinstance(caught.value, TransferRefused)
    assert await pg_relations(pg_url) == []

    # A failure after some batches (not a constraint): the same.
    conn = sqlite3.connect(source)
    conn.execute("DELETE FROM screening_rsvps WHERE screening_id = 99")
    conn.commit()
    conn.close()
    real = transfer_mod._copy_table
    calls: list[str] = []

    async def copy_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[3].name)
        if len(calls) == 12:
            raise ConnectionResetError("network gone")
        return await real(*args, **kwargs)

    monkeypatch.setattr(transfer_mod, "_copy_table", copy_then_fail)
    with pytest.raises(TransferError, match="network gone"):
        await transfer(str(source), pg_url, batch=2)
    assert await pg_relations(pg_url) == []
    monkeypatch.setattr(transfer_mod, "_copy_table", real)
    await transfer(str(source), pg_url)  # and the same empty database takes a clean move afterwards


def test_the_command_line_never_shows_a_real_servers_password(source: Path, tmp_path: Path, pg_url: str) -> None:
    from tests.pg import PASSWORD

    moved = run_cli("migrate-store", "--from", str(source), "--to", pg_url, "--log-level", "DEBUG", cwd=tmp_path)
    assert moved.returncode == 0, moved.stderr
    assert PASSWORD not in moved.stdout + moved.stderr and "filmclub:***@127.0.0.1" in moved.stdout
    again = run_cli("migrate-store", "--from", str(source), "--to", pg_url, cwd=tmp_path)
    assert again.returncode == 2 and PASSWORD not in again.stdout + again.stderr
    assert "not empty" in again.stderr
    wrong = pg_url.replace(PASSWORD, "not-the-password")
    refused = run_cli("migrate-store", "--from", wrong, "--to", "x.db", cwd=tmp_path)
    assert refused.returncode == 2 and "not-the-password" not in refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith("filmclub: ") and "***" in line
    back = run_cli("migrate-store", "--from", pg_url, "--to", "back.db", cwd=tmp_path)
    assert back.returncode == 0 and PASSWORD not in back.stdout + back.stderr
    # The password can stay off the command line: PGPASSWORD, as for psql.
    bare = pg_url.replace(f":{PASSWORD}@", "@")
    assert bare != pg_url
    again_back = run_cli("migrate-store", "--from", bare, "--to", "again.db", cwd=tmp_path, PGPASSWORD=PASSWORD)
    assert again_back.returncode == 0, again_back.stderr
    assert "every count matches" in again_back.stdout and PASSWORD not in again_back.stdout + again_back.stderr


async def test_postgresql_to_postgresql(source: Path, pg_url: str) -> None:
    from tests import pg

    await transfer(str(source), pg_url)
    other = await pg.empty_database()
    try:
        report = await transfer(pg_url, other, batch=4)
        assert all(c.ok for c in report.counts) and report.rows == 97
        assert await pg_dump(other) == await pg_dump(pg_url)
        with pytest.raises(TransferRefused, match="same database"):
            await transfer(pg_url, pg_url)
    finally:
        await pg.drop_database(other)

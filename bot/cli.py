"""``python -m bot <command>``: the operator's commands beside running the bot (``python -m bot`` alone).

``migrate-store --from SRC --to DST`` moves a club's whole database between stores (db/transfer.py does the
work); this module reads the arguments, prints the per-table check and turns failures into one line and an exit
code: 0 moved and every count matches, 1 the copy failed (the target is left as it was), 2 refused before
anything was written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from bot.logsetup import setup_logging
from db.transfer import CountMismatch, TableCount, TransferError, describe, passwords_of, scrub, transfer

MIGRATE_STORE_HELP = """\
Copy a filmclub database into an EMPTY store: SQLite -> PostgreSQL, PostgreSQL -> SQLite, or SQLite -> SQLite.
SRC and DST are each an SQLite file path or a postgresql://user:password@host:port/dbname URL.

Stop the bot first. The command:
  - refuses a source whose schema is older or newer than this bot's (start the bot once on an older one so it
    migrates; upgrade the bot for a newer one);
  - refuses a target that holds any table: it must be a new file or an empty database;
  - migrates the target to the same schema version and copies every table (ids, BLOBs and all), in batches, in
    an order that keeps foreign keys valid, and moves id sequences past the copied ids;
  - prints each table's rows in the source and in the target, and keeps the target only if they all match.
A failure at any point leaves the target as it was (a new SQLite file is not created; on PostgreSQL what was
created is dropped). A URL's password never appears in the output or the logs; to keep it off the command line
too, leave it out of the URL and set PGPASSWORD (or use ~/.pgpass).
Exit codes: 0 moved and checked; 1 the copy failed, nothing kept; 2 refused, nothing written.
"""


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class _Parser(argparse.ArgumentParser):
    """argparse, with any URL password in its error messages (they echo unknown arguments) hidden."""

    def error(self, message: str) -> NoReturn:
        hidden = _URL_PASSWORD.sub(r"\1***@", message)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {hidden}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m bot",
        description="Run the filmclub bot (no arguments), or an operator's command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    move = commands.add_parser(
        "migrate-store",
        help="copy the whole database into an empty SQLite file or PostgreSQL database",
        description=MIGRATE_STORE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    move.add_argument("--from", dest="source", required=True, metavar="SRC",
                      help="the database to copy: an SQLite file or a postgresql:// URL")
    move.add_argument("--to", dest="target", required=True, metavar="DST",
                      help="the empty store to fill: a new SQLite file or an empty PostgreSQL database")
    move.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                      help="progress on stderr (INFO: one line per table); default WARNING")
    return parser


def format_counts(counts: Sequence[TableCount]) -> str:
    """The per-table check as a small aligned table."""
    rows = [("table", "source", "target", "")] + [
        (c.table, f"{c.source:,}", f"{c.target:,}", "" if c.ok else "MISMATCH") for c in counts
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
    return "\n".join(lines)


def migrate_store(source: str, target: str, log_level: str = "WARNING") -> int:
    """Run the move and print its outcome; return the exit code."""
    secrets = [*passwords_of(source), *passwords_of(target), os.environ.get("PGPASSWORD", "")]
    setup_logging(log_level, secrets)
    print(f"migrate-store: {describe(source)} -> {describe(target)}", flush=True)
    try:
        report = asyncio.run(transfer(source, target))
    except CountMismatch as exc:
        print(format_counts(exc.counts))
        print(f"filmclub: {exc}", file=sys.stderr)
        return exc.exit_code
    except TransferError as exc:
        print(f"filmclub: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("filmclub: interrupted; the target was left as it was.", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unforeseen: still one line, still no password
        text = scrub(" ".join(str(exc).split()), source, target)[:300]
        print(f"filmclub: migrate-store failed: {type(exc).__name__}: {text}", file=sys.stderr)
        return 1
    print(format_counts(report.counts))
    print(f"Moved {report.rows:,} rows in {len(report.counts) - 1} tables (schema version {report.version}) "
          f"to {report.target}; every count matches.")
    return 0


def run(argv: Sequence[str]) -> int:
    """``python -m bot ARGS``: parse and run one operator command; return the exit code."""
    args = _parser().parse_args(list(argv))
    if args.command == "migrate-store":
        return migrate_store(args.source, args.target, args.log_level)
    _parser().print_help(sys.stderr)
    return 2

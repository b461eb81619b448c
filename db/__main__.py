"""``python -m db new NAME``: create the next numbered migration file in ``db/migrations/``."""

from __future__ import annotations

import sys

from db.migrate import new_migration
from db.store import StoreError


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "new":
        print("usage: python -m db new NAME   (e.g. python -m db new awards-anonymous)", file=sys.stderr)
        return 2
    try:
        path = new_migration(argv[1])
    except StoreError as exc:
        print(f"db: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

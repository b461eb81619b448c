#!/usr/bin/env bash
# One entry point for people and CI. Needs only Python 3.11+.
#   ./dev.sh run     set up .venv (first time) and run the bot
#   ./dev.sh test    set up .venv (first time) and run ruff, mypy and the test suite
#   ./dev.sh bench   set up .venv (first time) and run the benchmarks (prints a table)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON_BIN="${PYTHON:-python3}"
VENV=".venv"

ensure_venv() {
  if ! "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "filmclub needs Python 3.11 or newer ($PYTHON_BIN is older or missing); set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="$VENV/.filmclub-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
    echo "filmclub: installing into $VENV (first run or pyproject.toml changed)..." >&2
    if ! "$VENV/bin/python" -m pip install --quiet -e ".[test]" > "$VENV/install.log" 2>&1; then
      cat "$VENV/install.log" >&2
      echo "filmclub: installing dependencies failed (see above)" >&2
      exit 1
    fi
    touch "$stamp"
  fi
}

# The PostgreSQL tests start a throwaway server themselves (tests/pg.py); they need its binaries. As root on
# Debian (CI) install them when missing; anywhere else say so (those tests are skipped, and fail when CI is set).
ensure_postgres() {
  if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "filmclub: installing PostgreSQL for the tests (apt-get install postgresql)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } > "$VENV/apt.log" 2>&1; then
      cat "$VENV/apt.log" >&2
      echo "filmclub: installing PostgreSQL failed (see above)" >&2
      return 1
    fi
  else
    echo "filmclub: PostgreSQL is not installed (no initdb): its tests will be skipped; install the postgresql package" >&2
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  run)
    ensure_venv
    exec "$VENV/bin/python" -m bot "$@"
    ;;
  test)
    ensure_venv
    "$VENV/bin/ruff" check bot cogs db tests bench
    "$VENV/bin/mypy"
    ensure_postgres
    set +e
    "$VENV/bin/python" -m pytest "$@"
    status=$?
    set -e
    if [ "$status" -eq 5 ]; then
      echo "no tests were collected" >&2
      exit 1
    fi
    exit "$status"
    ;;
  bench)
    ensure_venv
    exec "$VENV/bin/python" -m bench "$@"
    ;;
  *)
    echo "usage: ./dev.sh run | test [pytest args] | bench" >&2
    exit 2
    ;;
esac

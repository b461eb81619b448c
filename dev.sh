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

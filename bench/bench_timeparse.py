"""Benchmark the time parser: import cost and per-call cost.

Run from the repository root::

    .venv/bin/python bench/bench_timeparse.py                 # our parser only
    .venv/bin/python bench/bench_timeparse.py --compare /path/to/python-with-dateparser

``--compare`` runs the same measurements with ``dateparser`` in another interpreter (it is not a
project dependency; install it in a throwaway venv to reproduce the comparison) and also prints
what dateparser makes of a few inputs the bot cares about.
Results are printed as Markdown; ``--json FILE`` also writes them (``bench/results/`` is ignored
by git).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.domain.recurrence import next_occurrence, parse_recurrence  # noqa: E402
from bot.domain.timeparse import TimeParseError, parse_when  # noqa: E402

_PYCACHE = tempfile.mkdtemp(prefix="bench-pycache-")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TZ = "Europe/London"

VALID = [
    "2026-12-04 20:00",
    "2026-12-04T20:00",
    "fri 8pm",
    "friday 20:00",
    "fri 8:30pm",
    "tomorrow 7:30pm",
    "today 21:00",
    "tonight 8pm",
    "in 2 hours",
    "in 90 minutes",
    "in 3 days",
    "in 1h30m",
    "dec 4 8pm",
    "december 4 20:00",
    "4 dec 8pm",
    "next fri 8pm",
    "8pm",
    "midnight",
]
INVALID = ["blah", "fri 8", "12/4 8pm", "2pm", "feb 30 8pm", "fri"]

# What a member might type, and what the bot must do with it (for the dateparser comparison).
PROBES = ["fri 8pm", "fri 8", "12/4 8pm", "in 1h30m", "tonight 8pm", "2026-03-29 01:30", "blah 8pm"]


def _env() -> dict[str, str]:
    """Child environment with a bytecode cache (outside the repo), as a deployed bot would have.

    Some shells set PYTHONDONTWRITEBYTECODE; then every import would include compiling source.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=True, cwd=ROOT, capture_output=True, text=True, env=_env())


def _median_process_ms(code: str, python: str, runs: int) -> float:
    _run([python, "-c", code])  # warm the bytecode cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        _run([python, "-c", code])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _importtime_ms(module: str, python: str, own_prefix: str) -> tuple[float, float]:
    """(cumulative ms of ``module``, summed self ms of modules under ``own_prefix``), via -X importtime."""
    _run([python, "-c", f"import {module}"])  # warm the bytecode cache
    out = _run([python, "-X", "importtime", "-c", f"import {module}"]).stderr
    cumulative, own = None, 0.0
    for line in out.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        if parts[2] == module:
            cumulative = int(parts[1]) / 1000
        if parts[2] == own_prefix or parts[2].startswith(own_prefix + "."):
            own += int(parts[0].split()[-1]) / 1000
    if cumulative is None:
        raise RuntimeError(f"{module} not found in -X importtime output")
    return cumulative, own


def _first_call_ms(python: str, setup: str, call: str) -> float:
    code = f"{setup}\nimport time\ns=time.perf_counter()\n{call}\nprint((time.perf_counter()-s)*1000)"
    out = _run([python, "-c", code])
    return float(out.stdout.strip().splitlines()[-1])


def _per_call_us(fn: object, inputs: list[str], n: int) -> float:
    assert callable(fn)
    k = len(inputs)
    start = time.perf_counter()
    for i in range(n):
        try:
            fn(inputs[i % k])
        except TimeParseError:
            pass
    return (time.perf_counter() - start) / n * 1e6


def measure_ours(n: int, runs: int) -> dict[str, float]:
    python = sys.executable
    baseline = _median_process_ms("pass", python, runs)
    with_import = _median_process_ms("import bot.domain.timeparse", python, runs)

    def parse(text: str) -> object:
        return parse_when(text, NOW, TZ)

    for text in VALID:  # sanity: every benchmark input really parses
        parse(text)
    rule = parse_recurrence("weekly fri 20:00", TZ)
    start = time.perf_counter()
    after = NOW
    for _ in range(n):
        after = next_occurrence(rule, after)
    recurrence_us = (time.perf_counter() - start) / n * 1e6
    cumulative, own = _importtime_ms("bot.domain.timeparse", python, "bot")
    return {
        "import_cumulative_ms": cumulative,
        "import_own_ms": own,
        "process_overhead_ms": with_import - baseline,
        "first_call_ms": _first_call_ms(
            python,
            "from datetime import datetime, UTC\nfrom bot.domain.timeparse import parse_when",
            f"parse_when('fri 8pm', datetime(2026, 11, 23, 15, tzinfo=UTC), {TZ!r})",
        ),
        "valid_us": _per_call_us(parse, VALID, n),
        "invalid_us": _per_call_us(parse, INVALID, n),
        "next_occurrence_us": recurrence_us,
    }


_DATEPARSER_CALL = """
import dateparser, datetime as _d
S = {"TIMEZONE": "Europe/London", "RETURN_AS_TIMEZONE_AWARE": True, "PREFER_DATES_FROM": "future",
     "RELATIVE_BASE": _d.datetime(2026, 11, 23, 15, 0)}
def parse(text):
    return dateparser.parse(text, languages=["en"], settings=S)
"""


def measure_dateparser(python: str, n: int, runs: int) -> dict[str, object]:
    baseline = _median_process_ms("pass", python, runs)
    with_import = _median_process_ms("import dateparser", python, runs)
    loop = (
        f"{_DATEPARSER_CALL}\nimport time\nI={VALID!r}\nparse(I[0])\ns=time.perf_counter()\n"
        f"for i in range({n}): parse(I[i % len(I)])\nprint((time.perf_counter()-s)/{n}*1e6)"
    )
    per_call = _run([python, "-c", loop])
    probe = f"{_DATEPARSER_CALL}\nimport json\nprint(json.dumps({{t: str(parse(t)) for t in {PROBES!r}}}))"
    answers = _run([python, "-c", probe])
    version = _run([python, "-c", "import dateparser; print(dateparser.__version__)"])
    cumulative, own = _importtime_ms("dateparser", python, "dateparser")
    return {
        "version": version.stdout.strip(),
        "import_cumulative_ms": cumulative,
        "import_own_ms": own,
        "process_overhead_ms": with_import - baseline,
        "first_call_ms": _first_call_ms(python, _DATEPARSER_CALL, "parse('fri 8pm')"),
        "valid_us": float(per_call.stdout.strip().splitlines()[-1]),
        "probes": json.loads(answers.stdout.strip().splitlines()[-1]),
    }


def _ours_probe(text: str) -> str:
    try:
        return str(parse_when(text, NOW, TZ))
    except TimeParseError as err:
        return "refused: " + err.message.split(". ")[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="parses per timing loop")
    ap.add_argument("--runs", type=int, default=15, help="fresh processes per import-time median")
    ap.add_argument("--compare", metavar="PYTHON", help="an interpreter that has dateparser installed")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = ap.parse_args()

    ours = measure_ours(args.n, args.runs)
    print(f"Python {sys.version.split()[0]}, n={args.n}, import medians over {args.runs} processes\n")
    print("| | bot.domain.timeparse |" + (" dateparser |" if args.compare else ""))
    print("|---|---|" + ("---|" if args.compare else ""))
    theirs: dict[str, object] = measure_dateparser(args.compare, args.n, args.runs) if args.compare else {}
    rows = [
        ("import, cumulative incl. stdlib deps (-X importtime)", "import_cumulative_ms", "ms"),
        ("import, the package's own modules (self time)", "import_own_ms", "ms"),
        ("import, extra process wall time", "process_overhead_ms", "ms"),
        ("first call in a fresh process", "first_call_ms", "ms"),
        (f"per call, valid inputs (mean of {args.n})", "valid_us", "µs"),
        (f"per call, refused inputs (mean of {args.n})", "invalid_us", "µs"),
        (f"next_occurrence (mean of {args.n})", "next_occurrence_us", "µs"),
    ]
    for label, key, unit in rows:
        line = f"| {label} | {ours[key]:.2f} {unit} |"
        if args.compare:
            value = theirs.get(key)
            line += f" {value:.2f} {unit} |" if isinstance(value, float) else " n/a |"
        print(line)
    if args.compare:
        print(f"\ndateparser {theirs['version']} vs ours (now = {NOW:%a %Y-%m-%d %H:%M} UTC, {TZ}):\n")
        print("| input | dateparser | bot.domain.timeparse |\n|---|---|---|")
        probes = theirs["probes"]
        assert isinstance(probes, dict)
        for text in PROBES:
            print(f"| `{text}` | {probes[text]} | {_ours_probe(text)} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"ours": ours, "dateparser": theirs}, indent=2, default=str))


if __name__ == "__main__":
    main()

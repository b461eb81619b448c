"""Benchmark drawing the ratings chart (``bot.charts.bar_chart_png``): the first chart in a fresh process, then
the median of many, with plain Latin labels and with labels in several scripts and emoji (which load the CJK
and colour emoji fonts). ``python -m bench --only charts`` runs it in fresh processes; alone::

    .venv/bin/python -m bench.bench_charts latin 30
"""

from __future__ import annotations

import statistics
import sys
import time

LATIN = [
    "Her (2013)", "Rocky (1976)", "Oppenheimer (2023)", "Everything Everywhere All at Once (2022)", "Parasite (2019)",
    "Nomadland (2020)", "CODA (2021)", "Green Book (2018)", "Moonlight (2016)", "Spotlight (2015)",
]  # fmt: skip
WORLD = [
    "Amélie (2001)", "Niño — it’s", "기생충 (2019)", "千と千尋の神隠し", "Ελληνικά", "Кино 🍿", "Jalapeño poppers 🌶️",
    "שלום עולם", "Anatomie d’une chute", "Das Lehrerzimmer",
]  # fmt: skip
VALUES = [4.5, 3.2, 4.8, 4.9, 5.0, 3.9, 4.1, 3.0, 4.4, 4.6]


def run(kind: str, n: int) -> dict[str, float]:
    """Milliseconds: import of bot.charts, the first chart, then median and max of ``n`` more; ``*_cpu_ms`` count
    only this thread's CPU time, steadier than wall time on a shared machine."""
    labels = LATIN if kind == "latin" else WORLD
    start = time.perf_counter()
    from bot.charts import bar_chart_png

    imported = time.perf_counter()
    cpu = time.thread_time()
    bar_chart_png("Ratings", labels, VALUES, highlight={4})
    first, first_cpu = time.perf_counter(), time.thread_time() - cpu
    times, cpu_times = [], []
    for _ in range(n):
        t, cpu = time.perf_counter(), time.thread_time()
        bar_chart_png("Ratings", labels, VALUES, highlight={4})
        times.append(time.perf_counter() - t)
        cpu_times.append(time.thread_time() - cpu)
    return {
        "import_ms": (imported - start) * 1000,
        "first_ms": (first - imported) * 1000,
        "first_cpu_ms": first_cpu * 1000,
        "median_ms": statistics.median(times) * 1000,
        "median_cpu_ms": statistics.median(cpu_times) * 1000,
        "max_ms": max(times) * 1000,
    }


if __name__ == "__main__":
    kind, n = (sys.argv[1], int(sys.argv[2])) if len(sys.argv) > 2 else ("latin", 30)
    print(run(kind, n))

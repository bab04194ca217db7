"""Whole-process wall time and peak memory of competing commands, measured in one run.

Each contender runs as a separate process under ``/usr/bin/time -v`` so that
start-up, imports and I/O count, as they do for an analyst. The machine is
shared and noisy: every contender is repeated and the median reported, and
results are also given as ratios to a peer measured in the same run.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Measurement:
    name: str
    walls: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def rss(self) -> float:
        return max(self.rss_mb)


def run(name: str, argv: list[str], repeats: int = 3, env: dict | None = None) -> Measurement:
    """Run *argv* *repeats* times; record wall seconds and peak RSS (MiB)."""
    m = Measurement(name)
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        m.walls.append(wall)
        m.rss_mb.append(int(rss.group(1)) / 1024 if rss else float("nan"))
        print(f"  {name}: {wall:.2f} s, {m.rss_mb[-1]:.0f} MiB", file=sys.stderr)
    return m


def rounds(contenders: dict[str, list[str]], repeats: int = 3) -> list[Measurement]:
    """Run every contender once per round, *repeats* rounds (round-robin).

    Load from other users of a shared machine then falls on every contender
    alike, which keeps the ratios to the peer meaningful.
    """
    results = {name: Measurement(name) for name in contenders}
    for _ in range(repeats):
        for name, argv in contenders.items():
            one = run(name, argv, repeats=1)
            results[name].walls += one.walls
            results[name].rss_mb += one.rss_mb
    return list(results.values())


def python(code: str) -> list[str]:
    """argv that runs *code* in this interpreter."""
    return [sys.executable, "-c", code]


def segment(*args: str) -> list[str]:
    return [str(BIN / "segment"), *args]


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return f"{platform.machine()}, {cpus} cores{mem}, Python {platform.python_version()}"


def table(results: list[Measurement], peer: str) -> str:
    """Markdown table with ratios of wall time against *peer*."""
    base = next(r for r in results if r.name == peer).wall
    lines = ["| contender | wall (median) | each run | peak RSS | wall / " + peer + " |",
             "| --- | ---: | --- | ---: | ---: |"]
    for r in results:
        each = ", ".join(f"{w:.2f}" for w in r.walls)
        lines.append(f"| {r.name} | {r.wall:.2f} s | {each} | {r.rss:,.0f} MiB | {r.wall / base:.2f}x |")
    return "\n".join(lines)

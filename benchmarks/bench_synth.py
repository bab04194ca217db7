"""Benchmark ``segment synth``: whole-process wall time and peak memory (run by hand, not by pytest).

Contenders, each run as a separate process under ``/usr/bin/time -v``:

- ``segment synth`` writing all six tables (Parquet) for N customers x 24 months;
- ``segment synth --tables panel`` (what a lifecycle benchmark needs);
- the peer: plain numpy + polars building ONE in-memory frame with the
  panel's 12 columns and N x 24 rows of random values and writing it with
  ``write_parquet``: the cost of merely materialising and writing a panel of
  that size, with no generative model and no chunking.

Prints a Markdown table of medians over ``--repeats`` runs, with ratios
against the peer measured in the same run.

    .venv/bin/python benchmarks/bench_synth.py --sizes 100000,1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PEER = r"""
import sys, numpy as np, polars as pl
n, months, out = int(sys.argv[1]), 24, sys.argv[2]
rng = np.random.default_rng(1)
rows = n * months
cid = pl.Series(np.repeat(np.arange(n), months)).cast(pl.String).str.zfill(7)
offsets = np.tile(np.arange(months), n).astype("timedelta64[M]")
month = pl.Series((np.datetime64("2023-01", "M") + offsets).astype("datetime64[D]"))
df = pl.DataFrame({
    "customer_id": "C" + cid, "month": month,
    "voice_min": np.round(rng.lognormal(5, 1, rows), 1), "data_mb": np.round(rng.lognormal(7, 1.5, rows), 1),
    "sms": rng.poisson(20, rows).astype(np.int32), "revenue": np.round(rng.lognormal(2.5, 0.8, rows), 2),
    "status": pl.Series(["active", "suspended", "cancelled"]).gather(rng.integers(0, 3, rows)),
    "plan": pl.Series(["prepaid_basic", "postpaid_m", "unlimited"]).gather(rng.integers(0, 3, rows)),
    "channel": pl.Series(["retail_store", "online", "dealer"]).gather(rng.integers(0, 3, rows)),
    "identity": pl.Series(np.repeat(rng.integers(0, 2**62, n), months)).cast(pl.String),
    "complaints": rng.poisson(0.05, rows).astype(np.int32),
    "activation": month,
})
df.write_parquet(out, compression="zstd")
"""


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", proc.stderr))
    return wall, rss, cpu


def folder_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.iterdir()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    segment = [sys.executable, "-m", "cli"]
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            contenders = {
                "segment synth (6 tables)": lambda d: [*segment, "synth", "--customers", str(n), "--out", d, "-q"],
                "segment synth --tables panel": lambda d: [*segment, "synth", "--customers", str(n), "--out", d,
                                                           "--tables", "panel", "-q"],
                "peer: polars in-memory panel": lambda d: [sys.executable, "-c", PEER, str(n), d + ".parquet"],
            }
            results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in contenders}
            sizes: dict[str, float] = {}
            for r in range(args.repeats):
                for name, make in contenders.items():  # interleaved, so load changes hit all alike
                    out = Path(tmp) / f"{n}-{r}-{abs(hash(name))}"
                    results[name].append(measure(make(str(out))))
                    target = out if out.exists() else Path(str(out) + ".parquet")
                    sizes[name] = folder_mb(target)
                    shutil.rmtree(out, ignore_errors=True)
                    Path(str(out) + ".parquet").unlink(missing_ok=True)
                    wall, rss, cpu = results[name][-1]
                    print(f"  {n:,} {name} run {r + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MB",
                          file=sys.stderr)
            peer = results["peer: polars in-memory panel"]
            peer_wall, peer_rss = statistics.median(r[0] for r in peer), statistics.median(r[1] for r in peer)
            for name, runs in results.items():
                wall, rss, cpu = (statistics.median(r[i] for r in runs) for i in range(3))
                rows.append((n, name, wall, cpu, rss, wall / peer_wall, rss / peer_rss, sizes[name]))
    print(f"\n{date.today()}, {platform.node()}: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"median of {args.repeats} runs; python {platform.python_version()}\n")
    print("| customers | contender | wall s | CPU s | peak RSS MB | wall / peer | RSS / peer | output MB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n, name, wall, cpu, rss, rw, rr, mb in rows:
        print(f"| {n:,} | {name} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {rw:.2f} | {rr:.2f} | {mb:.1f} |")


if __name__ == "__main__":
    main()

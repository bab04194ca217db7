"""Benchmark: segment lifecycle (snapshot, --history, transitions) on a telecom-size panel.

    .venv/bin/python benchmarks/bench_lifecycle.py [--customers 1330000] [--repeats 3]

The panel comes from ``segment synth`` (1,330,000 lines x 24 months is about
24M rows; synth's lines activated during the window or cancelled in it have
fewer months). Targets (issue 6): at most 20 s and 4 GB for each of the
snapshot, ``--history`` and ``transitions``, whole process.

The peer is the least any implementation has to do: read the same Parquet
columns, compute 3-month rolling means per customer with polars window
expressions, and write each customer's last row.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.ROOT / "benchmarks" / "out"

PEER = """
import polars as pl, sys
cols = ["voice_min", "data_mb", "revenue"]
(pl.scan_parquet(sys.argv[1]).select("customer_id", "month", *cols)
   .with_columns(pl.col(c).rolling_mean(3, min_samples=1).over("customer_id").alias(c + "_3m") for c in cols)
   .group_by("customer_id").last()
   .sink_parquet(sys.argv[2]))
"""

COLUMNS = ["--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue", "--status", "status",
           "--identity", "identity", "--activation", "activation"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_330_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    folder = OUT / f"synth_{args.customers}"
    panel = folder / "panel.parquet"
    if not panel.exists():
        t = time.perf_counter()
        harness.run("segment synth", harness.segment(
            "synth", "--customers", str(args.customers), "--months", "24", "--seed", "1", "--tables", "panel",
            "--out", str(folder), "-q"), repeats=1)
        print(f"generated {panel} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    import polars as pl

    rows = pl.scan_parquet(panel).select(pl.len()).collect().item()
    contenders = {
        "peer: polars rolling means + last row": harness.python(PEER) + [str(panel), str(OUT / "peer.parquet")],
        "segment lifecycle (snapshot)": harness.segment(
            "lifecycle", str(panel), *COLUMNS, "-o", str(OUT / "stages.parquet"), "-q"),
        "segment lifecycle --history": harness.segment(
            "lifecycle", str(panel), *COLUMNS, "--history", "-o", str(OUT / "history.parquet"), "-q"),
        "segment lifecycle transitions": harness.segment(
            "lifecycle", "transitions", str(panel), *COLUMNS, "-o", str(OUT / "transitions.csv"), "-q"),
    }
    results = harness.rounds(contenders, args.repeats)
    print(f"\n{rows:,} panel rows ({args.customers:,} lines x 24 months, segment synth seed 1); "
          f"{datetime.date.today()}, {harness.machine()}\n")
    print(harness.table(results, peer=results[0].name))


if __name__ == "__main__":
    main()

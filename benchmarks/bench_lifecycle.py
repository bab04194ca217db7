"""Benchmark: segment lifecycle (snapshot, --history, transitions) on a telecom-size panel.

    .venv/bin/python benchmarks/bench_lifecycle.py [--customers 1330000] [--repeats 3]

The panel comes from ``segment synth`` (1,330,000 lines x 24 months is about
24M rows; synth's lines activated during the window or cancelled in it have
fewer months). Targets (issue 6): at most 20 s and 4 GB for each of the
snapshot, ``--history`` and ``transitions``, whole process.

The peer is the least any implementation has to do: read the same Parquet
columns, compute 3-month rolling means per customer with polars window
expressions, and write each customer's last row. Every contender is a whole
process measured by benchmarks/harness.py (round-robin, per-round paired
ratios); the script checks that the snapshot covers the peer's customers and
compares its recent 3-month means with the peer's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
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


def synth_panel(path: Path, customers: int, months: int, seed: int) -> None:
    subprocess.run(harness.segment("synth", "--customers", str(customers), "--months", str(months), "--seed", str(seed),
                                   "--tables", "panel", "--out", str(path), "-q"), check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_330_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    folder = harness.cached("synth_panel", synth_panel, {"customers": args.customers, "months": 24, "seed": 1},
                            code=[harness.ROOT / "segment" / "synth", harness.ROOT / "cli" / "synth.py"], suffix="")
    panel = folder / "panel.parquet"
    import polars as pl

    rows = pl.scan_parquet(panel).select(pl.len()).collect().item()
    c = harness.Contender
    peer = "peer: polars rolling means + last row"
    results = harness.rounds([
        c(peer, harness.python(PEER, str(panel), str(OUT / "peer.parquet"))),
        c("segment lifecycle (snapshot)", harness.segment(
            "lifecycle", str(panel), *COLUMNS, "-o", str(OUT / "stages.parquet"), "-q")),
        c("segment lifecycle --history", harness.segment(
            "lifecycle", str(panel), *COLUMNS, "--history", "-o", str(OUT / "history.parquet"), "-q")),
        c("segment lifecycle transitions", harness.segment(
            "lifecycle", "transitions", str(panel), *COLUMNS, "-o", str(OUT / "transitions.csv"), "-q")),
    ], args.repeats)
    checks = harness.Checks()
    theirs = pl.read_parquet(OUT / "peer.parquet")
    ours = pl.read_parquet(OUT / "stages.parquet")
    checks.add("the snapshot has one row for each of the peer's customers",
               ours.height == theirs.height and ours.join(theirs, on="customer_id", how="anti").height == 0,
               f"{ours.height:,} and {theirs.height:,} customers")
    both = ours.join(theirs, on="customer_id").filter(pl.col("stage") != "exit")
    same = pl.all_horizontal(((pl.col(f"{m}_recent") - pl.col(f"{m}_3m")).abs()
                              <= 1e-6 * pl.col(f"{m}_3m").abs().clip(1.0)) for m in ("voice_min", "data_mb", "revenue"))
    share = both.select(same.mean()).item()
    checks.note("recent 3-month means equal the peer's rolling means, lines not exited",
                f"{share:.1%} of {both.height:,}; lifecycle's recent window leaves out part of a new line's first "
                "months, and an exited line's recent usage is 0")
    targets = [t for name in list(results.runs)[1:] for t in (
        harness.Target(f"`{name[8:]}` <= 20 s", "absolute", name, 20.0),
        harness.Target(f"`{name[8:]}` <= 4 GB", "absolute", name, 4096.0, metric="rss"))]
    harness.report("lifecycle", f"`segment lifecycle`: {rows:,} customer-months", results, peer=peer, checks=checks,
                   targets=targets,
                   notes=f"Panel: `segment synth --customers {args.customers:,} --months 24 --seed 1 --tables panel`.")


if __name__ == "__main__":
    main()

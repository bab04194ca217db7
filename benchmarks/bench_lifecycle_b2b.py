"""Benchmark: segment lifecycle --scheme b2b (group accounts) against the line-level lifecycle on the same rows.

    .venv/bin/python benchmarks/bench_lifecycle_b2b.py [--accounts 131000] [--repeats 2]

The panel comes from ``segment synth --b2b``: 131,000 accounts of about 11
lines each over 24 months is about 24M line-months (issue 24: 100k accounts
x 10 lines x 24 months). Target (issue 24): within the bound of the
line-level lifecycle on 24M rows (issue 6: 20 s and 4 GB, whole process);
and, measured round by round on the same file, the account stages should
cost no more than staging the lines themselves.

The peer is ``segment lifecycle`` staging every line of the same file (the
telecom scheme, prospects and trials read as suspended). Every contender is
a whole process measured by benchmarks/harness.py (round-robin, per-round
paired ratios); the script checks the account snapshot against an
independent polars roll-up of the lines' last month.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.ROOT / "benchmarks" / "out"

B2B = ["--scheme", "b2b", "--account", "account_id", "--revenue", "revenue", "--voice", "voice_min", "--data",
       "data_mb", "--status", "status", "--status-values", "prospect=prospect,trial", "--product", "product",
       "--cost", "cost", "--activation", "activation"]
LINES = ["--id", "line_id", "--revenue", "revenue", "--voice", "voice_min", "--data", "data_mb", "--status", "status",
         "--status-values", "suspended=suspended,prospect,trial", "--activation", "activation"]


def synth_panel(path: Path, accounts: int, months: int, seed: int) -> None:
    subprocess.run(harness.segment("synth", "--b2b", "--customers", str(accounts), "--months", str(months),
                                   "--seed", str(seed), "--tables", "b2b_panel", "--out", str(path), "-q"), check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=131_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    folder = harness.cached("synth_b2b_panel", synth_panel, {"accounts": args.accounts, "months": 24, "seed": 1},
                            code=[harness.ROOT / "segment" / "synth", harness.ROOT / "cli" / "synth.py"], suffix="")
    panel = folder / "b2b_panel.parquet"
    import polars as pl

    rows = pl.scan_parquet(panel).select(pl.len()).collect().item()
    c = harness.Contender
    peer = "segment lifecycle, line level (snapshot)"
    results = harness.rounds([
        c(peer, harness.segment("lifecycle", str(panel), *LINES, "-o", str(OUT / "b2b_lines.parquet"), "-q")),
        c("segment lifecycle --scheme b2b (snapshot)", harness.segment(
            "lifecycle", str(panel), *B2B, "-o", str(OUT / "b2b_stages.parquet"), "-q")),
        c("segment lifecycle --scheme b2b --history", harness.segment(
            "lifecycle", str(panel), *B2B, "--history", "-o", str(OUT / "b2b_history.parquet"), "-q")),
        c("segment lifecycle transitions --scheme b2b", harness.segment(
            "lifecycle", "transitions", str(panel), *B2B, "-o", str(OUT / "b2b_transitions.csv"), "-q")),
    ], args.repeats)
    checks = harness.Checks()
    ours = pl.read_parquet(OUT / "b2b_stages.parquet")
    last = (pl.scan_parquet(panel).filter(pl.col("month") == pl.col("month").max())
            .filter(pl.col("status") == "active")
            .group_by("account_id").agg(pl.col("revenue").sum().alias("rev"), pl.col("cost").sum().alias("c"))
            .collect())
    accounts = pl.scan_parquet(panel).select(pl.col("account_id").n_unique()).collect().item()
    checks.add("the snapshot has one row per account", ours.height == accounts, f"{ours.height:,} and {accounts:,}")
    both = ours.join(last, on="account_id")
    same = ((both["revenue"] - both["rev"]).abs() <= 1e-6 * both["rev"].abs().clip(1.0)).mean()
    checks.add("last-month revenue of accounts with an active line equals a polars roll-up of the lines",
               same == 1.0, f"{same:.1%} of {both.height:,}")
    targets = [t for name in list(results.runs)[1:] for t in (
        harness.Target(f"`{name[8:]}` <= 20 s", "absolute", name, 20.0),
        harness.Target(f"`{name[8:]}` <= 4 GB", "absolute", name, 4096.0, metric="rss"),
        harness.Target(f"`{name[8:]}` / line level <= 1", "ratio", name, 1.0, peer=peer))]
    harness.report("lifecycle_b2b", f"`segment lifecycle --scheme b2b`: {rows:,} line-months, {accounts:,} accounts",
                   results, peer=peer, checks=checks, targets=targets,
                   notes=f"Panel: `segment synth --b2b --customers {args.accounts:,} --months 24 --seed 1 "
                         "--tables b2b_panel`.")


if __name__ == "__main__":
    main()

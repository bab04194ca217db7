"""Benchmark: segment rfm vs a bare polars group-by vs lifetimes, 10M transactions.

    .venv/bin/python benchmarks/bench_rfm.py [--customers 1000000] [--transactions 10000000]

Targets (issue 2): within 2x of the bare group-by, at least 5x faster than
lifetimes' summary_data_from_transaction_data, peak memory under 1.5 GB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.ROOT / "benchmarks" / "out"


def generate(path: Path, customers: int, transactions: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    # Skewed activity: a few heavy users, many light ones (every customer buys at least once).
    weights = rng.pareto(1.5, customers) + 0.1
    extra = rng.choice(customers, size=transactions - customers, p=weights / weights.sum())
    ids = np.concatenate([np.arange(customers), extra])
    days = rng.integers(0, 730, transactions)
    amount = np.round(rng.lognormal(3.0, 1.0, transactions), 2)
    refund = rng.random(transactions) < 0.02
    amount[refund] *= -0.5
    pl.DataFrame({
        "customer_id": ids.astype(np.int64),
        "date": np.datetime64("2023-01-01") + days.astype("timedelta64[D]"),
        "amount": amount,
    }).sample(fraction=1.0, shuffle=True, seed=seed).write_parquet(path)


BARE = """
import polars as pl, sys
(pl.scan_parquet(sys.argv[1]).group_by("customer_id")
   .agg(last=pl.col("date").max(), n=pl.len(), total=pl.col("amount").sum())
   .sink_parquet(sys.argv[2]))
"""

LIFETIMES = """
import sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
df = pd.read_parquet(sys.argv[1])
s = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                       observation_period_end=df["date"].max() + pd.Timedelta(days=1), freq="D")
s.to_parquet(sys.argv[2])
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--transactions", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lifetimes-repeats", type=int, default=1)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"tx_{args.transactions}.parquet"
    if not data.exists():
        t = time.perf_counter()
        generate(data, args.customers, args.transactions)
        print(f"generated {data} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    results = harness.rounds({
        "bare polars group-by": harness.python(BARE) + [str(data), str(OUT / "bare.parquet")],
        "segment rfm": harness.segment("rfm", str(data), "-o", str(OUT / "rfm.parquet"), "-q"),
        "segment rfm --btyd": harness.segment("rfm", str(data), "-o", str(OUT / "rfm_btyd.parquet"), "-q", "--btyd"),
    }, args.repeats)
    results.append(harness.run("lifetimes summary", harness.python(LIFETIMES) + [str(data), str(OUT / "lt.parquet")],
                               args.lifetimes_repeats))
    print(f"\n{args.transactions:,} transactions, {args.customers:,} customers, Parquet in and out; "
          f"{harness.machine()}\n")
    print(harness.table(results, peer="bare polars group-by"))


if __name__ == "__main__":
    main()

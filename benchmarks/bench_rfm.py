"""Benchmark: segment rfm against a bare polars group-by, rfm --btyd against lifetimes; 10M transactions.

    .venv/bin/python benchmarks/bench_rfm.py [--customers 1000000] [--transactions 10000000] [--repeats 5]

Targets (issue 2, restated in issue 12): plain ``rfm`` at most 2x the bare
polars group-by that computes the same per-customer aggregates from the
same file and writes them; ``rfm --btyd`` at least 5x faster than lifetimes'
``summary_data_from_transaction_data`` on the same transactions (like for
like: both compute the daily-period BTYD summary); peak memory under 1.5 GB.

Every contender is a whole process measured by benchmarks/harness.py
(round-robin, per-round paired ratios). The script checks that the outputs
agree: rfm's recency, frequency and monetary equal the bare group-by's for
every customer, and rfm --btyd's frequency, recency, T and monetary value
equal lifetimes' for every customer without returns (lifetimes counts a day
with only a return as a purchase period; rfm nets returns and counts days
with a purchase).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.OUT / "rfm"


def generate(path: Path, customers: int, transactions: int, seed: int) -> None:
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


# The per-customer aggregates rfm reports, nothing else: last purchase,
# purchases (rows with a non-negative amount), net spend. The purchase date
# and flag are columns first, so that the group-by is plain max/sum (polars'
# fast path: as fast as the simplest group-by below; a filtered max is not).
BARE = """
import polars as pl, sys
buy = pl.col("amount") >= 0
(pl.scan_parquet(sys.argv[1]).with_columns(_buy=buy, _bought=pl.when(buy).then(pl.col("date")))
   .group_by("customer_id")
   .agg(last=pl.col("_bought").max(), n=pl.col("_buy").sum(), total=pl.col("amount").sum())
   .sink_parquet(sys.argv[2]))
"""

# The simplest group-by (all rows counted, last row of any kind), shown for
# comparison with earlier runs; the verdict uses BARE.
SIMPLEST = """
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

NAMES = {"bare": "bare polars group-by (same aggregates)", "simplest": "simplest polars group-by (max, len, sum)",
         "rfm": "segment rfm", "btyd": "segment rfm --btyd", "lifetimes": "lifetimes summary_data_from_transaction_data"}


def check(data: Path, paths: dict[str, Path], checks: harness.Checks) -> None:
    rfm = pl.read_parquet(paths["rfm"])
    bare = pl.read_parquet(paths["bare"]).filter(pl.col("n") > 0)
    as_of = pl.scan_parquet(data).select(pl.col("date").max()).collect().item() + np.timedelta64(1, "D").item()
    both = rfm.join(bare, on="customer_id", how="full", coalesce=True)
    same = both.select(
        rows=pl.len(),
        recency=(pl.col("recency") == (pl.lit(as_of) - pl.col("last")).dt.total_days()).sum(),
        frequency=(pl.col("frequency") == pl.col("n")).sum(),
        monetary=((pl.col("monetary") - pl.col("total")).abs() <= 1e-6 * pl.col("total").abs().clip(1.0)).sum(),
    ).row(0, named=True)
    checks.add("rfm's recency, frequency and monetary equal the bare group-by's for every customer",
               rfm.height == bare.height == same["recency"] == same["frequency"] == same["monetary"] == same["rows"],
               f"{rfm.height:,} customers; equal recency {same['recency']:,}, frequency {same['frequency']:,}, "
               f"monetary {same['monetary']:,}")
    btyd = pl.read_parquet(paths["btyd"])
    lt = pl.read_parquet(paths["lifetimes"]).rename(lambda c: c if c == "customer_id" else f"lt_{c}")
    returns = pl.scan_parquet(data).filter(pl.col("amount") < 0).select("customer_id").unique().collect()
    joined = btyd.join(lt, on="customer_id", how="inner").join(returns, on="customer_id", how="anti")
    plain = lt.join(returns, on="customer_id", how="anti").height
    agree = joined.select(
        frequency=(pl.col("frequency_btyd") == pl.col("lt_frequency").cast(pl.Int64)).all(),
        recency=(pl.col("recency_btyd") == pl.col("lt_recency").cast(pl.Int64)).all(),
        T=(pl.col("T") == pl.col("lt_T").cast(pl.Int64)).all(),
        monetary=((pl.col("monetary_value") - pl.col("lt_monetary_value")).abs()
                  <= 1e-9 * pl.col("lt_monetary_value").abs().clip(1.0)).all(),
    ).row(0, named=True)
    checks.add("rfm --btyd's frequency, recency, T and monetary_value equal lifetimes' for every customer "
               "without returns", joined.height == plain and all(agree.values()),
               f"{joined.height:,} customers compared; {btyd.height - joined.height:,} with returns not compared")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--transactions", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("rfm_tx", generate, {"customers": args.customers, "transactions": args.transactions,
                                               "seed": 1})
    paths = {key: OUT / f"{key}.parquet" for key in NAMES}
    c = harness.Contender
    results = harness.rounds([
        c(NAMES["bare"], harness.python(BARE, str(data), str(paths["bare"]))),
        c(NAMES["simplest"], harness.python(SIMPLEST, str(data), str(paths["simplest"]))),
        c(NAMES["rfm"], harness.segment("rfm", str(data), "-o", str(paths["rfm"]), "-q")),
        c(NAMES["btyd"], harness.segment("rfm", str(data), "-o", str(paths["btyd"]), "-q", "--btyd")),
        c(NAMES["lifetimes"], harness.python(LIFETIMES, str(data), str(paths["lifetimes"]))),
    ], args.repeats)
    checks = harness.Checks()
    check(data, paths, checks)
    targets = [
        harness.Target("`rfm` <= 2x the bare polars group-by", "ratio", NAMES["rfm"], 2.0, peer=NAMES["bare"]),
        harness.Target("`rfm --btyd` >= 5x faster than lifetimes", "speedup", NAMES["btyd"], 5.0,
                       peer=NAMES["lifetimes"]),
        harness.Target("`rfm` < 1.5 GB", "absolute", NAMES["rfm"], 1536.0, metric="rss"),
        harness.Target("`rfm --btyd` < 1.5 GB", "absolute", NAMES["btyd"], 1536.0, metric="rss"),
    ]
    extra = (f"For comparison: `segment rfm` / the simplest group-by "
             f"{results.ratio(NAMES['rfm'], NAMES['simplest']).format(2, 'x')}; `segment rfm --btyd` / the "
             f"bare group-by {results.ratio(NAMES['btyd'], NAMES['bare']).format(2, 'x')}; lifetimes / plain "
             f"`segment rfm` {results.speedup(NAMES['rfm'], NAMES['lifetimes']).format(2, 'x')} (not like for like).")
    harness.report("rfm", f"`segment rfm`: {args.transactions:,} transactions, {args.customers:,} customers, "
                          "Parquet in and out", results, peer=NAMES["bare"], targets=targets, checks=checks,
                   notes=extra)


if __name__ == "__main__":
    main()

"""Benchmark: segment clv (BG/NBD + Gamma-Gamma, fit and score) against lifetimes; 1M customers.

    .venv/bin/python benchmarks/bench_clv.py [--customers 1000000] [--lifetimes-customers N] [--repeats 3]

Target (issue 20): ``segment clv fit --model bgnbd --spend gamma-gamma --score``
on 1M customers in under 10 s on 2 cores, with the same parameters as
lifetimes (BetaGeoFitter + GammaGammaFitter) on the same input to 1e-3.

The input is what ``segment rfm --btyd`` writes (days), simulated from a
BG/NBD world with Gamma-Gamma spend, so the true parameters are known too.
Both contenders read the Parquet file, fit both models, score every
customer (P(alive), expected purchases in 52 weeks, expected spend) and
write a Parquet file. lifetimes fits every row (it has no grouping of equal
histories); ``--lifetimes-customers N`` gives it the first N customers of
the same file (for a quicker run), and the check then compares parameters
from a segment fit of that same subset.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.OUT / "clv"
TRUTH = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.4, "p": 6.0, "q": 3.8, "gamma": 15.0}  # alpha in days


def generate(path: Path, customers: int, seed: int) -> None:
    """BG/NBD customers in whole days, as rfm --btyd writes them."""
    rng = np.random.default_rng(seed)
    t = TRUTH
    T = rng.integers(30, 731, customers)
    lam = rng.gamma(t["r"], 1 / t["alpha"], customers)
    dropout = rng.beta(t["a"], t["b"], customers)
    # Purchases until dropout (geometric), cut at the purchases the Poisson process fits in (0, T];
    # given n arrivals, the x-th is T times a Beta(x, n - x + 1) order statistic.
    n = rng.poisson(lam * T)
    x = np.minimum(rng.geometric(dropout), n)
    last = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n - x + 1, 1)), 0.0)
    tx = np.where(x > 0, np.clip(np.ceil(last), 1, T), 0).astype(np.int64)
    x = np.minimum(x, tx)  # whole days: at most one repeat purchase day per day
    nu = rng.gamma(t["q"], 1 / t["gamma"], customers)
    spend = rng.gamma(t["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1)
    pl.DataFrame({
        "customer_id": np.arange(customers, dtype=np.int64),
        "frequency_btyd": x.astype(np.int64), "recency_btyd": tx, "T": T.astype(np.int64),
        "monetary_value": np.where(x > 0, np.round(spend, 2), 0.0),
    }).write_parquet(path)


LIFETIMES = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
df = pd.read_parquet(sys.argv[1])
if len(sys.argv) > 4:
    df = df.head(int(sys.argv[4]))
x, tx, T = df["frequency_btyd"], df["recency_btyd"] / 7, df["T"] / 7
bgf = BetaGeoFitter().fit(x, tx, T)
rep = df[(x > 0) & (df["monetary_value"] > 0)]
ggf = GammaGammaFitter().fit(rep["frequency_btyd"], rep["monetary_value"])
out = df.assign(p_alive=bgf.conditional_probability_alive(x, tx, T),
                expected_purchases=bgf.conditional_expected_number_of_purchases_up_to_time(52, x, tx, T),
                expected_spend=ggf.conditional_expected_average_profit(df["frequency_btyd"], df["monetary_value"]))
out.to_parquet(sys.argv[2])
params = {**bgf.params_.to_dict(), **{("gamma" if k == "v" else k): v for k, v in ggf.params_.to_dict().items()}}
json.dump(params, open(sys.argv[3], "w"))
"""

NAMES = {"clv": "segment clv fit --score (BG/NBD + Gamma-Gamma)", "lifetimes": "lifetimes BetaGeoFitter + GammaGammaFitter"}


def _ours(path: Path) -> dict[str, float]:
    doc = json.loads(path.read_text())
    return {**doc["params"], **doc["spend"]["params"]}


def check(paths: dict[str, Path], subset: Path | None, checks: harness.Checks, customers: int) -> None:
    theirs = json.loads(paths["lifetimes_params"].read_text())
    ours = _ours(subset or paths["clv_params"])
    worst = max(abs(ours[k] - theirs[k]) / max(abs(theirs[k]), 1.0) for k in theirs)
    checks.add("segment's BG/NBD and Gamma-Gamma parameters equal lifetimes' to 1e-3 on the same customers",
               worst <= 1e-3, f"largest difference {worst:.1e} (relative where a parameter exceeds 1) on "
                              f"{customers:,} customers; ours {', '.join(f'{k} {v:.4f}' for k, v in ours.items())}")
    full = _ours(paths["clv_params"])
    truth = {**TRUTH, "alpha": TRUTH["alpha"] / 7}
    off = max(abs(full[k] - v) / v for k, v in truth.items())
    checks.add("the simulated world's parameters are recovered (within 5%)", off <= 0.05,
               f"largest relative difference {off:.3f}")
    a = pl.read_parquet(paths["clv"])
    if subset is None:
        b = pl.read_parquet(paths["lifetimes"])
        gap = max(float((a[c] - b[c]).abs().max()) for c in ("p_alive", "expected_purchases"))
        checks.add("per-customer p_alive and expected purchases agree with lifetimes to 1e-3", gap <= 1e-3,
                   f"largest difference {gap:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--lifetimes-customers", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("clv_btyd", generate, {"customers": args.customers, "seed": 1})
    paths = {"clv": OUT / "clv.parquet", "clv_params": OUT / "clv_params.json",
             "lifetimes": OUT / "lifetimes.parquet", "lifetimes_params": OUT / "lifetimes_params.json"}
    subset = None
    lt_args = [str(data), str(paths["lifetimes"]), str(paths["lifetimes_params"])]
    compared = args.customers
    if args.lifetimes_customers:
        compared = args.lifetimes_customers
        lt_args.append(str(compared))
        head = OUT / f"clv_head_{compared}.parquet"
        pl.read_parquet(data).head(compared).write_parquet(head)
        subset = OUT / "clv_head_params.json"
        subprocess.run(harness.segment("clv", "fit", str(head), "--spend", "gamma-gamma", "-q", "-o", str(subset)),
                       check=True)
    c = harness.Contender
    results = harness.rounds([
        c(NAMES["clv"], harness.segment("clv", "fit", str(data), "--spend", "gamma-gamma", "--score", "-q",
                                        "--horizon", "52", "-o", str(paths["clv"]),
                                        "--params-out", str(paths["clv_params"]))),
        c(NAMES["lifetimes"], harness.python(LIFETIMES, *lt_args)),
    ], args.repeats)
    checks = harness.Checks()
    check(paths, subset, checks, compared)
    targets = [harness.Target("`clv fit --score` on all customers < 10 s", "absolute", NAMES["clv"], 10.0)]
    note = ("" if subset is None else
            f"lifetimes ran on the first {compared:,} customers of the same file (--lifetimes-customers); its time "
            "is for that subset, so the two times are not like for like.")
    harness.report("clv", f"`segment clv`: BG/NBD + Gamma-Gamma fit and score, {args.customers:,} customers, "
                          "Parquet in and out", results, peer=NAMES["lifetimes"], targets=targets, checks=checks,
                   notes=note)


if __name__ == "__main__":
    main()

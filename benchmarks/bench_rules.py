"""Benchmark ``segment rules`` against plain mlxtend and pyfim (Borgelt's C code, as in R's arules).

Run by hand (never by pytest), from the repository root::

    .venv/bin/pip install -e ".[bench]"  # pyfim, built from source; benchmark only
    .venv/bin/python benchmarks/bench_rules.py [--customers 1000000] [--repeat 3]

Data: a seeded snapshot of N customers x 40 yes/no items (prevalence 2-35%,
three latent segments that make items co-occur) with planted churn rules:
``i00`` (main effect), ``i03 & i05`` and ``i07 & i08 & i12`` (interactions),
``i01`` protective. Every contender runs as its own process (imports, reading
the Parquet file and writing its rules included) and is timed whole; peak
memory comes from ``/usr/bin/time -v``. All mine the same rules: antecedents
of up to 3 items with the consequent churn, minimum support 1% of customers,
no confidence or lift threshold. The script checks that the rule sets and
counts are identical and prints a Markdown table with medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MIN_SUPPORT = 0.01
MAX_LEN = 3  # items in the antecedent


def generate(n: int, seed: int = 0, m: int = 40):
    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.35, 0.02, m)
    segment = rng.integers(0, 3, n)
    boost = np.zeros((3, m))
    boost[0, :10:2] = 0.15
    boost[1, 10:20:2] = 0.10
    boost[2, 1:30:3] = 0.05
    x = rng.random((n, m)) < np.clip(prevalence[None, :] + boost[segment], 0, 1)
    logit = (-2.2 + 0.9 * x[:, 0] + 1.4 * (x[:, 3] & x[:, 5]) + 1.8 * (x[:, 7] & x[:, 8] & x[:, 12])
             - 0.6 * x[:, 1])
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return x, churn


def write_data(n: int, path: Path) -> None:
    import polars as pl

    x, churn = generate(n)
    cols = {"customer_id": np.arange(n)}
    cols.update({f"i{j:02d}": x[:, j] for j in range(x.shape[1])})
    cols["churn"] = churn
    pl.DataFrame(cols).write_parquet(path)


# ------------------------------------------------------------ contenders
# Each reads the Parquet file and writes antecedent, n_rule, n_antecedent.


def _load_onehot(path: str):
    import polars as pl

    df = pl.read_parquet(path)
    items = [c for c in df.columns if c.startswith("i")]
    return df, items


def run_mlxtend(path: str, out: str) -> None:
    import pandas as pd
    import polars as pl
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    df, items = _load_onehot(path)
    onehot = df.select([pl.col(c).alias(f"{c}=yes") for c in items] + [pl.col("churn").alias("churn=true")])
    onehot = onehot.to_pandas()
    frequent = fpgrowth(onehot, min_support=MIN_SUPPORT, max_len=MAX_LEN + 1, use_colnames=True)
    found = association_rules(frequent, num_itemsets=len(onehot), metric="confidence", min_threshold=0.0)
    found = found[found["consequents"] == frozenset({"churn=true"})]
    n = len(onehot)
    pd.DataFrame({
        "antecedent": [" & ".join(sorted(a)) for a in found["antecedents"]],
        "n_rule": np.round(found["support"].to_numpy() * n).astype(int),
        "n_antecedent": np.round(found["antecedent support"].to_numpy() * n).astype(int),
    }).to_csv(out, index=False)


def run_pyfim(path: str, out: str) -> None:
    import fim
    import polars as pl

    df, items = _load_onehot(path)
    names = [f"{c}=yes" for c in items] + ["churn=true"]
    # Identical baskets once, with their multiplicity (pyfim takes a dict), all
    # in numpy: each customer's basket as one 64-bit key, then decoded per key.
    key = np.zeros(len(df), dtype=np.uint64)
    for j, col in enumerate([*items, "churn"]):
        key |= df[col].to_numpy().astype(np.uint64) << np.uint64(j)
    keys, counts = np.unique(key, return_counts=True)
    bits = (keys[:, None] >> np.arange(len(names), dtype=np.uint64)) & np.uint64(1)
    rows, cols = np.nonzero(bits)
    starts = np.searchsorted(rows, np.arange(len(keys) + 1)).tolist()
    flat = cols.tolist()
    baskets = {tuple(flat[a:b]): c for a, b, c in zip(starts[:-1], starts[1:], counts.tolist(), strict=True)}
    target = len(names) - 1
    min_count = int(np.ceil(MIN_SUPPORT * len(df)))
    found = fim.arules(baskets, supp=-min_count, conf=0, zmax=MAX_LEN + 1, report="ab", mode="o",
                       appear={None: "in", target: "out"})
    pl.DataFrame({
        "antecedent": [" & ".join(sorted(names[i] for i in body)) for _, body, _, _ in found],
        "n_rule": [a for _, _, a, _ in found],
        "n_antecedent": [b for _, _, _, b in found],
    }).filter(pl.col("antecedent") != "").write_csv(out)


CONTENDERS = {
    "segment rules": lambda data, out: [sys.executable, "-m", "cli", "rules", data, "--target", "churn",
                                        "--min-support", str(MIN_SUPPORT), "--max-len", str(MAX_LEN),
                                        "--min-lift", "0", "--keep-redundant", "--keep-insignificant",
                                        "-q", "-o", out],
    "segment rules --engine bitset": lambda data, out: [*CONTENDERS["segment rules"](data, out),
                                                        "--engine", "bitset"],
    "pyfim arules (C)": lambda data, out: [sys.executable, __file__, "--contender", "pyfim", data, out],
    "mlxtend fpgrowth + association_rules": lambda data, out: [sys.executable, __file__, "--contender",
                                                               "mlxtend", data, out],
}


def measure(cmd: list[str]) -> tuple[float, float]:
    """Whole-process wall seconds and peak RSS in MiB."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return wall, rss / 1024


def normalised(path: Path):
    import polars as pl

    df = pl.read_csv(path).select("antecedent", "n_rule", "n_antecedent")
    return df.with_columns(pl.col("antecedent").str.split(" & ").list.sort().list.join(" & ")).sort("antecedent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-slow", type=int, default=3, help="repeats of the plain-mlxtend runs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--contender", nargs=3, metavar=("NAME", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        name, data, out = args.contender
        {"mlxtend": run_mlxtend, "pyfim": run_pyfim}[name](data, out)
        return

    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / f"rules_{args.customers}.parquet"
    if not data.exists():
        write_data(args.customers, data)
    try:
        import fim  # noqa: F401
    except ImportError:
        print("pyfim is not installed (.venv/bin/pip install pyfim); skipping it", file=sys.stderr)
        CONTENDERS.pop("pyfim arules (C)")

    # Rounds of every contender in turn, so that load from other users of a
    # shared machine falls on all of them alike.
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in CONTENDERS}
    outputs = {name: args.out / f"rules_{re.sub(r'[^a-z]+', '_', name.lower())}.csv" for name in CONTENDERS}
    for round_ in range(args.repeat):
        for name, make in CONTENDERS.items():
            slow = name.startswith("mlxtend")
            if slow and round_ >= args.repeat_slow:
                continue
            runs[name].append(measure(make(str(data), str(outputs[name]))))
            print(f"round {round_ + 1}: {name}: {runs[name][-1][0]:.2f} s", file=sys.stderr)
    results = {name: (statistics.median(w for w, _ in r), max(m for _, m in r)) for name, r in runs.items()}
    for name, r in runs.items():
        print(f"{name}: {[round(w, 2) for w, _ in r]} s, {results[name][1]:.0f} MiB", file=sys.stderr)

    reference = normalised(outputs["segment rules"])
    same = {name: normalised(path).equals(reference) for name, path in outputs.items()}
    peer = results.get("pyfim arules (C)")
    plain = results["mlxtend fpgrowth + association_rules"]
    print(f"\n{args.customers:,} customers x 40 items, min support {MIN_SUPPORT}, antecedents up to {MAX_LEN} "
          f"items, {reference.height:,} rules. {dt.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores; medians of {args.repeat} runs ({args.repeat_slow} for plain mlxtend).\n")
    print("| contender | wall s | peak RSS MiB | x pyfim | speed-up vs mlxtend | same rules |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (wall, rss) in results.items():
        vs_peer = f"{wall / peer[0]:.2f}" if peer else "-"
        print(f"| {name} | {wall:.2f} | {rss:.0f} | {vs_peer} | {plain[0] / wall:.1f} | "
              f"{'yes' if same[name] else 'NO'} |")


if __name__ == "__main__":
    main()

"""Benchmark ``segment rules`` against plain mlxtend and pyfim (Borgelt's C code, as in R's arules).

Run by hand (never by pytest), from the repository root::

    .venv/bin/pip install -e ".[bench]"  # pyfim, built from source; benchmark only (make bench does this)
    .venv/bin/python benchmarks/bench_rules.py                      # Cell2Cell size: 51,047 x 57
    .venv/bin/python benchmarks/bench_rules.py --customers 1000000 --items 40 --categorical 0

Data: a seeded snapshot of N customers with yes/no columns (prevalence
2-35%, three latent segments that make them co-occur) and text columns of 3-7
values, with planted churn rules: ``i00`` (main effect), ``i03 & i05`` and
``i07 & i08 & i12`` (interactions), ``i01`` protective. The default size is
Cell2Cell's (51,047 customers, 57 columns: 30 yes/no, 27 categorical), where
issue 14 measured the mlxtend engine at over 100 s.

Every contender is a whole process measured by benchmarks/harness.py
(round-robin, per-round paired ratios): both of segment's engines, named
explicitly since the default may change, pyfim's ``arules`` and plain
mlxtend (``fpgrowth`` + ``association_rules``). All mine the same rules:
antecedents of up to 3 items with the consequent churn, minimum support 1%
of customers, no confidence or lift threshold. The script checks that the
rule sets and their counts are identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

ROOT = harness.ROOT
OUT = harness.OUT / "rules"
MIN_SUPPORT = 0.01
MAX_LEN = 3  # items in the antecedent


def planted(n: int, m: int, seed: int):
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


def generate(path: Path, customers: int, items: int, categorical: int, seed: int) -> None:
    """*items* yes/no columns ``iNN`` and *categorical* text columns ``cNN`` of 3-7 values each."""
    import polars as pl

    x, churn = planted(customers, items, seed)
    cols = {"customer_id": np.arange(customers)}
    cols.update({f"i{j:02d}": x[:, j] for j in range(x.shape[1])})
    rng = np.random.default_rng(seed + 1)
    # Category shares differ by whether the customer holds i02, so categories co-occur with flags.
    for j in range(categorical):
        k = 3 + j % 5
        shares = rng.dirichlet(np.full(k, 0.8), size=2)
        u = rng.random(customers)
        level = (u[:, None] > np.cumsum(shares[x[:, 2].astype(int)], axis=1)).sum(axis=1).clip(0, k - 1)
        cols[f"c{j:02d}"] = np.array([f"v{v}" for v in range(k)])[level]
    cols["churn"] = churn
    pl.DataFrame(cols).write_parquet(path)


# ------------------------------------------------------------ contenders
# Each reads the Parquet file and writes antecedent, n_rule, n_antecedent.


def _onehot(path: str):
    """Item names as segment writes them (``col=yes`` for flags, ``col=value`` for text) and the
    customers x items matrix, churn last."""
    import polars as pl

    df = pl.read_parquet(path)
    names, cols = [], []
    for c in df.columns:
        if c in ("customer_id", "churn"):
            continue
        if df[c].dtype == pl.Boolean:
            names.append(f"{c}=yes")
            cols.append(df[c].to_numpy())
        else:
            for value in df[c].unique().sort().to_list():
                names.append(f"{c}={value}")
                cols.append((df[c] == value).to_numpy())
    names.append("churn=true")
    cols.append(df["churn"].to_numpy())
    return names, np.column_stack(cols)


def run_mlxtend(path: str, out: str) -> None:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    names, matrix = _onehot(path)
    onehot = pd.DataFrame(matrix, columns=names)
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

    names, matrix = _onehot(path)
    # Identical baskets once, with their multiplicity (pyfim takes a dict):
    # rows packed to bytes, made unique in numpy, then decoded once per basket.
    packed = np.packbits(matrix, axis=1)
    _, first, counts = np.unique(packed, axis=0, return_index=True, return_counts=True)
    baskets = {tuple(np.flatnonzero(matrix[i]).tolist()): c for i, c in zip(first, counts.tolist(), strict=True)}
    target = len(names) - 1
    min_count = int(np.ceil(MIN_SUPPORT * len(matrix)))
    found = fim.arules(baskets, supp=-min_count, conf=0, zmax=MAX_LEN + 1, report="ab", mode="o",
                       appear={None: "in", target: "out"})
    pl.DataFrame({
        "antecedent": [" & ".join(sorted(names[i] for i in body)) for _, body, _, _ in found],
        "n_rule": [a for _, _, a, _ in found],
        "n_antecedent": [b for _, _, _, b in found],
    }, schema={"antecedent": pl.String, "n_rule": pl.Int64, "n_antecedent": pl.Int64}
    ).filter(pl.col("antecedent") != "").write_csv(out)


NAMES = {"bitset": "segment rules --engine bitset", "mlxtend_engine": "segment rules --engine mlxtend",
         "pyfim": "pyfim arules (C)", "mlxtend": "plain mlxtend fpgrowth + association_rules"}
# Column names before and after issue 14's rename, so the check reads either.
RENAMED = {"customers": "n_antecedent", "target_customers": "n_rule"}


def segment_rules(data: str, out: str, engine: str) -> list[str]:
    argv = harness.segment("rules", data, "--target", "churn", "--min-support", str(MIN_SUPPORT), "--max-len",
                           str(MAX_LEN), "--min-lift", "0", "--keep-redundant", "--keep-insignificant",
                           "--engine", engine, "-q", "-o", out)
    # The peers mine the yes side of each yes/no column and keep rules of the same
    # customers apart: so must segment, whatever its defaults (they changed in 0.2).
    shown = subprocess.run(harness.segment("rules", "--help"), capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"}).stdout
    for flag in ("--yes-only", "--no-merge-same"):
        if flag in shown:
            argv.append(flag)
    if "--yes-only" not in shown and "--no-with-no" in shown:
        argv.append("--no-with-no")
    return argv


def normalised(path: Path):
    import polars as pl

    df = pl.read_csv(path)
    df = df.rename({new: old for new, old in RENAMED.items() if new in df.columns and old not in df.columns})
    df = df.select("antecedent", "n_rule", "n_antecedent")
    return df.with_columns(pl.col("antecedent").str.split(" & ").list.sort().list.join(" & ")).sort("antecedent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=51_047)
    parser.add_argument("--items", type=int, default=30, help="yes/no columns")
    parser.add_argument("--categorical", type=int, default=27, help="text columns of 3-7 values")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contender", nargs=3, metavar=("NAME", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        name, data, out = args.contender
        {"mlxtend": run_mlxtend, "pyfim": run_pyfim}[name](data, out)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("rules", generate, {"customers": args.customers, "items": args.items,
                                              "categorical": args.categorical, "seed": 0}, code=[planted])
    size = f"{args.customers}x{args.items + args.categorical}"
    outputs = {key: OUT / f"{key}_{size}.csv" for key in NAMES}
    c = harness.Contender
    contenders = [c(NAMES["bitset"], segment_rules(str(data), str(outputs["bitset"]), "bitset")),
                  c(NAMES["mlxtend_engine"], segment_rules(str(data), str(outputs["mlxtend_engine"]), "mlxtend"))]
    try:
        import fim  # noqa: F401

        contenders.append(c(NAMES["pyfim"], [sys.executable, __file__, "--contender", "pyfim", str(data),
                                             str(outputs["pyfim"])]))
    except ImportError:
        print("pyfim is not installed (make bench installs it); running without it", file=sys.stderr)
    contenders.append(c(NAMES["mlxtend"], [sys.executable, __file__, "--contender", "mlxtend", str(data),
                                           str(outputs["mlxtend"])]))
    results = harness.rounds(contenders, args.repeats)
    checks = harness.Checks()
    reference = normalised(outputs["mlxtend"])
    for key, name in NAMES.items():
        if key != "mlxtend" and name in results.runs:
            found = normalised(outputs[key])
            checks.add(f"{name}: the same rules with the same counts as plain mlxtend", found.equals(reference),
                       f"{found.height:,} rules against {reference.height:,}")
    peer = NAMES["pyfim"] if NAMES["pyfim"] in results.runs else NAMES["mlxtend"]
    targets = []
    for key in ("bitset", "mlxtend_engine"):
        name = NAMES[key]
        if peer == NAMES["pyfim"]:
            targets.append(harness.Target(f"`rules --engine {name.rsplit(' ', 1)[1]}` <= 3x pyfim", "ratio", name,
                                          3.0, peer=peer))
        targets.append(harness.Target(f"`rules --engine {name.rsplit(' ', 1)[1]}` >= 5x faster than plain mlxtend",
                                      "speedup", name, 5.0, peer=NAMES["mlxtend"]))
    harness.report(f"rules_{size}", f"`segment rules`: {args.customers:,} customers x "
                   f"{args.items + args.categorical} columns ({args.items} yes/no, {args.categorical} categorical: "
                   f"{len(_onehot(str(data))[0]) - 1} items)", results, peer=peer,
                   targets=targets, checks=checks,
                   notes=f"Minimum support {MIN_SUPPORT:.0%} of customers, antecedents up to {MAX_LEN} items, "
                         f"{reference.height:,} rules to churn, all written.")


if __name__ == "__main__":
    main()

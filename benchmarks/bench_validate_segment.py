"""Benchmark ``segment validate-segment``: 1M rows x 50 segments x 5 outcomes.

    .venv/bin/python benchmarks/bench_validate_segment.py [--rows 1000000] [--segments 50]

Run by hand, never by pytest. Each contender runs as its own process under
``/usr/bin/time -v`` (benchmarks/harness.py); the table gives the median wall
time and peak RSS of ``--repeats`` runs and the ratio to a peer measured in
the same run: a minimal scipy script that computes only the omnibus tests
(``kruskal`` per numeric outcome over the per-segment arrays,
``chi2_contingency`` per categorical one) from the same Parquet file.
Target (issue 7): at most 10 s without bootstrap.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.ROOT / "benchmarks" / "out"
PEER_NAME = "scipy omnibus tests only"

PEER = """
import sys
import numpy as np, polars as pl
from scipy import stats
df = pl.read_parquet(sys.argv[1])
seg = df["segment"].to_numpy()
order = np.argsort(seg, kind="stable")
s = seg[order]
cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
for col in ("arpu", "mou", "data_gb"):
    groups = np.split(df[col].to_numpy()[order], cuts)
    print(col, stats.kruskal(*groups).pvalue)
for col in ("churn", "channel"):
    table = df.group_by("segment", col).len().pivot(on=col, index="segment", values="len").fill_null(0)
    print(col, stats.chi2_contingency(table.drop("segment").to_numpy(), correction=False).pvalue)
"""


def make_data(path: Path, rows: int, segments: int, seed: int = 0) -> None:
    """Customers in *segments* segments; outcomes depend on the segment a little."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, segments, rows)
    lift = rng.normal(0, 0.3, segments)[seg]
    df = pl.DataFrame({
        "customer_id": np.arange(rows).astype(str),
        "segment": np.char.add("s", seg.astype(str)),
        "churn": rng.random(rows) < 1 / (1 + np.exp(1.5 - lift)),
        "arpu": np.round(rng.gamma(2.0, 20.0, rows) * np.exp(lift / 3), 2),
        "mou": np.round(rng.gamma(1.5, 150.0, rows) * np.exp(lift / 4)),
        "data_gb": np.round(rng.lognormal(1.0 + lift / 5, 1.0, rows), 3),
        "channel": np.array(["shop", "web", "app", "partner"])[rng.integers(0, 4, rows)],
    })
    df.write_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / f"validate_{args.rows}x{args.segments}.parquet"
    if not data.exists():
        make_data(data, args.rows, args.segments)
    base = ["validate-segment", str(data), "--segment", "segment", "--outcome", "churn,arpu,mou,data_gb,channel",
            "--id", "customer_id", "-q"]
    results = harness.rounds({
        PEER_NAME: harness.python(PEER) + [str(data)],
        "validate-segment": harness.segment(*base, "-o", str(OUT / "v.csv")),
        "validate-segment --bootstrap 200": harness.segment(*base, "--bootstrap", "200", "-o", str(OUT / "vb.csv")),
        "validate-segment --holdout 0.5 + --pairs/--merge-map/--json": harness.segment(
            *base, "--holdout", "0.5", "--pairs", str(OUT / "vp.parquet"), "--merge-map", str(OUT / "vm.csv"),
            "--json", str(OUT / "v.json"), "-o", str(OUT / "vh.csv")),
    }, args.repeats)
    print(f"\n{args.rows:,} rows x {args.segments} segments x 5 outcomes (1 binary, 3 numeric, 1 categorical), "
          f"Parquet in; {harness.machine()}; {date.today().isoformat()}\n")
    print(harness.table(results, peer=PEER_NAME))


if __name__ == "__main__":
    main()

"""Benchmark ``segment validate-segment``: 1M rows x 50 segments x 5 outcomes.

    .venv/bin/python benchmarks/bench_validate_segment.py [--rows 1000000] [--segments 50]

Run by hand, never by pytest. Every contender is a whole process measured by
benchmarks/harness.py (round-robin, per-round paired ratios). The peer is a
minimal scipy script that computes only the omnibus tests (``kruskal`` per
numeric outcome over the per-segment arrays, ``chi2_contingency`` per
categorical one) from the same Parquet file; the script checks that
validate-segment's statistics and p-values equal the peer's (with
``--holdout``, scipy's on the rows not held out, where the tests run).
Target (issue 7): at most 10 s without bootstrap.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
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
rows = []
for col in ("arpu", "mou", "data_gb"):
    groups = np.split(df[col].to_numpy()[order], cuts)
    rows.append((col, *stats.kruskal(*groups)))
for col in ("churn", "channel"):
    table = df.group_by("segment", col).len().pivot(on=col, index="segment", values="len").fill_null(0)
    res = stats.chi2_contingency(table.drop("segment").to_numpy(), correction=False)
    rows.append((col, res.statistic, res.pvalue))
pl.DataFrame(rows, schema=["outcome", "statistic", "p"], orient="row").write_csv(sys.argv[2])
"""


def make_data(path: Path, rows: int, segments: int, seed: int) -> None:
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


def discovery_mask(data: Path, holdout: float, seed: int) -> pl.Series:
    """True for the rows ``validate-segment --holdout`` holds out (its own split, same seed; untimed)."""
    from segment.validate._outcomes import prepare
    from segment.validate._replication import holdout_mask

    prep = prepare(pl.scan_parquet(data), segment="segment", outcomes=["churn", "arpu", "mou", "data_gb", "channel"],
                   id="customer_id")
    assert prep.data.height == pl.scan_parquet(data).select(pl.len()).collect().item()  # no row left out: aligned
    split_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
    return holdout_mask(prep.data, holdout, split_rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("validate", make_data, {"rows": args.rows, "segments": args.segments, "seed": 0})
    base = ["validate-segment", str(data), "--segment", "segment", "--outcome", "churn,arpu,mou,data_gb,channel",
            "--id", "customer_id", "-q"]
    c = harness.Contender
    results = harness.rounds([
        c(PEER_NAME, harness.python(PEER, str(data), str(OUT / "v_peer.csv"))),
        c("validate-segment", harness.segment(*base, "-o", str(OUT / "v.csv"))),
        c("validate-segment --bootstrap 200", harness.segment(*base, "--bootstrap", "200", "-o", str(OUT / "vb.csv"))),
        c("validate-segment --holdout 0.5 + --pairs/--merge-map/--json", harness.segment(
            *base, "--holdout", "0.5", "--pairs", str(OUT / "vp.parquet"), "--merge-map", str(OUT / "vm.csv"),
            "--json", str(OUT / "v.json"), "-o", str(OUT / "vh.csv"))),
    ], args.repeats)
    checks = harness.Checks()
    # With --holdout the tests run on the rows not held out (discovery): scipy gets the same rows.
    discovery = OUT / "v_discovery.parquet"
    pl.read_parquet(data).filter(~discovery_mask(data, 0.5, seed=0)).write_parquet(discovery)
    subprocess.run(harness.python(PEER, str(discovery), str(OUT / "v_peer_discovery.csv")), check=True)
    for name, against in (("v.csv", "v_peer.csv"), ("vb.csv", "v_peer.csv"), ("vh.csv", "v_peer_discovery.csv")):
        peer = pl.read_csv(OUT / against)
        ours = pl.read_csv(OUT / name).select("outcome", "statistic", "p").join(peer, on="outcome", suffix="_scipy")
        worst = ours.select(((pl.col("statistic") - pl.col("statistic_scipy")).abs()
                             / pl.col("statistic_scipy").abs()).max()).item()
        checks.add(f"{name}: statistic and p of all 5 outcomes equal scipy's"
                   + (" on the discovery rows" if name == "vh.csv" else ""),
                   ours.height == 5 and worst < 1e-9 and all(
                       abs(a - b) <= 1e-9 * max(b, 1e-300) or a == b for a, b in zip(ours["p"], ours["p_scipy"])),
                   f"largest relative difference of the statistic {worst:.1e}")
    harness.report("validate_segment",
                   f"`segment validate-segment`: {args.rows:,} rows x {args.segments} segments x 5 outcomes", results,
                   peer=PEER_NAME, checks=checks, targets=[
                       harness.Target("`validate-segment` <= 10 s without bootstrap", "absolute", "validate-segment",
                                      10.0)],
                   notes="Outcomes: 1 binary, 3 numeric, 1 categorical; Parquet in.")


if __name__ == "__main__":
    main()

"""Benchmark: ``segment plot`` on a 1M-row RFM table, ``segment report`` of the whole demo.

    .venv/bin/python benchmarks/bench_report.py [--rows 1000000] [--repeats 3]

Targets (issue 21): ``plot`` of a 1M-row rfm table in under 5 s (SVG and
PNG); the report of the demo's outputs in under 10 s. Charts of large
tables aggregate first, so the peer is the bare polars read + group-by that
computes the heatmap's cells; the check is that the chart's data
(``--data``) equals that group-by's. The demo's outputs are made first with
``make -C examples report`` (not timed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

OUT = harness.OUT / "report"
EXAMPLES = harness.ROOT / "examples"
# The inputs of examples/Makefile's report (REPORT_INPUTS), relative to examples/.
DEMO = ["value_rfm.parquet", "value_clusters.parquet", "value_profile.csv", "value_check.csv",
        "value_estimates.csv", "retail_rfm.parquet", "telco_rules.csv", "contract_check.csv", "kpis.csv",
        "transitions.csv", "projection.csv", "stages_check.csv", "stages_estimates.csv", "stages_merge_map.csv"]


def generate(path: Path, rows: int, seed: int) -> None:
    """An rfm-shaped table: skewed recency, frequency and spend, scores 1-5, ten segments."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(1, 730, rows)
    frequency = rng.geometric(0.3, rows)
    monetary = np.round(rng.lognormal(4.0, 1.2, rows), 2)

    def score(x: np.ndarray, reverse: bool = False) -> np.ndarray:
        ranks = np.argsort(np.argsort(-x if reverse else x, kind="stable"), kind="stable")
        return (ranks * 5 // rows + 1).astype(np.int64)

    r, f, m = score(recency, reverse=True), score(frequency), score(monetary)
    names = np.array(["Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
                      "Need Attention", "About To Sleep", "At Risk", "Lost", "Others"])
    pl.DataFrame({"customer_id": np.arange(rows), "recency": recency, "frequency": frequency, "monetary": monetary,
                  "r_score": r, "f_score": f, "m_score": m, "rfm_cell": r * 100 + f * 10 + m,
                  "rfm_score": r + f + m, "segment": names[(r + f + m) % 10]}).write_parquet(path)


BARE = """
import polars as pl, sys
(pl.scan_parquet(sys.argv[1]).group_by("r_score", "f_score")
   .agg(customers=pl.len(), mean_monetary=pl.col("monetary").mean()).sort("r_score", "f_score")
   .collect().write_csv(sys.argv[2]))
"""

NAMES = {"bare": "bare polars read + group-by (the heatmap's cells)", "svg": "segment plot -o chart.svg",
         "png": "segment plot -o chart.png", "report": "segment report (the demo's 14 tables)"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = harness.cached("rfm_table", generate, {"rows": args.rows, "seed": 1})
    subprocess.run(["make", "--no-print-directory", "-C", str(EXAMPLES), "-s", f"SEGMENT={harness.BIN / 'segment'}",
                    f"PYTHON={sys.executable}", "report"], check=True)
    inputs = [str(EXAMPLES / "out" / name) for name in DEMO]
    c = harness.Contender
    results = harness.rounds([
        c(NAMES["bare"], harness.python(BARE, str(data), str(OUT / "bare.csv"))),
        c(NAMES["svg"], harness.segment("plot", str(data), "-o", str(OUT / "chart.svg"), "--data",
                                        str(OUT / "chart.csv"), "-q")),
        c(NAMES["png"], harness.segment("plot", str(data), "-o", str(OUT / "chart.png"), "-q")),
        c(NAMES["report"], harness.segment("report", *inputs, "-o", str(OUT / "report.html"), "-q")),
    ], args.repeats)
    checks = harness.Checks()
    chart = pl.read_csv(OUT / "chart.csv")
    bare = pl.read_csv(OUT / "bare.csv")
    try:  # means summed in another order differ in the last bits
        assert_frame_equal(chart.select(bare.columns), bare, check_dtypes=False, rel_tol=1e-9)
        same = True
    except AssertionError:
        same = False
    checks.add("the heatmap's data equals the bare group-by's cells", same,
               f"{chart.height} cells from {args.rows:,} rows")
    size = (OUT / "report.html").stat().st_size
    checks.note("report size", f"{size / 1024:,.0f} KiB, {(OUT / 'chart.svg').stat().st_size / 1024:,.0f} KiB SVG")
    targets = [
        harness.Target(f"`plot` of a {args.rows:,}-row rfm table (SVG) < 5 s", "absolute", NAMES["svg"], 5.0),
        harness.Target(f"`plot` of a {args.rows:,}-row rfm table (PNG) < 5 s", "absolute", NAMES["png"], 5.0),
        harness.Target("`report` of the demo < 10 s", "absolute", NAMES["report"], 10.0),
    ]
    harness.report("report", f"`segment plot` ({args.rows:,}-row rfm table) and `segment report` (the demo)",
                   results, peer=NAMES["bare"], targets=targets, checks=checks)


if __name__ == "__main__":
    main()

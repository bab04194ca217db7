"""Print what the example recipe found, in a few lines an analyst can read.

Run by `make summary` (and `make demo`) after the recipe: python summary.py out
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "out")


def verdict(name: str) -> str:
    data = json.loads((OUT / name).read_text())
    return f"{data['verdict'].upper()}: {data['reasons'][0]}"


def counts(df: pl.DataFrame, col: str, top: int = 10) -> str:
    vc = df[col].cast(pl.String).value_counts(sort=True).head(top)
    return ", ".join(f"{v} {n:,}" for v, n in vc.iter_rows())


def rules(name: str, top: int = 3) -> list[str]:
    df = pl.read_csv(OUT / name).filter(pl.col("significant"))
    lines = [f"{df.height} significant productive rules; strongest by lift:"]
    for r in df.sort("lift", descending=True).head(top).iter_rows(named=True):
        lines.append(f"    {r['antecedent']} -> {r['consequent']}: {r['target_customers']:,} of "
                     f"{r['customers']:,} customers ({r['confidence']:.0%}, lift {r['lift']:.2f})")
    return lines


def clv_lines() -> list[str]:
    value = pl.read_parquet(OUT / "clv.parquet")
    params = json.loads((OUT / "clv_params.json").read_text())["params"]
    top = (value.group_by("segment").agg(pl.col("clv").mean()).sort("clv", descending=True).head(3)
           .iter_rows())
    subscribers = pl.read_csv(OUT / "subscriber_clv.csv").filter(~pl.col("churned").is_in(["yes"]))
    return [
        "CLV (CDNOW to 1997-09-30: BG/NBD + Gamma-Gamma, one year ahead, 30% margin)",
        f"  BG/NBD r {params['r']:.3f}, alpha {params['alpha']:.3f}, a {params['a']:.3f}, b {params['b']:.3f}; "
        f"total clv {value['clv'].sum():,.0f}",
        "  highest mean clv: " + ", ".join(f"{s} {v:.1f}" for s, v in top),
        f"  RFM segments differ in clv: {verdict_row('clv_by_segment.csv', 'clv')}",
        f"  subscribers (sBG per cohort): mean DERL of the active {subscribers['derl'].mean():.2f} years",
    ]


def verdict_row(name: str, outcome: str) -> str:
    row = pl.read_csv(OUT / name).filter(pl.col("outcome") == outcome)
    return str(row["verdict"][0]) if row.height else "n/a"


def main() -> None:
    clusters = pl.read_parquet(OUT / "value_clusters.parquet")
    stages = pl.read_parquet(OUT / "stages.parquet")
    trans = pl.read_csv(OUT / "transitions.csv")
    decline_exit = trans.filter((pl.col("from") == "decline") & (pl.col("to") == "exit"))["probability"]
    report = [
        f"segment demo: results in {OUT}/",
        "",
        "Value (synth payments: RFM to 2024-06, hdbscan clusters, checked on the next 6 months)",
        f"  clusters: {counts(clusters, 'cluster')} (-1 = noise)",
        f"  gate: {verdict('value_check.json')}",
        "  published: publish/value_profile.csv, publish/value_provenance.txt",
        f"  Online Retail RFM segments: {counts(pl.read_parquet(OUT / 'retail_rfm.parquet'), 'segment', 4)}",
        "",
        "Churn (IBM Telco)",
        *("  " + ln for ln in rules("telco_rules.csv")),
        f"  contract as a segment: {verdict('contract_check.json')}",
        "",
        "Lifecycle (synth panel, last month)",
        f"  stages: {counts(stages, 'stage')}",
        f"  a declining customer exits next month with probability {decline_exit[0]:.2f}",
        f"  stages in 2024-06 vs churn in 2024-07: {verdict('stages_check.json')}",
        *(f"    merge {r['segment']} -> {r['merged_segment']} (stages_merge_map.csv)"
          for r in pl.read_csv(OUT / "stages_merge_map.csv").filter(pl.col("action") == "merge").iter_rows(named=True)),
        "",
        "B2B (synth group accounts; the profit pattern is planted)",
        f"  stages: {counts(pl.read_parquet(OUT / 'b2b_stages.parquet'), 'stage')}",
        f"  stages in 2024-06 vs profit that month: {verdict('b2b_profit_check.json')}",
        "",
        "Survival (Telco tenure by contract; synth lines by their stage in 2024-06)",
        *survival(),
        "",
        *clv_lines(),
    ]
    print("\n".join(report))


def survival() -> list[str]:
    telco = pl.read_csv(OUT / "telco_survival_summary.csv")
    stages = pl.read_csv(OUT / "stage_survival_summary.csv")
    shares = ", ".join(f"{r['group']} {r['survival_12']:.0%}" for r in telco.iter_rows(named=True))
    m2m = telco.filter(pl.col("group") == "Month-to-month")["median_lifetime"][0]
    after = ", ".join(f"{r['group']} {r['survival_6']:.0%}" for r in stages.iter_rows(named=True))
    return [f"  still there after 12 months: {shares}; month-to-month median lifetime {m2m} months",
            f"  lines still there 6 months after 2024-06, by stage then: {after}"]


if __name__ == "__main__":
    main()

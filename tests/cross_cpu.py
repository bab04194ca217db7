"""Run a fixed set of commands in one process; used by tests/test_cross_cpu.py.

``python -m tests.cross_cpu OUT_DIR`` writes every command's outputs under
OUT_DIR (relative paths, so provenance is the same from any folder). The test
runs it under several CPU settings and compares what it wrote.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "synth"
LIFECYCLE = ["--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue", "--status", "status",
             "--identity", "identity", "--activation", "activation"]

# The float-sensitive paths of each command, on the committed sample (so the
# run is fast): numpy's SIMD kernels (log1p, exp, sums, sorts), polars'
# threaded sums and window means, hdbscan's tree, scipy's tails.
COMMANDS: list[list[str]] = [
    ["synth", "--customers", "300", "--months", "12", "--seed", "3", "--out", "synth"],
    ["rfm", f"{SAMPLE}/transactions.parquet", "--as-of", "2024-06-30", "--holdout-end", "2024-12-31",
     "-o", "value_rfm.parquet"],
    ["rfm", f"{SAMPLE}/transactions.parquet", "--btyd", "-o", "btyd.parquet"],
    ["cluster", "value_rfm.parquet", "--features", "recency,frequency,monetary", "--seed", "1",
     "--profile", "value_profile.csv", "-o", "value_clusters.parquet"],
    ["cluster", f"{SAMPLE}/customers.parquet", "--features", "avg_voice_min,avg_data_mb,avg_sms,arpu",
     "--stability", "5", "--profile", "profile.csv", "-o", "clusters.parquet"],
    ["validate-segment", "value_clusters.parquet", "--segment", "cluster", "--outcome",
     "monetary_holdout,frequency_holdout", "--pairs", "value_pairs.csv", "--merge-map", "value_merges.csv",
     "--json", "value_check.json", "-o", "value_check.csv"],
    ["rules", f"{SAMPLE}/customers.parquet", "--target", "churn", "-o", "rules.csv"],
    ["lifecycle", f"{SAMPLE}/panel.parquet", *LIFECYCLE, "--history", "--kpis", "kpis.csv",
     "-o", "stages.parquet"],
    ["lifecycle", "transitions", f"{SAMPLE}/panel.parquet", *LIFECYCLE, "--project", "6",
     "--projection", "projection.csv", "-o", "transitions.csv"],
    ["clv", "fit", "btyd.parquet", "--spend", "gamma-gamma", "--score", "--params-out", "clv_params.json",
     "-o", "clv.parquet"],
    ["survival", f"{SAMPLE}/panel.parquet", *LIFECYCLE, "-o", "survival.parquet"],
    ["churn", "features", f"{SAMPLE}/panel.parquet", "--as-of", "2023-07..2024-07", *LIFECYCLE,
     "--category", "plan", "-o", "churn_train.parquet"],
    ["churn", "fit", "churn_train.parquet", "--valid-from", "2024-05", "-o", "churn_model"],
    ["churn", "features", f"{SAMPLE}/panel.parquet", "--as-of", "2024-12", *LIFECYCLE, "--category", "plan",
     "-o", "churn_now.parquet"],
    ["churn", "score", "churn_now.parquet", "--model", "churn_model", "-o", "calls.csv"],
]


def main(out: Path) -> None:
    from typer.testing import CliRunner

    from segment_cli.app import app

    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)
    runner = CliRunner()
    for args in COMMANDS:
        result = runner.invoke(app, [*args, "-q"], catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"segment {' '.join(args)} failed ({result.exit_code}): {result.output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

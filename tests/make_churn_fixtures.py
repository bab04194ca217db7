"""Write the churn fixtures: a small panel, its features, a small model and a scored table.

    .venv/bin/python -m tests.make_churn_fixtures

The model is trained on a larger synth panel (kept small: 4 leaves, 30
rounds) so that the committed folder stays a few kilobytes; the panel, the
features and the scores are the contract tests' good inputs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import FIXTURES

PANEL_ARGS = ("--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue", "--status", "status",
              "--category", "plan")


def _segment(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "segment"), *args, "-q"], check=True)


def main() -> None:
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _segment("synth", "--customers", "3000", "--months", "18", "--seed", "11", "--tables", "panel",
                 "--out", str(t / "big"))
        _segment("churn", "features", str(t / "big" / "panel.parquet"), "--as-of", "2023-06..2024-01", *PANEL_ARGS,
                 "-o", str(t / "train.parquet"))
        _segment("churn", "fit", str(t / "train.parquet"), "-o", str(FIXTURES / "churn_model"), "--num-leaves", "4",
                 "--rounds", "30")
        _segment("synth", "--customers", "250", "--months", "15", "--seed", "12", "--tables", "panel",
                 "--out", str(t / "small"))
        cols = ["customer_id", "month", "voice_min", "data_mb", "revenue", "status", "plan"]
        pl.read_parquet(t / "small" / "panel.parquet").select(cols).write_csv(FIXTURES / "churn_panel_small.csv")
    _segment("churn", "features", str(FIXTURES / "churn_panel_small.csv"), "--as-of", "2023-09", *PANEL_ARGS,
             "-o", str(FIXTURES / "churn_features_small.csv"))
    _segment("churn", "score", str(FIXTURES / "churn_features_small.csv"), "--model", str(FIXTURES / "churn_model"),
             "-o", str(FIXTURES / "churn_scores_small.csv"))


if __name__ == "__main__":
    main()

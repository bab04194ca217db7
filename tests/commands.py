"""Every command that reads a table, with an input on which it succeeds.

The contract tests (``test_contract.py``) run the same edge cases against
each entry, csvkit-style. A new command adds one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class CommandCase:
    name: str
    good_input: str  # file under tests/fixtures
    args: tuple[str, ...] = ()
    # An option naming a column that must exist (misspelling it must suggest the right one).
    column_option: str | None = "--id"
    column_value: str = "customer_id"
    writes_table: bool = True  # honours -o / --to
    # An option that writes a second table to a file (e.g. --profile).
    side_option: tuple[str, ...] = ()
    # False where the input's column names are fixed by something else (a fitted model's features).
    free_names: bool = True

    def __str__(self) -> str:
        return self.name


_USAGE = ("--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue")

CASES = [
    CommandCase("rfm", "tx_small.csv", side_option=("--thresholds",)),
    CommandCase("lifecycle", "lifecycle_small.csv", _USAGE, side_option=("--kpis",)),
    CommandCase("lifecycle transitions", "lifecycle_small.csv", (*_USAGE, "--project", "2"),
                side_option=("--projection",)),
    CommandCase("lifecycle panel", "tx_small.csv"),
    CommandCase("cluster", "cluster_customers.csv", side_option=("--profile",)),
    CommandCase("rules", "rules_small.csv", ("--target", "churn"), side_option=("--item-table",)),
    CommandCase("validate-segment", "validate_segment_three_plans.csv", ("--segment", "plan", "--outcome", "churn,arpu"),
                column_option="--segment", column_value="plan", side_option=("--pairs", "--merge-map", "--json")),
    CommandCase("churn features", "churn_panel_small.csv", ("--as-of", "2023-09", *_USAGE, "--category", "plan")),
    CommandCase("churn score", "churn_features_small.csv", ("--model", str(_FIXTURES / "churn_model")),
                free_names=False),
    CommandCase("churn evaluate", "churn_scores_small.csv", ("--score", "p_churn"), column_option="--target",
                column_value="churn"),
    CommandCase("plot", "rfm_scores.csv", column_option=None, writes_table=False, side_option=("--data",)),
    CommandCase("report", "rfm_scores.csv", column_option=None, writes_table=False),
    CommandCase("info", "tx_small.csv", column_option=None, writes_table=False),
]

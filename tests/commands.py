"""Every command that reads a table, with an input on which it succeeds.

The contract tests (``test_contract.py``) run the same edge cases against
each entry, csvkit-style. A new command adds one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_FIXTURES = Path(__file__).resolve().parent / "fixtures"

from tests.conftest import FIXTURES


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
    # Test id when a command has more than one case (e.g. a rule scheme with options of its own).
    label: str = ""
    # False where the input's column names are fixed by something else (a fitted model's features).
    free_names: bool = True

    def __str__(self) -> str:
        return self.label or self.name


_USAGE = ("--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue")
# join's second table: Parquet, so that the reading options given for each extract of the first leave it alone.
_PLANS = str(_FIXTURES / "campaign_plans.parquet")
_OUTCOMES = str(_FIXTURES / "campaign_outcomes.parquet")
_LEVERS = str(_FIXTURES / "campaign_levers.toml")

_BTYD = ("--frequency", "frequency_btyd", "--recency", "recency_btyd", "--age", "T", "--monetary", "monetary_value")

CASES = [
    CommandCase("rfm", "tx_small.csv", side_option=("--thresholds",)),
    CommandCase("lifecycle", "lifecycle_small.csv", _USAGE, side_option=("--kpis",)),
    CommandCase("lifecycle transitions", "lifecycle_small.csv", (*_USAGE, "--project", "2"),
                side_option=("--projection",)),
    CommandCase("lifecycle panel", "tx_small.csv"),
    CommandCase("lifecycle", "b2b_small.csv", ("--scheme", "b2b", "--account", "account_id", "--revenue", "revenue",
                                               "--status", "status", "--cost", "cost", "--product", "product"),
                column_option="--account", column_value="account_id", side_option=("--kpis",),
                label="lifecycle --scheme b2b"),
    CommandCase("survival", "survival_small.csv", ("--duration", "tenure", "--event", "churn", "--by", "contract"),
                column_option="--duration", column_value="tenure", side_option=("--summary", "--pairs")),
    CommandCase("cluster", "cluster_customers.csv", side_option=("--profile",)),
    CommandCase("rules", "rules_small.csv", ("--target", "churn"), side_option=("--item-table",)),
    CommandCase("validate-segment", "validate_segment_three_plans.csv", ("--segment", "plan", "--outcome", "churn,arpu"),
                column_option="--segment", column_value="plan", side_option=("--pairs", "--merge-map", "--json")),
    CommandCase("clv fit", "clv_btyd_small.csv", (*_BTYD, "--spend", "gamma-gamma", "--score")),
    CommandCase("clv score", "clv_btyd_small.csv", (*_BTYD, "--params", str(FIXTURES / "clv_params_small.json"))),
    CommandCase("churn features", "churn_panel_small.csv", ("--as-of", "2023-09", *_USAGE, "--category", "plan")),
    CommandCase("churn score", "churn_features_small.csv", ("--model", str(_FIXTURES / "churn_model")),
                free_names=False),
    CommandCase("churn evaluate", "churn_scores_small.csv", ("--score", "p_churn"), column_option="--target",
                column_value="churn"),
    # join's --id must name a column of every table: the extract cases rename only the first.
    CommandCase("join", "campaign_customers.csv", (_PLANS,), column_option=None),
    CommandCase("matrix", "campaign_customers.csv", ("--value", "clv", "--outcome", "churn", "--levers", _LEVERS),
                column_option="--rows", column_value="stage", side_option=("--customers",)),
    # The outcomes are Parquet, so that the reading options given for each extract of the call list leave them
    # alone; --id must name a column of both tables, and the extract cases rename only the call list's.
    CommandCase("churn effect", "campaign_calls_ab.csv", (_OUTCOMES, "--value", "value_kept"), column_option=None),
    CommandCase("sample", "campaign_call_list.csv", ("--control", "20%", "--seed", "1")),
    CommandCase("plot", "rfm_scores.csv", column_option=None, writes_table=False, side_option=("--data",)),
    CommandCase("report", "rfm_scores.csv", column_option=None, writes_table=False),
    CommandCase("info", "tx_small.csv", column_option=None, writes_table=False),
]

"""Every command that reads a table, with an input on which it succeeds.

The contract tests (``test_contract.py``) run the same edge cases against
each entry, csvkit-style. A new command adds one line here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandCase:
    name: str
    good_input: str  # file under tests/fixtures
    args: tuple[str, ...] = ()
    # An option naming a column that must exist (misspelling it must suggest the right one).
    column_option: str | None = "--id"
    column_value: str = "customer_id"
    writes_table: bool = True  # honours -o / --to

    def __str__(self) -> str:
        return self.name


_USAGE = ("--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue")

CASES = [
    CommandCase("rfm", "tx_small.csv"),
    CommandCase("lifecycle", "lifecycle_small.csv", _USAGE),
    CommandCase("lifecycle transitions", "lifecycle_small.csv", _USAGE),
    CommandCase("lifecycle panel", "tx_small.csv"),
    CommandCase("cluster", "cluster_customers.csv"),
    CommandCase("rules", "rules_small.csv", ("--target", "churn")),
    CommandCase("validate-segment", "validate_segment_three_plans.csv", ("--segment", "plan", "--outcome", "churn,arpu"),
                column_option="--segment", column_value="plan"),
    CommandCase("info", "tx_small.csv", column_option=None, writes_table=False),
]

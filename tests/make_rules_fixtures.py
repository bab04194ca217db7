"""Writes the ``tests/fixtures/rules_*.csv`` files (run by hand: ``python -m tests.make_rules_fixtures``).

Small, seeded, and each named after the case it holds.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tests.conftest import FIXTURES


def small_snapshot(n: int = 120, seed: int = 5) -> pl.DataFrame:
    """Month-to-month customers churn far more often; the other columns are noise."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.5, 0.25, 0.25])
    internet = rng.choice(["Fiber optic", "DSL", "No"], n, p=[0.4, 0.4, 0.2])
    tv = np.where(internet == "No", "No internet service", rng.choice(["Yes", "No"], n))
    charges = np.round(rng.uniform(20, 110, n), 2)
    rate = np.where(contract == "Month-to-month", 0.6, 0.08)
    churn = np.where(rng.random(n) < rate, "Yes", "No")
    return pl.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "contract": contract, "internet": internet, "tv": tv, "monthly_charges": charges,
        "senior": rng.integers(0, 2, n), "churn": churn,
    })


def main() -> None:
    good = small_snapshot()
    good.write_csv(FIXTURES / "rules_small.csv")
    first = good.head(40)
    first.with_columns(churn=pl.lit("No")).write_csv(FIXTURES / "rules_target_constant.csv")
    first.with_columns(churn=pl.when(pl.int_range(40) == 6).then(pl.lit(None)).otherwise("churn"))\
        .write_csv(FIXTURES / "rules_target_empty.csv")
    first.with_columns(churn=pl.Series(["gone", "stayed", "paused"] * 13 + ["gone"]))\
        .write_csv(FIXTURES / "rules_target_unclear.csv")
    first.with_columns(fax=pl.lit(None, dtype=pl.String)).write_csv(FIXTURES / "rules_all_empty_column.csv")
    first.with_columns(lines=pl.lit(2)).write_csv(FIXTURES / "rules_numeric_one_value.csv")
    first.with_columns(customer_id=pl.when(pl.int_range(40) == 9).then(pl.lit("C0003"))
                       .otherwise("customer_id")).write_csv(FIXTURES / "rules_duplicate_id.csv")
    first.with_columns(customer_id=pl.when(pl.int_range(40) == 4).then(pl.lit(None))
                       .otherwise("customer_id")).write_csv(FIXTURES / "rules_empty_id.csv")
    good.with_columns(balance=pl.Series(np.round(np.random.default_rng(1).normal(0, 50, good.height), 1)))\
        .write_csv(FIXTURES / "rules_negative_values.csv")
    long = (good.select("customer_id", "contract", "internet", "churn")
            .unpivot(index="customer_id", variable_name="kind", value_name="item")
            .filter((pl.col("kind") != "churn") | (pl.col("item") == "Yes"))
            .with_columns(item=pl.when(pl.col("kind") == "churn").then(pl.lit("churned")).otherwise("item"))
            .select("customer_id", "item").sort("customer_id", maintain_order=True))
    long.write_csv(FIXTURES / "rules_long.csv")


if __name__ == "__main__":
    main()

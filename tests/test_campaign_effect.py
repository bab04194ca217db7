"""``segment.campaign.effect`` on hand-computed cases."""

from __future__ import annotations

import polars as pl
import pytest

from segment.campaign import effect
from segment.errors import DataError


def _case():
    # Decile 1: treat 10 (3 churn), control 5 (3 churn); decile 2: treat 10 (1), control 5 (1).
    ids = [f"c{i:02d}" for i in range(30)]
    group = ["treat"] * 10 + ["control"] * 5 + ["treat"] * 10 + ["control"] * 5
    decile = [1] * 15 + [2] * 15
    churned = [1] * 3 + [0] * 7 + [1] * 3 + [0] * 2 + [1] + [0] * 9 + [1] + [0] * 4
    value = [0.0 if c else 100.0 for c in churned]
    calls = pl.DataFrame({"customer_id": ids, "decile": decile, "group": group})
    outcomes = pl.DataFrame({"customer_id": ids[::-1], "churned": churned[::-1], "value": value[::-1],
                             "lever": (["retain"] * 15 + ["cross-sell"] * 15)[::-1]})
    return calls, outcomes


def test_effect_counts_and_rates_by_hand():
    calls, outcomes = _case()
    r = effect(calls, outcomes, id="customer_id", outcome="churned", value="value", by=["decile", "lever"],
               detect=None, offer_cost=10)
    t = r.table
    assert t.select("by", "level", "n_treat", "n_control", "churned_treat", "churned_control").rows() == [
        ("all", "all", 20, 10, 4, 4), ("decile", "1", 10, 5, 3, 3), ("decile", "2", 10, 5, 1, 1),
        ("lever", "cross-sell", 10, 5, 1, 1), ("lever", "retain", 10, 5, 3, 3)]
    row = r.overall()
    assert row["churn_treat"] == pytest.approx(0.2) and row["churn_control"] == pytest.approx(0.4)
    assert row["churn_diff"] == pytest.approx(-0.2) and row["save_rate"] == pytest.approx(0.5)
    assert row["value_treat"] == pytest.approx(80.0) and row["value_control"] == pytest.approx(60.0)
    assert row["net_value"] == pytest.approx((20.0 - 10.0) * 20)
    assert row["test"] == "fisher"  # 8 churners x 10 controls / 30 = 2.7 expected, below 5
    assert t.filter(pl.col("level") == "1")["save_rate"].item() == pytest.approx(0.5)


def test_effect_needs_outcomes_for_both_groups():
    calls, outcomes = _case()
    only_treated = outcomes.join(calls.filter(pl.col("group") == "treat").select("customer_id"), on="customer_id")
    with pytest.warns(UserWarning, match="10 customers of the campaign have no outcome"), \
            pytest.raises(DataError, match="no 'control' customer of the call list has an outcome"):
        effect(calls, only_treated, id="customer_id", outcome="churned", detect=None)


def test_effect_refuses_odd_group_labels_and_duplicate_ids():
    calls, outcomes = _case()
    with pytest.raises(DataError, match="holds 'holdout'"):
        effect(calls.with_columns(group=pl.lit("holdout")), outcomes, id="customer_id", outcome="churned")
    with pytest.raises(DataError, match="appears twice in the outcomes"):
        effect(calls, pl.concat([outcomes, outcomes.head(1)]), id="customer_id", outcome="churned")

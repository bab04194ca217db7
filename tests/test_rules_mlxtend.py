"""The rules and their metrics equal mlxtend's own fpgrowth + association_rules output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from mlxtend.frequent_patterns import association_rules, fpgrowth

from segment.io import read_table
from segment.rules._rules import rules
from tests.conftest import ROOT

TELCO = ROOT / "examples" / "data" / "telco_churn.csv"
FLAGS = ["Partner", "Dependents", "PaperlessBilling"]
CATEGORIES = ["Contract", "InternetService", "PaymentMethod", "gender"]
METRICS = ["support", "confidence", "lift", "leverage", "conviction"]


@pytest.fixture(scope="module")
def telco() -> pl.DataFrame:
    return read_table(TELCO).frame.collect()


def _onehot(df: pl.DataFrame) -> pd.DataFrame:
    """Built straight from the raw columns, independently of segment's item code."""
    cols = {f"{c}=yes": (df[c] == "Yes").to_numpy() for c in FLAGS}
    cols["SeniorCitizen=yes"] = (df["SeniorCitizen"] == 1).to_numpy()
    for c in CATEGORIES:
        for v in df[c].unique().sort():
            cols[f"{c}={v}"] = (df[c] == v).to_numpy()
    cols["Churn=Yes"] = (df["Churn"] == "Yes").to_numpy()
    cols["Churn=No"] = ~cols["Churn=Yes"]
    return pd.DataFrame(cols)


def _mlxtend_rules(onehot: pd.DataFrame, consequents: list[str], *, min_support: float, max_len: int,
                   min_confidence: float, min_lift: float) -> pd.DataFrame:
    frequent = fpgrowth(onehot, min_support=min_support, max_len=max_len + 1, use_colnames=True)
    found = association_rules(frequent, num_itemsets=len(onehot), metric="confidence",
                              min_threshold=min_confidence)
    found = found[found["consequents"].isin([frozenset({c}) for c in consequents])
                  & (found["lift"] >= min_lift)].copy()
    found["antecedent"] = [" & ".join(sorted(a)) for a in found["antecedents"]]
    found["consequent"] = [next(iter(c)) for c in found["consequents"]]
    return found.sort_values(["consequent", "antecedent"]).reset_index(drop=True)


def _ours(df: pl.DataFrame, **kw) -> pd.DataFrame:
    # mlxtend knows nothing of "no" items or of rules covering the same customers.
    res = rules(df, target="Churn", id="customerID", items=[*FLAGS, "SeniorCitizen", *CATEGORIES],
                keep_redundant=True, keep_insignificant=True, with_no=False, merge_same=False, **kw)
    return res.table.sort("consequent", "antecedent").to_pandas()


def _assert_same(ours: pd.DataFrame, theirs: pd.DataFrame, n: int) -> None:
    assert len(ours) > 0
    assert list(zip(ours["consequent"], ours["antecedent"], strict=True)) == \
        list(zip(theirs["consequent"], theirs["antecedent"], strict=True))
    for m in METRICS:
        np.testing.assert_array_equal(ours[m].to_numpy(), theirs[m].to_numpy(), err_msg=m)
    np.testing.assert_array_equal(ours["customers"].to_numpy(),
                                  np.round(theirs["antecedent support"].to_numpy() * n).astype(int))


@pytest.mark.parametrize("engine", ["bitset", "mlxtend"])
def test_rules_and_metrics_equal_mlxtend_on_telco(telco, engine):
    theirs = _mlxtend_rules(_onehot(telco), ["Churn=Yes"], min_support=0.02, max_len=3,
                            min_confidence=0.0, min_lift=1.0)
    ours = _ours(telco, min_support=0.02, max_len=3, engine=engine)
    _assert_same(ours, theirs, telco.height)


@pytest.mark.parametrize("engine", ["bitset", "mlxtend"])
def test_thresholds_and_negative_rules_equal_mlxtend(telco, engine):
    kw = {"min_support": 0.03, "max_len": 2, "min_confidence": 0.3, "min_lift": 1.1}
    theirs = _mlxtend_rules(_onehot(telco), ["Churn=Yes", "Churn=No"], **kw)
    ours = _ours(telco, negative=True, engine=engine, **kw)
    assert set(ours["consequent"]) == {"Churn=Yes", "Churn=No"}
    _assert_same(ours, theirs, telco.height)


@pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")
def test_min_support_is_turned_into_a_count_as_fpgrowth_does():
    # 0.07 * 100 is 7.000000000000001 in floating point and fpgrowth asks for
    # ceil() = 8 customers, so a rule held by exactly 7 of 100 is not mined.
    # (mlxtend is not consistent here: when its FP-tree happens to be a single
    # path it also reports itemsets of 7, so b's extra rows keep it branched.)
    n = 100
    y = np.zeros(n, dtype=bool)
    y[:30] = True
    a = np.zeros(n, dtype=bool)
    a[:7] = True
    b = np.zeros(n, dtype=bool)
    b[:8] = True
    b[40:60] = True
    df = pl.DataFrame({"customer_id": range(n), "a": a, "b": b, "churn": y})
    theirs = _mlxtend_rules(pd.DataFrame({"a=yes": a, "b=yes": b, "churn=true": y}), ["churn=true"],
                            min_support=0.07, max_len=2, min_confidence=0.0, min_lift=0.0)
    kw = {"min_lift": 0.0, "keep_redundant": True, "keep_insignificant": True, "with_no": False,
          "merge_same": False}
    ours = rules(df, target="churn", min_support=0.07, **kw).table
    assert theirs["antecedent"].tolist() == ours["antecedent"].to_list() == ["b=yes"]
    exact = rules(df, target="churn", min_count=7, **kw)
    assert exact.table["antecedent"].to_list() == ["a=yes", "a=yes & b=yes", "b=yes"]


@pytest.mark.filterwarnings("ignore::segment.errors.SegmentWarning")
@pytest.mark.parametrize("negative", [False, True])
def test_the_mlxtend_engine_gives_the_default_engines_rules_and_family(telco, negative):
    """All of Telco with the defaults ("no" items, binned numbers, same_as): same table, same counts."""
    kw = {"target": "Churn", "id": "customerID", "keep_redundant": True, "keep_insignificant": True,
          "min_support": 0.02, "negative": negative}
    bitset, mlx = rules(telco, engine="bitset", **kw), rules(telco, engine="mlxtend", **kw)
    assert bitset.table.height > 1000
    assert bitset.table.equals(mlx.table)
    assert bitset.stats == mlx.stats

"""Properties of rfm and of the tie-respecting quantile scores (hypothesis)."""

from __future__ import annotations

import warnings

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from segment import binning
from segment.errors import DataError, EmptyInputError
from segment.rfm._rfm import rfm

START = date(2024, 1, 1)


@st.composite
def transactions(draw):
    n = draw(st.integers(0, 60))
    ids = draw(st.lists(st.sampled_from([f"c{i:02d}" for i in range(12)]), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    amounts = draw(st.lists(st.one_of(st.integers(-20, 200), st.just(10)), min_size=n, max_size=n))
    return pl.DataFrame(
        {"customer_id": ids, "date": [START + timedelta(days=d) for d in days],
         "amount": [float(a) for a in amounts]},
        schema={"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64},
    )


EMPTY = pl.DataFrame(schema={"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64})
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(transactions(), st.randoms(use_true_random=False))
@example(EMPTY, __import__("random").Random(0))
def test_row_order_changes_nothing_and_every_buyer_has_one_row(tx, rnd):
    buyers = set(tx.filter(pl.col("amount") >= 0)["customer_id"])
    if not buyers:
        with pytest.raises((EmptyInputError, DataError)), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rfm(tx)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = rfm(tx)
        order = list(range(tx.height))
        rnd.shuffle(order)
        shuffled = rfm(tx[order])
    assert_frame_equal(base.table, shuffled.table)
    t = base.table
    assert set(t["customer_id"]) == buyers
    assert t["customer_id"].is_unique().all()
    assert t["segment"].null_count() == 0
    for key in ("r_score", "f_score", "m_score"):
        assert t[key].min() >= 1 and t[key].max() <= 5
    # Equal values never get different scores; higher values never score lower.
    for metric, key, sign in (("recency", "r_score", -1), ("frequency", "f_score", 1),
                              ("monetary", "m_score", 1)):
        per_value = t.group_by(metric).agg(pl.col(key).n_unique().alias("k"))
        assert per_value["k"].max() == 1
        ordered = t.sort(pl.col(metric) * sign)[key].to_numpy()
        assert np.all(np.diff(ordered) >= 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=0, max_size=300), st.integers(2, 10))
@example([], 5)
@example([1] * 50 + list(range(2, 12)), 5)
def test_balanced_breaks_respect_ties_and_balance(values, bins):
    s = pl.Series("v", values, dtype=pl.Int64)
    breaks = binning.balanced_breaks(s, bins)
    assert breaks == sorted(set(breaks)) and len(breaks) <= bins - 1
    if not values:
        assert breaks == []
        return
    scores = binning.score(s, breaks).to_numpy()
    arr = np.asarray(values)
    for v in np.unique(arr):
        assert len(np.unique(scores[arr == v])) == 1  # ties never split
    distinct = len(np.unique(arr))
    assert len(np.unique(scores)) == min(bins, distinct)
    # No bin is larger than it must be: a bin of more than 2x the fair share
    # consists of a single tie block.
    fair = len(arr) / bins
    for sc in np.unique(scores):
        members = arr[scores == sc]
        if len(members) > 2 * fair + 1:
            assert len(np.unique(members)) == 1


def test_all_distinct_values_split_evenly():
    s = pl.Series("v", range(100))
    scores = binning.score(s, binning.balanced_breaks(s, 5))
    assert np.bincount(scores.to_numpy())[1:].tolist() == [20] * 5

"""`segment churn score` words its reasons per feature over all rows at once: the same text as the per-customer loop.

The reference below is the per-customer implementation that the vectorised
one replaced (kept here verbatim, with its own ``word``), so that a change in
the vectorised wording, rounding or tie order fails here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest

from segment.churn import _score, load_model
from segment.churn._model import matrix
from tests.conftest import FIXTURES

REASONS = 3


def _reference_number(value: float) -> str:
    if abs(value) >= 100:
        return str(int(round(value)))
    return f"{value:.3g}"


def _reference_word(name: str, value: Any, median: float | None = None, kind: str = "number") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name} missing"
    if kind == "category":
        return f"{name} = {value}"
    side = "high" if median is not None and value > median else "low"
    return f"{name} {side} ({_reference_number(float(value))})"


def _reference_reasons(c: np.ndarray, part: pl.DataFrame, features: list[dict[str, Any]]
                       ) -> tuple[list[list[Any]], np.ndarray]:
    """The per-customer loop that the vectorised wording replaced."""
    m = len(c)
    texts: list[list[Any]] = [[None] * m for _ in range(REASONS)]
    contribs = np.full((m, REASONS), np.nan)
    order = np.argsort(-c, axis=1, kind="stable")[:, :REASONS]
    top = np.take_along_axis(c, order, axis=1)
    columns = {j: part[features[j]["name"]].to_list() for j in np.unique(order)}
    for r in range(m):
        for k in range(min(REASONS, order.shape[1])):
            if top[r, k] <= 0:
                break
            j = int(order[r, k])
            f = features[j]
            texts[k][r] = _reference_word(f["name"], columns[j][r], f.get("median"), f["kind"])
            contribs[r, k] = top[r, k]
    return texts, contribs


def _assert_same(c: np.ndarray, frame: pl.DataFrame, features: list[dict[str, Any]]) -> None:
    texts, values = _score.reasons_of(c, frame, features)
    want_texts, want_values = _reference_reasons(c, frame, features)
    for k in range(REASONS):
        got = texts[k].to_list()
        bad = [(r, got[r], want_texts[k][r]) for r in range(len(got)) if got[r] != want_texts[k][r]]
        assert not bad, bad[:10]
    np.testing.assert_array_equal(values, want_values)


# Values on the edges of "3 significant digits or whole": rounding ties (exact in binary),
# powers of ten and just below them, the carry to 100, the switch to scientific notation,
# signed zeros, tiny and huge values.
EDGE_VALUES = [0.0, -0.0, 0.125, 1.125, 2.675, 0.0625, 1.005, 9.995, 99.95, 99.94999999999999, 99.5, 100.0, 100.5,
               101.5, 999.5, 0.1, 0.09999999999999999, 0.001, 0.0001, 0.00001, 0.000099995, 1.5e-5, 1.25e-7,
               -1.25e-7, 5e-324, 1e-30, 1e-300, 1e15, 2.0 ** 53, 2.0 ** 53 + 2, 1e300, -0.625, -99.95, -150.5,
               12345.5, 7.0, 0.5, 1.0, 10.0, 1e-4 * (1 - 1e-16)]


def test_numbers_worded_like_python_format_on_rounding_edges():
    v = np.array(EDGE_VALUES)
    text, exact = _score.numbers_text(v)
    got = [t if e else _score._number(x) for t, e, x in zip(text.to_list(), exact, v, strict=True)]
    assert got == [_reference_number(x) for x in v]


def test_numbers_worded_like_python_format_over_many_magnitudes():
    rng = np.random.default_rng(18)
    mags = 10.0 ** rng.uniform(-25, 18, 200_000)
    v = np.concatenate([mags * rng.choice([-1, 1], len(mags)),
                        np.round(rng.uniform(-200, 200, 20_000), 3),  # decimal-looking values, many near ties
                        rng.integers(-10**6, 10**6, 20_000).astype(float),
                        rng.standard_normal(20_000).astype(np.float32).astype(float)])
    text, exact = _score.numbers_text(v)
    usual = (np.abs(v) >= 1e-20) & (np.abs(v) < 2.0 ** 53)  # beyond these, Python words every value
    assert exact[usual].mean() > 0.999  # elsewhere the fallback to Python is for rare values only
    got = text.to_list()
    bad = [(x, got[i]) for i, x in enumerate(v) if exact[i] and got[i] != _reference_number(x)]
    assert not bad, bad[:10]


def _edge_frame(rng: np.random.Generator, m: int) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    pick = rng.integers(0, len(EDGE_VALUES), m)
    edge = np.array(EDGE_VALUES)[pick]
    frame = pl.DataFrame({
        "edge": pl.Series(np.where(rng.random(m) < 0.1, np.nan, edge)),
        "f32": pl.Series(rng.standard_normal(m) * 10.0 ** rng.integers(-6, 4, m), dtype=pl.Float32),
        "count": pl.Series([None if k % 7 == 0 else int(k) for k in rng.integers(0, 400, m)], dtype=pl.Int64),
        "big": pl.Series(rng.choice([2**53 + 1, 2**53, -(2**60) - 1, 5], m), dtype=pl.Int64),
        "flag": pl.Series(rng.random(m) < 0.5),
        "plan": pl.Series(rng.choice(["basic", "plus", ""], m)).scatter(np.arange(0, m, 5), None),
        "region": pl.Series(rng.choice(["north", "south"], m), dtype=pl.Categorical),
        "code": pl.Series(rng.integers(0, 3, m), dtype=pl.Int64),  # a category read as numbers
        "nomedian": pl.Series(rng.standard_normal(m)),
    })
    features = [{"name": "edge", "kind": "number", "median": 1.0},
                {"name": "f32", "kind": "number", "median": 0.0},
                {"name": "count", "kind": "number", "median": 200.0},
                {"name": "big", "kind": "number", "median": float(2**53)},
                {"name": "flag", "kind": "number", "median": 0.5},
                {"name": "plan", "kind": "category", "levels": ["", "basic", "plus"]},
                {"name": "region", "kind": "category", "levels": ["north", "south"]},
                {"name": "code", "kind": "category", "levels": ["0", "1", "2"]},
                {"name": "nomedian", "kind": "number", "median": None}]
    return frame, features


def test_vectorised_reasons_word_like_the_per_customer_loop():
    rng = np.random.default_rng(7)
    m = 5_000
    frame, features = _edge_frame(rng, m)
    # Contributions with ties (rounded) and negatives, so that ties order by feature and
    # ranks after a contribution <= 0 stay empty.
    c = np.round(rng.standard_normal((m, len(features))), 1)
    _assert_same(c, frame, features)


def test_vectorised_reasons_with_non_finite_contributions_keep_the_sort_order():
    rng = np.random.default_rng(8)
    frame, features = _edge_frame(rng, 500)
    c = np.round(rng.standard_normal((500, len(features))), 1)
    c[::7, 2] = np.inf
    c[::11, 0] = -np.inf
    c[::13, 4] = np.nan
    _assert_same(c, frame, features)


def test_vectorised_reasons_with_two_features_leave_the_third_rank_empty():
    frame = pl.DataFrame({"a": [1.5, 250.0, None], "b": ["x", None, "y"]})
    features = [{"name": "a", "kind": "number", "median": 2.0}, {"name": "b", "kind": "category", "levels": ["x"]}]
    _assert_same(np.array([[0.3, 0.2], [0.1, 0.4], [-0.1, 0.5]]), frame, features)


@pytest.mark.parametrize("contrib", ["path", "shap"])
def test_score_reasons_match_the_per_customer_loop_on_the_fixture_model(contrib):
    model = load_model(FIXTURES / "churn_model")
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _score.score(feats, model, reasons="all", contrib=contrib).table
    x, _ = matrix(feats, model.features)
    booster = model.booster()
    c = (booster.predict(x, pred_contrib=True)[:, :-1] if contrib == "shap"
         else _score.path_contributions(booster, _score.path_tables(booster, len(model.features)), x, 1))
    texts, values = _reference_reasons(c, feats, model.features)
    want = pl.DataFrame({model.id: feats[model.id].cast(pl.String),
                         **{f"reason_{k + 1}": pl.Series(texts[k], dtype=pl.String) for k in range(REASONS)},
                         **{f"contrib_{k + 1}": pl.Series(values[:, k]).fill_nan(None) for k in range(REASONS)}})
    cols = want.columns
    joined = got.select(pl.col(model.id).cast(pl.String), *cols[1:]).sort(model.id)
    assert joined.equals(want.sort(model.id))
    assert joined["reason_1"].null_count() < joined.height  # the test has reasons to compare

"""Rule statistics against independent references: scipy, statsmodels, hand-computed tables."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import fisher_exact, hypergeom

from segment.rules._stats import metrics
from segment.stats.hypergeom import fisher_greater, log_pmf, upper_tail


def _random_tables(rng, total, count):
    good = rng.integers(1, total, count)
    draws = rng.integers(1, total, count)
    lo, hi = np.maximum(0, draws + good - total), np.minimum(draws, good)
    # Mostly near the expected count, where the p-values that matter live.
    centre = draws * good / total
    spread = np.sqrt(np.maximum(centre, 1.0))
    x = np.clip(np.round(centre + rng.normal(0, 3, count) * spread), lo, hi).astype(np.int64)
    return x, good, draws


@pytest.mark.parametrize("total", [12, 300, 7_043, 60_000, 250_000, 1_000_000])
def test_fisher_p_values_equal_scipy_fisher_exact(total):
    rng = np.random.default_rng(total)
    a, n_consequent, n_antecedent = _random_tables(rng, total, 60)
    ours = fisher_greater(a, n_antecedent, n_consequent, np.int64(total))
    ref = np.array([
        fisher_exact([[x, r - x], [c - x, total - r - c + x]], alternative="greater").pvalue
        for x, r, c in zip(a, n_antecedent, n_consequent, strict=True)
    ])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("total", [50, 7_043, 90_000])
def test_hypergeometric_tail_equals_scipy_on_both_sides_of_the_mode(total):
    rng = np.random.default_rng(1)
    count = 300 if total > 10_000 else 2000  # scipy itself is slow per table there
    good = rng.integers(1, total, count)
    draws = rng.integers(1, total, count)
    lo, hi = np.maximum(0, draws + good - total), np.minimum(draws, good)
    x = lo + (rng.random(count) * (hi - lo + 1)).astype(np.int64)
    x = np.concatenate([x, lo, hi])
    good, draws = np.tile(good, 3), np.tile(draws, 3)
    ref = hypergeom.sf(x - 1, total, good, draws)
    np.testing.assert_allclose(upper_tail(x, np.int64(total), good, draws), ref, rtol=1e-9, atol=1e-300)
    finite = np.isfinite(hypergeom.logpmf(x, total, good, draws))
    np.testing.assert_allclose(log_pmf(x, total, good, draws)[finite],
                               hypergeom.logpmf(x, total, good, draws)[finite], rtol=0, atol=1e-8)


@pytest.mark.parametrize("total", [7_043, 1_000_000, 20_000_000])
def test_hypergeometric_tail_equals_exact_integer_arithmetic(total):
    """The independent reference: sums of binomial coefficients as exact fractions."""
    rng = np.random.default_rng(total)
    for _ in range(12):
        good, draws = int(rng.integers(1, total)), int(rng.integers(50, 1500))
        mean = draws * good / total
        x = int(min(draws, good, round(mean + rng.uniform(0.5, 8) * math.sqrt(max(mean, 1.0)))))
        numerator, k, term = 0, x, math.comb(good, x) * math.comb(total - good, draws - x)
        while k <= min(draws, good) and term:
            numerator += term
            term = term * (good - k) * (draws - k) // ((k + 1) * (total - good - draws + k + 1))
            k += 1
        exact = float(Fraction(numerator, math.comb(total, draws)))
        assert upper_tail(np.array([x]), total, good, draws)[0] == pytest.approx(exact, rel=1e-12, abs=1e-300)


def test_fisher_hand_computed_tables():
    # [[3, 0], [0, 3]]: the only table at least as extreme; 1 / C(6, 3).
    assert fisher_greater(np.array([3]), np.array([3]), np.array([3]), np.array([6]))[0] == pytest.approx(1 / 20)
    # [[2, 1], [1, 2]]: P(X >= 2) = (C(3,2)C(3,1) + C(3,3)C(3,0)) / C(6,3) = 10 / 20.
    assert fisher_greater(np.array([2]), np.array([3]), np.array([3]), np.array([6]))[0] == pytest.approx(0.5)
    # An empty margin (antecedent covers everybody) gives p = 1, as in scipy.
    assert fisher_greater(np.array([3]), np.array([6]), np.array([3]), np.array([6]))[0] == 1.0


def test_metrics_by_hand():
    # 100 customers, 30 with the target; X held by 20, 12 of them with the target.
    m = metrics(np.array([12, 20]), np.array([20, 20]), 30, 100)
    assert m["support"][0] == 0.12
    assert m["confidence"][0] == pytest.approx(0.6)
    assert m["lift"][0] == pytest.approx(2.0)
    assert m["leverage"][0] == pytest.approx(0.12 - 0.2 * 0.3)
    assert m["conviction"][0] == pytest.approx(0.7 / 0.4)
    assert m["conviction"][1] == np.inf  # confidence 1

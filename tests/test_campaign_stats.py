"""Control assignment and the treated-against-control statistics, against statsmodels and scipy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError
from segment.stats.proportions import detectable_drop, needed_per_group, power, two_proportions, welch
from segment.stats.sampling import assign_control, parse_share


def _calls(n: int = 1000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)],
                         "decile": rng.integers(1, 11, n), "call": rng.random(n) < 0.7})


# ------------------------------------------------------------------ control assignment


def test_control_share_is_exact_and_stratified_by_decile():
    calls = _calls()
    out = assign_control(calls, id="customer_id", share=0.1, seed=3)
    eligible = out.filter(pl.col("call"))
    assert out.filter(~pl.col("call"))["group"].null_count() == out.filter(~pl.col("call")).height
    assert eligible["group"].null_count() == 0
    assert (eligible["group"] == "control").sum() == round(0.1 * eligible.height)
    per = eligible.group_by("decile").agg(n=pl.len(), c=(pl.col("group") == "control").sum())
    # Every decile holds its share, to within the one control that rounding moves.
    assert ((per["c"] - 0.1 * per["n"]).abs() < 1).all()


def test_control_is_reproducible_and_independent_of_row_order():
    calls = _calls()
    a = assign_control(calls, id="customer_id", share=0.2, seed=5)
    b = assign_control(calls.sample(fraction=1.0, shuffle=True, seed=1), id="customer_id", share=0.2, seed=5)
    assert a.sort("customer_id").equals(b.sort("customer_id"))
    c = assign_control(calls, id="customer_id", share=0.2, seed=6)
    assert not a.equals(c)


def test_small_strata_still_get_their_total_share():
    calls = pl.DataFrame({"customer_id": [str(i) for i in range(40)], "decile": [d for d in range(10) for _ in range(4)]})
    out = assign_control(calls, id="customer_id", share=0.1, seed=0)
    assert (out["group"] == "control").sum() == 4  # not 0, as per-decile rounding of 0.4 would give
    assert out["group"].null_count() == 0  # no call column: everyone is eligible


def test_control_is_a_uniform_draw_within_a_stratum():
    """Across seeds each eligible customer is a control about share of the time (binomial bounds)."""
    calls = _calls(200, seed=2)
    hits = np.zeros(200)
    runs = 400
    for seed in range(runs):
        hits += (assign_control(calls, id="customer_id", share=0.25, seed=seed)["group"] == "control").fill_null(False).to_numpy()
    eligible = calls["call"].to_numpy()
    rate = hits[eligible] / runs
    assert abs(rate.mean() - 0.25) < 0.01
    # 99.9% binomial band per customer, allowing a couple of the ~140 to fall outside.
    sd = np.sqrt(0.25 * 0.75 / runs)
    assert (np.abs(rate - 0.25) > 3.3 * sd).sum() <= 2


@pytest.mark.parametrize("text, value", [("10%", 0.1), ("1%", 0.01), ("50%", 0.5), ("0.2", 0.2), ("12.5%", 0.125)])
def test_share_parses(text, value):
    assert parse_share(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["0.5%", "60%", "0.6", "0", "10", "ten"])
def test_control_share_outside_1_to_50_percent_is_refused(text):
    with pytest.raises(OptionError, match="--control"):
        parse_share(text)
    with pytest.raises(OptionError):
        assign_control(_calls(10), id="customer_id", share=0.6)


def test_bad_call_lists_are_refused():
    calls = _calls(10)
    with pytest.raises(DataError, match="twice"):
        assign_control(pl.concat([calls, calls.head(1)]), id="customer_id", share=0.1)
    with pytest.raises(DataError, match="already has a 'group' column"):
        assign_control(calls.with_columns(group=pl.lit("treat")), id="customer_id", share=0.1)
    with pytest.raises(ColumnNotFoundError, match="--strata"):
        assign_control(calls.drop("decile"), id="customer_id", share=0.1)
    with pytest.raises(ColumnTypeError, match="'call'"):
        assign_control(calls.with_columns(call=pl.lit("maybe")), id="customer_id", share=0.1)
    out = assign_control(calls.with_columns(call=pl.col("call").cast(pl.Int8)), id="customer_id", share=0.1,
                         strata=None)
    assert out["group"].null_count() == (~calls["call"]).sum()


# ------------------------------------------------------------------ two proportions, Welch, power

CASES = [(120, 1000, 30, 200), (5, 60, 12, 55), (0, 40, 6, 38), (300, 4000, 90, 800), (7, 7, 3, 10)]


@pytest.mark.parametrize("x_t, n_t, x_c, n_c", CASES)
def test_two_proportions_match_statsmodels_and_scipy(x_t, n_t, x_c, n_c):
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    r = two_proportions(np.array([x_t]), np.array([n_t]), np.array([x_c]), np.array([n_c]))
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="newcomb", compare="diff")
    assert r.diff[0] == pytest.approx(x_t / n_t - x_c / n_c)
    assert (r.diff_low[0], r.diff_high[0]) == pytest.approx((low, high), abs=1e-12)
    _, p = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert r.p_z[0] == pytest.approx(p, rel=1e-9)
    assert r.p_fisher[0] == pytest.approx(fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]])[1], rel=1e-7)
    if x_t > 0:
        rl, rh = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="log", compare="ratio")
        assert (r.save_low[0], r.save_high[0]) == pytest.approx((1 - rh, 1 - rl), rel=1e-9)
        assert r.save_rate[0] == pytest.approx(1 - (x_t / n_t) / (x_c / n_c))


def test_fisher_is_the_test_when_expected_counts_are_small():
    r = two_proportions(np.array([1, 300]), np.array([20, 4000]), np.array([4, 90]), np.array([20, 800]))
    assert r.test.tolist() == ["fisher", "z"]
    assert r.p_value[0] == r.p_fisher[0] and r.p_value[1] == r.p_z[1]


def test_a_control_without_churners_has_no_save_rate():
    r = two_proportions(np.array([3]), np.array([50]), np.array([0]), np.array([50]))
    assert np.isnan(r.save_rate[0]) and not np.isnan(r.diff[0])


def test_welch_matches_scipy():
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(4)
    a, b = rng.gamma(2.0, 30.0, 80), rng.gamma(2.0, 25.0, 35)
    r = welch(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    ref = ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
    assert (r.low[0], r.high[0]) == pytest.approx((ci.low, ci.high), rel=1e-9)


@pytest.mark.parametrize("rate_c, drop, n_t, n_c", [(0.15, 0.03, 800, 800), (0.3, 0.05, 2000, 300), (0.08, 0.02, 500, 5000)])
def test_power_matches_statsmodels(rate_c, drop, n_t, n_c):
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(rate_c, rate_c - drop)
    ref = NormalIndPower().power(effect_size=h, nobs1=n_t, alpha=0.05, ratio=n_c / n_t, alternative="two-sided")
    assert power(rate_c, drop, n_t, n_c) == pytest.approx(ref, rel=1e-9)
    mde = detectable_drop(rate_c, n_t, n_c)
    assert power(rate_c, mde, n_t, n_c) == pytest.approx(0.8, abs=1e-3)
    n = needed_per_group(rate_c, drop)
    assert power(rate_c, drop, n, n) >= 0.8 > power(rate_c, drop, n - 2, n - 2)

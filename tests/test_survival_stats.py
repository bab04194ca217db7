"""Kaplan-Meier and log-rank (segment.stats.survival) against lifelines, scipy and statsmodels, to 1e-9."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from segment.errors import DataError
from segment.stats.survival import kaplan_meier, logrank, median_lifetime, pairwise_logrank, survival_at

lifelines = pytest.importorskip("lifelines")


def _sample(seed: int, n: int = 60, truncated: bool = False):
    rng = np.random.default_rng(seed)
    duration = rng.geometric(0.12, n) - 1 + rng.integers(0, 2, n)  # many ties, some zeros
    event = rng.random(n) < 0.7
    entry = None
    if truncated:
        entry = np.minimum(rng.integers(0, 6, n), np.maximum(duration - 1, 0))
        duration = np.maximum(duration, entry + 1)
    return duration, event, entry


def _lifelines_km(duration, event, entry=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lifelines.KaplanMeierFitter().fit(duration, event, entry=entry)
    table = fit.survival_function_.join(fit.confidence_interval_)
    return fit, table


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("truncated", [False, True])
def test_kaplan_meier_and_its_log_log_band_equal_lifelines(seed, truncated):
    duration, event, entry = _sample(seed, truncated=truncated)
    ours = kaplan_meier(duration, event, entry)
    fit, table = _lifelines_km(duration, event, entry)
    times = [int(t) for t in table.index if float(t).is_integer() and t <= duration.max()]
    assert len(times) > 10
    row = {t: r for t, r in zip(ours["time"], ours.iter_rows(named=True), strict=True)}
    for t in times:
        s, lo, hi = table.loc[t].to_numpy()
        assert row[t]["survival"] == pytest.approx(s, abs=1e-9)
        if 0 < s < 1:
            assert row[t]["lower"] == pytest.approx(lo, abs=1e-9)
            assert row[t]["upper"] == pytest.approx(hi, abs=1e-9)
    events = fit.event_table
    for t in times:
        if t in events.index and t > 0:
            assert row[t]["events"] == events.loc[t, "observed"]
            assert row[t]["censored"] == events.loc[t, "censored"]
    expected_median = fit.median_survival_time_
    assert median_lifetime(ours) == (None if np.isinf(expected_median) else int(expected_median))


@pytest.mark.parametrize("seed", [5, 6])
def test_kaplan_meier_equals_scipy_ecdf_on_censored_data(seed):
    from scipy.stats import CensoredData, ecdf

    duration, event, _ = _sample(seed)
    res = ecdf(CensoredData(uncensored=duration[event], right=duration[~event]))
    band = res.sf.confidence_interval(0.95, method="log-log")
    ours = kaplan_meier(duration, event)
    for i, t in enumerate(res.sf.quantiles):
        got = ours.row(int(t), named=True)
        assert got["survival"] == pytest.approx(res.sf.probabilities[i], abs=1e-9)
        if 0 < got["survival"] < 1:
            assert got["lower"] == pytest.approx(band.low.probabilities[i], abs=1e-9)
            assert got["upper"] == pytest.approx(band.high.probabilities[i], abs=1e-9)


def test_hazard_is_events_over_at_risk_by_hand():
    # 4 lines: gone at 1, censored at 1, gone at 3, censored at 3.
    km = kaplan_meier(np.array([1, 1, 3, 3]), np.array([True, False, True, False]))
    assert km["at_risk"].to_list() == [4, 4, 2, 2]
    assert km["hazard"].to_list() == [0.0, 0.25, 0.0, 0.5]
    assert km["survival"].to_list() == pytest.approx([1, 0.75, 0.75, 0.375], abs=1e-12)
    assert survival_at(km, [0, 3, 4]) == [1.0, pytest.approx(0.375), None]
    assert median_lifetime(km) == 3


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_logrank_equals_lifelines_multivariate_and_scipy_pairwise(seed):
    from lifelines.statistics import logrank_test, multivariate_logrank_test
    from scipy.stats import CensoredData
    from scipy.stats import logrank as scipy_logrank

    rng = np.random.default_rng(seed)
    duration, event, _ = _sample(seed, n=90)
    group = rng.integers(0, 3, 90)
    duration = duration + group  # a real difference to find
    ours = logrank(duration, event, group)
    ref = multivariate_logrank_test(duration, group, event)
    assert ours.statistic == pytest.approx(ref.test_statistic, abs=1e-9)
    assert ours.pvalue == pytest.approx(ref.p_value, abs=1e-9)
    assert ours.df == 2
    pairs = pairwise_logrank(duration, event, group, ["a", "b", "c"], correction="none")
    for (a, b), row in zip([(0, 1), (0, 2), (1, 2)], pairs.iter_rows(named=True), strict=True):
        x, y = group == a, group == b
        two = logrank_test(duration[x], duration[y], event[x], event[y])
        assert row["statistic"] == pytest.approx(two.test_statistic, abs=1e-9)
        assert row["p_value"] == pytest.approx(two.p_value, abs=1e-9)
        sp = scipy_logrank(CensoredData(uncensored=duration[x & event], right=duration[x & ~event]),
                           CensoredData(uncensored=duration[y & event], right=duration[y & ~event]))
        assert row["statistic"] == pytest.approx(sp.statistic ** 2, abs=1e-9)
        assert row["p_value"] == pytest.approx(sp.pvalue, abs=1e-9)


def test_truncated_logrank_equals_statsmodels_survdiff():
    from statsmodels.duration.survfunc import survdiff

    duration, event, entry = _sample(11, n=120, truncated=True)
    group = np.random.default_rng(11).integers(0, 2, 120)
    stat, p = survdiff(duration, event.astype(int), group, entry=entry)
    ours = logrank(duration, event, group, entry)
    assert (ours.statistic, ours.pvalue) == (pytest.approx(stat, abs=1e-9), pytest.approx(p, abs=1e-9))


def test_pairwise_p_values_use_the_one_correction():
    from segment.stats.multitest import adjust

    duration, event, _ = _sample(12, n=120)
    group = np.repeat([0, 1, 2, 3], 30)
    raw = pairwise_logrank(duration + group, event, group, list("abcd"), correction="none")
    holm = pairwise_logrank(duration + group, event, group, list("abcd"), correction="holm")
    assert holm["p_adjusted"].to_list() == adjust(raw["p_value"].to_numpy(), "holm").tolist()


def test_logrank_finds_a_planted_difference_and_holds_its_level_under_the_null():
    rng = np.random.default_rng(0)
    rejections = 0
    for _ in range(300):
        duration = rng.geometric(0.1, 200)
        event = rng.random(200) < 0.8
        group = rng.integers(0, 2, 200)
        rejections += logrank(duration, event, group).pvalue < 0.05
    assert 0.02 <= rejections / 300 <= 0.085  # nominal 5% (binomial 99.9% range for 300 draws)
    duration = np.concatenate([rng.geometric(0.1, 200), rng.geometric(0.2, 200)])
    assert logrank(duration, np.ones(400, bool), np.repeat([0, 1], 200)).pvalue < 1e-6


def test_entry_must_come_before_the_duration():
    with pytest.raises(DataError, match="entry periods"):
        kaplan_meier(np.array([3, 2]), np.array([True, True]), np.array([0, 2]))

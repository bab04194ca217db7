"""validate-segment statistics against independent references.

scipy for the omnibus and two-sample tests, statsmodels for the corrections,
a hand-computed case for Dunn's test; all to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats as st

from segment.stats.groupstats import SEG, CountStats, count_stats, numeric_stats, numeric_stats_from_cells
from segment.stats.tests import (
    anova,
    chi_square,
    cramers_v_label,
    eta_label,
    fisher_exact_2x2,
    kruskal,
    monte_carlo_chi_square,
    pairwise,
    welch,
)

TOL = dict(rtol=1e-9, atol=1e-12)


def _numeric_case(seed: int, k: int = 5, n: int = 2000, *, ties: bool = True):
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, k, n)
    y = rng.gamma(2.0, 3.0, n) + 0.15 * seg
    if ties:
        y = np.round(y, 1)  # many tied values: exercises the tie corrections
    data = pl.DataFrame({SEG: pl.Series(seg, dtype=pl.UInt32), "y": y})
    return numeric_stats(data, "y", k), [y[seg == g] for g in range(k)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kruskal_equals_scipy_with_ties(seed):
    s, groups = _numeric_case(seed)
    ref = st.kruskal(*groups)
    r = kruskal(s)
    assert s.tie_term > 0
    np.testing.assert_allclose([r.statistic, r.p], [ref.statistic, ref.pvalue], **TOL)
    assert r.df == len(groups) - 1
    assert r.effect_size == pytest.approx(ref.statistic / (sum(map(len, groups)) - 1), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_anova_and_welch_equal_scipy(seed):
    s, groups = _numeric_case(seed, ties=False)
    a, w = anova(s), welch(s)
    ref_a, ref_w = st.f_oneway(*groups), st.f_oneway(*groups, equal_var=False)
    np.testing.assert_allclose([a.statistic, a.p], [ref_a.statistic, ref_a.pvalue], **TOL)
    np.testing.assert_allclose([w.statistic, w.p], [ref_w.statistic, ref_w.pvalue], **TOL)
    # alexandergovern is another heteroscedastic test: same conclusion on the same data.
    assert (st.alexandergovern(*groups).pvalue < 0.05) == (w.p < 0.05)
    allv = np.concatenate(groups)
    ssb = sum(len(g) * (g.mean() - allv.mean()) ** 2 for g in groups)
    assert a.effect_size == pytest.approx(ssb / ((allv - allv.mean()) ** 2).sum(), rel=1e-9)


def test_chi_square_equals_scipy_without_continuity_correction():
    rng = np.random.default_rng(5)
    table = rng.integers(20, 200, size=(6, 3))
    r = chi_square(CountStats(table))
    ref = st.chi2_contingency(table, correction=False)
    np.testing.assert_allclose([r.statistic, r.p], [ref.statistic, ref.pvalue], **TOL)
    assert r.df == ref.dof and r.p_method == "asymptotic"
    assert r.effect_size == pytest.approx(st.contingency.association(table, method="cramer"), rel=1e-9)


def test_count_stats_builds_the_contingency_table():
    seg = [0, 0, 1, 2, 2, 2, 1]
    y = [1, 0, 1, 1, 1, None, 0]
    data = pl.DataFrame({SEG: pl.Series(seg, dtype=pl.UInt32), "y": pl.Series(y, dtype=pl.UInt32)})
    assert count_stats(data, "y", k=3, c=2).counts.tolist() == [[1, 1], [1, 1], [0, 2]]


@pytest.mark.parametrize("numeric_test, equal_var", [("anova", True), ("welch", False)])
def test_pairwise_t_tests_equal_scipy(numeric_test, equal_var):
    s, groups = _numeric_case(3, ties=False)
    i, j = np.triu_indices(len(groups), 1)
    stat, p, _ = pairwise(s, i, j, numeric_test)
    for t, (a, b) in enumerate(zip(i, j, strict=True)):
        ref = st.ttest_ind(groups[a], groups[b], equal_var=equal_var)
        np.testing.assert_allclose([stat[t], p[t]], [ref.statistic, ref.pvalue], **TOL)


def test_pairwise_chi_square_equals_scipy_two_by_c():
    rng = np.random.default_rng(9)
    counts = rng.integers(30, 300, size=(4, 3))
    i, j = np.triu_indices(4, 1)
    stat, p, method = pairwise(CountStats(counts), i, j)
    for t, (a, b) in enumerate(zip(i, j, strict=True)):
        ref = st.chi2_contingency(counts[[a, b]], correction=False)
        np.testing.assert_allclose([stat[t], p[t]], [ref.statistic, ref.pvalue], **TOL)
    assert set(method) == {"chi-square"}


def test_pairwise_two_proportions_is_the_z_test_squared():
    counts = np.array([[170, 30], [150, 50]])
    stat, p, _ = pairwise(CountStats(counts), np.array([0]), np.array([1]))
    p1, p2, pooled = 30 / 200, 50 / 200, 80 / 400
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 200))
    assert stat[0] == pytest.approx(z * z, rel=1e-12)
    assert p[0] == pytest.approx(2 * st.norm.sf(abs(z)), rel=1e-9)


def test_pairwise_small_two_by_two_uses_fisher_exact():
    counts = np.array([[9, 1], [3, 7], [50, 50]])
    stat, p, method = pairwise(CountStats(counts), np.array([0, 0]), np.array([1, 2]))
    assert method[0] == "fisher-exact"
    assert p[0] == pytest.approx(st.fisher_exact([[9, 1], [3, 7]]).pvalue, rel=1e-9)


def test_fisher_exact_vectorised_equals_scipy():
    rng = np.random.default_rng(11)
    tables = np.vstack([rng.integers(0, 12, size=(300, 4)), [[0, 5, 0, 7], [4, 0, 0, 9], [6, 6, 6, 6]],
                        [[2, 3000, 9, 2500], [0, 40, 7, 90]]])
    mine = fisher_exact_2x2(*tables.T)
    ref = [st.fisher_exact(t.reshape(2, 2)).pvalue for t in tables]
    np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-14)


def test_small_expected_two_by_two_omnibus_is_fisher():
    r = chi_square(CountStats(np.array([[8, 2], [1, 5]])))
    assert r.p_method == "fisher-exact"
    assert r.p == pytest.approx(st.fisher_exact([[8, 2], [1, 5]]).pvalue, rel=1e-9)


def test_small_expected_larger_table_gets_seeded_monte_carlo_p():
    table = np.array([[3, 1, 0], [1, 4, 2], [0, 2, 5]])
    a = chi_square(CountStats(table), rng=np.random.default_rng(1), mc_samples=20_000)
    b = chi_square(CountStats(table), rng=np.random.default_rng(1), mc_samples=20_000)
    assert a.p_method == "monte-carlo (20,000 tables)" and a.p == b.p
    # Reference: scipy's own Monte-Carlo null distribution of the same statistic.
    x2 = a.statistic
    sims = st.random_table(table.sum(1), table.sum(0), seed=123).rvs(size=20_000)
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    ref = (((sims - expected) ** 2 / expected).sum(axis=(1, 2)) >= x2 * (1 - 1e-12)).mean()
    assert abs(a.p - ref) < 4 * math.sqrt(ref * (1 - ref) / 20_000) + 1e-4
    assert a.p != pytest.approx(st.chi2_contingency(table, correction=False).pvalue, abs=1e-3)


def test_monte_carlo_p_never_zero():
    table = np.array([[20, 0, 0], [0, 20, 0], [0, 0, 3]])
    p = monte_carlo_chi_square(table, 1e9, np.random.default_rng(0), 500)
    assert p == 1 / 501


def test_dunn_hand_computed_with_ties():
    # A = [1, 2, 2], B = [3, 4], C = [4, 5, 6]; ranks of 1 2 2 3 4 4 5 6:
    # 1, 2.5, 2.5, 4, 5.5, 5.5, 7, 8. Mean ranks: A 6/3 = 2, B 9.5/2 = 4.75,
    # C 20.5/3. N = 8, ties: two pairs, sum(t^3 - t) = 6 + 6 = 12.
    # Variance factor N(N+1)/12 - 12/(12 (N-1)) = 6 - 1/7 = 41/7.
    data = pl.DataFrame({SEG: pl.Series([0, 0, 0, 1, 1, 2, 2, 2], dtype=pl.UInt32),
                         "y": [1.0, 2, 2, 3, 4, 4, 5, 6]})
    s = numeric_stats(data, "y", 3)
    assert s.rank_sum.tolist() == [6.0, 9.5, 20.5] and s.tie_term == 12.0
    z, p, method = pairwise(s, np.array([0, 0, 1]), np.array([1, 2, 2]), "kruskal")
    var = 41 / 7
    z_ab = (2 - 4.75) / math.sqrt(var * (1 / 3 + 1 / 2))  # -2.75 / sqrt(205/42)
    z_ac = (2 - 20.5 / 3) / math.sqrt(var * (2 / 3))  # -(29/6) / sqrt(82/21)
    z_bc = (4.75 - 20.5 / 3) / math.sqrt(var * (1 / 2 + 1 / 3))  # -(25/12) / sqrt(205/42)
    np.testing.assert_allclose(z, [z_ab, z_ac, z_bc], rtol=1e-12)
    # The same by hand to five decimals: 4.88095 -> 2.20929 and 3.90476 -> 1.97605.
    np.testing.assert_allclose(z, [-1.24475, -2.44596, -0.94299], atol=1e-5)
    assert p[1] == pytest.approx(0.01445, abs=1e-5)  # two-sided normal tail of 2.44596
    phi = [0.5 * math.erfc(abs(x) / math.sqrt(2)) for x in (z_ab, z_ac, z_bc)]
    np.testing.assert_allclose(p, [2 * f for f in phi], rtol=1e-12)
    assert set(method) == {"dunn"}


def test_merged_summaries_equal_recomputed_ones():
    s, groups = _numeric_case(4, ties=False)
    merged = s.copy()
    merged.merge(1, 3)
    pooled = np.concatenate([groups[1], groups[3]])
    assert merged.n[1] == pooled.size and merged.n[3] == 0
    assert merged.mean[1] == pytest.approx(pooled.mean(), rel=1e-12)
    assert merged.var[1] == pytest.approx(pooled.var(ddof=1), rel=1e-10)
    assert merged.rank_sum[1] == s.rank_sum[1] + s.rank_sum[3]
    counts = CountStats(np.array([[1, 2], [3, 4], [5, 6]]))
    counts.merge(0, 2)
    assert counts.counts.tolist() == [[6, 8], [3, 4], [0, 0]]


def test_effect_size_labels_follow_cohen():
    # Cramer's V with min(k-1, c-1) = 1 uses w thresholds 0.1 / 0.3 / 0.5 directly...
    assert [cramers_v_label(v, 1) for v in (0.09, 0.1, 0.29, 0.3, 0.5)] == \
        ["negligible", "small", "small", "medium", "large"]
    # ...and with more degrees of freedom divides them by sqrt(df*): 0.3 / sqrt(4) = 0.15.
    assert cramers_v_label(0.16, 4) == "medium" and cramers_v_label(0.16, 1) == "small"
    assert [eta_label(v) for v in (0.009, 0.01, 0.059, 0.06, 0.14)] == \
        ["negligible", "small", "small", "medium", "large"]


@pytest.mark.parametrize("n", [1, 2, 7, 50, 51])
def test_bootstrap_median_from_positions_equals_numpy_median(n):
    from segment.validate._profiles import median_of_resamples

    rng = np.random.default_rng(n)
    x = np.sort(np.round(rng.normal(size=n), 1))  # ties included
    idx = rng.integers(0, n, size=(300, n))
    np.testing.assert_array_equal(median_of_resamples(x, idx), np.median(x[idx], axis=1))


def test_kendall_tau_b_equals_scipy_with_ties():
    from segment.validate._replication import kendall_tau_b

    rng = np.random.default_rng(4)
    for size in (2, 3, 10, 60):
        x, y = np.round(rng.normal(size=size), 1), np.round(rng.normal(size=size), 1)
        y[: size // 3] = y[0]  # ties in one ordering
        assert kendall_tau_b(x, y) == pytest.approx(st.kendalltau(x, y).statistic, rel=1e-12)


# ---------------------------------------------------------------- merge-map homogeneity tests


def _grouped(h, groups):
    for members in groups:
        for other in members[1:]:
            h.add(members[0], other)


def test_homogeneity_of_groups_equals_scipy_across_their_segments():
    from segment.validate._homogeneity import Homogeneity

    s, groups = _numeric_case(6, k=6, ties=False)
    rng = np.random.default_rng(6)
    table = rng.integers(10, 90, size=(6, 3))
    union = [0, 2, 3, 5]  # groups {0, 2} and {3, 5}
    ref_table = st.chi2_contingency(table[union], correction=False).pvalue
    ref_anova = st.f_oneway(*[groups[g] for g in union]).pvalue
    ref_welch = st.f_oneway(*[groups[g] for g in union], equal_var=False).pvalue
    for stats, test, ref in ((CountStats(table), "kruskal", ref_table), (s, "anova", ref_anova), (s, "welch", ref_welch)):
        h = Homogeneity(stats, test)
        _grouped(h, [[0, 2], [3, 5]])
        assert h.p(np.array([0]), np.array([3]))[0] == pytest.approx(ref, rel=1e-9)


def test_homogeneity_rank_statistic_is_dunn_generalised():
    from segment.validate._homogeneity import Homogeneity

    s, groups = _numeric_case(7, k=5)
    h = Homogeneity(s, "kruskal")
    _grouped(h, [[0, 1], [2, 4]])
    n_all = s.total
    s2 = n_all * (n_all + 1) / 12 - s.tie_term / (12 * (n_all - 1))
    members = [0, 1, 2, 4]
    n = s.n[members].astype(float)
    mean_rank = s.rank_sum[members] / n
    pooled = s.rank_sum[members].sum() / n.sum()
    stat = float(np.sum(n * (mean_rank - pooled) ** 2) / s2)
    assert h.p(np.array([0]), np.array([2]))[0] == pytest.approx(st.chi2.sf(stat, 3), rel=1e-9)


@pytest.mark.parametrize("numeric_test", ["kruskal", "anova", "welch"])
def test_homogeneity_of_two_single_segments_is_the_pairwise_test(numeric_test):
    from segment.validate._homogeneity import Homogeneity

    s, _ = _numeric_case(8, k=4)
    i, j = np.triu_indices(4, 1)
    h = Homogeneity(s, numeric_test)
    np.testing.assert_allclose(h.p(i, j), pairwise(s, i, j, numeric_test)[1], rtol=1e-9)
    counts = CountStats(np.array([[9, 1], [3, 7], [50, 50], [45, 55]]))
    i, j = np.triu_indices(4, 1)
    np.testing.assert_allclose(Homogeneity(counts).p(i, j), pairwise(counts, i, j)[1], rtol=1e-9)


def test_kruskal_from_counts_per_value_equals_scipy_on_200k_rows_1063_values():
    # What the Spark engine computes: counts per (segment, value), never the rows.
    rng = np.random.default_rng(5)
    n, k = 200_000, 6
    seg = rng.integers(0, k, n)
    y = rng.integers(0, 1063, n) + (seg == 2) * rng.integers(0, 40, n)
    y = np.minimum(y, 1062).astype(float)
    assert np.unique(y).size == 1063
    cells = pl.DataFrame({"seg": seg, "y": y}).group_by("seg", "y").len()
    s = numeric_stats_from_cells(cells["seg"].to_numpy(), cells["y"].to_numpy(), cells["len"].to_numpy(), k)
    groups = [y[seg == g] for g in range(k)]
    ref = st.kruskal(*groups)
    r = kruskal(s)
    np.testing.assert_allclose([r.statistic, r.p], [ref.statistic, ref.pvalue], **TOL)
    np.testing.assert_allclose(s.rank_sum, [st.rankdata(y)[seg == g].sum() for g in range(k)], rtol=1e-12)
    assert s.median.tolist() == [float(np.median(g)) for g in groups]
    np.testing.assert_allclose(s.m2, [((g - g.mean()) ** 2).sum() for g in groups], rtol=1e-9)


def test_weighted_rows_give_the_statistics_of_the_rows_they_stand_for():
    rng = np.random.default_rng(3)
    seg = rng.integers(0, 5, 2000)
    y = np.round(rng.gamma(2.0, 3.0, 2000) + 0.15 * seg, 1)
    rows = pl.DataFrame({SEG: pl.Series(seg, dtype=pl.UInt32), "y": y})
    counted = rows.group_by(SEG, "y").agg(w=pl.len())
    a, b = numeric_stats(rows, "y", 5), numeric_stats(counted, "y", 5, weight="w")
    for name in ("n", "mean", "m2", "rank_sum", "median"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12)
    assert a.tie_term == b.tie_term
    assert (count_stats(rows.with_columns(c=pl.col("y") > 5).cast({"c": pl.UInt32}), "c", 5, 2).counts ==
            count_stats(rows.with_columns(c=(pl.col("y") > 5).cast(pl.UInt32)).group_by(SEG, "c").agg(w=pl.len()),
                        "c", 5, 2, weight="w").counts).all()

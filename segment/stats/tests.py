"""Omnibus and pairwise tests from per-segment summaries, with effect sizes.

The formulas are the textbook ones and equal scipy's on the same data
(``chi2_contingency(correction=False)``, ``kruskal``, ``f_oneway``,
``f_oneway(equal_var=False)``, ``ttest_ind``, ``fisher_exact``); the test
suite checks each to 1e-9. They take the summaries of
:mod:`segment.stats.groupstats`, so a million rows cost one ``group_by``.

Effect sizes and their labels (negligible / small / medium / large):

* Cramer's V = sqrt(X2 / (N * min(k-1, c-1))), labelled with Cohen's (1988)
  thresholds for w (0.1, 0.3, 0.5) divided by sqrt(min(k-1, c-1)), the
  degrees-of-freedom adjustment Cohen gives for V.
* Epsilon-squared for Kruskal-Wallis, E2 = H / (N - 1) (Tomczak & Tomczak
  2014), and eta-squared = SSB / SST for ANOVA / Welch, both labelled with
  Cohen's (1988) thresholds for eta-squared: 0.01, 0.06, 0.14.

Chi-square p-values are asymptotic unless expected counts are small
(Cochran's rule: any expected count below 1, or more than 20% below 5):
then a 2x2 table gets Fisher's exact test and a larger one a Monte-Carlo
p-value from tables with the observed margins (as R's
``chisq.test(simulate.p.value=TRUE)``), drawn from a seeded generator.

Examples
--------
>>> import numpy as np
>>> from segment.stats.groupstats import CountStats
>>> r = chi_square(CountStats(np.array([[30, 70], [60, 40]])), rng=np.random.default_rng(0))
>>> r.test, round(r.statistic, 3), r.df, r.p_method, round(r.effect_size, 3), r.effect_label
('chi-square', 18.182, 1.0, 'asymptotic', 0.302, 'medium')
>>> cramers_v_label(0.12, dfstar=1), cramers_v_label(0.12, dfstar=4)
('small', 'small')
>>> eta_label(0.009), eta_label(0.07)
('negligible', 'medium')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from segment.stats.groupstats import CountStats, NumericStats

LABELS = ("negligible", "small", "medium", "large")
COHEN_W = (0.1, 0.3, 0.5)
COHEN_ETA2 = (0.01, 0.06, 0.14)
COHEN_H = (0.2, 0.5, 0.8)  # two proportions, h = 2 asin sqrt(p1) - 2 asin sqrt(p2)
COHEN_D = (0.2, 0.5, 0.8)  # two means, d = difference / pooled standard deviation
#: Cliff's delta (Romano et al. 2006): 0.147 / 0.33 / 0.474.
CLIFF_DELTA = (0.147, 0.33, 0.474)
CONVENTIONS = {
    "cramers_v": "Cramer's V; Cohen (1988) w thresholds 0.1/0.3/0.5 divided by sqrt(min(k-1, c-1))",
    "epsilon_squared": "epsilon-squared H/(N-1) (Tomczak & Tomczak 2014); Cohen (1988) eta-squared "
                       "thresholds 0.01/0.06/0.14",
    "eta_squared": "eta-squared SSB/SST; Cohen (1988) thresholds 0.01/0.06/0.14",
}
PAIR_CONVENTIONS = {
    "cohens_h": "Cohen's h = 2 asin sqrt(p_a) - 2 asin sqrt(p_b) for two rates; Cohen (1988) 0.2/0.5/0.8",
    "cohens_w": "Cohen's w = sqrt(X2 / n) of the two segments' 2 x c table; Cohen (1988) 0.1/0.3/0.5",
    "cohens_d": "Cohen's d = difference of means / pooled standard deviation; Cohen (1988) 0.2/0.5/0.8",
    "cliffs_delta": "Cliff's delta P(X > Y) - P(X < Y), from ranks; Romano et al. (2006) 0.147/0.33/0.474",
}
NUMERIC_TESTS = ("kruskal", "anova", "welch")
_TEST_NAMES = {"kruskal": "kruskal-wallis", "anova": "anova", "welch": "welch-anova"}
# R's chisq.test: simulated statistics within rounding of the observed count as "as large".
_ALMOST_ONE = 1 - 64 * np.finfo(float).eps
_CHUNK = 1 << 22  # elements per vectorised batch: bounds memory on wide tables


@dataclass(frozen=True)
class OmnibusResult:
    """One omnibus test. ``p`` is NaN when the test cannot be run."""

    test: str
    statistic: float
    df: float
    df2: float | None
    p: float
    p_method: str
    effect: str
    effect_size: float
    effect_label: str | None
    n: int
    segments: int

    def as_dict(self) -> dict:
        return asdict(self)


def _label(value: float, thresholds: tuple[float, ...]) -> str | None:
    if not np.isfinite(value):
        return None
    return LABELS[int(np.searchsorted(thresholds, value, side="right"))]


def cramers_v_label(v: float, dfstar: int) -> str | None:
    """Cohen's label for Cramer's V with ``dfstar = min(k-1, c-1)``."""
    return _label(v, tuple(t / np.sqrt(max(dfstar, 1)) for t in COHEN_W))


def eta_label(value: float) -> str | None:
    """Cohen's label for eta-squared / epsilon-squared."""
    return _label(value, COHEN_ETA2)


def pair_effects(stats: CountStats | NumericStats, i: np.ndarray, j: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
    """Effect size of each pair ``(i[t], j[t])``: ``(name, signed size, labels)``.

    Cohen's h for a binary outcome (two levels), Cohen's w of the 2 x c table
    for a categorical one (unsigned), Cohen's d with the pooled standard
    deviation for a numeric one. NaN (label None) when a segment is empty or,
    for d, has fewer than two values.

    >>> from segment.stats.groupstats import CountStats
    >>> name, h, labels = pair_effects(CountStats(np.array([[800, 200], [759, 241], [500, 500]])),
    ...                                np.array([0, 0]), np.array([1, 2]))
    >>> name, h.round(3).tolist(), labels.tolist()
    ('cohens_h', [-0.099, -0.644], ['negligible', 'medium'])
    """
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if isinstance(stats, CountStats):
            rates = stats.rates()
            if stats.counts.shape[1] == 2:
                name, size, cuts = "cohens_h", 2 * np.arcsin(np.sqrt(rates[i, 1])) - 2 * np.arcsin(np.sqrt(rates[j, 1])), COHEN_H
            else:
                name, cuts = "cohens_w", COHEN_W
                size = np.sqrt(_pairwise_counts(stats.counts, i, j)[0] / (stats.n[i] + stats.n[j]))
        else:
            name, cuts = "cohens_d", COHEN_D
            n = stats.n[i] + stats.n[j]
            pooled = np.sqrt((stats.m2[i] + stats.m2[j]) / (n - 2))
            diff = stats.mean[i] - stats.mean[j]
            size = np.where(pooled > 0, diff / np.where(pooled > 0, pooled, 1.0), np.where(diff == 0, 0.0, np.copysign(np.inf, diff)))
            size = np.where((stats.n[i] >= 2) & (stats.n[j] >= 2), size, np.nan)
    size = np.asarray(size, dtype=float)
    return name, size, labels_of(size, cuts)


def labels_of(values: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Vectorised :func:`_label` of ``|values|``: an object array, None where NaN.

    >>> labels_of(np.array([0.05, -0.3, np.nan, 2.0]), COHEN_H).tolist()
    ['negligible', 'small', None, 'large']
    """
    values = np.abs(np.asarray(values, dtype=float))
    out = np.array(LABELS, dtype=object)[np.searchsorted(thresholds, np.nan_to_num(values), side="right")]
    out[np.isnan(values)] = None  # an infinite d (no spread, different means) is large
    return out


def effect_label(value: float, name: str) -> str | None:
    """Cohen's (or Romano's) label for a pair or per-segment effect of kind *name*.

    >>> effect_label(-0.25, "cohens_h"), effect_label(0.4, "cliffs_delta")
    ('small', 'medium')
    """
    cuts = {"cohens_h": COHEN_H, "cohens_w": COHEN_W, "cohens_d": COHEN_D, "cliffs_delta": CLIFF_DELTA}[name]
    return _label(abs(value), cuts)


def small_expected(expected: np.ndarray) -> bool:
    """Cochran's rule: the chi-square approximation is doubtful."""
    return bool(expected.min() < 1 or np.mean(expected < 5) > 0.2)


# ------------------------------------------------------------------ omnibus


def chi_square(stats: CountStats, *, rng: np.random.Generator | None = None,
               mc_samples: int = 10_000) -> OmnibusResult:
    """Pearson's chi-square test of independence (no continuity correction)."""
    table = stats.counts
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    k, c = table.shape
    n = int(table.sum())
    if k < 2 or c < 2:
        return OmnibusResult("chi-square", np.nan, np.nan, None, np.nan, "not run", "cramers_v",
                          np.nan, None, n, k)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    x2 = float(((table - expected) ** 2 / expected).sum())
    df = (k - 1) * (c - 1)
    dfstar = min(k - 1, c - 1)
    v = float(np.sqrt(x2 / (n * dfstar)))
    if not small_expected(expected):
        p, method = float(chi2_sf(np.array([x2]), np.array([df]))[0]), "asymptotic"
    elif table.shape == (2, 2):
        (a, b), (cc, d) = table
        p, method = float(fisher_exact_2x2(*(np.array([x]) for x in (a, b, cc, d)))[0]), "fisher-exact"
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        p, method = monte_carlo_chi_square(table, x2, rng, mc_samples), f"monte-carlo ({mc_samples:,} tables)"
    return OmnibusResult("chi-square", x2, float(df), None, p, method, "cramers_v", v,
                      cramers_v_label(v, dfstar), n, k)


def monte_carlo_chi_square(table: np.ndarray, x2: float, rng: np.random.Generator, samples: int) -> float:
    """P-value of *x2* among tables with the same margins: (1 + hits) / (B + 1)."""
    from scipy.stats import random_table

    rows, cols = table.sum(axis=1), table.sum(axis=0)
    expected = np.outer(rows, cols) / table.sum()
    dist = random_table(rows, cols, seed=rng)
    batch = max(1, _CHUNK // table.size)
    hits = done = 0
    while done < samples:
        b = min(batch, samples - done)
        sims = dist.rvs(size=b)
        stats = ((sims - expected) ** 2 / expected).sum(axis=(1, 2))
        hits += int((stats >= x2 * _ALMOST_ONE).sum())
        done += b
    return (1 + hits) / (samples + 1)


def kruskal(stats: NumericStats) -> OmnibusResult:
    """Kruskal-Wallis H with the tie correction (as ``scipy.stats.kruskal``)."""
    ok = stats.n > 0
    n, rank_sum = stats.n[ok].astype(float), stats.rank_sum[ok]
    k, total = int(ok.sum()), float(n.sum())
    ties = 1 - stats.tie_term / (total**3 - total) if total > 1 else 0.0
    if k < 2 or ties <= 0:
        return OmnibusResult("kruskal-wallis", np.nan, np.nan, None, np.nan, "not run", "epsilon_squared",
                          np.nan, None, int(total), k)
    # Deviations of mean ranks from (N+1)/2: no cancellation on large N.
    h = 12.0 / (total * (total + 1)) * float(np.sum(n * (rank_sum / n - (total + 1) / 2) ** 2)) / ties
    eps2 = h / (total - 1)
    p = float(chi2_sf(np.array([h]), np.array([k - 1]))[0])
    return OmnibusResult("kruskal-wallis", h, float(k - 1), None, p, "asymptotic",
                      "epsilon_squared", eps2, eta_label(eps2), int(total), k)


def anova(stats: NumericStats) -> OmnibusResult:
    """One-way ANOVA F test (as ``scipy.stats.f_oneway``)."""
    ok = stats.n > 0
    n, mean, m2 = stats.n[ok].astype(float), stats.mean[ok], stats.m2[ok]
    k, total = int(ok.sum()), float(n.sum())
    df1, df2 = k - 1, total - k
    if k < 2 or df2 <= 0:
        return OmnibusResult("anova", np.nan, np.nan, None, np.nan, "not run", "eta_squared", np.nan, None,
                          int(total), k)
    grand = float(np.sum(n * mean) / total)
    ssb, ssw = float(np.sum(n * (mean - grand) ** 2)), float(np.sum(m2))
    f, p = _f_and_p(ssb / df1, ssw / df2, df1, df2)
    eta2 = ssb / (ssb + ssw) if ssb + ssw > 0 else np.nan
    return OmnibusResult("anova", f, float(df1), float(df2), p, "asymptotic", "eta_squared", eta2,
                      eta_label(eta2), int(total), k)


def welch(stats: NumericStats) -> OmnibusResult:
    """Welch's (1951) heteroscedastic one-way ANOVA (``f_oneway(equal_var=False)``).

    Needs at least two values and some spread in every segment; callers
    check that first (see :func:`welch_problem`).
    """
    ok = stats.n > 0
    n, mean, var = stats.n[ok].astype(float), stats.mean[ok], stats.var[ok]
    k, total = int(ok.sum()), float(n.sum())
    if k < 2 or welch_problem(stats) is not None:
        return OmnibusResult("welch-anova", np.nan, np.nan, None, np.nan, "not run", "eta_squared", np.nan,
                          None, int(total), k)
    from scipy.special import fdtrc

    w = n / var
    wsum = w.sum()
    wmean = np.sum(w * mean) / wsum
    a = np.sum(w * (mean - wmean) ** 2) / (k - 1)
    tmp = np.sum((1 - w / wsum) ** 2 / (n - 1))
    b = 1 + 2 * (k - 2) / (k**2 - 1) * tmp
    stat, df2 = float(a / b), float((k**2 - 1) / (3 * tmp))
    grand = float(np.sum(n * mean) / total)
    ssb, ssw = float(np.sum(n * (mean - grand) ** 2)), float(np.sum(stats.m2[ok]))
    eta2 = ssb / (ssb + ssw)
    return OmnibusResult("welch-anova", stat, float(k - 1), df2, float(fdtrc(k - 1, df2, stat)),
                      "asymptotic", "eta_squared", eta2, eta_label(eta2), int(total), k)


def welch_problem(stats: NumericStats) -> int | None:
    """Index of the first segment Welch's test cannot use (n < 2 or no spread)."""
    ok = stats.n > 0
    bad = ok & ((stats.n < 2) | ~(stats.var > 0))
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


def _f_and_p(between: float, within: float, df1: float, df2: float) -> tuple[float, float]:
    from scipy.special import fdtrc

    if within == 0:
        return (np.inf, 0.0) if between > 0 else (np.nan, np.nan)
    stat = between / within
    return float(stat), float(fdtrc(df1, df2, stat))


def omnibus(stats: CountStats | NumericStats, numeric_test: str = "kruskal", *,
            rng: np.random.Generator | None = None, mc_samples: int = 10_000) -> OmnibusResult:
    """The omnibus test for one outcome: chi-square for counts, else *numeric_test*."""
    if isinstance(stats, CountStats):
        return chi_square(stats, rng=rng, mc_samples=mc_samples)
    return {"kruskal": kruskal, "anova": anova, "welch": welch}[numeric_test](stats)


# ------------------------------------------------------------------ pairwise


def pairwise(stats: CountStats | NumericStats, i: np.ndarray, j: np.ndarray,
             numeric_test: str = "kruskal") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised two-segment tests for the pairs ``(i[t], j[t])``.

    Returns ``(statistic, p, method)`` arrays. Counts: the 2 x c chi-square
    test (for two levels, the two-proportion z test squared), or Fisher's
    exact test for a 2 x 2 table with small expected counts. Numeric: Dunn's
    (1964) z on the mean ranks of the whole sample (with its tie
    correction) after Kruskal-Wallis, Student's t after ANOVA, Welch's t
    after Welch. A pair with an empty segment gets NaN.
    """
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if isinstance(stats, CountStats):
        return _pairwise_counts(stats.counts, i, j)
    if numeric_test == "kruskal":
        return _dunn(stats, i, j)
    return _t_tests(stats, i, j, equal_var=numeric_test == "anova")


def _pairwise_counts(counts: np.ndarray, i: np.ndarray, j: np.ndarray):

    stat, p = np.full(i.size, np.nan), np.full(i.size, np.nan)
    method = np.full(i.size, "chi-square", dtype=object)
    batch = max(1, _CHUNK // max(counts.shape[1], 1))
    for lo in range(0, i.size, batch):
        sl = slice(lo, lo + batch)
        a, b = counts[i[sl]].astype(float), counts[j[sl]].astype(float)
        na, nb = a.sum(axis=1), b.sum(axis=1)
        cols = a + b
        total = na + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            ea, eb = na[:, None] * cols / total[:, None], nb[:, None] * cols / total[:, None]
            cell = np.where(cols > 0, (a - ea) ** 2 / ea + (b - eb) ** 2 / eb, 0.0)
        x2 = cell.sum(axis=1)
        df = (cols > 0).sum(axis=1) - 1
        ps = np.where(df > 0, chi2_sf(x2, np.maximum(df, 1)), 1.0)
        empty = (na == 0) | (nb == 0)
        x2[empty], ps[empty] = np.nan, np.nan
        stat[sl], p[sl] = x2, ps
        with np.errstate(invalid="ignore"):
            low = (cols > 0) & (np.minimum(ea, eb) < 5)
            tiny = (cols > 0) & (np.minimum(ea, eb) < 1)
            small = ~empty & (tiny.any(axis=1) | (low.sum(axis=1) > 0.2 * 2 * (df + 1)))
        if counts.shape[1] > 2:
            method[lo:lo + a.shape[0]][small] = "chi-square (small expected counts)"
        elif small.any():
                idx = np.flatnonzero(small) + lo
                p[idx] = fisher_exact_2x2(counts[i[idx], 0], counts[i[idx], 1], counts[j[idx], 0], counts[j[idx], 1])
                method[idx] = "fisher-exact"
    return stat, p, method


def chi2_sf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    """chi2.sf from scipy.special (importing scipy.stats costs a second): for df = 1,
    the common two-level case, erfc(sqrt(x/2)) exactly, else the regularised
    upper incomplete gamma function."""
    from scipy.special import erfc, gammaincc

    out = np.empty(x.shape)
    one = df == 1
    out[one] = erfc(np.sqrt(x[one] / 2))
    out[~one] = gammaincc(df[~one] / 2, x[~one] / 2)
    return out


def _dunn(stats: NumericStats, i: np.ndarray, j: np.ndarray):
    from scipy.special import ndtr

    total = float(stats.total)
    base = total * (total + 1) / 12 - stats.tie_term / (12 * (total - 1)) if total > 1 else 0.0
    ni, nj = stats.n[i].astype(float), stats.n[j].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = stats.rank_sum[i] / ni - stats.rank_sum[j] / nj
        z = diff / np.sqrt(base * (1 / ni + 1 / nj))
        z = np.where(diff == 0, 0.0, z)
    z[(ni == 0) | (nj == 0) | (base <= 0)] = np.nan
    p = 2 * ndtr(-np.abs(z))
    return z, p, np.full(i.size, "dunn", dtype=object)


def _t_tests(stats: NumericStats, i: np.ndarray, j: np.ndarray, *, equal_var: bool):
    from scipy.special import stdtr

    ni, nj = stats.n[i].astype(float), stats.n[j].astype(float)
    diff = stats.mean[i] - stats.mean[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        vi, vj = stats.m2[i] / (ni - 1), stats.m2[j] / (nj - 1)
        if equal_var:
            df = ni + nj - 2
            pooled = (stats.m2[i] + stats.m2[j]) / df
            se2 = pooled * (1 / ni + 1 / nj)
        else:
            qi, qj = vi / ni, vj / nj
            se2 = qi + qj
            df = se2**2 / (qi**2 / (ni - 1) + qj**2 / (nj - 1))
        t = diff / np.sqrt(se2)
        # No spread in either segment: equal means are no evidence, unequal ones certain.
        t = np.where(se2 == 0, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)), t)
        df = np.where(se2 == 0, np.maximum(ni + nj - 2, 1), df)
        p = np.where(np.isinf(t), 0.0, 2 * stdtr(df, -np.abs(t)))
    bad = (ni < 2) | (nj < 2)
    t[bad], p[bad] = np.nan, np.nan
    return t, p, np.full(i.size, "welch-t" if not equal_var else "student-t", dtype=object)


def fisher_exact_2x2(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Two-sided Fisher exact p for the tables ``[[a, b], [c, d]]`` (vectorised).

    The p-value sums the hypergeometric probabilities of all tables with the
    same margins that are no more likely than the observed one (relative
    tolerance 1e-7, as R's ``fisher.test``), as ``scipy.stats.fisher_exact``.

    >>> fisher_exact_2x2([8, 1], [2, 9], [1, 9], [5, 1]).round(6).tolist()
    [0.034965, 0.001093]
    """
    a, b, c, d = (np.atleast_1d(np.asarray(x, dtype=np.int64)) for x in (a, b, c, d))
    r1, r2, c1 = a + b, c + d, a + c
    lo, hi = np.maximum(0, c1 - r2), np.minimum(r1, c1)
    out = np.ones(a.size)
    # Sorted by support width so that each batch pads to a similar width.
    order = np.argsort(hi - lo, kind="stable")
    start = 0
    while start < a.size:
        rows = max(1, _CHUNK // (int((hi - lo)[order[start]]) + 1))
        sel = order[start:start + rows]
        width = int((hi - lo)[sel].max()) + 1
        n1, n2, m1 = r1[sel][:, None], r2[sel][:, None], c1[sel][:, None]
        xs = lo[sel][:, None] + np.arange(width)[None, :]
        valid = xs <= hi[sel][:, None]
        xs = np.where(valid, xs, lo[sel][:, None])
        # The common factor C(N, m1) cancels in the comparison but not in the sum.
        log_norm = _lchoose(n1 + n2, m1)
        lp = _lchoose(n1, xs) + _lchoose(n2, m1 - xs) - log_norm
        obs = _lchoose(n1, a[sel][:, None]) + _lchoose(n2, m1 - a[sel][:, None]) - log_norm
        keep = valid & (lp <= obs + np.log1p(1e-7))
        out[sel] = np.minimum(np.where(keep, np.exp(lp), 0.0).sum(axis=1), 1.0)
        start += rows
    return out


def _lchoose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

"""Rule metrics, Fisher's exact test and multiple-testing corrections, vectorised.

Metrics use mlxtend's formulas in mlxtend's order of floating-point
operations (supports as fractions first), so that thresholds cut exactly
where ``mlxtend.frequent_patterns.association_rules`` cuts.

Fisher's one-sided exact test is the hypergeometric upper tail that
:func:`scipy.stats.fisher_exact` computes for ``alternative="greater"``, on
arrays instead of one table at a time (:func:`hypergeom_sf`). Holm and Benjamini-Hochberg follow
statsmodels' ``multipletests`` (``holm``, ``fdr_bh``); statsmodels is only a
test dependency.

Examples
--------
>>> import numpy as np
>>> p = fisher_greater(np.array([30]), np.array([40]), np.array([50]), np.array([100]))
>>> float(round(p[0], 6))
4.2e-05
>>> adjust(np.array([0.01, 0.04, 0.03, 0.5]), "holm").round(4).tolist()
[0.04, 0.09, 0.09, 0.5]
>>> adjust(np.array([0.01, 0.04, 0.03, 0.5]), "bh").round(4).tolist()
[0.04, 0.0533, 0.0533, 0.5]
"""

from __future__ import annotations

import numpy as np

CORRECTIONS = ("holm", "bh", "none")
#: From this population size on, Fisher p-values come from scipy directly.
SCIPY_FROM = 100_000


def metrics(n_rule: np.ndarray, n_antecedent: np.ndarray, n_consequent: int | np.ndarray,
            n: int) -> dict[str, np.ndarray]:
    """Support, confidence, lift, leverage and conviction of rules X -> C.

    Parameters
    ----------
    n_rule
        Customers with X and C.
    n_antecedent
        Customers with X.
    n_consequent
        Customers with C.
    n
        All customers.
    """
    s_ac = np.asarray(n_rule, dtype=np.float64) / n
    s_a = np.asarray(n_antecedent, dtype=np.float64) / n
    s_c = np.broadcast_to(np.asarray(n_consequent, dtype=np.float64) / n, s_ac.shape)
    # mlxtend's exact expression (it allows for missing values), so that the
    # floats, and the thresholds applied to them, agree to the last bit.
    confidence = (s_ac * n) / (s_a * n)
    lift = confidence / s_c
    leverage = s_ac - s_a * s_c
    conviction = np.full(s_ac.shape, np.inf)
    below = confidence < 1.0
    conviction[below] = (1.0 - s_c[below]) / (1.0 - confidence[below])
    return {"support": s_ac, "confidence": confidence, "lift": lift, "leverage": leverage,
            "conviction": conviction}


def fisher_greater(n_rule: np.ndarray, n_antecedent: np.ndarray, n_consequent: np.ndarray,
                   n: np.ndarray) -> np.ndarray:
    """One-sided Fisher exact p-values for a positive association of X and C.

    The 2x2 table per rule is ``[[n_rule, n_antecedent - n_rule],
    [n_consequent - n_rule, rest]]``; the p-value is the probability of at
    least ``n_rule`` customers with both, given the margins (a
    hypergeometric upper tail). As in scipy, a table with an empty row or
    column gets p = 1.
    """
    a, row1, col1, total = (np.asarray(v, dtype=np.int64) for v in (n_rule, n_antecedent, n_consequent, n))
    a, row1, col1, total = np.broadcast_arrays(a, row1, col1, total)
    p = hypergeom_sf(a, total, col1, row1)
    degenerate = (row1 == 0) | (row1 == total) | (col1 == 0) | (col1 == total)
    return np.where(degenerate, 1.0, p)


def hypergeom_sf(x: np.ndarray, total: np.ndarray, good: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``P(X >= x)`` for X hypergeometric (population, successes, draws), vectorised.

    For populations of :data:`SCIPY_FROM` or more this is scipy's
    ``hypergeom.sf``, which is fast there. Below it, scipy (Boost) computes
    each value by an exact prime factorisation taking 50-300 microseconds,
    and thousands of rules times their generalisations made that the slowest
    step of the command. There the tail starts from one term computed with
    log-beta functions and adds the next terms by the ratio of neighbouring
    probabilities until they stop mattering (relative 1e-17). A tail that
    starts at or below the mode is one minus the other tail, so no sum needs
    more than a few standard deviations of terms. Agrees with scipy to about
    1e-10 relative (the tests compare them).
    """
    x, total, good, draws = (np.asarray(v, dtype=np.int64) for v in (x, total, good, draws))
    x, total, good, draws = np.broadcast_arrays(x, total, good, draws)
    lo = np.maximum(0, draws + good - total)
    hi = np.minimum(draws, good)
    out = np.where(x <= lo, 1.0, 0.0)
    inside = (x > lo) & (x <= hi)
    large = inside & (total >= SCIPY_FROM)
    if large.any():
        from scipy.stats import hypergeom

        out[large] = hypergeom.sf(x[large] - 1, total[large], good[large], draws[large])
    mode = ((draws + 1) * (good + 1)) // (total + 2)
    upper = inside & ~large & (x > mode)
    lower = inside & ~large & (x <= mode)
    if upper.any():
        out[upper] = _tail(x[upper], total[upper], good[upper], draws[upper], +1)
    if lower.any():
        out[lower] = 1.0 - _tail(x[lower] - 1, total[lower], good[lower], draws[lower], -1)
    return np.clip(out, 0.0, 1.0)


def _log_choose(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    # betaln keeps its precision for large arguments, where differences of
    # gammaln values of ~1e7 would lose digits to cancellation.
    from scipy.special import betaln

    return -np.log1p(n.astype(np.float64)) - betaln(n - k + 1.0, k + 1.0)


def _tail(x0: np.ndarray, total: np.ndarray, good: np.ndarray, draws: np.ndarray, step: int) -> np.ndarray:
    """Sum of the probabilities from x0 away from the mode (step +1 up, -1 down)."""
    bad = total - good
    log_first = _log_choose(good, x0) + _log_choose(bad, draws - x0) - _log_choose(total, draws)
    total_sum = np.ones(x0.size)
    term = np.ones(x0.size)
    x = x0.astype(np.float64)
    g, b, d = good.astype(np.float64), bad.astype(np.float64), draws.astype(np.float64)
    end = np.minimum(d, g) if step > 0 else np.maximum(0.0, d - b)
    live = np.flatnonzero(x != end)
    while live.size:
        xl = x[live]
        if step > 0:
            ratio = (g[live] - xl) * (d[live] - xl) / ((xl + 1) * (b[live] - d[live] + xl + 1))
        else:
            ratio = xl * (b[live] - d[live] + xl) / ((g[live] - xl + 1) * (d[live] - xl + 1))
        term[live] *= ratio
        total_sum[live] += term[live]
        x[live] = xl + step
        keep = (term[live] > total_sum[live] * 1e-17) & (x[live] != end[live])
        live = live[keep]
    return np.exp(log_first) * total_sum


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values: ``holm`` (family-wise error), ``bh`` (false discovery rate), ``none``."""
    p = np.asarray(p, dtype=np.float64)
    if method == "none" or p.size == 0:
        return p.copy()
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        steps = (m - np.arange(m)) * ranked
        adj = np.minimum(1.0, np.maximum.accumulate(steps))
    elif method == "bh":
        steps = ranked * m / np.arange(1, m + 1)
        adj = np.minimum(1.0, np.minimum.accumulate(steps[::-1])[::-1])
    else:
        raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTIONS)}")
    out = np.empty(m)
    out[order] = adj
    return out

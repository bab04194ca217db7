"""Rule metrics, Fisher's exact test and multiple-testing corrections, vectorised.

Metrics use mlxtend's formulas in mlxtend's order of floating-point
operations (supports as fractions first), so that thresholds cut exactly
where ``mlxtend.frequent_patterns.association_rules`` cuts.

Fisher's one-sided exact test is the hypergeometric upper tail that
:func:`scipy.stats.fisher_exact` computes for ``alternative="greater"``, on
arrays instead of one table at a time (:mod:`segment.stats.hypergeom`). Holm and Benjamini-Hochberg follow
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
>>> adjust_in_family(np.array([0.01, 0.04]), "holm", family=4).round(4).tolist()
[0.04, 0.12]
"""

from __future__ import annotations

import numpy as np

from segment.stats.hypergeom import upper_tail

CORRECTIONS = ("holm", "bh", "none")


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
    p = upper_tail(a, total, col1, row1)
    degenerate = (row1 == 0) | (row1 == total) | (col1 == 0) | (col1 == total)
    return np.where(degenerate, 1.0, p)


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


def adjust_in_family(p: np.ndarray, method: str, family: int) -> np.ndarray:
    """Adjusted p-values of some tests of a family of *family* tests; the tests not given have p = 1.

    A member that was never tested (too few customers with the target to be
    a rule) could only have a larger p-value than a rule, so counting it as
    1 gives the correction the true size of the family without computing it.
    """
    p = np.asarray(p, dtype=np.float64)
    padded = np.concatenate([p, np.ones(max(0, int(family) - p.size))])
    return adjust(padded, method)[: p.size]

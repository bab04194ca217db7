"""Rule metrics, vectorised.

Metrics use mlxtend's formulas in mlxtend's order of floating-point
operations (supports as fractions first), so that thresholds cut exactly
where ``mlxtend.frequent_patterns.association_rules`` cuts. Fisher's exact
test is :func:`segment.stats.hypergeom.fisher_greater`; the corrections are
:func:`segment.stats.multitest.adjust`.

Examples
--------
>>> import numpy as np
>>> m = metrics(np.array([30]), np.array([40]), 50, 100)
>>> float(m["confidence"][0]), float(m["lift"][0])
(0.75, 1.5)
>>> adjust_in_family(np.array([0.01, 0.04]), "holm", family=4).round(4).tolist()
[0.04, 0.12]
"""

from __future__ import annotations

import numpy as np

from segment.stats.multitest import adjust


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


def adjust_in_family(p: np.ndarray, method: str, family: int) -> np.ndarray:
    """Adjusted p-values of some tests of a family of *family* tests; the tests not given have p = 1.

    A member that was never tested (too few customers with the target to be
    a rule) could only have a larger p-value than a rule, so counting it as
    1 gives the correction the true size of the family without computing it.
    """
    p = np.asarray(p, dtype=np.float64)
    padded = np.concatenate([p, np.ones(max(0, int(family) - p.size))])
    return adjust(padded, method)[: p.size]

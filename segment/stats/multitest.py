"""Multiple-testing corrections: Holm, Benjamini-Hochberg, Bonferroni.

Written here rather than taken from statsmodels (a test-only dependency);
the results equal ``statsmodels.stats.multitest.multipletests`` with
``method="holm"``, ``"fdr_bh"`` and ``"bonferroni"``. NaN p-values (tests
that could not be run) are left out of the family and stay NaN.

Examples
--------
>>> adjust([0.01, 0.04, 0.03, 0.5], "holm").round(4).tolist()
[0.04, 0.09, 0.09, 0.5]
>>> adjust([0.01, 0.04, 0.03, 0.5], "bh").round(4).tolist()
[0.04, 0.0533, 0.0533, 0.5]
>>> adjust([0.01, float("nan"), 0.3], "bonferroni").tolist()
[0.02, nan, 0.6]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segment.errors import OptionError

#: Methods a user can choose with ``--correction``.
METHODS = ("holm", "bh", "bonferroni")


def adjust(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for one family of tests.

    Parameters
    ----------
    pvalues
        Raw p-values; NaN entries are ignored and returned as NaN.
    method
        ``holm`` (family-wise error, step-down), ``bh`` (false discovery
        rate, Benjamini & Hochberg 1995) or ``bonferroni``.
    """
    if method not in METHODS:
        raise OptionError(f"--correction must be one of {', '.join(METHODS)}, got {method!r}")
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    q = p[ok]
    if method == "bonferroni":
        adj = np.minimum(q * m, 1.0)
    else:
        # A stable sort keeps equal p-values in input order, as statsmodels does.
        order = np.argsort(q, kind="stable")
        ranked = q[order]
        if method == "holm":
            steps = ranked * (m - np.arange(m))
            ranked_adj = np.minimum(np.maximum.accumulate(steps), 1.0)
        else:
            steps = ranked * m / np.arange(1, m + 1)
            ranked_adj = np.minimum(np.minimum.accumulate(steps[::-1])[::-1], 1.0)
        adj = np.empty(m)
        adj[order] = ranked_adj
    out[ok] = adj
    return out

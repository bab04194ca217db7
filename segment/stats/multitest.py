"""Multiple-testing corrections: Holm, Benjamini-Hochberg, Bonferroni, or none.

The one implementation every command uses (``--correction``). Written here
rather than taken from statsmodels (a test-only dependency); the results
equal ``statsmodels.stats.multitest.multipletests`` with ``method="holm"``,
``"fdr_bh"`` and ``"bonferroni"``.

A NaN p-value is a test that could not be run (e.g. an outcome constant in
every segment). It is left out of the family, so it does not count in m,
and stays NaN: counting it would make every other adjusted p-value larger
for a test that says nothing. A caller that wants an untestable case to
count as a test with p = 1 passes 1.0 instead of NaN.

Examples
--------
>>> adjust([0.01, 0.04, 0.03, 0.5], "holm").round(4).tolist()
[0.04, 0.09, 0.09, 0.5]
>>> adjust([0.01, 0.04, 0.03, 0.5], "bh").round(4).tolist()
[0.04, 0.0533, 0.0533, 0.5]
>>> adjust([0.01, float("nan"), 0.3], "bonferroni").tolist()
[0.02, nan, 0.6]
>>> adjust([0.01, float("nan"), 0.3], "none").tolist()
[0.01, nan, 0.3]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segment.errors import OptionError

#: Methods a user can choose with ``--correction``.
METHODS = ("holm", "bh", "bonferroni", "none")


def adjust(pvalues: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values for one family of tests.

    Parameters
    ----------
    pvalues
        Raw p-values; NaN entries are ignored and returned as NaN.
    method
        ``holm`` (family-wise error, step-down), ``bh`` (false discovery
        rate, Benjamini & Hochberg 1995), ``bonferroni``, or ``none`` (the
        p-values as they are).

    Raises
    ------
    OptionError
        For a method not in :data:`METHODS`.
    """
    if method not in METHODS:
        raise OptionError(f"--correction must be one of {', '.join(METHODS)}, got {method!r}")
    p = np.asarray(pvalues, dtype=float)
    if method == "none":
        return p.copy()
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

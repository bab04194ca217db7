"""Replication on a held-out part of the rows.

The rows are split at random (seeded, stratified by segment so that each
segment keeps its share in both parts) into a held-out part of
``fraction`` of each segment and the rest. The omnibus test is re-run on the
held-out part alone, and the ordering of segments (mean or rate) in the
held-out part is compared with the rest by Kendall's tau-b: 1 when the two
parts rank the segments identically, near 0 when the ordering is noise.

Examples
--------
>>> import numpy as np, polars as pl
>>> from segment.stats.groupstats import CountStats
>>> a = CountStats(np.array([[90, 10], [70, 30], [50, 50]]))
>>> b = CountStats(np.array([[88, 12], [75, 25], [40, 60]]))
>>> order_agreement(a, b, positive_only=True)
1.0
"""

from __future__ import annotations

import numpy as np
import polars as pl

from segment.stats.groupstats import SEG, CountStats, NumericStats


def holdout_mask(data: pl.DataFrame, fraction: float, rng: np.random.Generator) -> pl.Series:
    """True for the rows held out: ``round(fraction * n)`` random rows of each segment."""
    seg = data[SEG].to_numpy()
    order = np.lexsort((rng.random(seg.size), seg))  # rows by segment, in random order within it
    sizes = np.bincount(seg)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    within = np.arange(seg.size) - starts[seg[order]]
    held = np.empty(seg.size, dtype=bool)
    held[order] = within < np.floor(sizes * fraction + 0.5)[seg[order]]
    return pl.Series("holdout", held)


def order_agreement(rest: CountStats | NumericStats, held: CountStats | NumericStats, *,
                    positive_only: bool = True) -> float:
    """Kendall's tau-b between the segments' means / rates in the two parts.

    For a categorical outcome the mean of the per-level taus. NaN when fewer
    than two segments appear in both parts or an ordering is all ties.
    """
    both = (rest.n > 0) & (held.n > 0)
    if both.sum() < 2:
        return float("nan")
    if isinstance(rest, CountStats):
        a, b = rest.rates(), held.rates()  # type: ignore[union-attr]
        cols = [a.shape[1] - 1] if positive_only else range(a.shape[1])
    else:
        a, b = rest.mean[:, None], held.mean[:, None]  # type: ignore[union-attr]
        cols = [0]
    taus = []
    for c in cols:
        x, y = a[both, c], b[both, c]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        taus.append(kendall_tau_b(x, y))
    return float(np.mean(taus)) if taus else float("nan")


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b (as ``scipy.stats.kendalltau``), over all pairs at once.

    Written out because there are at most a few thousand segments and
    importing scipy.stats costs more than the computation.

    >>> kendall_tau_b(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4]))
    0.6666666666666666
    """
    i, j = np.triu_indices(x.size, 1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    pairs = i.size
    untied_x, untied_y = np.count_nonzero(dx), np.count_nonzero(dy)
    if untied_x == 0 or untied_y == 0 or pairs == 0:
        return float("nan")
    return float(np.sum(dx * dy) / np.sqrt(float(untied_x) * float(untied_y)))

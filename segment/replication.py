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
>>> from segment.groupstats import CountStats
>>> a = CountStats(np.array([[90, 10], [70, 30], [50, 50]]))
>>> b = CountStats(np.array([[88, 12], [75, 25], [40, 60]]))
>>> order_agreement(a, b, positive_only=True)
1.0
"""

from __future__ import annotations

import numpy as np
import polars as pl

from segment.groupstats import SEG, CountStats, NumericStats


def holdout_mask(data: pl.DataFrame, fraction: float, rng: np.random.Generator) -> pl.Series:
    """True for the rows held out: ``round(fraction * n)`` random rows of each segment."""
    draw = pl.Series("_u", rng.random(data.height))
    return (
        data.select(SEG)
        .with_columns(draw)
        .select(
            (pl.col("_u").rank("ordinal").over(SEG)
             <= (pl.len().over(SEG) * fraction + 0.5).floor()).alias("holdout")
        )
        .to_series()
    )


def order_agreement(rest: CountStats | NumericStats, held: CountStats | NumericStats, *,
                    positive_only: bool = True) -> float:
    """Kendall's tau-b between the segments' means / rates in the two parts.

    For a categorical outcome the mean of the per-level taus. NaN when fewer
    than two segments appear in both parts or an ordering is all ties.
    """
    from scipy.stats import kendalltau

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
        taus.append(float(kendalltau(x, y).statistic))
    return float(np.mean(taus)) if taus else float("nan")

"""Quantile scores that never split ties and stay as balanced as ties allow.

Plain quantile cuts (pandas ``qcut``, R's rfm) fail when many customers share
a value: frequency is 1 for half of most customer bases, so several quantile
edges coincide and bins silently collapse or customers with equal values get
different scores. The rule used here:

1. Customers with equal values always get the same score (ties never split).
2. Going up from the lowest value, each bin boundary is placed at the edge of
   a tie block closest to the equal-share target; when equally close, the
   boundary goes before the block (the lower bin stays smaller).
3. After each boundary the target is recomputed for the customers and bins
   that remain, so one huge tie block does not starve the bins above it.
4. Every score is used when there are at least as many distinct values as
   bins (a boundary never swallows the values the later bins need).

With fewer distinct values than bins, each distinct value gets its own score
1, 2, ... and the top scores stay unused; the report of breakpoints
(:func:`describe_bins`) shows exactly what was used.

Examples
--------
Half the customers bought once; the others spread evenly:

>>> import polars as pl
>>> freq = pl.Series([1] * 10 + [2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
>>> breaks = balanced_breaks(freq, 5)
>>> breaks
[2.0, 4.0, 7.0, 9.0]
>>> score(freq, breaks).to_list()
[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from segment.errors import OptionError


def balanced_breaks(values: pl.Series, bins: int) -> list[float]:
    """Breakpoints for *bins* tie-respecting, near-equal bins of *values*.

    Returns the ascending lower edges of bins 2..k (at most ``bins - 1`` of
    them): a value ``v`` gets score ``1 + #{b in breaks : b <= v}``.
    Nulls are ignored.
    """
    if bins < 1:
        raise OptionError(f"--bins must be at least 1, got {bins}")
    counts = values.drop_nulls().rename("v").value_counts(name="n").sort("v")
    if counts.height == 0:
        return []
    distinct = counts[:, 0].cast(pl.Float64).to_numpy()
    cum = np.cumsum(counts["n"].to_numpy())
    n = int(cum[-1])
    if len(distinct) <= bins:
        return [float(v) for v in distinct[1:]]
    breaks: list[float] = []
    assigned, start = 0, 0
    last = len(distinct) - 1
    for k in range(bins - 1):
        target = assigned + (n - assigned) / (bins - k)
        j = min(int(np.searchsorted(cum, target, side="left")), last)
        end = j
        if j - 1 >= start and abs(cum[j - 1] - target) <= abs(cum[j] - target):
            end = j - 1
        # Leave at least one distinct value for each bin still to come.
        end = min(end, last - (bins - k - 1))
        breaks.append(float(distinct[end + 1]))
        assigned, start = int(cum[end]), end + 1
    return breaks


def score(values: pl.Series, breaks: Sequence[float]) -> pl.Series:
    """Scores ``1 + number of breaks <= value`` (bins are right-open ``[lo, hi)``)."""
    edges = np.asarray(breaks, dtype=np.float64)
    arr = values.cast(pl.Float64).to_numpy()
    out = np.searchsorted(edges, arr, side="right").astype(np.int8) + 1
    return pl.Series(values.name, out, dtype=pl.Int8)


def score_expr(column: str | pl.Expr, breaks: Sequence[float]) -> pl.Expr:
    """Polars expression form of :func:`score`."""
    expr = pl.col(column) if isinstance(column, str) else column
    s = pl.lit(1, dtype=pl.Int8)
    for b in breaks:
        s = s + (expr >= b).cast(pl.Int8)
    return s


def describe_bins(values: pl.Series, scores: pl.Series) -> pl.DataFrame:
    """Per score: customers, share, and the smallest and largest value in it."""
    df = pl.DataFrame({"score": scores, "value": values.cast(pl.Float64)})
    n = df.height
    return (
        df.group_by("score")
        .agg(n=pl.len(), min=pl.col("value").min(), max=pl.col("value").max())
        .with_columns(share=pl.col("n") / n)
        .sort("score")
        .select("score", "n", "share", "min", "max")
    )

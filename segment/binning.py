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

With fewer distinct values than bins, each distinct value gets its own score.
By default these are 1, 2, ... and the top scores stay unused (``rules``
bins this way: its items are one per distinct value). With ``spread=True``
(``rfm``) the values are spread over the whole scale instead, so that a
score keeps its meaning on coarse data: the highest value gets the top
score, the lowest 1, and the values between are evenly spaced
(``1 + round((bins - 1) * i / (d - 1))`` for the ``i``-th of ``d`` distinct
values, halves rounded up); a single value gets the middle score
(``1 + round((bins - 1) / 2)``). Breakpoints then repeat: a score that no
value takes has the same lower edge as the next one (a value above the only
value seen gets the next float above it as edge). The report of breakpoints
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

Monthly billing: three distinct recency values in five bins score 1, 3, 5
with spreading, 1, 2, 3 without:

>>> months = pl.Series([10, 40, 40, 70])
>>> balanced_breaks(months, 5, spread=True), score(months, balanced_breaks(months, 5, spread=True)).to_list()
([40.0, 40.0, 70.0, 70.0], [1, 3, 3, 5])
>>> score(months, balanced_breaks(months, 5)).to_list()
[1, 2, 2, 3]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from segment.errors import OptionError


def balanced_breaks(values: pl.Series, bins: int, *, spread: bool = False) -> list[float]:
    """Breakpoints for *bins* tie-respecting, near-equal bins of *values*.

    Returns the ascending lower edges of bins 2..k (at most ``bins - 1`` of
    them; exactly ``bins - 1``, possibly repeated, with *spread*): a value
    ``v`` gets score ``1 + #{b in breaks : b <= v}``. Nulls are ignored.
    *spread* places fewer distinct values than bins over the whole scale
    (see module docstring).
    """
    if bins < 1:
        raise OptionError(f"--bins must be at least 1, got {bins}")
    counts = values.drop_nulls().rename("v").value_counts(name="n").sort("v")
    if counts.height == 0:
        return []
    return breaks_from_counts(counts[:, 0].cast(pl.Float64).to_numpy(), counts["n"].to_numpy(), bins,
                              spread=spread)


def breaks_from_counts(distinct: np.ndarray, counts: np.ndarray, bins: int, *, spread: bool = False,
                       trace: list[tuple[float, int, int]] | None = None) -> list[float]:
    """:func:`balanced_breaks` from the ascending distinct values and their counts.

    The rule reads the cumulative counts only near each boundary, so a
    distributed engine may pass a table in which runs of values far from any
    boundary are collapsed into one entry (value NaN, count the run's
    customers): the breaks are the same as long as every entry the rule reads
    is a real value. *trace* receives, per boundary, its target count and the
    positions ``(target, j, end)`` it read (``distinct[j]``,
    ``distinct[end + 1]``), for that check.

    >>> breaks_from_counts(np.array([1.0, 2.0, 3.0, 4.0]), np.array([5, 1, 1, 5]), 2)
    [3.0]
    """
    cum = np.cumsum(counts)
    n = int(cum[-1])
    if len(distinct) <= bins:
        return spread_breaks(distinct, bins) if spread else [float(v) for v in distinct[1:]]
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
        if trace is not None:
            trace.append((target, j, end))
        breaks.append(float(distinct[end + 1]))
        assigned, start = int(cum[end]), end + 1
    return breaks


def spread_scores(d: int, bins: int) -> list[int]:
    """Scores of ``d <= bins`` distinct values spread over 1..*bins* (halves rounded up).

    >>> spread_scores(3, 5), spread_scores(1, 5), spread_scores(1, 4), spread_scores(2, 4), spread_scores(4, 5)
    ([1, 3, 5], [3], [3], [1, 4], [1, 2, 4, 5])
    """
    if d == 1:
        return [1 + int(np.floor((bins - 1) / 2 + 0.5))]
    # Integer arithmetic: 1 + floor(((bins - 1) * i * 2 + (d - 1)) / (2 * (d - 1))) rounds halves up exactly.
    return [1 + ((bins - 1) * i * 2 + (d - 1)) // (2 * (d - 1)) for i in range(d)]


def spread_breaks(distinct: np.ndarray, bins: int) -> list[float]:
    """Lower edges of bins 2..*bins* that give the sorted *distinct* values their :func:`spread_scores`."""
    scores = spread_scores(len(distinct), bins)
    top = float(np.nextafter(distinct[-1], np.inf))
    return [next((float(v) for v, s in zip(distinct, scores, strict=True) if s >= j), top)
            for j in range(2, bins + 1)]


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

"""Per-segment sufficient statistics, computed in polars.

Every test in :mod:`segment.stats.tests` needs only these summaries, never the
rows: a contingency table of counts for categorical outcomes; counts, means,
sums of squared deviations and rank sums for numeric ones. They are
computed with one ``group_by`` each, and they can be merged (two segments
combined) without going back to the data, which is what the merge map does.

Segments are integer codes ``0..k-1``; a segment with no rows for an outcome
has ``n == 0`` and is left out of that outcome's tests.

Examples
--------
>>> import polars as pl
>>> data = pl.DataFrame({"_seg": [0, 0, 1, 1, 1], "y": [1.0, 2.0, 2.0, 3.0, 4.0]},
...                     schema_overrides={"_seg": pl.UInt32})
>>> s = numeric_stats(data, "y", k=2)
>>> s.n.tolist(), s.mean.tolist(), s.rank_sum.tolist(), s.tie_term
([2, 3], [1.5, 3.0], [3.5, 11.5], 6.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

SEG = "_seg"


@dataclass
class CountStats:
    """Contingency table of a categorical outcome: ``counts[segment, level]``."""

    counts: np.ndarray

    @property
    def n(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    def rates(self) -> np.ndarray:
        """Share of each level within each segment (NaN for empty segments)."""
        n = self.n[:, None].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, self.counts / np.where(n > 0, n, 1), np.nan)

    def merge(self, into: int, other: int) -> None:
        """Add segment *other* to segment *into* (in place)."""
        self.counts[into] += self.counts[other]
        self.counts[other] = 0

    def copy(self) -> CountStats:
        return CountStats(self.counts.copy())


@dataclass
class NumericStats:
    """Per-segment summaries of a numeric outcome.

    ``rank_sum`` uses average ranks over all rows of the outcome (ties share
    their mean rank); ``tie_term`` is the sum of ``t**3 - t`` over groups of
    ``t`` tied values, the quantity both the Kruskal-Wallis and Dunn tie
    corrections need.
    """

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray  # sum of squared deviations from the segment mean
    rank_sum: np.ndarray
    median: np.ndarray
    total: int
    tie_term: float

    @property
    def var(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 1, self.m2 / np.maximum(self.n - 1, 1), np.nan)

    def merge(self, into: int, other: int) -> None:
        """Combine segment *other* into *into* (Chan et al. 1979 pooling)."""
        n1, n2 = self.n[into], self.n[other]
        n = n1 + n2
        if n2 == 0:
            return
        if n1 == 0:
            mean, m2 = self.mean[other], self.m2[other]
        else:
            delta = self.mean[other] - self.mean[into]
            mean = self.mean[into] + delta * n2 / n
            m2 = self.m2[into] + self.m2[other] + delta * delta * n1 * n2 / n
        self.n[into], self.mean[into], self.m2[into] = n, mean, m2
        self.rank_sum[into] += self.rank_sum[other]
        self.median[into] = np.nan  # not mergeable; not used by the tests
        self.n[other], self.mean[other], self.m2[other], self.rank_sum[other] = 0, np.nan, 0.0, 0.0

    def copy(self) -> NumericStats:
        return replace(self, n=self.n.copy(), mean=self.mean.copy(), m2=self.m2.copy(),
                       rank_sum=self.rank_sum.copy(), median=self.median.copy())


def _cells(data: pl.DataFrame, y: str, weight: str | None) -> pl.DataFrame:
    """Rows per (segment, value of *y*), nulls left out: columns SEG, *y*, ``n``."""
    return (
        data.lazy()
        .select(SEG, y, *([weight] if weight else []))
        .drop_nulls()
        .group_by(SEG, y)
        .agg((pl.col(weight).sum() if weight else pl.len()).cast(pl.Int64).alias("n"))
        .collect()
    )


def count_stats(data: pl.DataFrame, y: str, k: int, c: int, weight: str | None = None) -> CountStats:
    """Counts of level codes ``0..c-1`` of *y* per segment code ``0..k-1``.

    With *weight*, each row stands for that many rows (a table already
    counted per segment and value, e.g. by Spark).
    """
    cells = _cells(data, y, weight)
    counts = np.zeros((k, c), dtype=np.int64)
    counts[cells[SEG].to_numpy(), cells[y].to_numpy()] = cells["n"].to_numpy()
    return CountStats(counts)


def numeric_stats(data: pl.DataFrame, y: str, k: int, weight: str | None = None) -> NumericStats:
    """Counts, means, squared deviations, rank sums and medians per segment.

    Everything comes from the rows counted per (segment, value), so a table
    counted elsewhere (*weight*: rows each row stands for) gives the same
    statistics as the rows themselves; see :func:`numeric_stats_from_cells`.
    """
    cells = _cells(data, y, weight)
    return numeric_stats_from_cells(cells[SEG].to_numpy(), cells[y].to_numpy(), cells["n"].to_numpy(), k)


def numeric_stats_from_cells(seg: np.ndarray, value: np.ndarray, n: np.ndarray, k: int) -> NumericStats:
    """:class:`NumericStats` from the count *n* of rows per (segment *seg*, *value*) cell.

    Exact, with ties: the rows of one value share the mean of their ranks
    (the cumulative count of smaller values plus ``(t + 1) / 2`` for ``t``
    tied rows), and the tie term is the sum of ``t**3 - t`` over values.
    Counts are 64-bit integers; the tie term is summed in floats (``t**3``
    overflows 64 bits from ``t`` above two million).

    >>> s = numeric_stats_from_cells(np.array([0, 1, 0, 1]), np.array([1.0, 2.0, 2.0, 3.0]),
    ...                              np.array([1, 1, 1, 2]), k=2)
    >>> s.n.tolist(), s.rank_sum.tolist(), s.median.tolist(), s.tie_term
    ([2, 3], [3.5, 11.5], [1.5, 3.0], 12.0)
    """
    seg = np.asarray(seg, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    order = np.lexsort((seg, value))
    seg, value, n = seg[order], value[order], n[order]
    # Tie blocks: runs of one value in the value-sorted cells.
    first = np.r_[True, value[1:] != value[:-1]] if value.size else np.zeros(0, dtype=bool)
    block = np.cumsum(first) - 1
    t = np.add.reduceat(n, np.flatnonzero(first)) if value.size else np.zeros(0, dtype=np.int64)
    mid = np.cumsum(t) - (t - 1) / 2
    size = np.bincount(seg, weights=n, minlength=k).astype(np.int64)
    rank_sum = np.bincount(seg, weights=n * mid[block], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(size > 0, np.bincount(seg, weights=n * value, minlength=k) / np.maximum(size, 1), np.nan)
    m2 = np.bincount(seg, weights=n * (value - mean[seg]) ** 2, minlength=k) if value.size else np.zeros(k)
    median = _medians(seg, value, n, size, k)
    tied = t[t > 1].astype(float)
    return NumericStats(size, mean, m2, rank_sum, median, int(size.sum()), float(np.sum(tied**3 - tied)))


def _medians(seg: np.ndarray, value: np.ndarray, n: np.ndarray, size: np.ndarray, k: int) -> np.ndarray:
    """Per segment, the mean of its two middle values (one when its count is odd)."""
    order = np.lexsort((value, seg))
    value, cum = value[order], np.cumsum(n[order])
    before = np.concatenate([[0], np.cumsum(size)[:-1]])
    median = np.full(k, np.nan)
    present = size > 0
    lo = np.searchsorted(cum, before + (size + 1) // 2, side="left")[present]
    hi = np.searchsorted(cum, before + size // 2 + 1, side="left")[present]
    median[present] = (value[lo] + value[hi]) / 2
    return median

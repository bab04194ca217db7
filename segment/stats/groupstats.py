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


def count_stats(data: pl.DataFrame, y: str, k: int, c: int) -> CountStats:
    """Counts of level codes ``0..c-1`` of *y* per segment code ``0..k-1``."""
    cells = (
        data.lazy()
        .select(SEG, y)
        .drop_nulls()
        .group_by(SEG, y)
        .agg(pl.len().alias("n"))
        .collect()
    )
    counts = np.zeros((k, c), dtype=np.int64)
    counts[cells[SEG].to_numpy(), cells[y].to_numpy()] = cells["n"].to_numpy()
    return CountStats(counts)


def numeric_stats(data: pl.DataFrame, y: str, k: int) -> NumericStats:
    """Counts, means, squared deviations, rank sums and medians per segment."""
    # One sort gives both the average ranks (ties share the mean of their
    # positions) and the tie groups; polars' rank() is several times slower.
    rows = data.lazy().select(SEG, y).drop_nulls().select(pl.col(SEG).sort_by(y), pl.col(y).sort()).collect()
    runs = rows.select(pl.col(y).rle().struct.field("len")).to_series().to_numpy().astype(np.int64)
    ends = np.cumsum(runs)
    ranks = pl.Series("_rank", np.repeat(ends - (runs - 1) / 2, runs))
    # Eager (in-memory) group_by: its float sums are reproducible run to run,
    # which keeps outputs byte-identical; the streaming engine's are not.
    groups = (
        rows.with_columns(ranks)
        .group_by(SEG)
        .agg(
            n=pl.len(),
            mean=pl.col(y).mean(),
            var=pl.col(y).var(),
            rank_sum=pl.col("_rank").sum(),
            median=pl.col(y).median(),
        )
        .sort(SEG)
    )
    t = runs[runs > 1].astype(float)
    idx = groups[SEG].to_numpy()
    n = np.zeros(k, dtype=np.int64)
    mean, median = np.full(k, np.nan), np.full(k, np.nan)
    m2, rank_sum = np.zeros(k), np.zeros(k)
    n[idx] = groups["n"].to_numpy()
    mean[idx] = groups["mean"].to_numpy()
    median[idx] = groups["median"].to_numpy()
    var = groups["var"].fill_null(0.0).to_numpy()
    m2[idx] = var * np.maximum(n[idx] - 1, 0)
    rank_sum[idx] = groups["rank_sum"].to_numpy()
    return NumericStats(n, mean, m2, rank_sum, median, int(n.sum()), float(np.sum(t**3 - t)))

"""Per-segment outcome summaries, with percentile bootstrap confidence intervals.

For a binary outcome the summary is the rate of the positive value; for a
categorical one the share of every level; for a numeric one the median
(Kruskal-Wallis, a rank test) or the mean (ANOVA / Welch, tests of means).

With ``bootstrap=B`` each summary gets a percentile interval from ``B``
resamples of the segment's rows drawn from a seeded generator. A resampled
share is exactly a binomial count divided by the segment size, so shares are
drawn that way; medians and means resample the rows, in batches of bounded
memory (medians from the resampled positions in the sorted values, see
:func:`median_of_resamples`). Without bootstrap the interval columns are empty.

Examples
--------
>>> import numpy as np, polars as pl
>>> from segment.stats.groupstats import CountStats
>>> stats = CountStats(np.array([[80, 20], [50, 50]]))
>>> rows = count_summaries(stats, levels=["No", "Yes"], positive_only=True, bootstrap=200,
...                        confidence=0.95, rng=np.random.default_rng(0))
>>> [(r["segment"], r["statistic"], r["value"]) for r in rows]
[(0, 'rate', 0.2), (1, 'rate', 0.5)]
>>> all(r["ci_low"] < r["value"] < r["ci_high"] for r in rows)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from segment.stats.groupstats import SEG, CountStats, NumericStats

Progress = Callable[[str, int, int | None], None]
_CHUNK = 1 << 22  # resampled values held at once


def count_summaries(stats: CountStats, *, levels: list[str], positive_only: bool, bootstrap: int,
                    confidence: float, rng: np.random.Generator) -> list[dict]:
    """Rate (binary) or share of each level (categorical) per segment."""
    counts = stats.counts
    n = stats.n
    rates = stats.rates()
    cols = [counts.shape[1] - 1] if positive_only else list(range(counts.shape[1]))
    lo = hi = None
    if bootstrap:
        p = np.nan_to_num(rates[:, cols])
        draws = rng.binomial(n[:, None, None], p[:, :, None], size=(n.size, len(cols), bootstrap))
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = draws / np.where(n > 0, n, 1)[:, None, None]
        lo, hi = _percentiles(shares, confidence)
    out = []
    for g in np.flatnonzero(n > 0):
        for t, c in enumerate(cols):
            out.append({"segment": int(g), "level": levels[c], "n": int(n[g]),
                        "statistic": "rate" if positive_only else "share", "value": float(rates[g, c]),
                        "ci_low": None if lo is None else float(lo[g, t]),
                        "ci_high": None if hi is None else float(hi[g, t])})
    return out


def numeric_summaries(data: pl.DataFrame, column: str, stats: NumericStats, *, statistic: str,
                      bootstrap: int, confidence: float, rng: np.random.Generator,
                      progress: Progress | None = None, task: str = "bootstrap") -> list[dict]:
    """Median or mean per segment, with bootstrap intervals when asked."""
    value = stats.median if statistic == "median" else stats.mean
    present = np.flatnonzero(stats.n > 0)
    bounds: dict[int, tuple[float, float]] = {}
    if bootstrap:
        rows = data.select(SEG, column).drop_nulls().sort(SEG, column)
        values = rows[column].to_numpy()
        offsets = np.concatenate([[0], np.cumsum(stats.n)])
        for done, g in enumerate(present, start=1):
            x = values[offsets[g]:offsets[g + 1]]
            estimates = _resample(x, bootstrap, statistic, rng)
            lo, hi = _percentiles(estimates, confidence)
            bounds[int(g)] = (float(lo), float(hi))
            if progress:
                progress(task, done, present.size)
    return [{"segment": int(g), "level": None, "n": int(stats.n[g]), "statistic": statistic,
             "value": float(value[g]),
             "ci_low": bounds[int(g)][0] if bootstrap else None,
             "ci_high": bounds[int(g)][1] if bootstrap else None} for g in present]


def _resample(x: np.ndarray, times: int, statistic: str, rng: np.random.Generator) -> np.ndarray:
    """*times* bootstrap estimates of the median or mean of *x* (sorted ascending)."""
    n = x.size
    batch = max(1, _CHUNK // n)
    out = np.empty(times)
    for start in range(0, times, batch):
        b = min(batch, times - start)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int64 if n >= 2**31 else np.int32)
        out[start:start + b] = median_of_resamples(x, idx) if statistic == "median" else x[idx].mean(axis=1)
    return out


def median_of_resamples(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``np.median(x[idx], axis=1)`` for sorted *x*, without sorting each resample.

    With *x* sorted, the r-th smallest value of a resample is ``x[j]`` for the
    first position ``j`` where the resample's cumulative index counts reach r.

    >>> x = np.array([1.0, 2.0, 2.0, 5.0, 9.0])
    >>> idx = np.random.default_rng(0).integers(0, 5, size=(4, 5))
    >>> bool((median_of_resamples(x, idx) == np.median(x[idx], axis=1)).all())
    True
    """
    b, n = idx.shape
    counts = np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n).reshape(b, n)
    # Rows of cumulative counts, offset so that the whole array increases: one searchsorted for all rows.
    cum = (counts.cumsum(axis=1) + (np.arange(b) * (n + 1))[:, None]).ravel()
    lo_rank, hi_rank = (n + 1) // 2, n // 2 + 1
    offsets = np.arange(b) * (n + 1)
    lo = np.searchsorted(cum, lo_rank + offsets) - np.arange(b) * n
    hi = np.searchsorted(cum, hi_rank + offsets) - np.arange(b) * n
    return (x[lo] + x[hi]) / 2


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [tail, 1 - tail], axis=-1)
    return lo, hi

"""Segments that stand out: each segment against all other rows, per outcome.

An omnibus effect can be small while one segment is far from the rest (a
cluster of 687 customers churning at 62% against 29% overall is what an
analyst acts on, even when Cramer's V over 16 clusters is 0.09). Each
segment is compared with the rows of every other segment:

* binary / categorical outcomes: the 2 x c chi-square test of segment
  against rest (for a binary outcome its square root is the adjusted
  standardised residual of Haberman 1973), Fisher's exact test for a small
  2 x 2 table; effect Cohen's h (binary) or w (categorical);
* Kruskal-Wallis: the Mann-Whitney test of segment against rest, read off
  the whole-sample ranks (exact, as segment and rest make up the whole
  sample), with the tie-corrected normal approximation; effect Cliff's
  delta = 2 U / (n m) - 1;
* ANOVA / Welch: Student's / Welch's t of segment against rest; effect
  Cohen's d.

p-values are adjusted across segments and outcomes (one family, the same
``--correction``); a segment stands out when its adjusted p is at most
alpha and its effect is at least *threshold* (default ``medium``).

Examples
--------
>>> import numpy as np, polars as pl
>>> from segment.stats.groupstats import CountStats
>>> from segment.validate._outcomes import Outcome
>>> counts = np.array([[700, 300]] * 15 + [[263, 424]])
>>> out = standouts([CountStats(counts)], [Outcome("churn", "y0", "binary", ["0", "1"], "1")],
...                 pl.Series([str(g) for g in range(16)]), np.ones(16, dtype=bool))
>>> out.filter(pl.col("standout")).select("segment", "value", "effect", "effect_label").rows()
[('15', 0.6171761280931587, 'cohens_h', 'medium')]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from segment.stats.groupstats import CountStats, NumericStats
from segment.stats.multitest import adjust
from segment.stats.tests import LABELS, effect_label, pairwise


def standouts(stats: Sequence[CountStats | NumericStats], specs: Sequence, labels: pl.Series, keep: np.ndarray, *,
              numeric_test: str = "kruskal", correction: str = "holm", alpha: float = 0.05,
              threshold: str = "medium") -> pl.DataFrame:
    """One row per outcome and segment (those in *keep*): segment against the rest (see module docstring)."""
    rows = []
    for spec, s in zip(specs, stats, strict=True):
        present = keep & (s.n > 0)
        for g, value, rest, stat, p, name, size in _one(s, spec.kind, numeric_test, present):
            rows.append({"outcome": spec.name, "kind": spec.kind, "segment": int(g), "n": int(s.n[g]),
                         "statistic": _statistic(spec.kind, numeric_test), "value": value, "rest_value": rest,
                         "test_statistic": stat, "p": p, "effect": name, "effect_size": size})
    schema = {"outcome": pl.String, "kind": pl.String, "segment": pl.UInt32, "n": pl.Int64, "statistic": pl.String,
              "value": pl.Float64, "rest_value": pl.Float64, "test_statistic": pl.Float64, "p": pl.Float64,
              "effect": pl.String, "effect_size": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema)
    p_adj = adjust(frame["p"].to_numpy(), correction) if frame.height else np.array([])
    effect_labels = [effect_label(v, e) if v == v else None for v, e in zip(frame["effect_size"], frame["effect"])]
    at_least = LABELS.index(threshold)
    big = np.array([lab is not None and LABELS.index(lab) >= at_least for lab in effect_labels], dtype=bool)
    return frame.with_columns(
        segment=labels.gather(frame["segment"]),
        p_adjusted=pl.Series(p_adj, dtype=pl.Float64),
        effect_label=pl.Series(effect_labels, dtype=pl.String),
        standout=pl.Series((p_adj <= alpha) & big, dtype=pl.Boolean),
    ).with_columns(pl.col("value", "rest_value", "effect_size").fill_nan(None)).select("outcome", "kind", "segment", "n", "statistic", "value", "rest_value", "effect", "effect_size",
             "effect_label", "test_statistic", "p", "p_adjusted", "standout")


def _statistic(kind: str, numeric_test: str) -> str:
    if kind == "binary":
        return "rate"
    if kind == "categorical":
        return "shares"
    return "median" if numeric_test == "kruskal" else "mean"


def _one(s: CountStats | NumericStats, kind: str, numeric_test: str, present: np.ndarray):
    g = np.flatnonzero(present)

    if isinstance(s, CountStats):
        rest_counts = s.counts.sum(axis=0)[None, :] - s.counts[g]
        both = np.vstack([s.counts[g], rest_counts])
        stat, p, _ = pairwise(CountStats(both), np.arange(g.size), g.size + np.arange(g.size))
        rates, rest_rates = s.rates()[g, -1], rest_counts[:, -1] / np.maximum(rest_counts.sum(axis=1), 1)
        n, m = s.n[g].astype(float), rest_counts.sum(axis=1).astype(float)
        if kind == "binary":
            size = 2 * np.arcsin(np.sqrt(rates)) - 2 * np.arcsin(np.sqrt(rest_rates))
            return zip(g, rates, rest_rates, stat, p, ["cohens_h"] * g.size, size)
        size = np.sqrt(stat / (n + m))
        nan = np.full(g.size, np.nan)
        return zip(g, nan, nan, stat, p, ["cohens_w"] * g.size, size)
    if numeric_test == "kruskal":
        return _mann_whitney(s, g)
    # Segment against the pooled rest (Chan et al. 1979), then the same t test as the pairs.
    total_n = np.float64(s.n.sum())
    ok = s.n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = np.sum(s.n[ok] * s.mean[ok]) / total_n
    ss_total = np.sum(s.m2[ok]) + np.sum(s.n[ok] * (s.mean[ok] - grand) ** 2)
    n = s.n[g].astype(float)
    m = total_n - n
    with np.errstate(invalid="ignore", divide="ignore"):
        rest_mean = (grand * total_n - n * s.mean[g]) / m
        rest_m2 = ss_total - (s.m2[g] + n * (s.mean[g] - grand) ** 2) - m * (rest_mean - grand) ** 2
    both = NumericStats(n=np.concatenate([n, m]).astype(np.int64), mean=np.concatenate([s.mean[g], rest_mean]),
                        m2=np.maximum(np.concatenate([s.m2[g], rest_m2]), 0.0), rank_sum=np.zeros(2 * g.size),
                        median=np.full(2 * g.size, np.nan), total=int(total_n), tie_term=0.0)
    stat, p, _ = pairwise(both, np.arange(g.size), g.size + np.arange(g.size), numeric_test)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt((both.m2[:g.size] + both.m2[g.size:]) / (total_n - 2))
        size = (s.mean[g] - rest_mean) / pooled
    return zip(g, s.mean[g], rest_mean, stat, p, ["cohens_d"] * g.size, size)


def _mann_whitney(s: NumericStats, g: np.ndarray):
    from scipy.special import ndtr

    big_n = np.float64(s.total)  # numpy scalars: one or two rows give NaN, not ZeroDivisionError
    n = s.n[g].astype(float)
    m = big_n - n
    u = s.rank_sum[g] - n * (n + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        var = n * m / 12 * ((big_n + 1) - s.tie_term / (big_n * (big_n - 1)))
        z = (u - n * m / 2) / np.sqrt(var)
        delta = 2 * u / (n * m) - 1
    p = np.where(m > 0, 2 * ndtr(-np.abs(z)), np.nan)
    # The median of the rest is not in the summaries; the Mann-Whitney effect speaks for itself.
    return zip(g, s.median[g], np.full(g.size, np.nan), z, p, ["cliffs_delta"] * g.size, delta)




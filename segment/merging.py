"""The merge map: which segments to combine, CHAID-style, and why.

Two passes over the segments, each merge pooling the two segments'
summaries (:mod:`segment.groupstats`) without going back to the rows:

1. *Too small*: while a segment has fewer than ``min_size`` rows or less
   than ``min_share`` of them, the smallest such segment joins its nearest
   neighbour, the segment it differs from least (largest pair p-value).
2. *Indistinguishable* (the merging step of CHAID, Kass 1980): find the pair
   of segments that differs least on all outcomes and merge it while its
   adjusted p-value is above ``alpha``; repeat.

A pair's p-value over several outcomes is the smallest of its per-outcome
pairwise p-values, times the number of outcomes (Bonferroni: the pair
"differs" if any outcome separates it). The merge decision multiplies that by
the number of pairs compared at that step, a Bonferroni adjustment for
having picked the least different pair out of many, in the spirit of the
Bonferroni multipliers CHAID applies to merged categories. Merging stops at
the first pair that still differs after this adjustment.

A merged group keeps the label of its largest original segment, so the map
(``segment -> merged_segment``) can relabel the data with a join.

Examples
--------
>>> import numpy as np, polars as pl
>>> from segment.groupstats import CountStats
>>> stats = [CountStats(np.array([[400, 100], [410, 90], [100, 400], [5, 5]]))]
>>> result = merge_map(stats, np.array([500, 500, 500, 10]), pl.Series(["a", "a2", "b", "tiny"]),
...                    alpha=0.05, min_size=30, min_share=0.01)
>>> result.table.select("segment", "merged_segment", "action").rows()
[('a', 'a', 'keep'), ('a2', 'a', 'merge'), ('b', 'b', 'keep'), ('tiny', 'a', 'merge')]
>>> [(s["reason"], s["merged"], s["into"]) for s in result.steps]
[('small', ['tiny'], ['a']), ('similar', ['a2'], ['a', 'tiny'])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from segment.groupstats import CountStats, NumericStats
from segment.stattests import pairwise

Progress = Callable[[str, int, int | None], None]


@dataclass
class MergeResult:
    """The map (one row per original segment) and the merge steps in order."""

    table: pl.DataFrame
    steps: list[dict] = field(default_factory=list)
    small: list[int] = field(default_factory=list)  # codes of segments below min size / share

    @property
    def suggested(self) -> bool:
        return bool(self.steps)


class _Groups:
    """Current groups of segments and the pair p-value matrix between them."""

    def __init__(self, stats: Sequence[CountStats | NumericStats], sizes: np.ndarray, numeric_test: str):
        self.stats = [s.copy() for s in stats]
        self.numeric_test = numeric_test
        self.size = sizes.astype(np.int64).copy()
        k = sizes.size
        self.members = [[g] for g in range(k)]
        self.active = np.ones(k, dtype=bool)
        # Unadjusted-for-pairs p of each pair (outcome Bonferroni only, not capped
        # at 1 so that ties at 1 still rank); -inf marks the diagonal and merged-away groups.
        self.p = np.full((k, k), -np.inf)
        i, j = np.triu_indices(k, 1)
        self.p[i, j] = self.p[j, i] = self._pair_p(i, j)

    def _pair_p(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        best = np.full(i.size, np.nan)
        for s in self.stats:
            _, p, _ = pairwise(s, i, j, self.numeric_test)
            best = np.fmin(best, p)
        # No outcome could compare the pair: no evidence that it differs.
        return np.where(np.isnan(best), 1.0, best) * len(self.stats)

    def merge(self, into: int, other: int) -> None:
        for s in self.stats:
            s.merge(into, other)
        self.members[into] += self.members[other]
        self.members[other] = []
        self.size[into] += self.size[other]
        self.size[other] = 0
        self.active[other] = False
        self.p[other, :] = self.p[:, other] = -np.inf
        rest = np.flatnonzero(self.active)
        rest = rest[rest != into]
        if rest.size:
            self.p[into, rest] = self.p[rest, into] = self._pair_p(np.full(rest.size, into), rest)


def merge_map(stats: Sequence[CountStats | NumericStats], sizes: np.ndarray, labels: pl.Series, *,
              alpha: float = 0.05, min_size: int = 30, min_share: float = 0.01,
              numeric_test: str = "kruskal", progress: Progress | None = None) -> MergeResult:
    """Suggest merges of too-small and indistinguishable segments (see module docstring).

    Parameters
    ----------
    stats
        One summary per outcome, over segment codes ``0..k-1``.
    sizes
        Rows per segment (all rows with a segment, whatever the outcomes).
    labels
        Segment label of each code.
    """
    groups = _Groups(stats, sizes, numeric_test)
    total = int(sizes.sum())
    small = [g for g in range(sizes.size) if _is_small(sizes[g], total, min_size, min_share)]
    label_list = labels.to_list()
    steps: list[dict] = []
    sides: list[tuple[set[int], set[int]]] = []

    def record(reason: str, a: int, b: int, p_adjusted: float) -> None:
        steps.append({"step": len(steps) + 1, "reason": reason,
                      "merged": [label_list[g] for g in groups.members[a]],
                      "into": [label_list[g] for g in groups.members[b]],
                      "merged_n": int(groups.size[a]), "into_n": int(groups.size[b]),
                      "p_adjusted": float(min(p_adjusted, 1.0))})
        sides.append((set(groups.members[a]), set(groups.members[b])))

    while groups.active.sum() > 1:
        act = np.flatnonzero(groups.active)
        tiny = [g for g in act if _is_small(groups.size[g], total, min_size, min_share)]
        if not tiny:
            break
        g = min(tiny, key=lambda x: (groups.size[x], x))
        others = act[act != g]
        # Nearest: least different; among equals the larger group.
        order = np.lexsort((others, -groups.size[others], -groups.p[g, others]))
        near = int(others[order[0]])
        record("small", g, near, groups.p[g, near])
        _merge(groups, g, near)
        if progress:
            progress("merging small segments", len(steps), None)

    while groups.active.sum() > 1:
        n_active = int(groups.active.sum())
        pairs = n_active * (n_active - 1) // 2
        flat = int(np.argmax(groups.p))
        a, b = divmod(flat, groups.p.shape[0])
        adjusted = groups.p[a, b] * pairs
        if adjusted <= alpha:
            break
        # The smaller group is named as the one merged into the larger one.
        if (groups.size[a], -a) > (groups.size[b], -b):
            a, b = b, a
        record("similar", a, b, adjusted)
        _merge(groups, a, b)
        if progress:
            progress("merging similar segments", len(steps), None)

    table = _table(groups, sizes, labels, small, steps, sides, min_size, min_share, alpha)
    return MergeResult(table, steps, small)


def _merge(groups: _Groups, a: int, b: int) -> None:
    # Keep the larger group's code so that later steps read naturally.
    into, other = (b, a) if (groups.size[b], -b) >= (groups.size[a], -a) else (a, b)
    groups.merge(into, other)


def _is_small(n: int, total: int, min_size: int, min_share: float) -> bool:
    return n < min_size or n < min_share * total


def _table(groups: _Groups, sizes: np.ndarray, labels: pl.Series, small: list[int], steps: list[dict],
           sides: list[tuple[set[int], set[int]]], min_size: int, min_share: float,
           alpha: float) -> pl.DataFrame:
    k = sizes.size
    label_list = labels.to_list()
    carrier = np.arange(k)
    for g in np.flatnonzero(groups.active):
        members = groups.members[g]
        carrier[members] = max(members, key=lambda m: (sizes[m], -m))
    total = int(sizes.sum())
    reasons, actions = [], []
    for g in range(k):
        head = int(carrier[g])
        if head == g:
            mates = [label_list[m] for m in range(k) if carrier[m] == g and m != g]
            actions.append("keep")
            reasons.append("kept" + (f"; absorbs {', '.join(map(repr, mates))}" if mates else ""))
            continue
        actions.append("merge")
        if g in small:
            reasons.append(f"too small ({int(sizes[g]):,} rows, {sizes[g] / total:.1%}; minimum {min_size:,} "
                           f"rows and {min_share:.1%}): merge into {label_list[head]!r}")
            continue
        # The step that put this segment and its new head in one group.
        joined = next(st for st, (a, b) in zip(steps, sides, strict=True)
                      if (g in a and head in b) or (g in b and head in a))
        reasons.append(f"not distinguishable from {label_list[head]!r} on any outcome "
                       f"(adjusted p {joined['p_adjusted']:.3g} > alpha {alpha:g})")
    return pl.DataFrame({
        "segment": labels,
        "merged_segment": labels.gather(carrier),
        "n": pl.Series(sizes.astype(np.int64)),
        "share": pl.Series(sizes / total),
        "small": pl.Series([g in small for g in range(k)]),
        "action": pl.Series(actions),
        "reason": pl.Series(reasons),
    })

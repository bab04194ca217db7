"""The merge map: which segments to combine, and why.

Two passes over the segments:

1. *Too small*: while a group has fewer than ``min_size`` rows or less than
   ``min_share`` of them, the smallest such group joins its nearest
   neighbour, the group it differs from least (largest p-value). Joining a
   group that holds a segment big enough on its own folds the small one into
   that segment; small segments that join each other stay separate segments
   inside their group.
2. *Indistinguishable*: merge the pair of groups that differs least while
   it cannot be told apart; stop at the first pair that still differs.

Both passes obey one rule shared with the post-hoc pairs (``--pairs``): two
groups are never merged when a segment of one is *kept apart* from a
segment of the other (``apart[a, b]``, computed by the caller from the
pairs table: significant there, or significant before the correction with
at least a small effect). So one run can never call two segments different
and merge them. The label ``-1`` (hdbscan's noise) is kept apart from
everything; with ``order`` (ordered tiers), only neighbouring levels merge,
as CHAID does for an ordinal predictor.

``rule="pairs"`` (default): whether two groups differ is tested through the
segments inside them (:mod:`segment.validate._homogeneity`): the test that
all of them are alike, which for two single segments is the pairwise test.
Comparing the pooled groups instead would be biased: merging sorts similar
segments together by their noise, and pooled groups built that way look
different when nothing is. A pair's p-value is the smallest over the
outcomes both groups have values on, with two Bonferroni multipliers: the
number of those outcomes and, for the merge decision, the number of
candidate pairs at that step (the least different pair was picked out of all
of them).

``rule="chaid"``: Kass's (1980) merging step: the two groups are pooled and
merged while the least different pair's unadjusted p-value is above
``alpha`` (alpha-merge), with no multiplier.

A pair with no outcome in common is not compared: nothing says whether it
differs, so it is never merged as indistinguishable (only a too-small group
may still be folded into it, when it has no other neighbour).
Computations are in logarithms so that tiny p-values keep their order.

A merged group keeps the label of its largest original segment, so the map
(``segment -> merged_segment``) relabels the data with a join.

Examples
--------
>>> import numpy as np, polars as pl
>>> from segment.stats.groupstats import CountStats
>>> stats = [CountStats(np.array([[400, 100], [410, 90], [100, 400], [5, 5]]))]
>>> result = merge_map(stats, np.array([500, 500, 500, 10]), pl.Series(["a", "a2", "b", "tiny"]),
...                    alpha=0.05, min_size=30, min_share=0.01)
>>> result.table.select("segment", "merged_segment", "action").rows()
[('a', 'a', 'keep'), ('a2', 'a', 'merge'), ('b', 'b', 'keep'), ('tiny', 'a', 'merge')]
>>> [(s["reason"], s["merged"], s["into"]) for s in result.steps]
[('small', ['tiny'], ['a']), ('similar', ['a2'], ['a', 'tiny'])]
>>> apart = np.zeros((4, 4), dtype=bool); apart[0, 1] = apart[1, 0] = True
>>> merge_map(stats, np.array([500, 500, 500, 10]), pl.Series(["a", "a2", "b", "tiny"]),
...           apart=apart).table["action"].to_list()
['keep', 'keep', 'keep', 'merge']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from segment.stats.groupstats import CountStats, NumericStats
from segment.stats.pvalue import format_p
from segment.validate._homogeneity import homogeneity_tests

Progress = Callable[[str, int, int | None], None]
#: ``--merge-rule`` values.
RULES = ("pairs", "chaid")
#: log of a p-value of 0: finite, below every other comparable pair, above pairs not compared (-inf).
_LOG_ZERO = float(np.finfo(float).min)


@dataclass
class MergeResult:
    """The map (one row per original segment) and the merge steps in order."""

    table: pl.DataFrame
    steps: list[dict] = field(default_factory=list)
    small: list[int] = field(default_factory=list)  # codes of segments below min size / share
    stuck: list[int] = field(default_factory=list)  # small segments kept apart from every neighbour

    @property
    def suggested(self) -> bool:
        return bool(self.steps)


def size_floor(sizes: np.ndarray, min_size: int, min_share: float) -> float:
    """Rows below which a segment is too small to act on."""
    return max(float(min_size), min_share * float(sizes.sum()))


class _Groups:
    """Current groups of segments and the log p-values between them.

    ``raw[a, b]`` is log(min over outcomes of the homogeneity p x outcomes),
    over the outcomes both groups have values on; ``-inf`` marks the
    diagonal, groups merged away and pairs with no such outcome (nothing
    compares them). A p-value of 0 is kept finite (:data:`_LOG_ZERO`), so
    that every comparable pair ranks above those. ``comparable`` counts the
    pairs of active groups that can be compared.
    """

    def __init__(self, stats: Sequence[CountStats | NumericStats], sizes: np.ndarray, numeric_test: str,
                 apart: np.ndarray | None = None, order: np.ndarray | None = None, rule: str = "pairs"):
        self.tests = homogeneity_tests(stats, numeric_test)
        self.rule = rule
        k0 = sizes.size
        self.apart = np.zeros((k0, k0), dtype=bool) if apart is None else apart.astype(bool).copy()
        # Ordered tiers: each group is a run of levels lo..hi; only neighbouring runs may merge.
        self.lo = None if order is None else np.asarray(order, dtype=np.int64).copy()
        self.hi = None if order is None else np.asarray(order, dtype=np.int64).copy()
        self.size = sizes.astype(np.int64).copy()
        self.atom_size = sizes.astype(np.int64).copy()
        k = sizes.size
        self.members = [[g] for g in range(k)]
        self.atoms = [[g] for g in range(k)]
        self.active = np.ones(k, dtype=bool)
        self.raw = np.full((k, k), -np.inf)
        i, j = np.triu_indices(k, 1)
        self.raw[i, j] = self.raw[j, i] = self._log_p(i, j)
        self.comparable = int(np.isfinite(self.raw[i, j]).sum())
        # Each row's best pair, so that finding the least different pair costs O(k), not O(k^2).
        self.row_arg = np.argmax(self.raw, axis=1)
        self.row_max = self.raw[np.arange(k), self.row_arg]

    def _log_p(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        best = np.ones(i.size)
        compared = np.zeros(i.size, dtype=np.int64)
        for t in self.tests:
            shared = t.shared(i, j)
            # Both have values but too few for the test (NaN): no evidence that they differ.
            best = np.where(shared, np.fmin(best, t.p(i, j)), best)
            compared += shared
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(best), _LOG_ZERO)
        if self.rule == "pairs":
            log_p = log_p + np.log(np.maximum(compared, 1))
        # No outcome both have values on: nothing says whether they differ, so they are not compared.
        # Kept apart (or not neighbours, for ordered tiers): never a candidate.
        return np.where((compared > 0) & self.allowed(i, j), log_p, -np.inf)

    def allowed(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether groups ``i[t]`` and ``j[t]`` may merge at all: not kept apart, neighbours if ordered."""
        ok = ~self.apart[i, j]
        if self.lo is not None:
            ok &= (self.hi[i] + 1 == self.lo[j]) | (self.hi[j] + 1 == self.lo[i])
        return ok

    def shared_outcomes(self, a: int, b: int) -> list[int]:
        """The outcomes (indices) both groups have values on: those that compare them."""
        pair = np.array([a]), np.array([b])
        return [t for t, test in enumerate(self.tests) if test.shared(*pair)[0]]

    def best_pair(self) -> tuple[int, int]:
        """The least different pair (first in row order among equals)."""
        a = int(np.argmax(self.row_max))
        return a, int(self.row_arg[a])

    def nearest(self, g: int) -> int | None:
        """The group *g* differs least from; among equals the larger, then the first.

        None when *g* may merge with no group (kept apart from all, or noise).
        """
        others = np.flatnonzero(self.active)
        others = others[others != g]
        others = others[self.allowed(np.full(others.size, g), others)]
        if others.size == 0:
            return None
        order = np.lexsort((others, -self.size[others], -self.raw[g, others]))
        return int(others[order[0]])

    def merge(self, into: int, other: int, *, fold: bool) -> None:
        """Group *other* joins *into*; with *fold* its segments are pooled into *into*'s largest."""
        before = np.flatnonzero(self.active)
        self.comparable -= int(np.isfinite(self.raw[into, before]).sum() + np.isfinite(self.raw[other, before]).sum()
                               - np.isfinite(self.raw[into, other]))
        if fold:
            atom = max(self.atoms[into], key=lambda a: (self.atom_size[a], -a))  # a big-enough segment
            self.atom_size[atom] += self.size[other]
            for t in self.tests:
                t.absorb(into, other, atom)
        else:
            self.atoms[into] += self.atoms[other]
            for t in self.tests:
                t.add(into, other)
        self.atoms[other] = []
        self.members[into] += self.members[other]
        self.members[other] = []
        self.size[into] += self.size[other]
        self.size[other] = 0
        self.active[other] = False
        self.apart[into] |= self.apart[other]
        self.apart[:, into] = self.apart[into]
        if self.lo is not None:
            self.lo[into], self.hi[into] = min(self.lo[into], self.lo[other]), max(self.hi[into], self.hi[other])
        self.raw[other, :] = self.raw[:, other] = -np.inf
        rest = np.flatnonzero(self.active)
        rest = rest[rest != into]
        if rest.size:
            self.raw[into, rest] = self.raw[rest, into] = self._log_p(np.full(rest.size, into), rest)
            self.comparable += int(np.isfinite(self.raw[into, rest]).sum())
        self.row_max[other] = -np.inf
        stale = rest[np.isin(self.row_arg[rest], (into, other))]
        for r in (into, *stale):
            self.row_arg[r] = int(np.argmax(self.raw[r]))
            self.row_max[r] = self.raw[r, self.row_arg[r]]
        col = self.raw[rest, into]
        better = rest[(col > self.row_max[rest]) | ((col == self.row_max[rest]) & (into < self.row_arg[rest]))]
        self.row_arg[better], self.row_max[better] = into, self.raw[better, into]


def merge_map(stats: Sequence[CountStats | NumericStats], sizes: np.ndarray, labels: pl.Series, *,
              alpha: float = 0.05, min_size: int = 30, min_share: float = 0.01,
              numeric_test: str = "kruskal", outcome_names: Sequence[str] | None = None,
              apart: np.ndarray | None = None, order: np.ndarray | None = None, rule: str = "pairs",
              noise: Sequence[int] = (), explain: Callable[[int, int], str] | None = None,
              progress: Progress | None = None) -> MergeResult:
    """Suggest merges of too-small and indistinguishable segments (see module docstring).

    Parameters
    ----------
    stats
        One summary per outcome, over segment codes ``0..k-1``.
    sizes
        Rows per segment (all rows with a segment, whatever the outcomes).
    labels
        Segment label of each code.
    outcome_names
        Names of the outcomes of *stats*, for the steps and reasons
        (default ``outcome 1``, ``outcome 2`` ...).
    apart
        ``k x k`` booleans: segments that must never end in one group.
    order
        Position of each segment among ordered tiers (None: unordered).
    rule
        ``pairs`` or ``chaid`` (see module docstring).
    noise
        Codes of noise groups: never merged, never too small.
    explain
        ``explain(segment, head)``: words on how the two differ, for the reason.
    """
    apart = np.zeros((sizes.size, sizes.size), dtype=bool) if apart is None else apart.astype(bool).copy()
    for g in noise:
        apart[g, :] = apart[:, g] = True
    np.fill_diagonal(apart, False)
    groups = _Groups(stats, sizes, numeric_test, apart, order, rule)
    outcomes = list(outcome_names) if outcome_names is not None else [f"outcome {t + 1}" for t in range(len(stats))]
    total = int(sizes.sum())
    floor = size_floor(sizes, min_size, min_share)  # a group below this is too small
    is_noise = np.isin(np.arange(sizes.size), np.asarray(noise, dtype=np.int64))
    small = [int(g) for g in np.flatnonzero((sizes < floor) & ~is_noise)]
    stuck: list[int] = []
    names = np.array(labels.to_list(), dtype=object)
    steps: list[dict] = []
    sides: list[tuple[np.ndarray, np.ndarray]] = []

    def record(reason: str, a: int, b: int, log_p: float) -> None:
        merged, into = np.array(groups.members[a]), np.array(groups.members[b])
        steps.append({"step": len(steps) + 1, "reason": reason, "merged": names[merged].tolist(),
                      "into": names[into].tolist(), "merged_n": int(groups.size[a]), "into_n": int(groups.size[b]),
                      "p_adjusted": float(min(math.exp(min(log_p, 0.0)), 1.0)) if log_p > -math.inf else math.nan,
                      "outcomes": [outcomes[t] for t in groups.shared_outcomes(a, b)]})
        sides.append((merged, into))

    waiting = groups.active & ~is_noise
    while groups.active.sum() > 1:
        tiny = np.flatnonzero(waiting & (groups.size < floor))
        if tiny.size == 0:
            break
        g = int(tiny[np.lexsort((tiny, groups.size[tiny]))[0]])
        near = groups.nearest(g)
        if near is None:  # kept apart from every other group: it stays, flagged small
            waiting[g] = False
            stuck += [m for m in groups.members[g] if m in small]
            continue
        record("small", g, near, float(groups.raw[g, near]))
        # Fold only into a segment that is big enough on its own; pooled into a
        # group of small ones, segments sorted by their noise would look different.
        _merge(groups, g, near, fold=rule == "chaid" or bool((sizes[groups.atoms[near]] >= floor).any()))
        waiting &= groups.active
        if progress:
            progress("merging small segments", len(steps), None)

    while groups.comparable:
        a, b = groups.best_pair()
        log_adjusted = groups.raw[a, b] + (math.log(groups.comparable) if rule == "pairs" else 0.0)
        if log_adjusted <= math.log(alpha):
            break
        # The smaller group is named as the one merged into the larger one.
        if (groups.size[a], -a) > (groups.size[b], -b):
            a, b = b, a
        record("similar", a, b, log_adjusted)
        _merge(groups, a, b, fold=rule == "chaid")
        if progress:
            progress("merging similar segments", len(steps), None)

    table = _table(groups, sizes, names, labels, small, steps, sides, min_size, min_share, alpha, len(outcomes),
                   noise=set(int(g) for g in noise), stuck=set(stuck), explain=explain)
    return MergeResult(table, steps, small, stuck)


def _merge(groups: _Groups, a: int, b: int, *, fold: bool) -> None:
    # Keep the larger group's code so that later steps read naturally. A folded
    # group is always the smaller one: it is below the size floor, its partner
    # above (with CHAID's pooling every group is one pooled segment).
    if (groups.size[b], -b) >= (groups.size[a], -a):
        groups.merge(b, a, fold=fold)
    else:
        groups.merge(a, b, fold=fold and groups.rule == "chaid")


def _table(groups: _Groups, sizes: np.ndarray, names: np.ndarray, labels: pl.Series, small: list[int],
           steps: list[dict], sides: list[tuple[np.ndarray, np.ndarray]], min_size: int, min_share: float,
           alpha: float, n_outcomes: int, *, noise: set[int], stuck: set[int],
           explain: Callable[[int, int], str] | None) -> pl.DataFrame:
    k = sizes.size
    carrier = np.arange(k)
    for g in np.flatnonzero(groups.active):
        members = groups.members[g]
        carrier[members] = max(members, key=lambda m: (sizes[m], -m))
    total = int(sizes.sum())
    small_set = set(small)
    # For each segment, the step that put it in one group with its final head.
    joined = np.full(k, -1)
    for t, (a, b) in enumerate(sides):
        for mine, theirs in ((a, b), (b, a)):
            hit = mine[(joined[mine] < 0) & np.isin(carrier[mine], theirs)]
            joined[hit] = t
    reasons, actions = [], []
    for g in range(k):
        head = int(carrier[g])
        if g in noise:
            actions.append("noise")
            reasons.append(f"noise ({int(sizes[g]):,} rows in no cluster): reported as its own group, never merged")
            continue
        if g in stuck and head == g:
            actions.append("keep")
            reasons.append(f"too small ({int(sizes[g]):,} rows, {sizes[g] / total:.1%}; minimum {min_size:,} rows and "
                           f"{min_share:.1%}), but kept apart from every segment it could join: act on it with care")
            continue
        if head == g:
            mates = np.flatnonzero(carrier == g)
            mates = mates[mates != g]
            shown = ", ".join(repr(x) for x in names[mates[:10]])
            more = f" and {mates.size - 10} more" if mates.size > 10 else ""
            actions.append("keep")
            reasons.append("kept" + (f"; absorbs {shown}{more}" if mates.size else ""))
            continue
        actions.append("merge")
        how = f"; {explain(g, head)}" if explain else ""
        if g in small_set:
            reasons.append(f"too small ({int(sizes[g]):,} rows, {sizes[g] / total:.1%}; minimum {min_size:,} "
                           f"rows and {min_share:.1%}): merge into {names[head]!r}{how}")
            continue
        step = steps[joined[g]]
        reasons.append(f"not distinguishable from {names[head]!r} {_on(step['outcomes'], n_outcomes)} "
                       f"(adjusted p {format_p(step['p_adjusted'])} > alpha {alpha:g}){how}")
    return pl.DataFrame({
        "segment": labels,
        "merged_segment": labels.gather(carrier),
        "n": pl.Series(sizes.astype(np.int64)),
        "share": pl.Series(sizes / total),
        "small": pl.Series([g in small_set for g in range(k)]),
        "action": pl.Series(actions),
        "reason": pl.Series(reasons),
    })


def _on(compared: list[str], n_outcomes: int) -> str:
    """'on any outcome', or which outcomes, when the pair had values of only some."""
    if len(compared) == n_outcomes:
        return "on any outcome"
    names = ", ".join(repr(name) for name in compared)
    if len(compared) == 1:
        return f"on {names}, the only outcome with values in both"
    return f"on {names}, the outcomes with values in both"

"""Frequent antecedents of one consequent: only what rules X -> target need.

A rule X -> C has support ``n(X and C) / n``, so the itemsets that matter
are those frequent *among customers with C*. Mining them there, instead of
mining every itemset of the whole table and keeping the rules that end in
C, is what makes this fast: the search runs over the target rows only, with
the minimum count applied there, and only items that reach it take part.

Two engines find the same itemsets:

``bitset`` (default)
    Depth-first search over vertical bit vectors (Eclat, Zaki 2000): an
    itemset's customers are the AND of its items' bit vectors, its count a
    popcount, and each step extends one prefix by all candidate items at
    once with numpy. Exact integer counts, no sampling.
``mlxtend``
    ``mlxtend.frequent_patterns.fpgrowth`` on the target rows (a boolean
    pandas frame of the kept items, built only here).

Either way, the antecedent count ``n(X)`` is the rule count plus the count
of X among the other rows, taken from the other rows' bit vectors.

Examples
--------
>>> import numpy as np
>>> from segment.rules._bits import pack
>>> pos = np.vstack([pack([1, 1, 1, 0]), pack([1, 1, 0, 1])])  # 2 items x 4 target rows
>>> neg = np.vstack([pack([1, 0]), pack([1, 1])])              # the same items, 2 other rows
>>> found = mine(pos, neg, n_main=4, min_count=2, max_len=2)
>>> [[s, int(r), int(a)] for s, r, a in zip(found.itemsets.tolist(), found.n_rule, found.n_antecedent)]
[[[0, -1], 3, 4], [[0, 1], 2, 3], [[1, -1], 3, 5]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from segment.rules._bits import popcount, unpack

Progress = Callable[[str, int, int | None], None]
ENGINES = ("bitset", "mlxtend")


@dataclass
class Found:
    """Frequent antecedents of one consequent.

    ``itemsets`` is ``(rules, max_len)`` of sorted item indices padded with
    -1; ``n_rule`` counts customers with X and the consequent,
    ``n_antecedent`` customers with X.
    """

    itemsets: np.ndarray
    n_rule: np.ndarray
    n_antecedent: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return (self.itemsets >= 0).sum(axis=1)


def mine(main: np.ndarray, other: np.ndarray, *, n_main: int, min_count: int, max_len: int,
         engine: str = "bitset", progress: Progress | None = None, task: str = "mining") -> Found:
    """Itemsets of up to *max_len* items held by at least *min_count* rows of *main*.

    Parameters
    ----------
    main, other
        Packed bit vectors ``(items, words)`` over the consequent's rows and
        over the remaining rows.
    n_main
        Number of rows in *main* (bits beyond it are padding).
    """
    if engine == "mlxtend":
        # fpgrowth has no progress hook: report its start and its end.
        if progress is not None:
            progress(task, 0, 1)
        sets, counts = _fpgrowth(main, n_main, min_count, max_len)
        if progress is not None:
            progress(task, 1, 1)
    else:
        sets, counts = _eclat(main, min_count, max_len, progress, task)
    width = max(max_len, 1)
    itemsets = np.full((len(sets), width), -1, dtype=np.int32)
    for row, s in enumerate(sets):
        itemsets[row, : len(s)] = s
    n_rule = np.asarray(counts, dtype=np.int64)
    n_other = _counts_of(itemsets, other)
    found = Found(itemsets, n_rule, n_rule + n_other)
    order = np.lexsort(itemsets.T[::-1])
    return Found(found.itemsets[order], found.n_rule[order], found.n_antecedent[order])


def _eclat(main: np.ndarray, min_count: int, max_len: int, progress: Progress | None,
           task: str) -> tuple[list[tuple[int, ...]], list[int]]:
    counts = popcount(main)
    frequent = np.flatnonzero(counts >= min_count)
    sets: list[tuple[int, ...]] = []
    support: list[int] = []

    def extend(prefix: tuple[int, ...], bits: np.ndarray, candidates: np.ndarray) -> None:
        if candidates.size == 0:
            return
        joined = main[candidates] & bits
        c = popcount(joined)
        ok = c >= min_count
        if not ok.any():
            return
        kept, joined, c = candidates[ok], joined[ok], c[ok]
        for k, item in enumerate(kept.tolist()):
            sets.append((*prefix, item))
            support.append(int(c[k]))
        if len(prefix) + 2 <= max_len:
            for k, item in enumerate(kept.tolist()):
                extend((*prefix, item), joined[k], kept[k + 1:])

    for k, item in enumerate(frequent.tolist()):
        sets.append((item,))
        support.append(int(counts[item]))
        if max_len > 1:
            extend((item,), main[item], frequent[k + 1:])
        if progress is not None:
            progress(task, k + 1, int(frequent.size))
    return sets, support


def _fpgrowth(main: np.ndarray, n_main: int, min_count: int,
              max_len: int) -> tuple[list[tuple[int, ...]], list[int]]:
    import pandas as pd
    from mlxtend.frequent_patterns import fpgrowth

    counts = popcount(main)
    keep = np.flatnonzero(counts >= min_count)
    if keep.size == 0:
        return [], []
    onehot = pd.DataFrame(unpack(main[keep], n_main), columns=range(keep.size))
    # Half a customer below the count: mlxtend's ceil(min_support * rows) then
    # lands on min_count exactly, whatever the rounding of the fraction.
    found = fpgrowth(onehot, min_support=(min_count - 0.5) / n_main, max_len=max_len)
    sets = [tuple(sorted(int(keep[i]) for i in s)) for s in found["itemsets"]]
    support = [int(round(s * n_main)) for s in found["support"]]
    return sets, support


def _counts_of(itemsets: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Rows of *bits* holding every item of each itemset."""
    out = np.zeros(itemsets.shape[0], dtype=np.int64)
    if bits.shape[1] == 0:
        return out
    # Bounded chunks: a full (rules x words) block could take gigabytes.
    step = max(1, (1 << 23) // bits.shape[1])
    lengths = (itemsets >= 0).sum(axis=1)
    for length in range(1, itemsets.shape[1] + 1):
        rows_all = np.flatnonzero(lengths == length)
        for start in range(0, rows_all.size, step):
            rows = rows_all[start:start + step]
            acc = bits[itemsets[rows, 0]]
            for pos in range(1, length):
                acc &= bits[itemsets[rows, pos]]
            out[rows] = popcount(acc)
    return out

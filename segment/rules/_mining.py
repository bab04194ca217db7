"""The fixed family of antecedents, and the rules mined from it.

**The family.** Every antecedent X of up to ``max_len`` items held by at
least ``min_count`` customers, counted over *all* customers: whether X is
in the family does not depend on who has the target, so the multiple-testing
correction is over a family chosen before the outcome is looked at (on small
data, a family of "rules with enough churners" lets chance pick what gets
tested). The family's size is the number of tests the correction counts.

**The rules.** A member X gives a rule X -> C when at least ``min_count``
customers hold X and C (the usual minimum support). Members that do not
are never reported and count in the correction with p = 1: their test
could only be weaker.

Two engines find the same rules:

``bitset`` (default)
    One depth-first search over vertical bit vectors (Eclat, Zaki 2000):
    an itemset's customers are the AND of its items' bit vectors, its count
    a popcount, and each step extends one prefix by all candidate items at
    once with numpy. Each item's vector holds the target customers' bits
    first, then the others', so one AND gives the family count (all bits)
    and the rule counts (each part). Exact integer counts, no sampling.
``mlxtend``
    ``mlxtend.frequent_patterns.fpgrowth`` on the consequent's rows (a
    boolean pandas frame of the items, built only here); the family is
    counted by the bit-vector search without keeping itemsets.

Examples
--------
>>> import numpy as np
>>> from segment.rules._bits import pack
>>> pos = np.vstack([pack([1, 1, 1, 0]), pack([1, 1, 0, 1])])  # 2 items x 4 target rows
>>> neg = np.vstack([pack([1, 0]), pack([1, 1])])              # the same items, 2 other rows
>>> fam = search(pos, neg, n_pos=4, n_neg=2, min_count=2, max_len=2)
>>> found = fam.rules[0]
>>> [[s, int(r), int(a)] for s, r, a in zip(found.itemsets.tolist(), found.n_rule, found.n_antecedent)]
[[[0, -1], 3, 4], [[0, 1], 2, 3], [[1, -1], 3, 5]]
>>> fam.size, fam.by_length
(3, [2, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from segment.rules._bits import popcount, unpack

Progress = Callable[[str, int, int | None], None]
ENGINES = ("bitset", "mlxtend")
#: Progress is reported in these many steps, weighted by the work each first item starts.
STEPS = 1000


@dataclass
class Found:
    """Rules X -> C of one consequent.

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


@dataclass
class Family:
    """The fixed family: its size (by antecedent length) and the rules mined in it.

    ``rules`` holds one :class:`Found` per consequent asked for: the target
    first, then (with ``negative``) "not target".
    """

    size: int
    by_length: list[int]
    rules: list[Found] = field(default_factory=list)


def search(pos: np.ndarray, neg: np.ndarray, *, n_pos: int, n_neg: int, min_count: int, max_len: int,
           negative: bool = False, engine: str = "bitset", progress: Progress | None = None,
           task: str = "mining") -> Family:
    """The family of antecedents held by *min_count* customers, and its rules.

    Parameters
    ----------
    pos, neg
        Packed bit vectors ``(items, words)`` over the target customers and
        over the others.
    n_pos, n_neg
        Customers in each part (bits beyond them are padding).
    negative
        Also give rules X -> not target.
    """
    wanted = [(pos, neg, n_pos)] + ([(neg, pos, n_neg)] if negative else [])
    if engine == "mlxtend":
        sizes, _ = _eclat(pos, neg, min_count, max_len, (), progress, f"{task}: counting the family")
        found = []
        for main, other, n_main in wanted:
            if progress is not None:  # fpgrowth has no progress hook: its start and its end
                progress(task, 0, 1)
            sets, counts = _fpgrowth(main, n_main, min_count, max_len)
            if progress is not None:
                progress(task, 1, 1)
            n_rule = np.asarray(counts, dtype=np.int64)
            itemsets = _padded(sets, max_len)
            found.append(_sorted(Found(itemsets, n_rule, n_rule + _counts_of(itemsets, other))))
    else:
        sides = (0, 1) if negative else (0,)
        sizes, mined = _eclat(pos, neg, min_count, max_len, sides, progress, task)
        found = []
        for side, (sets, n_rule, n_x) in zip(sides, mined, strict=True):
            found.append(_sorted(Found(_padded(sets, max_len), np.asarray(n_rule, dtype=np.int64),
                                       np.asarray(n_x, dtype=np.int64))))
    return Family(int(sum(sizes)), sizes, found)


def _padded(sets: list[tuple[int, ...]], max_len: int) -> np.ndarray:
    itemsets = np.full((len(sets), max(max_len, 1)), -1, dtype=np.int32)
    for row, s in enumerate(sets):
        itemsets[row, : len(s)] = s
    return itemsets


def _sorted(found: Found) -> Found:
    order = np.lexsort(found.itemsets.T[::-1])
    return Found(found.itemsets[order], found.n_rule[order], found.n_antecedent[order])


def _eclat(pos: np.ndarray, neg: np.ndarray, min_count: int, max_len: int, sides: tuple[int, ...],
           progress: Progress | None, task: str) -> tuple[list[int], list[tuple[list, list, list]]]:
    """Count the family by length; keep the rules of each side in *sides* (0: target, 1: others).

    The search follows the family (count over all customers >= min_count),
    which contains every rule of either side, so one search finds both.
    """
    split = pos.shape[1]
    bits = np.ascontiguousarray(np.hstack([pos, neg]))
    sizes = [0] * max_len
    mined: list[tuple[list, list, list]] = [([], [], []) for _ in sides]

    def record(prefix: tuple[int, ...], items: np.ndarray, joined: np.ndarray, total: np.ndarray) -> None:
        sizes[len(prefix)] += int(items.size)
        if not sides:
            return
        c_pos = popcount(joined[:, :split])
        for k, side in enumerate(sides):
            c = c_pos if side == 0 else total - c_pos
            ok = np.flatnonzero(c >= min_count)
            sets, n_rule, n_x = mined[k]
            sets.extend((*prefix, item) for item in items[ok].tolist())
            n_rule.extend(c[ok].tolist())
            n_x.extend(total[ok].tolist())

    def extend(prefix: tuple[int, ...], prefix_bits: np.ndarray, candidates: np.ndarray) -> None:
        if candidates.size == 0:
            return
        joined = bits[candidates] & prefix_bits
        c = popcount(joined)
        ok = c >= min_count
        if not ok.any():
            return
        kept, joined, c = candidates[ok], joined[ok], c[ok]
        record(prefix, kept, joined, c)
        if len(prefix) + 2 <= max_len:
            for k, item in enumerate(kept.tolist()):
                extend((*prefix, item), joined[k], kept[k + 1:])

    counts = popcount(bits)
    frequent = np.flatnonzero(counts >= min_count)
    record((), frequent, bits[frequent], counts[frequent])
    # The first items start the most work (every later item is a candidate):
    # weight each by the pairs and triples it can start, so progress moves evenly.
    after = np.arange(frequent.size, 0, -1, dtype=np.float64) - 1
    work = np.cumsum(1 + after + (after ** 2 / 2 if max_len > 2 else 0))
    done = np.floor(STEPS * work / work[-1]).astype(int) if work.size else work
    for k, item in enumerate(frequent.tolist()):
        if max_len > 1:
            extend((item,), bits[item], frequent[k + 1:])
        if progress is not None:
            progress(task, int(done[k]), STEPS)
    if progress is not None and not frequent.size:
        progress(task, STEPS, STEPS)
    return sizes, mined


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

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
        sizes, _ = _eclat(pos, neg, n_pos, n_neg, min_count, max_len, (), progress,
                          f"{task}: counting the family")
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
        sizes, mined = _eclat(pos, neg, n_pos, n_neg, min_count, max_len, sides, progress, task)
        found = []
        for side, (sets, n_rule, n_x) in zip(sides, mined, strict=True):
            found.append(_sorted(Found(_padded(sets, max_len), np.asarray(n_rule, dtype=np.int64),
                                       np.asarray(n_x, dtype=np.int64))))
    return Family(int(sum(sizes)), sizes, found)


def _padded(sets: list[tuple[int, ...]], max_len: int) -> np.ndarray:
    """Item indices in ascending order per row, padded with -1."""
    width = max(max_len, 1)
    itemsets = np.full((len(sets), width), np.iinfo(np.int32).max, dtype=np.int32)
    for length in range(1, width + 1):
        rows = [k for k, s in enumerate(sets) if len(s) == length]
        if rows:
            itemsets[rows, :length] = [sets[k] for k in rows]
    itemsets.sort(axis=1)
    itemsets[itemsets == np.iinfo(np.int32).max] = -1
    return itemsets


def _sorted(found: Found) -> Found:
    order = np.lexsort(found.itemsets.T[::-1])
    return Found(found.itemsets[order], found.n_rule[order], found.n_antecedent[order])


def _eclat(pos: np.ndarray, neg: np.ndarray, n_pos: int, n_neg: int, min_count: int, max_len: int,
           sides: tuple[int, ...], progress: Progress | None,
           task: str) -> tuple[list[int], list[tuple[list, list, list]]]:
    """Count the family by length; keep the rules of each side in *sides* (0: target, 1: others).

    The search follows the family (count over all customers >= min_count),
    which contains every rule of either side, so one search finds both.
    Depth first over the customers holding each prefix (Eclat's vertical
    layout, as row indices), with the last two levels at once as a matrix
    product: for the customers holding a prefix P, ``S.T @ S`` over the 0/1
    matrix S of the candidate items counts every ``P + {b}`` (diagonal) and
    ``P + {b, c}``. The family can run to millions of antecedents; BLAS
    counts them far faster than one bit-vector AND per candidate.
    """
    sizes = [0] * max_len
    mined: list[tuple[list, list, list]] = [([], [], []) for _ in sides]

    def record(prefix: tuple[int, ...], items: np.ndarray, total: np.ndarray, c_pos: np.ndarray) -> None:
        """Itemsets ``prefix + (item,)`` with these counts, all in the family."""
        sizes[len(prefix)] += int(items.size)
        for k, side in enumerate(sides):
            c = c_pos if side == 0 else total - c_pos
            ok = np.flatnonzero(c >= min_count)
            sets, n_rule, n_x = mined[k]
            sets.extend((*prefix, item) for item in items[ok].tolist())
            n_rule.extend(c[ok].tolist())
            n_x.extend(total[ok].tolist())

    def record_pairs(prefix: tuple[int, ...], items: np.ndarray, total: np.ndarray, c_pos: np.ndarray) -> None:
        """Itemsets ``prefix + (items[i], items[j])``, i < j, whose count passes."""
        i, j = np.triu_indices(items.size, k=1)
        keep = total[i, j] >= min_count
        i, j = i[keep], j[keep]
        sizes[len(prefix) + 1] += int(i.size)
        for k, side in enumerate(sides):
            c = c_pos[i, j] if side == 0 else total[i, j] - c_pos[i, j]
            ok = np.flatnonzero(c >= min_count)
            sets, n_rule, n_x = mined[k]
            sets.extend((*prefix, a, b) for a, b in zip(items[i[ok]].tolist(), items[j[ok]].tolist(), strict=True))
            n_rule.extend(c[ok].tolist())
            n_x.extend(total[i[ok], j[ok]].tolist())

    counts_pos = popcount(pos)
    counts_all = counts_pos + popcount(neg)
    frequent = np.flatnonzero(counts_all >= min_count)
    # Rarest items first: the first items of the search have the most candidates
    # after them, and fewer customers make their products cheaper (itemsets are
    # put back in item order by the caller).
    frequent = frequent[np.argsort(counts_all[frequent], kind="stable")]
    record((), frequent, counts_all[frequent], counts_pos[frequent])
    if max_len == 1 or frequent.size < 2:
        if progress is not None:
            progress(task, STEPS, STEPS)
        return sizes, mined
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    # One BLAS thread: the products are small, and on a busy machine OpenBLAS's
    # threads spin against each other (75 times slower on 2 shared cores).
    with threadpool_limits(1, user_api="blas"):
        _expand_all(pos, neg, n_pos, n_neg, min_count, max_len, frequent, counts_all, record, record_pairs,
                    progress, task)
    return sizes, mined


def _expand_all(pos: np.ndarray, neg: np.ndarray, n_pos: int, n_neg: int, min_count: int, max_len: int,
                frequent: np.ndarray, counts_all: np.ndarray, record: Callable, record_pairs: Callable,
                progress: Progress | None, task: str) -> None:
    """Every itemset of 2 to *max_len* frequent items, depth first from each item."""
    dense = np.vstack([unpack(pos[frequent], n_pos), unpack(neg[frequent], n_neg)])  # customers x items

    def expand(prefix: tuple[int, ...], rows: np.ndarray, cands: np.ndarray) -> None:
        """Record ``prefix`` extended by the dense columns *cands*, and deeper; *rows* hold *prefix*."""
        if cands.size == 0:
            return
        split = int(np.searchsorted(rows, n_pos))  # target customers come first
        block = dense[np.ix_(rows, cands)]
        total = block.sum(axis=0, dtype=np.int64)
        keep = np.flatnonzero(total >= min_count)
        record(prefix, frequent[cands[keep]], total[keep], block[:split, keep].sum(axis=0, dtype=np.int64))
        if max_len - len(prefix) == 2:
            # Pairs of the candidates that passed: one product over the prefix's customers.
            del block
            total, c_pos = _gram(dense, rows, cands[keep], split)
            record_pairs(prefix, frequent[cands[keep]], total, c_pos)
        elif max_len - len(prefix) > 2:
            for k, col in enumerate(keep.tolist()):
                expand((*prefix, int(frequent[cands[col]])), rows[block[:, col]], cands[keep[k + 1:]])

    # The first items start the most work (every later item is a candidate):
    # weight each by its customers times the pairs it can start, so progress moves evenly.
    later = np.arange(frequent.size, 0, -1, dtype=np.float64) - 1
    work = np.cumsum(counts_all[frequent] * (1 + later) ** (2 if max_len > 2 else 1))
    done = np.floor(STEPS * work / work[-1]).astype(int)
    columns = np.arange(frequent.size)
    for k in range(frequent.size):
        expand((int(frequent[k]),), np.flatnonzero(dense[:, k]), columns[k + 1:])
        if progress is not None:
            progress(task, int(done[k]), STEPS)


def _gram(dense: np.ndarray, rows: np.ndarray, cols: np.ndarray, split: int) -> tuple[np.ndarray, np.ndarray]:
    """Co-occurrence counts of *cols* over *rows* of a 0/1 matrix: all rows, and the first *split*.

    Exact: float32 products sum 0/1 values exactly below 2**24, so blocks
    stay under that many rows and are added up as integers.
    """
    width = max(int(cols.size), 1)
    step = int(min(1 << 20, max(1024, (1 << 23) // width)))
    parts = []
    for part in (rows[:split], rows[split:]):
        acc = np.zeros((cols.size, cols.size), dtype=np.int64)
        for start in range(0, part.size, step):
            block = dense[np.ix_(part[start:start + step], cols)].astype(np.float32)
            acc += np.rint(block.T @ block).astype(np.int64)
        parts.append(acc)
    return parts[0] + parts[1], parts[0]


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

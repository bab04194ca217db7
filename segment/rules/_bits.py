"""Items as packed bit vectors: the one data structure the rule miner works on.

Customers are ordered with the target customers first. Each item is two bit
vectors packed into 64-bit words: one over the target customers (``pos``),
one over the others (``neg``). An itemset's customers are the AND of its
items' vectors and its count is a popcount, so counting needs no pandas
and no per-customer Python loop.

Examples
--------
>>> import numpy as np
>>> words = pack(np.array([1, 0, 1, 1] + [0] * 70, dtype=bool))
>>> words.shape, int(popcount(words))
((2,), 3)
>>> unpack(np.vstack([words]), 4).ravel().tolist()
[True, False, True, True]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from segment.errors import SegmentWarning


def pack(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean vector into 64-bit words (zero-padded)."""
    packed = np.packbits(np.asarray(bits, dtype=bool), bitorder="little")
    pad = (-packed.size) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros(pad, dtype=np.uint8)])
    return packed.view(np.uint64)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a 2-D word array (or in a 1-D one)."""
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)


def unpack(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack` row-wise: ``(items, words)`` -> ``(n, items)`` booleans."""
    if words.shape[0] == 0:
        return np.zeros((n, 0), dtype=bool)
    raw = np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1, bitorder="little")
    return raw[:, :n].T.astype(bool)


def masks_by_code(rows: np.ndarray, codes: np.ndarray, n: int, wanted: list[int]) -> list[np.ndarray]:
    """For each code in *wanted*, a boolean mask over *n* rows: the rows paired with that code.

    *rows* and *codes* are pairs (customer row, item code), in any order and
    possibly repeated; one sort groups them.

    >>> [m.tolist() for m in masks_by_code(np.array([0, 2, 1, 2]), np.array([1, 0, 1, 1]), 3, [1, 0])]
    [[True, True, True], [False, False, True]]
    """
    order = np.argsort(codes, kind="stable")
    at = rows[order]
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max(initial=-1)) + 2))
    out = []
    for code in wanted:
        mask = np.zeros(n, dtype=bool)
        if code + 1 < bounds.size:
            mask[at[bounds[code]:bounds[code + 1]]] = True
        out.append(mask)
    return out


@dataclass
class ItemMatrix:
    """Items as bit vectors over target rows (``pos``) and the other rows (``neg``).

    ``pos`` has shape ``(items, words)``: bit ``r`` of item ``i`` is set when
    the ``r``-th customer with the target holds the item.
    """

    labels: list[str]
    columns: list[str]
    pos: np.ndarray
    neg: np.ndarray
    n_pos: int
    n_neg: int
    breaks: dict[str, list[float]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.n_pos + self.n_neg

    @property
    def pos_counts(self) -> np.ndarray:
        return popcount(self.pos)

    @property
    def neg_counts(self) -> np.ndarray:
        return popcount(self.neg)

    def release(self) -> None:
        """Nothing to free: the bit vectors are this process's memory (the Spark engine's are cached)."""

    def coverage(self, itemsets: np.ndarray) -> list[bytes]:
        """:func:`coverage_keys` of these itemsets."""
        return coverage_keys(self, itemsets)


class ItemBuilder:
    """Collects the items worth keeping, as packed bit vectors.

    An item is kept when at least *min_count* customers hold it, whatever
    their target: that is the fixed family's rule (:mod:`segment.rules._mining`).
    Whether enough target customers hold it to be mined is decided later,
    so that which items exist never depends on the outcome.
    """

    def __init__(self, n_pos: int, n: int, min_count: int):
        self.n_pos, self.n = n_pos, n
        self.min_count = min_count
        self.labels: list[str] = []
        self.columns: list[str] = []
        self.pos: list[np.ndarray] = []
        self.neg: list[np.ndarray] = []
        self.breaks: dict[str, list[float]] = {}
        self.empty: list[str] = []

    def keep(self, count: int) -> bool:
        return count >= self.min_count

    def add(self, label: str, column: str, bits: np.ndarray) -> None:
        """Add an item already known to be worth keeping."""
        self.labels.append(label)
        self.columns.append(column)
        self.pos.append(pack(bits[: self.n_pos]))
        self.neg.append(pack(bits[self.n_pos:]))

    def add_masks(self, column: str, labelled: list[tuple[str, np.ndarray]]) -> None:
        """Add the items of one column that are worth keeping."""
        before = len(self.labels)
        for label, bits in labelled:
            if self.keep(int(np.count_nonzero(bits))):
                self.add(label, column, bits)
        if len(self.labels) == before:
            self.empty.append(column)

    def finish(self) -> ItemMatrix:
        warn_empty(self.empty, bool(self.labels), stacklevel=5)
        words_pos = (self.n_pos + 63) // 64
        words_neg = (self.n - self.n_pos + 63) // 64
        pos = np.vstack(self.pos) if self.pos else np.zeros((0, words_pos), dtype=np.uint64)
        neg = np.vstack(self.neg) if self.neg else np.zeros((0, words_neg), dtype=np.uint64)
        return ItemMatrix(self.labels, self.columns, pos, neg, self.n_pos, self.n - self.n_pos, self.breaks)


def warn_empty(empty: list[str], any_item: bool, stacklevel: int = 2) -> None:
    """Warn about the columns that give no item (with no item at all, the caller's error says it)."""
    if empty and any_item:
        shown = ", ".join(empty[:10]) + (", ..." if len(empty) > 10 else "")
        warnings.warn(f"no item of {shown} reaches the minimum support", SegmentWarning, stacklevel=stacklevel + 1)


def coverage_keys(matrix: ItemMatrix, itemsets: np.ndarray) -> list[bytes]:
    """A digest of the customers holding each itemset (rows of item indices padded with -1).

    Two itemsets have the same key exactly when they cover the same customers
    (up to a 128-bit hash collision).
    """
    import hashlib

    bits = np.hstack([matrix.pos, matrix.neg])
    keys: list[bytes] = []
    step = max(1, (1 << 22) // max(bits.shape[1], 1))  # bounded blocks of (rules x words)
    for start in range(0, itemsets.shape[0], step):
        block = itemsets[start:start + step]
        acc = bits[np.maximum(block[:, 0], 0)]
        for pos in range(1, block.shape[1]):
            col = block[:, pos]
            acc[col >= 0] &= bits[col[col >= 0]]
        keys.extend(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in acc)
    return keys

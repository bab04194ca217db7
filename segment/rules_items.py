"""Items for rule mining: which customers hold which ``column=value``.

A customer snapshot (one row per customer) becomes items column by column:

categorical text
    one item per value: ``Contract=Month-to-month``.
yes/no flags
    booleans, 0/1 numbers, and text whose values are yes/no, y/n,
    true/false, t/f or 1/0 (any case) give ``column=yes``, and with
    ``with_no`` also ``column=no``.
not-applicable levels
    in a flag column, text of the form ``No ... service`` (IBM Telco's
    ``No internet service`` / ``No phone service``) is neither yes nor no:
    those customers get no item from the column. The fact itself is already
    an item of its own (``InternetService=No``), and counting it again under
    every add-on would make six copies of one group of customers. So
    ``TechSupport=no`` reads "has internet, but no tech support".
numbers
    binned by tie-respecting quantiles (:mod:`segment.binning`) or explicit
    breaks into ``tenure<9``, ``tenure=[9,29)``, ..., ``tenure>=55``.

Empty (null) values give no item. A long table (customer id, item) gives one
item per distinct item value.

Rows are reordered so that customers with the target come first; each item
is then stored as two bit vectors (target rows, other rows) packed into
64-bit words, which is all the miner needs.

Examples
--------
>>> import polars as pl
>>> snap = pl.DataFrame({"customer_id": ["a", "b", "c", "d"],
...                      "plan": ["x", "y", "x", "x"], "tv": ["Yes", "No", "No", "Yes"],
...                      "churn": ["Yes", "No", "Yes", "No"]})
>>> target = resolve_target(snap, "churn")
>>> target.positive_label, target.negative_label
('churn=Yes', 'churn=No')
>>> m = snapshot_items(snap, target, id="customer_id", min_pos=1, min_neg=None)
>>> m.labels, m.pos_counts.tolist(), m.neg_counts.tolist()
(['plan=x', 'tv=yes'], [2, 1], [1, 1])
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from segment import binning
from segment.columns import first_offender
from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning

YES = frozenset({"yes", "y", "true", "t", "1"})
NO = frozenset({"no", "n", "false", "f", "0"})
_NOT_APPLICABLE = re.compile(r"^no [a-z][a-z ]* service$")
_TEXT = (pl.String, pl.Categorical)


@dataclass
class Target:
    """The target column and which of its values counts as the target."""

    column: str
    positive: object
    positive_label: str
    negative_label: str


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


def fmt_number(value: float) -> str:
    """Short text for a bin edge: ``9.0`` -> ``9``, ``29.85`` -> ``29.85``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, trim="-")


# ----------------------------------------------------------------- target


def resolve_target(frame: pl.DataFrame, target: str, positive: object | None = None) -> Target:
    """Find the target column and its positive value (``churn`` or ``churn=Yes``)."""
    names = frame.columns
    column = target
    if target not in names and "=" in target:
        head, _, value = target.partition("=")
        if head in names:
            column, positive = head, value
        else:
            column = head
    if column not in names:
        raise ColumnNotFoundError(column, names, role="target")
    series = frame[column]
    bad = first_offender(frame.lazy(), pl.col(column).is_null(), column)
    if bad is not None:
        raise DataError(f"target column {column!r} is empty (null) in row {bad[0]}; fill or drop those rows")
    values = series.unique().sort().to_list()
    texts = [_text(v) for v in values]
    if positive is None:
        chosen = _detect_positive(column, values, texts)
    else:
        chosen = _match_positive(column, positive, values, texts)
    if len(values) == 1:
        raise DataError(f"target column {column!r} is {texts[0]!r} in every row; "
                        "rules need customers with and without the target")
    pos_text = _text(chosen)
    others = [t for v, t in zip(values, texts, strict=True) if v != chosen]
    neg_label = f"{column}={others[0]}" if len(others) == 1 else f"{column}!={pos_text}"
    return Target(column, chosen, f"{column}={pos_text}", neg_label)


def target_mask(frame: pl.DataFrame, target: Target) -> np.ndarray:
    return (frame[target.column] == target.positive).to_numpy()


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def _detect_positive(column: str, values: list, texts: list[str]) -> object:
    yes = [v for v, t in zip(values, texts, strict=True) if t.strip().lower() in YES]
    if len(yes) == 1:
        return yes[0]
    shown = ", ".join(texts[:10]) + (", ..." if len(texts) > 10 else "")
    example = texts[-1] if texts else "value"
    raise OptionError(f"cannot tell which value of target column {column!r} is the target "
                      f"(values: {shown}); name it, e.g. --target {column}={example}")


def _match_positive(column: str, positive: object, values: list, texts: list[str]) -> object:
    wanted = str(positive)
    for v, t in zip(values, texts, strict=True):
        if t == wanted:
            return v
    folded = [v for v, t in zip(values, texts, strict=True) if t.strip().lower() == wanted.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(texts[:10]) + (", ..." if len(texts) > 10 else "")
    raise DataError(f"target value {wanted!r} does not occur in column {column!r} (values: {shown})")


# --------------------------------------------------------------- snapshot


def check_ids(frame: pl.DataFrame, id: str) -> None:
    """One row per customer: no empty and no repeated ids."""
    if id not in frame.columns:
        raise ColumnNotFoundError(id, frame.columns, role="id")
    bad = first_offender(frame.lazy(), pl.col(id).is_null(), id)
    if bad is not None:
        raise DataError(f"column {id!r} is empty (null) in row {bad[0]}; every customer needs an id")
    repeated = frame.lazy().select(id).with_row_index("_row", offset=1).filter(pl.col(id).is_duplicated())
    first = repeated.head(2).collect()
    if first.height:
        value = first[id][0]
        raise DataError(f"customer id {value!r} appears more than once (rows {first['_row'][0]} and "
                        f"{first['_row'][1]}); a snapshot needs one row per customer "
                        "(use --long for one row per customer and item)")


def item_columns(names: Sequence[str], id: str, target: str, items: Sequence[str] | None,
                 exclude: Sequence[str] | None) -> list[str]:
    """The columns that become items: *items* (default all but id and target) minus *exclude*."""
    for col in exclude or ():
        if col not in names:
            raise ColumnNotFoundError(col, names, role="excluded")
    if items:
        for col in items:
            if col not in names:
                raise ColumnNotFoundError(col, names, role="item")
            if col in (id, target):
                raise OptionError(f"--items names {col!r}, which is the {'id' if col == id else 'target'} column")
        chosen = list(dict.fromkeys(items))
    else:
        chosen = [c for c in names if c not in (id, target)]
    chosen = [c for c in chosen if c not in set(exclude or ())]
    if not chosen:
        raise OptionError("no columns left to make items from; check --items and --exclude")
    return chosen


def snapshot_items(frame: pl.DataFrame, target: Target, *, id: str, min_pos: int | None,
                   min_neg: int | None, items: Sequence[str] | None = None,
                   exclude: Sequence[str] | None = None, bins: int = 4,
                   breaks: dict[str, list[float]] | None = None, with_no: bool = False) -> ItemMatrix:
    """Items of a one-row-per-customer table, keeping those that can reach the minimum count.

    An item is kept when it occurs in at least *min_pos* target rows, or
    (when *min_neg* is given) in at least *min_neg* other rows.
    """
    columns = item_columns(frame.columns, id, target.column, items, exclude)
    breaks = dict(breaks or {})
    for col in breaks:
        if col not in columns:
            raise OptionError(f"--breaks names {col!r}, which is not an item column")
    y = target_mask(frame, target)
    order = np.argsort(~y, kind="stable")  # target rows first, input order kept within each
    frame = frame[order]
    n_pos = int(y.sum())
    builder = _Builder(n_pos, frame.height, min_pos, min_neg)
    nulls: dict[str, int] = {}
    for col in columns:
        series = frame[col]
        _check_column(series)
        if series.null_count():
            nulls[col] = series.null_count()
        kind = column_kind(series)
        if col in breaks and kind != "number":
            raise OptionError(f"--breaks names {col!r}, which is {kind}, not a number column")
        if kind == "category":
            builder.add_categories(series)
        elif kind == "flag":
            builder.add_flag(series, with_no)
        else:
            builder.add_bins(series, bins, breaks.get(col))
    if nulls:
        shown = ", ".join(f"{c} ({k:,})" for c, k in nulls.items())
        warnings.warn(f"empty values in {shown}; those customers get no item from that column",
                      SegmentWarning, stacklevel=3)
    return builder.finish()


def column_kind(series: pl.Series) -> str:
    """``flag``, ``category`` or ``number`` (how a column becomes items)."""
    dtype = series.dtype
    if dtype == pl.Boolean:
        return "flag"
    if dtype.is_numeric():
        distinct = series.drop_nulls().drop_nans() if dtype.is_float() else series.drop_nulls()
        return "flag" if distinct.is_in([0, 1]).all() else "number"
    if dtype in _TEXT or isinstance(dtype, pl.Enum):
        norm = _normalised(series).unique().drop_nulls().to_list()
        if norm and all(v in YES or v in NO or _NOT_APPLICABLE.match(v) for v in norm) \
                and any(v in YES or v in NO for v in norm):
            return "flag"
        return "category"
    raise ColumnTypeError(f"column {series.name!r} is {dtype}; items come from text, yes/no or number "
                          f"columns: leave it out with --exclude {series.name}")


def _normalised(series: pl.Series) -> pl.Series:
    return series.cast(pl.String).str.strip_chars().str.to_lowercase()


def _check_column(series: pl.Series) -> None:
    values = series.drop_nulls()
    if series.dtype.is_float():
        values = values.drop_nans()
    if values.len() == 0:
        raise DataError(f"column {series.name!r} is empty (null) in every row; "
                        f"leave it out with --exclude {series.name}")
    distinct = values.unique()
    if distinct.len() == 1:
        raise DataError(f"column {series.name!r} holds one value ({_text(distinct[0])!r}) in every row, "
                        f"so it cannot tell customers apart; leave it out with --exclude {series.name}")


class _Builder:
    """Collects kept items as packed bit vectors, target rows and other rows apart."""

    def __init__(self, n_pos: int, n: int, min_pos: int | None, min_neg: int | None):
        self.n_pos, self.n = n_pos, n
        self.min_pos, self.min_neg = min_pos, min_neg
        self.labels: list[str] = []
        self.columns: list[str] = []
        self.pos: list[np.ndarray] = []
        self.neg: list[np.ndarray] = []
        self.breaks: dict[str, list[float]] = {}
        self.empty: list[str] = []

    def keep(self, pos_count: int, neg_count: int) -> bool:
        ok = self.min_pos is not None and pos_count >= self.min_pos
        return ok or self.min_neg is not None and neg_count >= self.min_neg

    def add(self, label: str, column: str, bits: np.ndarray) -> None:
        self.labels.append(label)
        self.columns.append(column)
        self.pos.append(pack(bits[: self.n_pos]))
        self.neg.append(pack(bits[self.n_pos:]))

    def add_masks(self, column: str, labelled: list[tuple[str, np.ndarray]]) -> None:
        before = len(self.labels)
        for label, bits in labelled:
            pos_count = int(bits[: self.n_pos].sum())
            if self.keep(pos_count, int(bits.sum()) - pos_count):
                self.add(label, column, bits)
        if len(self.labels) == before:
            self.empty.append(column)

    def add_categories(self, series: pl.Series) -> None:
        # Count first, so that a column with thousands of rare values costs one group-by.
        text = series.cast(pl.String)
        is_pos = pl.Series(np.arange(self.n) < self.n_pos)
        counts = (
            pl.DataFrame({"v": text, "p": is_pos}).drop_nulls("v")
            .group_by("v").agg(pos=pl.col("p").sum(), all=pl.len()).sort("v")
        )
        kept = [v for v, p, a in counts.iter_rows() if self.keep(p, a - p)]
        self.add_masks(series.name, [(f"{series.name}={v}", (text == v).fill_null(False).to_numpy())
                                     for v in kept])

    def add_flag(self, series: pl.Series, with_no: bool) -> None:
        if series.dtype == pl.Boolean:
            yes = series.fill_null(False).to_numpy()
            no = (~series).fill_null(False).to_numpy()
        elif series.dtype.is_numeric():
            yes = (series == 1).fill_null(False).to_numpy()
            no = (series == 0).fill_null(False).to_numpy()
        else:
            norm = _normalised(series)
            yes = norm.is_in(list(YES)).fill_null(False).to_numpy()
            no = norm.is_in(list(NO)).fill_null(False).to_numpy()
        masks = [(f"{series.name}=yes", yes)]
        if with_no:
            masks.append((f"{series.name}=no", no))
        self.add_masks(series.name, masks)

    def add_bins(self, series: pl.Series, bins: int, edges: list[float] | None) -> None:
        values = series.cast(pl.Float64).fill_nan(None)
        if edges is None:
            edges = binning.balanced_breaks(values, bins)
        self.breaks[series.name] = list(edges)
        if not edges:
            self.empty.append(series.name)
            return
        scores = np.searchsorted(np.asarray(edges), values.fill_null(np.nan).to_numpy(), side="right")
        valid = values.is_not_null().to_numpy()
        self.add_masks(series.name, [(bin_label(series.name, edges, b), (scores == b) & valid)
                                     for b in range(len(edges) + 1)])

    def finish(self) -> ItemMatrix:
        if self.empty:
            shown = ", ".join(self.empty[:10]) + (", ..." if len(self.empty) > 10 else "")
            warnings.warn(f"no item of {shown} reaches the minimum support", SegmentWarning, stacklevel=4)
        words_pos = (self.n_pos + 63) // 64
        words_neg = (self.n - self.n_pos + 63) // 64
        pos = np.vstack(self.pos) if self.pos else np.zeros((0, words_pos), dtype=np.uint64)
        neg = np.vstack(self.neg) if self.neg else np.zeros((0, words_neg), dtype=np.uint64)
        return ItemMatrix(self.labels, self.columns, pos, neg, self.n_pos, self.n - self.n_pos, self.breaks)


def bin_label(column: str, edges: Sequence[float], index: int) -> str:
    """``x<a``, ``x=[a,b)`` or ``x>=b`` for bin *index* (0-based) of *edges*.

    >>> [bin_label("tenure", [9, 29.5], i) for i in range(3)]
    ['tenure<9', 'tenure=[9,29.5)', 'tenure>=29.5']
    """
    if index == 0:
        return f"{column}<{fmt_number(edges[0])}"
    if index == len(edges):
        return f"{column}>={fmt_number(edges[-1])}"
    return f"{column}=[{fmt_number(edges[index - 1])},{fmt_number(edges[index])})"


# ------------------------------------------------------------------- long


def long_items(frame: pl.DataFrame, target: str, *, id: str, item: str, min_pos: int | None,
               min_neg: int | None, items: Sequence[str] | None = None,
               exclude: Sequence[str] | None = None) -> tuple[ItemMatrix, Target]:
    """Items of a long table (one row per customer and item); *target* is an item value."""
    names = frame.columns
    for role, col in (("id", id), ("item", item)):
        if col not in names:
            raise ColumnNotFoundError(col, names, role=role)
    pairs = frame.select(pl.col(id), pl.col(item).cast(pl.String))
    for col in (id, item):
        bad = first_offender(pairs.lazy(), pl.col(col).is_null(), col)
        if bad is not None:
            raise DataError(f"column {col!r} is empty (null) in row {bad[0]}; fill or drop those rows")
    pairs = pairs.unique(maintain_order=True)
    holders = pairs.filter(pl.col(item) == target)[id].unique()
    if holders.len() == 0:
        known = pairs[item].unique().sort().to_list()
        close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"target item {target!r} does not occur in column {item!r}{hint}")
    customers = (pairs.select(pl.col(id).unique(maintain_order=True))
                 .with_columns(_pos=pl.col(id).is_in(holders.implode()))
                 .sort("_pos", descending=True, maintain_order=True)
                 .with_row_index("_row"))
    n, n_pos = customers.height, int(customers["_pos"].sum())
    if n_pos == n:
        raise DataError(f"every customer holds the target item {target!r}; "
                        "rules need customers with and without the target")
    chosen = pairs.filter(pl.col(item) != target)
    if items:
        chosen = chosen.filter(pl.col(item).is_in(list(items)))
    if exclude:
        chosen = chosen.filter(~pl.col(item).is_in(list(exclude)))
    rows = chosen.join(customers, on=id, how="left")
    counts = (rows.group_by(item).agg(pos=pl.col("_pos").sum(), all=pl.len()).sort(item))
    builder = _Builder(n_pos, n, min_pos, min_neg)
    kept = [v for v, p, a in counts.iter_rows() if builder.keep(p, a - p)]
    index = {v: i for i, v in enumerate(kept)}
    rows = rows.filter(pl.col(item).is_in(kept))
    matrix = np.zeros((len(kept), n), dtype=bool)
    codes = rows[item].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    matrix[codes, rows["_row"].to_numpy()] = True
    for v, bits in zip(kept, matrix, strict=True):
        builder.add(v, item, bits)
    return builder.finish(), Target(item, target, target, f"not {target}")

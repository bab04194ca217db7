"""Items of a customer snapshot: which customers hold which ``column=value``.

Each column becomes items by what it holds:

categorical text
    one item per value: ``Contract=Month-to-month``.
yes/no flags
    booleans, 0/1 numbers, and text whose values are yes/no, y/n,
    true/false, t/f or 1/0 (any case) give ``column=yes`` and ``column=no``
    (both are real states of a plan: "no voice-mail plan" can be the
    driver); ``with_no=False`` keeps only ``column=yes``.
not-applicable levels
    in a flag column, text of the form ``No ... service`` (IBM Telco's
    ``No internet service`` / ``No phone service``) is neither yes nor no:
    those customers get no item from the column. The fact is already an item
    of its own (``InternetService=No``), and counting it again under every
    add-on would make six copies of one group of customers. So
    ``TechSupport=no`` reads "has internet, but no tech support".
codes
    whole-number columns with at most ``max_categories`` distinct values
    (``Status`` 1/2, ``Age Group`` 1-5, ``Area code``), and the columns named
    in ``categorical``, give one item per value (``Status=2``), not ranges:
    such numbers are usually codes, and ``Status>=2`` hides which code.
numbers
    binned by tie-respecting quantiles (:mod:`segment.binning`) or explicit
    breaks into ``tenure<9``, ``tenure=[9,29)``, ..., ``tenure>=56``.
    Text columns whose values all read as numbers, apart from blanks and
    missing-value markers (:func:`segment.columns.number_from_text`), count
    as numbers.

Empty values (null, NaN, blank text, a missing-value marker in a number
column) give no item. Each column is encoded
once as integer codes of its distinct values, so that every item is a cheap
comparison of codes rather than another pass over text.

Examples
--------
>>> import polars as pl
>>> from segment.rules._target import resolve_target
>>> snap = pl.DataFrame({"customer_id": ["a", "b", "c", "d"],
...                      "plan": ["x", "y", "x", "x"], "tv": ["Yes", "No", "No", "Yes"],
...                      "age": [20, 35, 50, 65], "churn": ["Yes", "No", "Yes", "No"]})
>>> m = snapshot_items(snap, resolve_target(snap, "churn"), id="customer_id", min_count=1, bins=2,
...                    max_categories=3)
>>> m.labels, m.pos_counts.tolist(), m.neg_counts.tolist()
(['plan=x', 'plan=y', 'tv=yes', 'tv=no', 'age<50', 'age>=50'], [2, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1])
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from segment import binning
from segment.columns import missing_text, number_from_text, warn_missing
from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.rules._bits import ItemBuilder, ItemMatrix
from segment.rules._target import NO, YES, Target, cleaned, fmt_number, is_text, target_mask, value_text

_NOT_APPLICABLE = re.compile(r"^no [a-z][a-z ]* service$")


def item_columns(names: Sequence[str], id: str, target: str, items: Sequence[str] | None,
                 exclude: Sequence[str] | None, allow_none: bool = False) -> list[str]:
    """The columns that become items: *items* (default all but id and target) minus *exclude*.

    *allow_none*: no column is fine (term items from a text column are the items).
    """
    for col in exclude or ():
        if col not in names:
            raise ColumnNotFoundError(col, names, role="excluded")
    if items:
        for col in items:
            if col not in names:
                raise ColumnNotFoundError(col, names, role="item")
            if col in (id, target):
                role = "id" if col == id else "target"
                raise OptionError(f"--items names {col!r}, which is the {role} column")
        chosen = list(dict.fromkeys(items))
    else:
        chosen = [c for c in names if c not in (id, target)]
    chosen = [c for c in chosen if c not in set(exclude or ())]
    if not chosen and not allow_none:
        raise OptionError("no columns left to make items from; check --items and --exclude")
    return chosen


def snapshot_items(frame: pl.DataFrame, target: Target, *, id: str, min_count: int,
                   items: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
                   bins: int = 4, breaks: dict[str, list[float]] | None = None, with_no: bool = True,
                   categorical: Sequence[str] | None = None, max_categories: int = 10,
                   extra: tuple[str, list[tuple[str, np.ndarray]]] | None = None) -> ItemMatrix:
    """Items of a one-row-per-customer table held by at least *min_count* customers.

    See :class:`~segment.rules._bits.ItemBuilder` for *min_count*. *extra* is
    ``(column, [(label, mask over the frame's rows), ...])``: items made
    elsewhere (terms of a text column), added after the columns' items.
    """
    columns = item_columns(frame.columns, id, target.column, items, exclude, allow_none=extra is not None)
    breaks = dict(breaks or {})
    categorical = list(dict.fromkeys(categorical or ()))
    check_item_options(columns, breaks, categorical)
    y = target_mask(frame, target)
    # Target customers first, input order kept within each: the miner's row order.
    order = np.argsort(~y, kind="stable")
    frame = frame.select(columns)[order] if columns else frame  # a frame of no columns has no rows
    builder = ItemBuilder(int(y.sum()), frame.height, min_count)
    empty: dict[str, int] = {}
    codes: list[str] = []
    for col in columns:
        column = Encoded.of(cleaned(frame[col]))
        if column.empty:
            empty[col] = column.empty
        if col in breaks and column.kind != "number":
            holds = {"category": "categories", "flag": "yes/no values"}[column.kind]
            raise OptionError(f"--breaks names {col!r}, which holds {holds}, not numbers")
        if col in categorical:
            column = column.as_category()
        elif col not in breaks and column.is_code(max_categories):
            column = column.as_category()
            codes.append(col)
        if column.kind == "category":
            column.add_categories(builder)
        elif column.kind == "flag":
            column.add_flag(builder, with_no)
        else:
            column.add_bins(builder, bins, breaks.get(col))
    if extra is not None:
        builder.add_masks(extra[0], [(label, mask[order]) for label, mask in extra[1]])
    if codes:
        warnings.warn(code_warning(codes, max_categories), SegmentWarning, stacklevel=3)
    warn_missing(empty, then="those customers get no item from it", stacklevel=3)
    return builder.finish()


def check_item_options(columns: Sequence[str], breaks: dict[str, list[float]], categorical: Sequence[str]) -> None:
    """``--categorical`` and ``--breaks`` name item columns, not the same one, and breaks increase."""
    for col in categorical:
        if col not in columns:
            raise OptionError(f"--categorical names {col!r}, which is not an item column")
        if col in breaks:
            raise OptionError(f"--categorical and --breaks both name {col!r}; give one of them")
    for col, edges in breaks.items():
        if col not in columns:
            raise OptionError(f"--breaks names {col!r}, which is not an item column")
        if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise OptionError(f"--breaks {col}= must be one or more increasing numbers, got {edges}")


def code_warning(codes: Sequence[str], max_categories: int) -> str:
    """The warning naming number columns read as codes."""
    shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
    return (f"{shown}: whole numbers with at most {max_categories} values, read as codes (one item "
            "per value); --breaks COL=... or --max-categories 0 bins them as numbers")


@dataclass
class Encoded:
    """One column, rows in miner order: numbers and booleans as floats (NaN =
    empty), text as codes of its sorted distinct values (-1 = empty)."""

    name: str
    kind: str
    empty: int
    values: list
    codes: np.ndarray | None = None
    numbers: np.ndarray | None = None

    @classmethod
    def of(cls, series: pl.Series) -> Encoded:
        name, dtype = series.name, series.dtype
        empty = series.null_count()
        if dtype.is_numeric() or dtype == pl.Boolean:
            # numpy, not polars: one conversion, then no per-operation overhead on wide inputs.
            numbers = series.cast(pl.Float64).to_numpy()
            known = numbers[~np.isnan(numbers)]
            if known.size == 0:
                raise DataError(f"column {name!r} is empty in every row; leave it out with --exclude {name}")
            low, high = known.min(), known.max()
            if low == high:
                shown = value_text(bool(low)) if dtype == pl.Boolean else value_text(float(low))
                raise DataError(f"column {name!r} holds one value ({shown!r}) in every row, so it cannot tell "
                                f"customers apart; leave it out with --exclude {name}")
            flag = dtype == pl.Boolean or bool(((known == 0) | (known == 1)).all())
            return cls(name, "flag" if flag else "number", empty, [0, 1] if flag else [], numbers=numbers)
        if not is_text(dtype):
            raise ColumnTypeError(f"column {name!r} is {dtype}; items come from text, yes/no or number "
                                  f"columns: leave it out with --exclude {name}")
        values = series.drop_nulls().unique().sort().to_list()
        if not values:
            raise DataError(f"column {name!r} is empty in every row; leave it out with --exclude {name}")
        if len(values) == 1:
            raise DataError(f"column {name!r} holds one value ({values[0]!r}) in every row, so it cannot tell "
                            f"customers apart; leave it out with --exclude {name}")
        codes = series.cast(pl.Enum(values)).to_physical().cast(pl.Int32).fill_null(-1).to_numpy()
        numbers = _numbers(values)
        kind = _kind(values, numbers)
        if kind == "number":  # numbers stored as text; missing-value markers (NA, -) give no item
            lookup = np.append(numbers, np.nan)
            markers = int(np.isnan(numbers[codes[codes >= 0]]).sum())
            return cls(name, kind, empty + markers, values, numbers=lookup[codes])
        return cls(name, kind, empty, values, codes=codes)

    def is_code(self, max_categories: int) -> bool:
        """A number column of at most *max_categories* distinct whole numbers (not a 0/1 flag)."""
        if self.kind != "number" or self.numbers is None:
            return False
        known = self.numbers[~np.isnan(self.numbers)]
        if not np.array_equal(known, np.round(known)):
            return False
        return np.unique(known).size <= max_categories

    def as_category(self) -> Encoded:
        """The column with one item per distinct value (numbers and flags by their values)."""
        if self.codes is not None and self.kind != "number":
            return Encoded(self.name, "category", self.empty, self.values, codes=self.codes)
        assert self.numbers is not None
        known = ~np.isnan(self.numbers)
        values = np.unique(self.numbers[known])
        codes = np.where(known, np.searchsorted(values, np.where(known, self.numbers, values[0])), -1)
        return Encoded(self.name, "category", self.empty, values.tolist(), codes=codes.astype(np.int32))

    def add_categories(self, builder: ItemBuilder) -> None:
        assert self.codes is not None
        k = len(self.values)
        all_counts = np.bincount(self.codes[self.codes >= 0], minlength=k)
        kept = [c for c in range(k) if builder.keep(int(all_counts[c]))]
        builder.add_masks(self.name, [(f"{self.name}={value_text(self.values[c])}", self.codes == c)
                                      for c in kept])

    def add_flag(self, builder: ItemBuilder, with_no: bool) -> None:
        if self.numbers is not None:
            yes, no = self.numbers == 1, self.numbers == 0
        else:
            assert self.codes is not None
            words = [_word(v) for v in self.values]
            yes = self._where([w in YES for w in words])
            no = self._where([w in NO for w in words])
        builder.add_masks(self.name, [(f"{self.name}=yes", yes)] + ([(f"{self.name}=no", no)] if with_no else []))

    def _where(self, chosen: list[bool]) -> np.ndarray:
        """Rows whose value is one of the chosen ones (a lookup, not a search)."""
        table = np.array([*chosen, False])  # code -1 (empty) reads the last entry
        assert self.codes is not None
        return table[self.codes]

    def add_bins(self, builder: ItemBuilder, bins: int, edges: list[float] | None) -> None:
        assert self.numbers is not None
        values = self.numbers
        valid = ~np.isnan(values)
        if edges is None:
            edges = binning.balanced_breaks(pl.Series(values, nan_to_null=True), bins)
        builder.breaks[self.name] = list(edges)
        if not edges:
            builder.empty.append(self.name)
            return
        scores = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
        builder.add_masks(self.name, [(bin_label(self.name, edges, b), valid & (scores == b))
                                      for b in range(len(edges) + 1)])


def _word(value: object) -> str:
    return value_text(value).lower()


def _kind(values: list, numbers: np.ndarray) -> str:
    """``flag``, ``category`` or ``number`` for a text column (*numbers*: see :func:`_numbers`)."""
    words = [_word(v) for v in values]
    if all(w in YES or w in NO or _NOT_APPLICABLE.match(w) for w in words) \
            and any(w in YES or w in NO for w in words):
        return "flag"
    known = numbers[~np.isnan(numbers)]
    if known.size == 0 or np.isinf(numbers).any() or not np.isfinite(known).all():
        return "category"
    return "number"


def _numbers(values: list) -> np.ndarray:
    """Distinct text values as numbers: NaN for a missing-value marker, inf when not a number."""
    text = pl.DataFrame({"v": values}, schema={"v": pl.String})
    parsed = text.select(n=number_from_text("v"), marker=missing_text("v").is_null())
    numbers = parsed["n"].fill_null(float("inf")).to_numpy().copy()
    numbers[parsed["marker"].to_numpy()] = np.nan
    return numbers


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

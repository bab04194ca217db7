"""Checking and coding the input of ``validate-segment``: segments and outcomes.

Segments become integer codes ``0..k-1`` in the natural order of their
labels (numerically when every label is a number, else as text). Each
outcome is detected as

binary
    exactly two distinct values (yes/no, 0/1, true/false); the reported
    rate is the share of the *positive* value: ``yes``, ``true``, ``1``,
    ``churn`` ... when one of the two is such a word, else the larger / later
    one;
categorical
    text with more than two values (at most :data:`MAX_LEVELS`);
numeric
    numbers with more than two values, or text whose every value is a number
    (blank text counts as missing, as in the IBM Telco ``TotalCharges``).

``outcome_types`` forces a kind per outcome. Rows without a segment are left
out with a warning (an error with ``strict``); rows without an outcome value
are left out of that outcome's tests, with a warning. A segment without a
value of any outcome (every outcome empty in all its rows) is left out
altogether, with a warning naming it: nothing can be said about it.

Examples
--------
>>> import polars as pl
>>> df = pl.DataFrame({"plan": ["b", "a", "b", "10", "2"], "churn": ["No", "Yes", "No", "No", "Yes"],
...                    "arpu": [10.0, 12.5, 9.0, 30.0, 11.0]})
>>> prep = prepare(df, segment="plan", outcomes=["churn", "arpu"])
>>> prep.labels.to_list(), [(o.name, o.kind, o.positive) for o in prep.outcomes]
(['2', '10', 'a', 'b'], [('churn', 'binary', 'Yes'), ('arpu', 'numeric', None)])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from segment.columns import (first_offender, missing_text, not_a_number_hint, number_from_text, require_columns,
                             warn_missing)
from segment.errors import ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.stats.groupstats import SEG, CountStats, NumericStats, count_stats, numeric_stats

KINDS = ("binary", "categorical", "numeric")
#: Hard ceiling for ``max_segments``: the merge map holds a segments x segments matrix.
MAX_SEGMENTS_CEILING = 2000
#: A categorical outcome with more levels than this is refused (an id column?).
MAX_LEVELS = 100
_ROW = "__row__"
_MOSTLY_NUMBERS = 0.9
_POSITIVE = {"yes", "y", "true", "t", "1", "1.0", "churn", "churned", "positive", "pos"}


@dataclass
class Outcome:
    """One outcome as analysed: its kind, level labels and missing rows."""

    name: str
    column: str  # column name in :attr:`Prepared.data`
    kind: str
    levels: list[str] | None = None  # binary / categorical, in code order
    positive: str | None = None  # binary: the level whose rate is reported
    nulls: int = 0

    def describe(self) -> dict:
        return {"kind": self.kind, "levels": self.levels, "positive": self.positive,
                "rows_without_value": self.nulls}


@dataclass
class Prepared:
    """Coded data: ``_seg`` plus one column per outcome (level codes or floats)."""

    data: pl.DataFrame
    labels: pl.Series
    outcomes: list[Outcome]
    sizes: np.ndarray
    rows: int
    null_segments: int
    #: Segments without a value of any outcome, left out: ``segment``, ``n`` (rows) and
    #: ``position`` (index among all segments in natural order, for the merge map).
    left_out: pl.DataFrame
    #: The segment column is an ordered categorical (polars Enum): its levels are tiers.
    tier_dtype: bool = False
    #: Column of :attr:`data` giving the rows each row stands for (a table counted by Spark), or None.
    weight: str | None = None

    @property
    def k(self) -> int:
        return len(self.labels)


def prepare(frame: pl.LazyFrame | pl.DataFrame, *, segment: str, outcomes: Sequence[str],
            outcome_types: Mapping[str, str] | None = None, id: str | None = None,
            strict: bool = False, max_segments: int = 1000, weight: str | None = None) -> Prepared:
    """Check the input and code segments and outcomes (see module docstring).

    With *weight*, each row of *frame* stands for that many rows: a table
    already counted per segment and outcome values (the Spark engine's).
    Row numbers in messages then count rows of that table.
    """
    outcomes = list(outcomes)
    types = dict(outcome_types or {})
    _check_options(segment, outcomes, types, id, max_segments)
    lf = frame.lazy()
    require_columns(lf, {"segment": segment})
    for name in outcomes:
        require_columns(lf, {"outcome": name})
    if id is not None:
        require_columns(lf, {"id": id})
        _check_unique(lf, id)
    # Row numbers are taken before any row is dropped, so messages point at the file's rows.
    lf = lf.select(list(dict.fromkeys([segment, *outcomes, *([weight] if weight else [])])))
    lf = lf.with_row_index(_ROW, offset=1)
    lf = lf.with_columns(_segment_expr(lf, segment))
    rows = int(lf.select(pl.col(weight).sum() if weight else pl.len()).collect().item())
    nulls = int(lf.select(_rows_where(pl.col(segment).is_null(), weight)).collect().item())
    if nulls:
        if nulls == rows:
            raise DataError(f"segment column {segment!r} is empty in every row; choose the column that holds the segments")
        if strict:
            at = lf.filter(pl.col(segment).is_null()).select(_ROW).head(1).collect().item()
            raise DataError(f"segment column {segment!r} is empty in {nulls:,} rows, first in row {at}; "
                            "fill or drop them, or leave out --strict to skip them")
        warnings.warn(f"left out {nulls:,} rows with an empty segment {segment!r} "
                      "(use --strict to make this an error)", SegmentWarning, stacklevel=3)
        lf = lf.filter(pl.col(segment).is_not_null())
    labels = _segment_labels(lf, segment, max_segments)
    codes = pl.DataFrame({segment: labels, SEG: pl.Series(np.arange(len(labels)), dtype=pl.UInt32)})
    df = lf.collect().join(codes, on=segment, how="left", maintain_order="left")
    coded = [df[SEG], *([df[weight]] if weight else [])]
    specs = []
    for i, name in enumerate(outcomes):
        spec, column = _code_outcome(df, name, f"y{i}", types.get(name))
        coded.append(column)
        specs.append(spec)
    data, labels, left_out = _leave_out_empty_segments(pl.DataFrame(coded), specs, labels, weight)
    for spec in specs:
        # Counted after leaving out empty segments: each row left out is reported once.
        spec.nulls = int(data.select(_rows_where(pl.col(spec.column).is_null(), weight)).item())
    warn_missing({spec.name: spec.nulls for spec in specs}, then="those rows are left out of its tests",
                 stacklevel=3)
    sizes = np.bincount(data[SEG].to_numpy(), weights=data[weight].to_numpy() if weight else None,
                        minlength=len(labels)).astype(np.int64)
    for spec in specs:
        _check_spread(data, spec, labels)
    enum = isinstance(lf.collect_schema()[segment], pl.Enum)
    return Prepared(data, labels, specs, sizes, rows, nulls, left_out, enum, weight)


def _rows_where(condition: pl.Expr, weight: str | None) -> pl.Expr:
    """The number of rows where *condition* holds (each row counting *weight* rows when given)."""
    return pl.when(condition).then(pl.col(weight) if weight else 1).otherwise(0).sum()


def _leave_out_empty_segments(data: pl.DataFrame, specs: list[Outcome], labels: pl.Series,
                              weight: str | None = None) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    """Drop the segments without a value of any outcome, with a warning, and recode the rest."""
    has_value = pl.any_horizontal([pl.col(spec.column).is_not_null() for spec in specs])
    per = data.group_by(SEG).agg(n=pl.col(weight).sum() if weight else pl.len(), values=has_value.sum()).sort(SEG)
    empty = per.filter(pl.col("values") == 0)
    if empty.height == 0:
        return data, labels, pl.DataFrame({"segment": labels.clear(), "n": pl.Series([], dtype=pl.Int64),
                                           "position": pl.Series([], dtype=pl.Int64)})
    position = empty[SEG].to_numpy().astype(np.int64)
    left_out = pl.DataFrame({"segment": labels.gather(position), "n": empty["n"].cast(pl.Int64),
                             "position": pl.Series(position)})
    what = f"outcome {specs[0].name!r} is empty" if len(specs) == 1 else "every outcome is empty"
    warnings.warn(f"left out segment {left_out_names(left_out)}: {what} in all its rows" if empty.height == 1 else
                  f"left out {empty.height:,} segments, {left_out_names(left_out)}: {what} in all their rows",
                  SegmentWarning, stacklevel=4)
    keep = np.ones(len(labels), dtype=bool)
    keep[position] = False
    code = np.cumsum(keep) - 1
    seg = data[SEG].to_numpy()
    rows = keep[seg]
    data = data.filter(pl.Series(rows)).with_columns(pl.Series(SEG, code[seg[rows]], dtype=pl.UInt32))
    return data, labels.filter(pl.Series(keep)), left_out


def left_out_names(left_out: pl.DataFrame, shown: int = 10) -> str:
    """The first *shown* segments left out, with their rows: ``'exit' (3,672 rows), ...``."""
    names = ", ".join(f"{label!r} ({n:,} rows)" for label, n in left_out.head(shown).select("segment", "n").iter_rows())
    return names + (f" and {left_out.height - shown:,} more" if left_out.height > shown else "")


def _check_options(segment: str, outcomes: list[str], types: dict[str, str], id: str | None,
                   max_segments: int) -> None:
    if not outcomes:
        raise OptionError("--outcome is required: name the column(s) the segments should explain, e.g. --outcome churn,arpu")
    seen = set()
    for name in outcomes:
        if name in seen:
            raise OptionError(f"--outcome lists {name!r} twice")
        seen.add(name)
        if name == segment:
            raise OptionError(f"{name!r} is both the segment and an outcome; an outcome must be another column")
    for name, kind in types.items():
        if name not in outcomes:
            raise OptionError(f"--outcome-type names {name!r}, which is not in --outcome ({', '.join(outcomes)})")
        if kind not in KINDS:
            raise OptionError(f"--outcome-type {name}={kind}: the type must be one of {', '.join(KINDS)}")
    if id is not None and (id == segment or id in outcomes):
        raise OptionError(f"--id {id!r} is also the segment or an outcome; it should be the customer key")
    if not 2 <= max_segments <= MAX_SEGMENTS_CEILING:
        raise OptionError(f"--max-segments must be from 2 to {MAX_SEGMENTS_CEILING:,} (every pair of segments is "
                          f"compared, so memory grows with its square), got {max_segments:,}")


def _check_unique(lf: pl.LazyFrame, id: str) -> None:
    counts = lf.select(distinct=pl.col(id).drop_nulls().n_unique(), rows=pl.col(id).count()).collect().row(0)
    if counts[0] == counts[1]:
        return
    dup = first_offender(lf, pl.col(id).is_duplicated() & pl.col(id).is_not_null(), id)
    if dup is not None:
        row, value = dup
        raise DataError(f"customer id {value!r} in column {id!r} appears more than once (first in row {row}); "
                        "validate-segment needs one row per customer: deduplicate or aggregate first")


def _segment_expr(lf: pl.LazyFrame, segment: str) -> pl.Expr:
    dtype = lf.collect_schema()[segment]
    if dtype.is_float():
        return pl.col(segment).fill_nan(None)
    if dtype.is_nested() or dtype == pl.Null:
        raise ColumnTypeError(f"segment column {segment!r} holds {dtype} values; it needs one label per row")
    return pl.col(segment)


def _segment_labels(lf: pl.LazyFrame, segment: str, max_segments: int) -> pl.Series:
    count = int(lf.select(pl.col(segment).n_unique()).collect().item())
    if count > max_segments:
        raise DataError(
            f"segment column {segment!r} has {count:,} distinct segments, more than --max-segments "
            f"{max_segments:,}: too fine to act on (is it an id column?); group the segments first "
            "or raise --max-segments")
    labels = lf.select(pl.col(segment).unique()).collect()[segment]
    if count < 2:
        raise DataError(f"segment column {segment!r} holds one segment only ({labels[0]!r}): nothing to compare; "
                        "choose a column with at least two segments")
    return natural_sort(labels)


def natural_sort(values: pl.Series) -> pl.Series:
    """Sort labels: numbers by value first, then text (so "2" comes before "10").

    >>> natural_sort(pl.Series(["10", "b", "9", "a"])).to_list()
    ['9', '10', 'a', 'b']
    """
    if values.dtype == pl.String:
        num = values.str.strip_chars().cast(pl.Float64, strict=False)
        keys = pl.DataFrame({"v": values, "isnum": num.is_null(), "num": num})
        return keys.sort("isnum", "num", "v").to_series(0)
    if isinstance(values.dtype, pl.Enum):
        return values.sort()  # the declared order of the levels
    if isinstance(values.dtype, pl.Categorical):
        return values.cast(pl.String).sort().cast(values.dtype)
    return values.sort()


def _code_outcome(df: pl.DataFrame, name: str, column: str, forced: str | None) -> tuple[Outcome, pl.Series]:
    dtype = df.schema[name]
    col = df[name]
    is_text = dtype == pl.String or isinstance(dtype, (pl.Categorical, pl.Enum))
    if not (is_text or dtype.is_numeric() or dtype == pl.Boolean):
        raise ColumnTypeError(f"outcome column {name!r} holds {dtype} values; an outcome must be numbers, "
                              "yes/no values or categories")
    if is_text:
        stripped = pl.col(name).cast(pl.String).str.strip_chars()
        col = df.select(pl.when(stripped == "").then(None).otherwise(stripped).alias(name)).to_series()
        known = df.select(missing_text(name)).to_series()
        numbers = df.select(number_from_text(name)).to_series()
        if numbers.null_count() == known.null_count() < known.len():
            col = known  # numbers and missing-value markers only: a numeric column with missing values
    elif dtype.is_float():
        _check_finite(df, name)
    values = col.drop_nulls()
    if values.len() == 0:
        raise DataError(f"outcome column {name!r} is empty in every row that has a segment; "
                        "drop it from --outcome or fill it")
    distinct = values.n_unique()
    if distinct == 1:
        raise DataError(f"outcome column {name!r} has the same value ({values[0]!r}) in every row: it cannot "
                        "separate segments; drop it from --outcome")
    as_num = values.to_frame().select(number_from_text(name)).to_series() if is_text else values
    numeric_text = is_text and as_num.null_count() == 0
    kind = forced or _detect(dtype, is_text, numeric_text, distinct)
    if kind == "categorical" and not forced and is_text:
        # Mostly numbers with a few stray words ("n/a", "-") is a dirty numeric column.
        parsed = as_num.len() - as_num.null_count()
        if parsed >= _MOSTLY_NUMBERS * values.len():
            kind = "numeric"
    if kind == "numeric":
        if is_text and not numeric_text:
            parsed = col.to_frame().select(number_from_text(name)).to_series()
            at, bad = _first_row(df.with_columns(col), col.is_not_null() & parsed.is_null(), name)
            numbers = parsed.len() - parsed.null_count()
            if numbers < _MOSTLY_NUMBERS * values.len():  # forced numeric on words
                raise ColumnTypeError(f"outcome column {name!r} is numeric by --outcome-type, but row {at} holds "
                                      f"{bad!r} and {values.len() - numbers:,} of {values.len():,} values are not "
                                      f"numbers; leave {name}=numeric out of --outcome-type")
            # Not "--outcome-type categorical": a revenue column with a stray word is still revenue.
            raise ColumnTypeError(f"outcome column {name!r} holds numbers, but row {at} holds {bad!r}; "
                                  + not_a_number_hint(bad, "--outcome"))
        return Outcome(name, column, "numeric"), col.to_frame().select(number_from_text(name)).to_series().alias(column)
    if kind == "binary" and distinct != 2:
        raise DataError(f"outcome column {name!r} has {distinct:,} distinct values, so it is not binary; "
                        "use --outcome-type categorical or numeric")
    if kind == "categorical" and distinct > MAX_LEVELS:
        raise DataError(f"outcome column {name!r} has {distinct:,} distinct values, too many categories to compare "
                        f"(at most {MAX_LEVELS}); if they are numbers use --outcome-type {name}=numeric")
    text = col.cast(pl.String)
    levels = natural_sort(text.drop_nulls().unique())
    positive = None
    if kind == "binary":
        positive = _positive(dtype, levels)
        levels = pl.Series([lv for lv in levels if lv != positive] + [positive])
    codes = text.replace_strict(levels.to_list(), list(range(len(levels))), return_dtype=pl.UInt32)
    return Outcome(name, column, kind, levels.to_list(), positive), codes.alias(column)


def _first_row(df: pl.DataFrame, mask: pl.Series | pl.Expr, name: str) -> tuple[int, object]:
    hit = df.filter(mask).head(1)
    return int(hit[_ROW][0]), hit[name][0]


def _check_finite(df: pl.DataFrame, name: str) -> None:
    bad = ~pl.col(name).is_finite() & pl.col(name).is_not_null()
    if df.select(bad.any()).item():
        at, value = _first_row(df, bad, name)
        what = "is not a number (NaN)" if value != value else f"is infinite ({value})"
        raise DataError(f"outcome column {name!r} {what} in row {at}; fill or drop those rows")


def _detect(dtype: pl.DataType, is_text: bool, numeric_text: bool, distinct: int) -> str:
    if distinct == 2:
        return "binary"
    if dtype.is_numeric() or numeric_text:
        return "numeric"
    return "categorical"


def _positive(dtype: pl.DataType, levels: pl.Series) -> str:
    words = [lv for lv in levels if lv.lower() in _POSITIVE]
    if len(words) == 1:
        return words[0]
    return levels[-1]  # natural order: the larger number, true over false, the later word


def _check_spread(data: pl.DataFrame, spec: Outcome, labels: pl.Series) -> None:
    present = data.filter(pl.col(spec.column).is_not_null())[SEG].unique()
    if present.len() < 2:
        only = labels[int(present[0])] if present.len() else None
        raise DataError(f"outcome column {spec.name!r} has values in one segment only ({only!r}): nothing to "
                        "compare; fill it or drop it from --outcome")


def outcome_stats(data: pl.DataFrame, spec: Outcome, k: int, weight: str | None = None) -> CountStats | NumericStats:
    """The per-segment summaries one outcome's tests need, from coded *data* (*weight*: see :func:`prepare`)."""
    if spec.kind == "numeric":
        return numeric_stats(data, spec.column, k, weight)
    return count_stats(data, spec.column, k, len(spec.levels or ()), weight)

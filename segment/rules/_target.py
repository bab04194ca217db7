"""The target of the rules (churn) and the snapshot's customer key.

``--target churn`` finds the positive value itself when the column has two
values and exactly one of them reads as yes (``yes``, ``y``, ``true``, ``t``, ``1`` in any case, or the
boolean true); ``--target churn=Yes`` names it. Every other value is "not
target". Blank text counts as empty, and an empty target is an error: a
customer whose outcome is unknown belongs to neither group.

Examples
--------
>>> import polars as pl
>>> snap = pl.DataFrame({"churn": ["No", "Yes", "No"]})
>>> t = resolve_target(snap, "churn")
>>> t.column, t.positive, t.positive_label, t.negative_label
('churn', 'Yes', 'churn=Yes', 'churn=No')
>>> resolve_target(pl.DataFrame({"plan": ["a", "b", "c"]}), "plan=b").negative_label
'plan!=b'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from segment.columns import first_offender
from segment.errors import ColumnNotFoundError, DataError, EmptyInputError, OptionError

YES = frozenset({"yes", "y", "true", "t", "1"})
NO = frozenset({"no", "n", "false", "f", "0"})
_TEXT = (pl.String, pl.Categorical)


@dataclass
class Target:
    """The target column, its positive value, and the labels of both consequents."""

    column: str
    positive: object
    positive_label: str
    negative_label: str


def is_text(dtype: pl.DataType) -> bool:
    return dtype in _TEXT or isinstance(dtype, pl.Enum)


def cleaned(series: pl.Series) -> pl.Series:
    """Empty means null: blank text (surrounding blanks removed) and NaN become null."""
    if is_text(series.dtype):
        return series.cast(pl.String).str.strip_chars().replace("", None)
    if series.dtype.is_float():
        return series.fill_nan(None)
    return series


def fmt_number(value: float) -> str:
    """Short text for a number: ``9.0`` -> ``9``, ``29.85`` -> ``29.85``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return np.format_float_positional(value, trim="-")


def value_text(value: object) -> str:
    """A value as it appears in an item label."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return fmt_number(value)
    return str(value)


def split_target(names: list[str], target: str) -> tuple[str, str | None]:
    """``"churn=Yes"`` -> ``("churn", "Yes")``, unless a column is named ``churn=Yes``."""
    column, positive = target, None
    if target not in names and "=" in target:
        column, _, positive = target.partition("=")
    if column not in names:
        raise ColumnNotFoundError(column, names, role="target")
    return column, positive


def resolve_target(frame: pl.DataFrame, target: str) -> Target:
    """Find the target column and its positive value (``churn`` or ``churn=Yes``)."""
    column, positive = split_target(frame.columns, target)
    if frame.height == 0:
        raise EmptyInputError(f"no customers to explain (the input has no rows); rules need customers with and "
                              f"without the target {column!r}")
    series = cleaned(frame[column])
    if series.null_count():
        row = first_offender(series.to_frame().lazy(), pl.col(column).is_null(), column)[0]  # type: ignore[index]
        raise DataError(f"target column {column!r} is empty in {series.null_count():,} rows, first in row {row}; "
                        "fill or drop those rows")
    values = series.unique().sort().to_list()
    texts = [value_text(v) for v in values]
    if len(values) == 1:
        raise DataError(f"target column {column!r} is {texts[0]!r} in every row; "
                        "rules need customers with and without the target")
    chosen = _detect(column, values, texts) if positive is None else _match(column, positive, values, texts)
    pos_text = value_text(chosen)
    others = [t for v, t in zip(values, texts, strict=True) if v != chosen]
    neg_label = f"{column}={others[0]}" if len(others) == 1 else f"{column}!={pos_text}"
    return Target(column, chosen, f"{column}={pos_text}", neg_label)


def target_mask(frame: pl.DataFrame, target: Target) -> np.ndarray:
    """True for customers with the target."""
    return (cleaned(frame[target.column]) == target.positive).fill_null(False).to_numpy()


def _detect(column: str, values: list, texts: list[str]) -> object:
    yes = [v for v, t in zip(values, texts, strict=True) if t.lower() in YES]
    shown = ", ".join(texts[:10]) + (", ..." if len(texts) > 10 else "")
    if len(values) > 2:
        # "Age Group" 1-5: the 1 reads as yes, but it is one level among five, not a flag.
        raise OptionError(f"target column {column!r} has {len(values)} values ({shown}); name the one to "
                          f"explain, e.g. --target {column}={texts[-1]}")
    if len(yes) == 1:
        return yes[0]
    raise OptionError(f"cannot tell which value of target column {column!r} is the target "
                      f"(values: {shown}); name it, e.g. --target {column}={texts[-1]}")


def _match(column: str, positive: str, values: list, texts: list[str]) -> object:
    for v, t in zip(values, texts, strict=True):
        if t == positive:
            return v
    folded = [v for v, t in zip(values, texts, strict=True) if t.lower() == positive.strip().lower()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(texts[:10]) + (", ..." if len(texts) > 10 else "")
    raise DataError(f"target value {positive!r} does not occur in column {column!r} (values: {shown})")


def check_ids(frame: pl.DataFrame, id: str) -> None:
    """One row per customer: no empty and no repeated ids."""
    if id not in frame.columns:
        raise ColumnNotFoundError(id, frame.columns, role="id")
    nulls, distinct = frame.select(pl.col(id).null_count().alias("a"), pl.col(id).n_unique().alias("b")).row(0)
    lf = frame.lazy().select(id)
    if nulls:
        row = first_offender(lf, pl.col(id).is_null(), id)[0]  # type: ignore[index]
        raise DataError(f"column {id!r} is empty in row {row}; every customer needs an id")
    if distinct < frame.height:
        repeated = lf.with_row_index("_row", offset=1).filter(pl.col(id).is_duplicated()).head(2).collect()
        raise DataError(f"customer id {repeated[id][0]!r} appears more than once (rows "
                        f"{repeated['_row'][0]} and {repeated['_row'][1]}); a snapshot needs one row per "
                        "customer (use --long for one row per customer and item)")

"""Column checks shared by every command: presence, types, dates, nulls.

Each check raises a :class:`~segment.errors.SegmentError` whose message names
the column, the first offending value and its row (1-based, counting data
rows only, so row 1 is the line after a CSV header).

Examples
--------
>>> import polars as pl
>>> lf = pl.LazyFrame({"customer_id": ["a", "b"], "when": ["2024-01-05", "2024-13-01"]})
>>> require_columns(lf, {"date": "whn"})
Traceback (most recent call last):
...
segment.errors.ColumnNotFoundError: date column 'whn' not found; did you mean 'when'? (available: customer_id, when)
>>> parse_dates(lf, "when").collect()
Traceback (most recent call last):
...
segment.errors.DataError: column 'when' has a value that is not a date: '2024-13-01' (row 2); pass --date-format, e.g. %d/%m/%Y
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError

_ROW = "__segment_row__"
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y-%m")
_ISO_PREFIX = "iso-prefix"  # ISO timestamps of mixed forms: the first 10 characters are the date
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f")


def require_columns(frame: pl.LazyFrame | pl.DataFrame, roles: Mapping[str, str]) -> None:
    """Check that every column named in *roles* (role -> column) exists."""
    names = frame.collect_schema().names()
    for role, column in roles.items():
        if column not in names:
            raise ColumnNotFoundError(column, names, role=role)


def first_offender(frame: pl.LazyFrame, condition: pl.Expr, column: str) -> tuple[int, object] | None:
    """Return ``(row, value)`` of the first row where *condition* holds, else None."""
    hit = (
        frame.select(pl.col(column))
        .with_row_index(_ROW, offset=1)
        .filter(condition)
        .head(1)
        .collect()
    )
    if hit.height == 0:
        return None
    return int(hit[_ROW][0]), hit[column][0]


def require_numeric(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """Return *frame* with *column* as Float64, or raise naming a bad value.

    Text columns whose values all parse as numbers (e.g. read from JSON as
    strings) are converted; blank cells become nulls (a missing value, as in
    the IBM Telco extract, not a type error); anything else is an error.

    Examples
    --------
    >>> lf = pl.LazyFrame({"amount": ["1.5", " ", "2"]})
    >>> require_numeric(lf, "amount").collect()["amount"].to_list()
    [1.5, None, 2.0]
    """
    dtype = frame.collect_schema()[column]
    if dtype.is_numeric():
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if dtype == pl.Boolean:
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = pl.col(column).cast(pl.String).str.strip_chars().replace("", None)
        parsed = text.cast(pl.Float64, strict=False)
        bad = first_offender(frame, parsed.is_null() & text.is_not_null(), column)
        if bad is not None:
            row, value = bad
            raise ColumnTypeError(
                f"column {column!r} must be numeric, but row {row} holds {value!r}; "
                "clean the column or choose another with the option"
            )
        return frame.with_columns(parsed.alias(column))
    raise ColumnTypeError(f"column {column!r} must be numeric, but it is {dtype}")


def transaction_columns(frame: pl.LazyFrame | pl.DataFrame, *, id: str, date: str, amount: str,
                        quantity: str | None = None, order: str | None = None,
                        date_format: str | None = None) -> pl.LazyFrame:
    """A transaction log's columns, checked and typed: the amount numeric (times *quantity*
    when given, which is then dropped), the date as ``pl.Date``; other columns left out.

    >>> tx = pl.DataFrame({"c": ["a"], "d": ["2024-01-31"], "price": ["2.5"], "qty": [4], "x": [0]})
    >>> transaction_columns(tx, id="c", date="d", amount="price", quantity="qty").collect().row(0)
    ('a', datetime.date(2024, 1, 31), 10.0)
    """
    lf = frame.lazy()
    roles = {"id": id, "date": date, "amount": amount}
    roles.update({k: v for k, v in (("quantity", quantity), ("order", order)) if v})
    require_columns(lf, roles)
    lf = require_numeric(lf.select(list(dict.fromkeys(roles.values()))), amount)
    if quantity:
        lf = require_numeric(lf, quantity).with_columns((pl.col(amount) * pl.col(quantity)).alias(amount))
        lf = lf.drop(quantity) if quantity not in (id, date, amount, order) else lf
    return parse_dates(lf, date, date_format)


def parse_dates(frame: pl.LazyFrame, column: str, fmt: str | None = None) -> pl.LazyFrame:
    """Return *frame* with *column* as ``pl.Date``.

    Accepts Date and Datetime columns, integers such as ``20240131``, and
    text in ISO forms (``2024-01-31``, ``2024-01-31 10:15:00``,
    ``20240131``, ``2024/01/31``, ``2024-01``) or in *fmt* (strftime).
    The first value that does not parse is reported with its row.
    """
    dtype = frame.collect_schema()[column]
    if dtype == pl.Date:
        return frame
    if isinstance(dtype, pl.Datetime):
        return frame.with_columns(pl.col(column).dt.date())
    if dtype.is_integer():
        text = pl.col(column).cast(pl.String)
    elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = pl.col(column).cast(pl.String).str.strip_chars()
    else:
        raise ColumnTypeError(f"column {column!r} must hold dates, but it is {dtype}")
    given = fmt
    if fmt is not None:
        parsed = text.str.to_datetime(fmt, strict=False).dt.date()
    else:
        fmt = _guess_format(frame, column, text)
        if fmt == _ISO_PREFIX:
            # ISO timestamps in any mix of forms (T or space, seconds, fractions,
            # Z or an offset): the date as written is the day; time and zone are ignored.
            parsed = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        elif fmt is None:
            parsed = pl.lit(None, dtype=pl.Date)
        elif fmt in _DATE_FORMATS:
            parsed = text.str.to_date(fmt, strict=False)
        else:
            parsed = text.str.to_datetime(fmt, strict=False).dt.date()
    bad = first_offender(frame, parsed.is_null() & pl.col(column).is_not_null(), column)
    if bad is not None:
        row, value = bad
        hint = (f"it does not match --date-format {given}" if given is not None
                else "pass --date-format, e.g. %d/%m/%Y")
        raise DataError(f"column {column!r} has a value that is not a date: {value!r} (row {row}); {hint}")
    return frame.with_columns(parsed.alias(column))


def _guess_format(frame: pl.LazyFrame, column: str, text: pl.Expr) -> str | None:
    sample = frame.select(text.alias(column)).drop_nulls().head(1000).collect()[column]
    if sample.len() == 0:
        return _DATE_FORMATS[0]
    if sample.str.contains(r"^\d{4}-\d{2}-\d{2}([ T]\d|$)").all() and not sample.str.len_chars().eq(10).all():
        return _ISO_PREFIX
    for fmt in _DATE_FORMATS:
        if sample.str.to_date(fmt, strict=False).null_count() == 0 and _full_match(sample, fmt):
            return fmt
    for fmt in _DATETIME_FORMATS:
        if sample.str.to_datetime(fmt, strict=False).null_count() == 0:
            return fmt
    # Fall back to the best partial match so that the first bad value is reported.
    best, best_ok = None, -1
    for fmt in (*_DATE_FORMATS, *_DATETIME_FORMATS):
        conv = sample.str.to_datetime(fmt, strict=False) if fmt in _DATETIME_FORMATS else sample.str.to_date(fmt, strict=False)
        ok = sample.len() - conv.null_count()
        if ok > best_ok:
            best, best_ok = fmt, ok
    return best if best_ok > 0 else None


def _full_match(sample: pl.Series, fmt: str) -> bool:
    # "%Y-%m-%d" would also accept "2024-01-01 10:00" by truncation in some
    # versions; require the lengths to agree with the format.
    lengths = {"%Y-%m-%d": 10, "%Y%m%d": 8, "%Y/%m/%d": 10, "%Y-%m": 7}
    want = lengths.get(fmt)
    return want is None or bool((sample.str.len_chars() <= want).all())

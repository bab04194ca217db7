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

import warnings
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning, shown

_ROW = "__segment_row__"
#: Text that marks a missing value in a numeric column (``--null-values`` adds to or replaces these).
MISSING_MARKERS = ("NA", "N/A", "n/a", "null", "NULL", "nan", "NaN", "-", "")
#: The ``--id`` value that numbers the rows from 1 instead of naming a column; also the
#: name of the column it adds, so that a later command given ``--id @row`` keeps the numbers.
ROW_ID = "@row"
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y-%m")
_ISO_PREFIX = "iso-prefix"  # ISO timestamps of mixed forms: the first 10 characters are the date
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f")


def require_columns(frame: pl.LazyFrame | pl.DataFrame, roles: Mapping[str, str]) -> None:
    """Check that every column named in *roles* (role -> column) exists.

    *frame* may also be a Spark DataFrame (anything with ``columns``): the
    message is the same whichever engine holds the data.
    """
    names = frame.collect_schema().names() if hasattr(frame, "collect_schema") else list(frame.columns)
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


def is_text(dtype: pl.DataType) -> bool:
    """True for String, Categorical and Enum columns."""
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def missing_text(column: str | pl.Expr, markers: Sequence[str] = MISSING_MARKERS) -> pl.Expr:
    """The text of *column*, stripped, with missing-value markers (and blanks) as null."""
    expr = pl.col(column) if isinstance(column, str) else column
    text = expr.cast(pl.String).str.strip_chars()
    return text.replace(sorted({*markers, ""}), None)


def number_from_text(column: str | pl.Expr, *, markers: Sequence[str] = MISSING_MARKERS,
                     decimal_comma: bool = False, strict: bool = False) -> pl.Expr:
    """Numbers stored as text as Float64: the one rule every command uses.

    Surrounding spaces are ignored; a missing-value marker or a blank is null;
    with *decimal_comma*, ``1,5`` is 1.5. Anything else is null (``strict=False``)
    or an error when the frame is collected (``strict=True``).

    >>> df = pl.DataFrame({"x": [" 1,5", "NA", "-", "", "2"]})
    >>> df.select(number_from_text("x", decimal_comma=True))["x"].to_list()
    [1.5, None, None, None, 2.0]
    """
    text = missing_text(column, markers)
    if decimal_comma:
        text = text.str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=strict)


def null_markers(values: Iterable[str] | None, *, replace: bool = False) -> tuple[str, ...]:
    """The markers in force: the defaults plus *values*, or *values* alone with *replace*.

    >>> null_markers(["?"])[-1], null_markers(["?"], replace=True)
    ('?', ('?',))
    """
    given = [v for v in (values or ())]
    if replace:
        return tuple(dict.fromkeys(given))
    return tuple(dict.fromkeys([*MISSING_MARKERS, *given]))


def require_numeric(frame: pl.LazyFrame, column: str, *, option: str | None = None,
                    markers: Sequence[str] = MISSING_MARKERS) -> pl.LazyFrame:
    """Return *frame* with *column* as Float64, or raise naming a bad value.

    Text columns whose values parse as numbers (e.g. read from JSON as
    strings) are converted by :func:`number_from_text`: blanks and
    missing-value markers (``NA``, ``n/a``, ``-`` ...) become nulls, a missing
    value rather than a type error; anything else is an error that names
    *option*, the option that chose the column.

    Examples
    --------
    >>> lf = pl.LazyFrame({"amount": ["1.5", " ", "NA", "2"]})
    >>> require_numeric(lf, "amount").collect()["amount"].to_list()
    [1.5, None, None, 2.0]
    >>> require_numeric(pl.LazyFrame({"amount": [*"123456789", "ten"]}), "amount", option="--amount")
    Traceback (most recent call last):
    ...
    segment.errors.ColumnTypeError: column 'amount' must be numeric, but row 10 holds 'ten'; clean the column, pass --null-values 'ten' if it marks a missing value, or choose another column with --amount
    """
    dtype = frame.collect_schema()[column]
    if dtype.is_numeric():
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if dtype == pl.Boolean:
        return frame.with_columns(pl.col(column).cast(pl.Float64))
    if is_text(dtype):
        parsed = number_from_text(column, markers=markers)
        known = missing_text(column, markers)
        bad = first_offender(frame, parsed.is_null() & known.is_not_null(), column)
        if bad is not None:
            row, value = bad
            numbers, present = frame.select(parsed.is_not_null().sum().alias("n"),
                                            known.is_not_null().sum().alias("k")).collect().row(0)
            raise ColumnTypeError(f"column {shown(column)} must be numeric, but row {row} holds {value!r}; "
                                  + not_a_number_hint(value, option, mostly_numbers=numbers > present / 2))
        return frame.with_columns(parsed.alias(column))
    raise ColumnTypeError(f"column {shown(column)} must be numeric, but it is {dtype}")


def not_a_number_hint(value: object, option: str | None = None, *, mostly_numbers: bool = True) -> str:
    """What to do about a text value in a numeric column. Never a change of type: a
    revenue column with a stray word is still revenue. ``--null-values`` is offered
    only when the column is *mostly_numbers* (a stray word is then likely a marker).

    >>> not_a_number_hint("unknown", "--outcome")
    "clean the column, pass --null-values 'unknown' if it marks a missing value, or choose another column with --outcome"
    >>> not_a_number_hint("Alice", "--amount", mostly_numbers=False)
    'it does not hold numbers: choose another column with --amount'
    """
    if not mostly_numbers:
        return "it does not hold numbers: " + (f"choose another column with {option}" if option else "choose another column")
    hint = f"clean the column, pass --null-values {str(value).strip()!r} if it marks a missing value"
    return hint + (f", or choose another column with {option}" if option else "")


def count_missing(frame: pl.LazyFrame | pl.DataFrame, columns: Iterable[str]) -> dict[str, int]:
    """Nulls (and NaN) per column, for the columns that have any, in order.

    >>> count_missing(pl.DataFrame({"a": [1.0, None, float("nan")], "b": [1, 2, 3]}), ["a", "b"])
    {'a': 2}
    """
    names = list(dict.fromkeys(columns))
    if not names:
        return {}
    schema = frame.collect_schema()
    exprs = [(pl.col(n).is_null() | pl.col(n).is_nan()).sum() if schema[n].is_float() else pl.col(n).null_count()
             for n in names]
    row = frame.lazy().select(exprs).collect().row(0)
    return {n: int(c) for n, c in zip(names, row, strict=True) if c}


def report_missing(frame: pl.LazyFrame | pl.DataFrame, columns: Iterable[str]) -> dict[str, int]:
    """Warn ``N missing in COL`` for each of *columns* that has missing values, and return the counts.

    Every command says this the same way before it applies its own null
    policy (an error, ``--drop-nulls``, or no item from that column).
    """
    return warn_missing(count_missing(frame, columns), stacklevel=3)


def warn_missing(counts: Mapping[str, int], *, then: str = "", stacklevel: int = 2) -> dict[str, int]:
    """Warn ``N missing in COL`` (``; then``, the command's policy) for counts a command
    has computed already, so that reporting costs no other pass over the data."""
    for name, count in counts.items():
        if count:
            warnings.warn(f"{count:,} missing in {shown(name)}" + (f"; {then}" if then else ""), SegmentWarning,
                          stacklevel=stacklevel + 1)
    return {n: c for n, c in counts.items() if c}


def number_rows(frame: pl.LazyFrame, name: str = ROW_ID) -> pl.LazyFrame:
    """Add *name*, the row number from 1 in input order, as the first column (for ``--id @row``).

    An input that has the column already (written by an earlier ``--id @row``
    step) keeps it: the numbers name the same customers all along a pipeline.

    >>> number_rows(pl.LazyFrame({"x": ["a", "b"]})).collect().rows()
    [(1, 'a'), (2, 'b')]
    """
    if name in frame.collect_schema().names():
        return frame
    return frame.with_row_index(name, offset=1).with_columns(pl.col(name).cast(pl.Int64))


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
    lf = require_numeric(lf.select(list(dict.fromkeys(roles.values()))), amount, option="--amount")
    if quantity:
        lf = require_numeric(lf, quantity, option="--quantity").with_columns((pl.col(amount) * pl.col(quantity)).alias(amount))
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


#: Text that means "the event happened" / "it did not" in an event column (compared case-insensitively).
EVENT_TRUE = ("1", "true", "yes")
EVENT_FALSE = ("0", "false", "no")


def yes_no(column: str, dtype: pl.DataType, markers: Sequence[str] = ()) -> pl.Expr | None:
    """*column* as Boolean: a Boolean, 0/1, or text in :data:`EVENT_TRUE` / :data:`EVENT_FALSE` (any case,
    spaces ignored; blanks and *markers* missing); anything else null. None when *dtype* cannot hold such values."""
    x = pl.col(column)
    if dtype == pl.Boolean:
        return x
    if dtype.is_numeric():
        return pl.when(x == 1).then(True).when(x == 0).then(False)
    if is_text(dtype):
        text = missing_text(column, markers).str.to_lowercase()
        return pl.when(text.is_in(EVENT_TRUE)).then(True).when(text.is_in(EVENT_FALSE)).then(False)
    return None


def require_durations(frame: pl.LazyFrame, column: str, *, option: str = "--duration", integer: bool = True,
                      allow_null: bool = False, markers: Sequence[str] = MISSING_MARKERS) -> pl.LazyFrame:
    """Return *frame* with *column* as durations: Int64 (or Float64 without *integer*), all >= 0.

    A duration is whole periods completed (months of tenure), so it must be
    present, finite, not negative and, where *integer*, a whole number
    (``12.0`` is fine, ``12.5`` is not). The first offending value is named
    with its 1-based row. With *allow_null*, missing values (blanks and
    *markers*) stay null for the caller's policy.

    Examples
    --------
    >>> lf = pl.LazyFrame({"tenure": ["3", "0", "12.0"]})
    >>> require_durations(lf, "tenure").collect()["tenure"].to_list()
    [3, 0, 12]
    >>> require_durations(pl.LazyFrame({"tenure": [3, -1]}), "tenure").collect()
    Traceback (most recent call last):
    ...
    segment.errors.DataError: duration column 'tenure' holds -1 in row 2; durations must be 0 or more (whole periods completed)
    >>> require_durations(pl.LazyFrame({"tenure": [3.0, 2.5]}), "tenure").collect()
    Traceback (most recent call last):
    ...
    segment.errors.DataError: duration column 'tenure' holds 2.5 in row 2; durations must be whole numbers of periods (e.g. months of tenure)
    """
    require_columns(frame, {"duration": column})
    lf = require_numeric(frame, column, option=option, markers=markers)
    x = pl.col(column)
    checks = [] if allow_null else [(x.is_null(), "is empty (null) in row {row}; fill or drop those rows")]
    checks += [
        (~x.is_finite(), "holds {value} in row {row}; durations must be finite numbers"),
        (x < 0, "holds {value:g} in row {row}; durations must be 0 or more (whole periods completed)"),
    ]
    if integer:
        checks.append((x != x.floor(), "holds {value:g} in row {row}; durations must be whole numbers of "
                                       "periods (e.g. months of tenure)"))
    # One pass finds whether anything is wrong; the row is looked up only then.
    if lf.select(pl.sum_horizontal(c.sum() for c, _ in checks)).collect().item():
        for condition, text in checks:
            bad = first_offender(lf, condition, column)
            if bad is not None:
                row, value = bad
                raise DataError(f"duration column {shown(column)} " + text.format(row=row, value=value))
    return lf.with_columns(x.cast(pl.Int64) if integer else x)


def require_events(frame: pl.LazyFrame, column: str, *, option: str = "--event", allow_null: bool = False,
                   markers: Sequence[str] = MISSING_MARKERS) -> pl.LazyFrame:
    """Return *frame* with *column* as Boolean: did the event (churn) happen?

    Accepts a Boolean column, numbers 0/1, and text ``0``/``1``,
    ``true``/``false``, ``yes``/``no`` in any case (surrounding spaces
    ignored). Anything else is an error naming the value and its 1-based row;
    so is a missing value (a blank or one of *markers*) unless *allow_null*.

    Examples
    --------
    >>> lf = pl.LazyFrame({"churn": ["Yes", " no", "TRUE", "0"]})
    >>> require_events(lf, "churn").collect()["churn"].to_list()
    [True, False, True, False]
    >>> require_events(pl.LazyFrame({"churn": ["yes", "maybe"]}), "churn").collect()
    Traceback (most recent call last):
    ...
    segment.errors.DataError: event column 'churn' holds 'maybe' in row 2; events must be 0/1, true/false or yes/no (1, true, yes = the event happened)
    """
    require_columns(frame, {"event": column})
    dtype = frame.collect_schema()[column]
    x = pl.col(column)
    parsed = yes_no(column, dtype, markers)
    if parsed is None:
        raise ColumnTypeError(f"event column {shown(column)} must hold 0/1, true/false or yes/no, but it is {dtype}; "
                              f"choose another column with {option}")
    known = x.is_not_null() & (missing_text(column, markers).is_not_null() if is_text(dtype) else True)
    bad = first_offender(frame, parsed.is_null() & (known if allow_null else True), column)
    if bad is not None:
        row, value = bad
        if value is None or not allow_null and is_text(dtype) and str(value).strip() in {*markers, ""}:
            raise DataError(f"event column {shown(column)} is empty (null) in row {row}; fill or drop those rows")
        raise DataError(f"event column {shown(column)} holds {value!r} in row {row}; events must be 0/1, true/false "
                        "or yes/no (1, true, yes = the event happened)")
    return frame.with_columns(parsed.alias(column))


def flag_values(frame: pl.DataFrame, column: str, *, role: str | None = None) -> pl.Series:
    """Column *column* as booleans (read as :func:`yes_no`); nulls and blanks stay null, other values are an error.

    >>> flag_values(pl.DataFrame({"churn": ["Yes", "no", None, " ", "1"]}), "churn").to_list()
    [True, False, None, None, True]
    >>> flag_values(pl.DataFrame({"churn": [0, 2]}), "churn")
    Traceback (most recent call last):
    ...
    segment.errors.ColumnTypeError: column 'churn' must be a yes/no flag (true/false, yes/no or 1/0); found 2 (row 2)
    """
    what = f"{role} column" if role else "column"
    dtype = frame.schema[column]
    parsed = yes_no(column, dtype)
    if parsed is None:
        raise ColumnTypeError(f"{what} {shown(column)} must be a yes/no flag (true/false, yes/no or 1/0), "
                              f"but it is {dtype}")
    x = pl.col(column)
    blank = x.is_null() | (x.cast(pl.String).str.strip_chars() == "") if is_text(dtype) else x.is_null()
    out = frame.select(parsed.alias("flag"), blank.alias("blank"))
    bad = (out["flag"].is_null() & ~out["blank"]).arg_true()
    if bad.len():
        row = int(bad[0])
        raise ColumnTypeError(f"{what} {shown(column)} must be a yes/no flag (true/false, yes/no or 1/0); "
                              f"found {frame[column][row]!r} (row {row + 1})")
    return out["flag"].alias(column)


def whole_numbers_as_integers(frame: pl.LazyFrame, columns: Iterable[str]) -> pl.LazyFrame:
    """*columns* (numbers read from text, so Float64) back as Int64 where every value is whole.

    A command that passes its input's columns through (``join``, ``sample``)
    then writes ``7`` for a 7 read from a file with ``NA`` markers, as it does
    for the same file with blanks, which the reader types as integers.

    >>> lf = pl.LazyFrame({"decile": [7.0, None, 2.0], "p": [0.5, None, 1.0]})
    >>> whole_numbers_as_integers(lf, ["decile", "p"]).collect().dtypes
    [Int64, Float64]
    """
    names = [c for c in columns if frame.collect_schema().get(c) == pl.Float64]
    if not names:
        return frame
    whole = frame.select((pl.col(c).is_null() | (pl.col(c) == pl.col(c).round(0)) & pl.col(c).abs().lt(2**53))
                         .all().alias(c) for c in names).collect().row(0)
    return frame.with_columns(pl.col(c).cast(pl.Int64) for c, w in zip(names, whole, strict=True) if w)

"""Checks and conversions of the two kinds of input: ``rfm --btyd`` columns, and duration/event."""

from __future__ import annotations

import numpy as np
import polars as pl

from segment.columns import report_missing, require_columns, require_durations, require_events, require_numeric
from segment.errors import DataError, OptionError

MIN_CUSTOMERS = 50
BTYD = ("frequency_btyd", "recency_btyd", "T")
SPEND = "monetary_value"
# Days per time unit: rfm --btyd counts days; a month is a twelfth of the mean Gregorian year.
DAYS = {"day": 1.0, "week": 7.0, "month": 365.2425 / 12, "year": 365.2425}


def btyd_arrays(frame: pl.LazyFrame, *, time_unit: str, spend: bool, frequency: str = "frequency_btyd",
                recency: str = "recency_btyd", age: str = "T", monetary: str = SPEND,
                minimum: int = MIN_CUSTOMERS) -> dict[str, np.ndarray]:
    """``x``, ``tx``, ``T`` (in *time_unit*) and, with *spend*, ``m``: checked ``rfm --btyd`` columns."""
    if time_unit not in DAYS:
        raise OptionError(f"--time-unit must be one of {', '.join(DAYS)}, got {time_unit!r}")
    roles = {"frequency": frequency, "recency": recency, "age": age, **({"monetary": monetary} if spend else {})}
    require_columns(frame, roles)
    for role, c in roles.items():
        frame = require_numeric(frame, c, option=f"--{role}")
    columns = list(dict.fromkeys(roles.values()))
    hint = "; make the input with segment rfm --btyd"
    x, tx, T = pl.col(frequency), pl.col(recency), pl.col(age)
    checks = [(pl.col(c).is_null() | pl.col(c).is_nan(), c, f"column {c!r} is empty") for c in columns]
    checks += [(pl.col(c) < 0, c, f"column {c!r} is negative") for c in columns]
    checks += [
        (x != x.round(), frequency, f"--frequency {frequency!r} must count whole repeat purchases"),
        (tx > T, recency, f"--recency {recency!r} (first to last purchase) exceeds --age {age!r} "
                          "(first purchase to the end)"),
        (x > T, frequency, f"--frequency {frequency!r} exceeds --age {age!r}: more repeat purchase days "
                           "than days observed"),
        ((x > 0) & (tx == 0), recency, f"a customer with repeat purchases has --recency {recency!r} 0"),
        ((x == 0) & (tx > 0), recency, f"a customer without repeat purchases has --recency {recency!r} above 0"),
    ]
    df = frame.select(columns).collect()
    report_missing(df, columns)  # then the policy: an error naming the first empty row
    _first_failure(df, checks, hint)
    if df.height < minimum:
        raise DataError(f"{df.height} customers: a fit needs at least {minimum}")
    days = DAYS[time_unit]
    out = {"x": df[frequency].to_numpy().astype(float),
           "tx": df[recency].to_numpy().astype(float) / days,
           "T": df[age].to_numpy().astype(float) / days}
    if spend:
        # Money to 1e-9: an xlsx or text copy keeps 15 significant digits, and the same customers
        # must give the same fit whatever the file format.
        out["m"] = np.round(df[monetary].to_numpy().astype(float), 9)
    return out


def duration_event(frame: pl.LazyFrame, *, duration: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    """Whole periods completed (integers >= 0) and churn flags (0/1, yes/no) as arrays."""
    require_columns(frame, {"duration": duration, "event": event})
    report_missing(frame, [duration, event])  # then the policy: an error naming the first empty row
    frame = require_events(require_durations(frame, duration), event)
    df = frame.select(duration, event).collect()
    d, e = df[duration].to_numpy().astype(float), df[event].to_numpy().astype(bool)
    if np.any(e & (d == 0)):
        row = int(np.argmax(e & (d == 0))) + 1
        raise DataError(f"row {row} churned with duration 0 in {duration!r}: a customer who churned at the first "
                        "renewal has duration 1 (whole periods completed)")
    return d, e


def _first_failure(df: pl.DataFrame, checks: list[tuple[pl.Expr, str, str]], hint: str) -> None:
    """Raise for the first check that fails, naming its first row; all checks in one pass."""
    found = df.select(*[cond.fill_null(False).arg_true().first().alias(str(k))
                        for k, (cond, _, _) in enumerate(checks)]).row(0)
    for row, (_, column, what) in zip(found, checks):
        if row is not None:
            raise DataError(f"{what} in row {row + 1} ({column} = {df[column][row]}); the columns are in days "
                            f"as segment rfm --btyd writes them{hint}")

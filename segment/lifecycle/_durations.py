"""Lifetimes of lines from their stages: how long each line lived, and whether it left.

A line's lifetime runs from its origin (the activation month, else its first
month with usage: tenure 1) to its last month with usage before its first
exit (the lifecycle exit rule: cancelled, or ``exit_after`` silent months).
``duration`` counts those months, origin included, so a line activated in
January that was last used in March and then cancelled lived 3 months, as a
``tenure`` column of a customer snapshot counts. The ``event`` is that exit;
by default only an exit of subtype ``churn`` counts (a re-entry or a number
swap keeps the person) and other exits are censored there. A line that has
not exited by ``as_of`` is censored at its last month with usage.

``entry`` is the months a line had already lived before the panel could see
it (its activation before the panel's first month): survival estimates count
it at risk only after that (left truncation). Without an activation column it
is 0 and a line active in the panel's first month starts there.

With ``since`` (a month), lifetimes count from that month instead, for the
lines that are in a stage other than exit then, with that ``stage``: how long
lines in decline still last, against lines in maturity.

Examples
--------
>>> import polars as pl
>>> from segment.lifecycle._lifecycle import lifecycle
>>> panel = pl.DataFrame({"id": ["a"] * 6 + ["b"] * 3,
...                       "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06",
...                                 "2024-04", "2024-05", "2024-06"],
...                       "voice": [5.0, 5, 5, 0, 0, 0, 1, 2, 0]})
>>> import warnings
>>> with warnings.catch_warnings():  # "a" is active in the panel's first month (left-censored)
...     warnings.simplefilter("ignore")
...     res = lifecycle(panel, id="id", voice="voice")
>>> durations_table(res).rows()
[('a', datetime.date(2024, 1, 1), datetime.date(2024, 3, 1), 3, True, 0), ('b', datetime.date(2024, 4, 1), datetime.date(2024, 5, 1), 2, False, 0)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from segment.errors import OptionError
from segment.lifecycle._panel import NO_MONTH, month_label, parse_month_option

if TYPE_CHECKING:
    from segment.lifecycle._lifecycle import Lifecycle

#: What counts as the event: an exit of subtype churn only, or any exit.
EVENTS = ("churn", "exit")
_BIG = np.iinfo(np.int64).max


def durations_table(result: Lifecycle, *, since: str | None = None, event: str = "churn") -> pl.DataFrame:
    """One row per line: id, ``cohort`` (first month with usage), ``end`` (the month the
    lifetime ends: last month with usage before the exit, or before ``as_of``),
    ``duration`` (months), ``event`` (bool), ``entry`` (months lived before the
    panel saw the line); with *since*, also ``stage`` (the stage in that month).

    Lines without any usage up to ``as_of`` have no lifetime and are left out.
    """
    if event not in EVENTS:
        raise OptionError(f"--event-kind must be one of {', '.join(EVENTS)}, got {event!r}")
    g, st = result.grid, result.stages
    active = np.zeros(g.size, dtype=bool)
    for col in result.metrics:
        active |= g.x[col] > 0
    slot = np.arange(g.size, dtype=np.int64)
    if since is None:
        start_month = st.first_active.astype(np.int64)
        keep = st.first_active != NO_MONTH
    else:
        at = parse_month_option(since, "--since")
        if not g.first_month <= at <= g.as_of:  # type: ignore[operator]
            raise OptionError(f"--since {month_label(at)} is outside the panel's months "
                              f"{month_label(g.first_month)} to {month_label(g.as_of)}")
        start_month = np.full(g.n, at, dtype=np.int64)
        first_slot = g.start + (at - g.first_seen)
        inside = (g.first_seen <= at)
        stage_then = np.where(inside, st.stage[np.where(inside, first_slot, 0)], -1)
        keep = inside & (stage_then >= 0) & (stage_then != st.exit_code)
    k = g.k
    counted = g.m >= start_month[k]
    # The first exit from the start on ends the lifetime; usage in the exit month itself
    # (a line cancelled with a last bit of usage) still counts as lived.
    first_exit = np.minimum.reduceat(np.where(counted & (st.stage == st.exit_code), slot, _BIG), g.start)
    lived = active & (slot <= first_exit[k])
    if since is None:
        lived &= counted
    last_lived = np.maximum.reduceat(np.where(lived, g.m.astype(np.int64), NO_MONTH), g.start)
    exited = first_exit != _BIG
    churn = exited & (st.subtype[np.where(exited, first_exit, 0)] == st.labels.index("churn"))
    happened = exited if event == "exit" else churn
    if since is None:
        origin = start_month if g.activation is None else np.where(g.activation != NO_MONTH, g.activation,
                                                                      start_month)
        entry = np.maximum(g.first_month - origin, 0)
    else:
        origin = start_month
        entry = np.zeros(g.n, dtype=np.int64)
    duration = np.maximum(last_lived - origin + 1, 0)
    end = np.where(last_lived >= start_month, last_lived, start_month)
    rows = np.flatnonzero(keep)
    out = {
        result.id: g.ids.gather(rows),
        "cohort": _month_dates(st.first_active[rows]),
        "end": _month_dates(end[rows]),
        "duration": pl.Series(duration[rows], dtype=pl.Int64),
        "event": pl.Series(happened[rows], dtype=pl.Boolean),
        "entry": pl.Series(entry[rows], dtype=pl.Int64),
    }
    if since is not None:
        out["stage"] = pl.Series([st.names[s] for s in stage_then[rows]], dtype=pl.Enum(list(st.names)))
    return pl.DataFrame(out)


def _month_dates(months: np.ndarray) -> pl.Series:
    known = months != NO_MONTH
    values = np.where(known, months, 0).astype(np.int64)
    dates = pl.Series((values - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")).cast(pl.Date)
    return dates.set(pl.Series(~known), None) if not known.all() else dates

"""Durations and events: the columns of survival and retention models, from a snapshot or a panel.

Shared by ``segment survival`` and ``segment clv`` (contractual models):
``segment.columns.require_durations`` / ``require_events`` check a
customer snapshot's columns; ``segment.lifecycle.durations`` derives them
from a monthly panel by the lifecycle exit rule. Expected values are worked
out by hand from the panels below.
"""

from __future__ import annotations

import warnings
from datetime import date

import polars as pl
import pytest

from segment.columns import require_durations, require_events
from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError
from segment.lifecycle import durations


@pytest.mark.parametrize("values, message", [
    ([1, -2], "duration column 'tenure' holds -2 in row 2; durations must be 0 or more"),
    ([1.0, 2.0, 0.5], "duration column 'tenure' holds 0.5 in row 3; durations must be whole numbers"),
    (["1", "", "3"], "duration column 'tenure' is empty (null) in row 2"),
    ([1.0, float("inf")], "duration column 'tenure' holds inf in row 2; durations must be finite"),
])
def test_bad_durations_name_the_column_value_and_row(values, message):
    with pytest.raises(DataError) as err:
        require_durations(pl.LazyFrame({"tenure": values}), "tenure").collect()
    assert message in str(err.value)


def test_durations_in_text_are_numbers_and_text_is_a_type_error():
    lf = pl.LazyFrame({"tenure": [" 4", "0", "72.0"]})
    assert require_durations(lf, "tenure").collect()["tenure"].to_list() == [4, 0, 72]
    assert require_durations(pl.LazyFrame({"t": [1.5]}), "t", integer=False).collect()["t"].to_list() == [1.5]
    with pytest.raises(ColumnTypeError, match="row 2 holds 'long'"):
        require_durations(pl.LazyFrame({"tenure": ["3", "long"]}), "tenure")
    with pytest.raises(ColumnNotFoundError, match="duration column 'tenur' not found; did you mean 'tenure'"):
        require_durations(pl.LazyFrame({"tenure": [1]}), "tenur")


@pytest.mark.parametrize("values, expected", [
    (["Yes", "no", "YES", " No "], [True, False, True, False]),
    (["true", "False", "1", "0"], [True, False, True, False]),
    ([1, 0, 1], [True, False, True]),
    ([1.0, 0.0], [True, False]),
    ([True, False], [True, False]),
])
def test_events_accept_01_true_false_yes_no_in_any_case(values, expected):
    assert require_events(pl.LazyFrame({"churn": values}), "churn").collect()["churn"].to_list() == expected


@pytest.mark.parametrize("values, shown", [(["yes", "churned"], "'churned'"), ([0, 1, 2], "2"),
                                           ([0.0, 0.5], "0.5"), (["y", "n"], "'y'")])
def test_an_event_that_is_not_01_or_yes_no_is_named(values, shown):
    with pytest.raises(DataError) as err:
        require_events(pl.LazyFrame({"churn": values}), "churn")
    assert f"event column 'churn' holds {shown} in row" in str(err.value)
    assert "0/1, true/false or yes/no" in str(err.value)


def test_a_missing_event_is_an_error_with_its_row():
    with pytest.raises(DataError, match="event column 'churn' is empty \\(null\\) in row 2"):
        require_events(pl.LazyFrame({"churn": ["no", None]}), "churn")


def _panel(rows: dict[str, list[float]], months: list[str], **extra: dict[str, list]) -> pl.DataFrame:
    data: dict[str, list] = {"id": [], "month": [], "voice": []}
    for key, usage in rows.items():
        taken = [(m, u) for m, u in zip(months, usage, strict=True) if u is not None]
        data["id"] += [key] * len(taken)
        data["month"] += [m for m, _ in taken]
        data["voice"] += [u for _, u in taken]
    for name, per_id in extra.items():
        data[name] = [per_id[key] for key in data["id"]]
    return pl.DataFrame(data)


MONTHS = [f"2024-{m:02d}" for m in range(1, 11)]


def _lifetimes(panel: pl.DataFrame, **options) -> dict[str, tuple]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = durations(panel, id="id", voice="voice", **options)
    return {r["id"]: (r["duration"], r["event"], r["entry"]) for r in table.iter_rows(named=True)}


def test_a_line_lives_from_its_first_usage_to_its_last_usage_before_the_exit():
    n = None
    panel = _panel({
        "silent": [n, 5, 5, 5, 0, 0, 0, 0, 0, 0],     # exit in 2024-07 (third silent month); lived 02-04
        "active": [n, n, n, 1, 1, 1, 1, 1, 1, 1],     # censored at 2024-10: 7 months
        "quiet_end": [n, n, n, n, 1, 1, 1, 1, 0, 0],  # two silent months: not an exit yet, censored at 08
        "back": [2, 0, 0, 0, 2, 2, 2, 2, 2, 2],       # exit in 04 then back: the first exit counts
        "never": [0, 0, 0, n, n, n, n, n, n, n],       # no usage at all: no lifetime
    }, MONTHS)
    got = _lifetimes(panel)
    assert got == {"silent": (3, True, 0), "active": (7, False, 0), "quiet_end": (4, False, 0),
                   "back": (1, True, 0)}


def test_cancelled_status_ends_the_lifetime_and_usage_in_that_month_counts():
    n = None
    status = {"c": "active", "d": "active"}
    panel = _panel({"c": [n, 3, 3, 3, 0, n, n, n, n, n], "d": [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]}, MONTHS,
                   status=status)
    panel = panel.with_columns(pl.when((pl.col("id") == "c") & (pl.col("month") == "2024-05"))
                               .then(pl.lit("cancelled")).otherwise(pl.col("status")).alias("status"))
    assert _lifetimes(panel, status="status") == {"c": (3, True, 0), "d": (10, False, 0)}
    # A cancellation in a month that still had usage: that month was lived.
    panel = panel.with_columns(pl.when(pl.col("id") == "c").then(pl.col("voice") + 1).otherwise(pl.col("voice")))
    assert _lifetimes(panel, status="status")["c"] == (4, True, 0)


def test_a_reentry_is_censored_at_its_exit_unless_every_exit_counts():
    n = None
    panel = _panel({"old": [5, 5, 5, 0, n, n, n, n, n, n], "new": [n, n, n, n, n, 5, 5, 5, 5, 5],
                    "gone": [5, 5, 0, n, n, n, n, n, n, n]}, MONTHS,
                   person={"old": "p1", "new": "p1", "gone": "p2"}, status={"old": "x", "new": "x", "gone": "x"})
    panel = panel.with_columns(pl.when(pl.col("voice") == 0).then(pl.lit("cancelled")).otherwise(pl.lit("active"))
                               .alias("status"))
    got = _lifetimes(panel, status="status", identity="person")
    assert got == {"old": (3, False, 0), "new": (5, False, 0), "gone": (2, True, 0)}
    assert _lifetimes(panel, status="status", identity="person", event="exit")["old"] == (3, True, 0)


def test_activation_before_the_panel_counts_in_duration_and_entry():
    n = None
    panel = _panel({"stock": [1, 1, 1, 1, 0, 0, 0, n, n, n], "new": [n, n, 1, 1, 1, 1, 1, 1, 1, 1]}, MONTHS,
                   act={"stock": "2023-07-10", "new": "2024-03-01"})
    # stock: activated 2023-07, last used 2024-04: 10 months; 6 of them (Jul-Dec) before the panel.
    assert _lifetimes(panel, activation="act") == {"stock": (10, True, 6), "new": (8, False, 0)}


def test_since_counts_from_that_month_for_lines_not_yet_exited_with_their_stage():
    n = None
    panel = _panel({"drop": [100, 100, 100, 100, 100, 100, 20, 20, 0, 0],
                    "steady": [9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
                    "late": [n, n, n, n, n, n, n, n, 1, 1],
                    "gone": [5, 0, 0, 0, n, n, n, n, n, n]}, MONTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = durations(panel, id="id", voice="voice", since="2024-08")
    got = {r["id"]: (r["stage"], r["duration"], r["event"]) for r in table.iter_rows(named=True)}
    assert got == {"drop": ("decline", 1, False), "steady": ("maturity", 3, False)}
    assert table["cohort"].to_list() == [date(2024, 1, 1)] * 2
    with pytest.raises(OptionError, match="--since 2025-01 is outside the panel's months"):
        durations(panel, id="id", voice="voice", since="2025-01")


def test_an_unknown_event_kind_is_an_option_error():
    with pytest.raises(OptionError, match="must be one of churn, exit"):
        _lifetimes(_panel({"a": [1] * 10}, MONTHS), event="left")

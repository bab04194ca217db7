"""segment survival: curves, summary, tests and calendar from a snapshot or a panel; bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from segment.errors import DataError, EmptyInputError, OptionError
from segment.io import read_table
from segment.stats.survival import kaplan_meier
from segment.survival import DEFAULT_TIMES, survival
from tests.conftest import FIXTURES

COLUMNS = ["group", "time", "at_risk", "events", "censored", "survival", "lower", "upper", "hazard"]
SMALL = FIXTURES / "survival_small.csv"


def _snapshot() -> pl.DataFrame:
    return pl.read_csv(SMALL)


def test_curves_have_the_documented_columns_one_row_per_group_and_month():
    res = survival(_snapshot(), duration="tenure", event="churn", by="contract")
    assert res.curves.columns == COLUMNS
    snap = _snapshot()
    for name, part in res.curves.group_by("group"):
        mine = snap.filter(pl.col("contract") == name[0])
        assert part["time"].to_list() == list(range(mine["tenure"].max() + 1))
        assert part["events"].sum() == (mine["churn"] == "Yes").sum()
        assert part["censored"].sum() == (mine["churn"] == "No").sum()
        assert part["at_risk"][0] == mine.height
    assert res.summary["group"].to_list() == ["month-to-month", "one-year", "two-year"]
    assert res.summary.columns == ["group", "lines", "events", "median_lifetime",
                                   *(f"survival_{t}" for t in DEFAULT_TIMES)]


def test_without_by_every_line_is_in_group_all_and_there_is_no_test():
    res = survival(_snapshot(), duration="tenure", event="churn")
    assert set(res.curves["group"]) == {"all"}
    assert res.logrank is None and res.pairs is None


def test_summary_reads_median_and_shares_off_the_curve():
    res = survival(_snapshot(), duration="tenure", event="churn", by="contract", times=(1, 6, 100))
    for row in res.summary.iter_rows(named=True):
        curve = res.curves.filter(pl.col("group") == row["group"])
        below = curve.filter(pl.col("survival") <= 0.5)
        assert row["median_lifetime"] == (below["time"][0] if below.height else None)
        assert row["survival_6"] == curve.filter(pl.col("time") == 6)["survival"][0]
        assert row["survival_100"] is None  # past the longest tenure seen: unknown, not the last value


def test_a_segment_that_churns_faster_separates_in_the_logrank_test():
    rng = np.random.default_rng(2)
    n = 400
    fast = rng.geometric(0.15, n)
    slow = rng.geometric(0.05, n)
    snap = pl.DataFrame({"tenure": np.concatenate([fast, slow]), "churn": np.ones(2 * n, dtype=int),
                         "segment": ["fast"] * n + ["slow"] * n})
    res = survival(snap, duration="tenure", event="churn", by="segment")
    assert res.logrank.pvalue < 1e-10
    medians = dict(res.summary.select("group", "median_lifetime").iter_rows())
    assert medians["fast"] < medians["slow"]
    # Hazard by tenure month recovers the planted monthly churn rates (geometric: constant).
    for name, rate in (("fast", 0.15), ("slow", 0.05)):
        curve = res.curves.filter(pl.col("group") == name, pl.col("time") >= 1, pl.col("at_risk") >= 100)
        pooled = curve["events"].sum() / curve["at_risk"].sum()
        assert pooled == pytest.approx(rate, abs=0.02)


def test_missing_segment_values_are_reported_and_left_out():
    snap = pl.read_csv(FIXTURES / "survival_null_segment.csv")
    with pytest.warns(UserWarning, match="1 missing in 'contract'"):
        res = survival(snap, duration="tenure", event="churn", by="contract")
    assert res.stats["lines"] == 3 and res.stats["left_out"] == 1


@pytest.mark.parametrize("fixture, message", [
    ("survival_negative_duration.csv", "duration column 'tenure' holds -2 in row 2"),
    ("survival_fractional_duration.csv", "duration column 'tenure' holds 2.5 in row 2"),
    ("survival_bad_event.csv", "event column 'churn' holds 'maybe' in row 3"),
])
def test_bad_durations_and_events_are_data_errors(fixture, message):
    with pytest.raises(DataError, match=message):
        survival(read_table(FIXTURES / fixture).frame, duration="tenure", event="churn")


@pytest.mark.parametrize("kwargs, message", [
    ({"duration": "tenure"}, "give --duration and --event"),
    ({"duration": "tenure", "event": "churn", "since": "2024-01"}, "--since needs a monthly panel"),
    ({"duration": "tenure", "event": "churn", "calendar": True}, "--calendar needs a monthly panel"),
    ({"duration": "tenure", "event": "churn", "times": (3, 2.5)}, "--at must be whole months"),
    ({"duration": "tenure", "event": "churn", "by": "row"}, "distinct values"),
])
def test_contradictory_or_impossible_options_are_option_errors(kwargs, message):
    snap = pl.concat([_snapshot()] * 5).with_row_index("row")
    with pytest.raises(OptionError, match=message):
        survival(snap, **kwargs)


def test_empty_snapshot_is_an_empty_input_error():
    with pytest.raises(EmptyInputError):
        survival(pl.DataFrame({"tenure": [], "churn": []}, schema={"tenure": pl.Int64, "churn": pl.String}),
                 duration="tenure", event="churn")


def _panel() -> pl.DataFrame:
    """Four lines over 2024-01..2024-08; plan is the segment, changed by 'b' before it leaves."""
    rows = []
    usage = {"a": [5, 5, 5, 0, 0, 0, 0, 0], "b": [5, 5, 5, 5, 5, 0, 0, 0], "c": [0, 3, 3, 3, 3, 3, 3, 3],
             "d": [0, 0, 0, 2, 2, 0, 0, 0]}
    plans = {"a": "prepaid", "b": "postpaid", "c": "postpaid", "d": "prepaid"}
    for line, values in usage.items():
        for m, v in enumerate(values, start=1):
            if line == "c" and m == 1 or line == "d" and m < 4:
                continue
            plan = "prepaid" if line == "b" and m >= 4 else plans[line]
            rows.append({"customer_id": line, "month": f"2024-{m:02d}", "voice": float(v), "plan": plan})
    return pl.DataFrame(rows)


def test_from_a_panel_durations_come_from_the_lifecycle_exit_rule():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = survival(_panel(), panel={"voice": "voice"}, by="plan", calendar=True)
    lines = {r["customer_id"]: (r["group"], r["duration"], r["event"]) for r in res.lines.iter_rows(named=True)}
    # a: used 01-03, exit in 06; b: used 01-05 (its first plan counts), exit in 08; c: censored; d: used 04-05, exit 08.
    assert lines == {"a": ("prepaid", 3, True), "b": ("postpaid", 5, True), "c": ("postpaid", 7, False),
                     "d": ("prepaid", 2, True)}
    cal = {(r["group"], str(r["month"])): (r["at_risk"], r["events"]) for r in res.calendar.iter_rows(named=True)}
    assert cal[("prepaid", "2024-03-01")] == (1, 1)  # a's last month
    assert cal[("prepaid", "2024-05-01")] == (1, 1)  # d's last month
    assert cal[("postpaid", "2024-05-01")] == (2, 1)  # b leaves, c stays
    assert ("prepaid", "2024-06-01") not in cal


def test_since_groups_by_the_stage_then():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = survival(_panel(), panel={"voice": "voice"}, by="stage", since="2024-05")
    assert dict(res.summary.select("group", "lines").iter_rows()) == {"acquisition": 1, "build-up": 2, "decline": 1}
    with pytest.raises(OptionError, match="--by stage groups lines by their lifecycle stage in the --since month"):
        survival(_panel(), panel={"voice": "voice"}, by="stage")


def test_curves_equal_kaplan_meier_of_the_lines_with_their_entry():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(40):
        start = int(rng.integers(1, 7))
        stop = int(rng.integers(start, 13))
        act = f"2023-{int(rng.integers(6, 13)):02d}-01" if start == 1 else f"2024-{start:02d}-01"
        rows += [{"customer_id": f"L{i:02d}", "month": f"2024-{m:02d}", "voice": 1.0 if m <= stop else 0.0,
                  "activation": act} for m in range(start, 13)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = survival(pl.DataFrame(rows), panel={"voice": "voice", "activation": "activation"})
    lines = res.lines
    assert lines["entry"].max() > 0
    expected = kaplan_meier(lines["duration"].to_numpy(), lines["event"].to_numpy(), lines["entry"].to_numpy())
    assert res.curves.drop("group").equals(expected)


@pytest.mark.parametrize("fixture, args, message", [
    ("survival_negative_duration.csv", (), "duration column 'tenure' holds -2 in row 2"),
    ("survival_fractional_duration.csv", (), "duration column 'tenure' holds 2.5 in row 2; durations must be whole"),
    ("survival_bad_event.csv", (), "event column 'churn' holds 'maybe' in row 3"),
    ("survival_small.csv", ("--at", "3,six"), "--at takes whole months"),
    ("survival_small.csv", ("--calendar", "cal.csv"), "--calendar needs a monthly panel"),
    ("survival_small.csv", ("--voice", "tenure"), "give either --duration and --event"),
])
def test_cli_bad_input_is_one_line_exit_2_and_nothing_written(cli, tmp_path, fixture, args, message):
    target = tmp_path / "curves.csv"
    result = cli(["survival", FIXTURES / fixture, "--duration", "tenure", "--event", "churn", *args, "-o", target])
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not target.exists() and not (tmp_path / "cal.csv").exists()


def test_cli_writes_curves_summary_pairs_and_calendar(cli, tmp_path):
    panel = tmp_path / "panel.csv"
    _panel().write_csv(panel)
    result = cli(["survival", panel, "--voice", "voice", "--by", "plan", "--calendar", tmp_path / "cal.csv",
                  "--summary", tmp_path / "summary.csv", "--pairs", tmp_path / "pairs.csv", "--correction", "bh",
                  "-o", tmp_path / "curves.csv"])
    assert result.exit_code == 0, result.stderr
    assert pl.read_csv(tmp_path / "curves.csv").columns == COLUMNS
    assert pl.read_csv(tmp_path / "cal.csv").columns == ["group", "month", "at_risk", "events", "hazard"]
    assert pl.read_csv(tmp_path / "pairs.csv").columns == ["group_a", "group_b", "statistic", "p_value", "p_adjusted"]
    assert "log-rank across 2 groups" in result.stderr

"""segment rfm: hand-computed cases, options, bad input, CLI behaviour."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from segment.errors import (ColumnNotFoundError, ColumnTypeError, DataError, EmptyInputError,
                            OptionError, SegmentWarning)
from segment.rfm._rfm import rfm
from segment.rfm._segments import SegmentRule
from tests.conftest import FIXTURES, run_segment, shell

SMALL = FIXTURES / "tx_small.csv"


def small() -> pl.DataFrame:
    return pl.read_csv(SMALL)


# Worked by hand in the comments of each expectation (as_of = 2024-03-31 + 1 day).
# Frequency has 3 distinct values for 5 bins: spread over the scale, 1 -> 1, 2 -> 3, 3 -> 5.
EXPECTED = {
    #       recency freq  monetary  R  F  M  segment
    "c01": (4, 3, 67.75, 5, 5, 3, "Loyal Customers"),
    "c02": (77, 1, 100.0, 1, 1, 4, "Others"),
    "c03": (60, 2, 8.0, 2, 3, 1, "Others"),  # 8 + 9 - 9 (return netted); f=3 is too high for About To Sleep
    "c04": (17, 2, 290.0, 3, 3, 5, "Loyal Customers"),
    "c05": (90, 1, 5.0, 1, 1, 1, "Lost"),
    "c06": (1, 2, 75.0, 5, 3, 3, "Loyal Customers"),
    "c07": (41, 1, 33.0, 3, 1, 2, "Potential Loyalist"),
    "c08": (12, 3, 231.0, 4, 5, 5, "Champions"),
}


def test_hand_computed_small_case_every_column():
    res = rfm(small())
    assert res.as_of == date(2024, 4, 1)
    got = {row["customer_id"]: row for row in res.table.iter_rows(named=True)}
    assert list(got) == sorted(EXPECTED)
    for cid, (rec, freq, mon, r, f, m, seg) in EXPECTED.items():
        row = got[cid]
        assert (row["recency"], row["frequency"], row["monetary"]) == (rec, freq, mon), cid
        assert (row["r_score"], row["f_score"], row["m_score"]) == (r, f, m), cid
        assert row["rfm_cell"] == f"{r}{f}{m}" and row["rfm_score"] == r + f + m
        assert row["segment"] == seg, cid


def test_tied_frequencies_share_a_score_and_bins_stay_balanced():
    res = rfm(small())
    # Frequency has 3 distinct values (1 x3, 2 x3, 3 x2): three scores used, none split, spread
    # over the scale (repeated breakpoints: scores 2 and 4 hold nobody).
    th = res.thresholds.filter(pl.col("metric") == "frequency")
    assert th["score"].to_list() == [1, 3, 5]
    assert th["n"].to_list() == [3, 3, 2]
    assert res.breaks["f"] == [2.0, 2.0, 3.0, 3.0]


def test_thresholds_report_ranges_per_score():
    th = rfm(small()).thresholds.filter(pl.col("metric") == "recency")
    # Recent buyers score high: score 5 holds recency 1..4 days.
    top = th.filter(pl.col("score") == 5).row(0, named=True)
    assert (top["min"], top["max"], top["n"]) == (1.0, 4.0, 2)
    assert th["n"].sum() == 8


def test_returns_drop_and_error():
    dropped = rfm(small(), returns="drop").table.filter(pl.col("customer_id") == "c03")
    assert dropped["monetary"].item() == 17.0
    with pytest.raises(DataError, match=r"negative \(-9.0\) in row 7"):
        rfm(small(), returns="error")


def test_frequency_days_and_monetary_mean():
    res = rfm(small(), frequency="days", monetary="mean").table
    c03 = res.filter(pl.col("customer_id") == "c03").row(0, named=True)
    assert c03["frequency"] == 1  # two purchases on the same day
    assert c03["monetary"] == 8.0
    c01 = res.filter(pl.col("customer_id") == "c01").row(0, named=True)
    assert c01["monetary"] == pytest.approx(67.75 / 3)


def test_quantity_multiplies_amount():
    tx = small().with_columns(qty=pl.lit(2))
    res = rfm(tx, quantity="qty").table
    assert res.filter(pl.col("customer_id") == "c02")["monetary"].item() == 200.0


def test_btyd_columns_hand_computed():
    res = rfm(small(), btyd=True).table
    got = {r["customer_id"]: r for r in res.iter_rows(named=True)}
    # c01: purchase days Jan 3, Feb 10, Mar 28; repeat values 35.5, 12.25.
    assert (got["c01"]["frequency_btyd"], got["c01"]["recency_btyd"], got["c01"]["T"]) == (2, 85, 89)
    assert got["c01"]["monetary_value"] == pytest.approx(23.875)
    # c03: both purchases on Feb 1 (one period); the return is on a non-purchase day.
    assert (got["c03"]["frequency_btyd"], got["c03"]["recency_btyd"], got["c03"]["T"]) == (0, 0, 60)
    assert got["c03"]["monetary_value"] == 0.0
    assert (got["c08"]["frequency_btyd"], got["c08"]["recency_btyd"], got["c08"]["T"]) == (2, 60, 72)
    assert got["c08"]["monetary_value"] == 77.0



@pytest.mark.parametrize("ids, when", [
    ([-3, -3, 7, 7, -3], None),  # negative ids, in range
    ([2 ** 50, 2 ** 50, 7, 7, 2 ** 50], None),  # an id beyond what a day number holds
    ([-3, -3, 7, 7, -3], date(9999, 1, 1)),  # a date beyond what a day number holds
    ([None, -3, 7, 7, -3], None),  # a null id: under the null id as rows out of range would be
])
def test_btyd_integer_ids_out_of_day_number_range_agree_with_text_ids(ids, when):
    # Integer ids are grouped per day by one number holding id and day; ids or
    # dates out of its range must fall back to grouping by id and date, not vanish.
    days = [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 5), date(2024, 2, 1), date(2024, 3, 1)]
    if when is not None:
        days[0] = when
    tx = pl.DataFrame({"customer_id": ids, "date": days, "amount": [10.0, -4.0, 5.0, 6.0, 8.0]})
    got = rfm(tx, btyd=True, bins=2, segments=None).table
    text = rfm(tx.with_columns(pl.col("customer_id").cast(pl.String)), btyd=True, bins=2, segments=None).table
    assert got.height == 2
    assert_frame_equal(got.drop("customer_id").sort("T"), text.drop("customer_id").sort("T"))
    assert sorted(got["customer_id"].to_list()) == sorted({i for i in ids if i is not None})

def test_as_of_leaves_out_later_transactions_with_a_warning():
    with pytest.warns(UserWarning, match="left out 5 transactions dated after"):
        res = rfm(small(), as_of="2024-03-15")
    got = {r["customer_id"]: r for r in res.table.iter_rows(named=True)}
    assert got["c04"]["recency"] == 0 and got["c04"]["monetary"] == 290.0
    assert "c06" not in got  # first purchase after as_of


def test_holdout_period_reports_what_scored_customers_did_next():
    res = rfm(small(), as_of="2024-02-29", holdout_end="2024-03-31").table
    got = {r["customer_id"]: (r["frequency_holdout"], r["monetary_holdout"], r["duration_holdout"])
           for r in res.iter_rows(named=True)}
    # c04 and c06 first bought in March: not scored, so not in the table.
    assert sorted(got) == ["c01", "c02", "c03", "c05", "c07", "c08"]
    assert got["c01"] == (1, 12.25, 31)
    assert got["c03"] == (0, -9.0, 31)  # a return in the holdout month nets the holdout spend
    assert got["c08"] == (1, 77.0, 31)
    assert got["c02"] == (0, 0.0, 31)
    # Calibration columns see only the past: c01 bought twice by the end of February.
    assert res.filter(pl.col("customer_id") == "c01")["frequency"].item() == 2


@pytest.mark.parametrize("kw, message", [
    ({"holdout_end": "2024-03-31"}, "--holdout-end needs --as-of"),
    ({"as_of": "2024-03-01", "holdout_end": "2024-02-01"}, "must come after --as-of"),
])
def test_holdout_option_errors(kw, message):
    with pytest.raises(OptionError, match=message):
        rfm(small(), **kw)


def test_explicit_breaks_use_documented_edges():
    res = rfm(small(), breaks={"r": [5, 15, 45, 80], "f": [2, 3, 4, 5], "m": [10, 50, 100, 250]}).table
    got = {r["customer_id"]: (r["r_score"], r["f_score"], r["m_score"]) for r in res.iter_rows(named=True)}
    # recency 4 <= 5 -> 5; 77 in (45, 80] -> 2; 90 > 80 -> 1. monetary 100 in [100, 250) -> 4.
    assert got["c01"] == (5, 3, 3)
    assert got["c02"] == (2, 1, 4)
    assert got["c05"] == (1, 1, 1)
    assert got["c04"][2] == 5


@pytest.mark.parametrize("bad", [{"r": [5, 1, 45, 80]}, {"f": [1, 2]}, {"x": [1, 2, 3, 4]}])
def test_bad_breaks_are_option_errors(bad):
    with pytest.raises(OptionError):
        rfm(small(), breaks=bad)


def test_custom_and_no_segment_tables():
    rules = [SegmentRule("Best", (5, 5), (1, 5), (1, 5))]
    res = rfm(small(), segments=rules).table
    assert set(res["segment"]) == {"Best", "Others"}
    assert "segment" not in rfm(small(), segments=None).table.columns


@pytest.mark.parametrize("bins", [4, 10])
def test_default_segments_need_five_bins(bins):
    """Regression: with --bins 10 the 1-5 table was applied silently (r=5 is mid-range there)."""
    with pytest.raises(OptionError, match=f"written for 5 bins, not {bins}"):
        rfm(small(), bins=bins)
    assert rfm(small(), bins=bins, segments=None).table["r_score"].max() <= bins


def test_null_ids_dropped_with_warning_or_error_when_strict():
    tx = pl.read_csv(FIXTURES / "tx_null_id.csv")
    with pytest.warns(UserWarning, match="dropped 1 rows with an empty 'customer_id'"):
        res = rfm(tx)
    assert res.table.height == 7 and res.stats["null_ids"] == 1
    with pytest.raises(DataError, match="row 10"):
        rfm(tx, strict=True)


@pytest.mark.parametrize("fixture, error, message", [
    ("tx_bad_date.csv", DataError, r"'2024-02-31' \(row 13\)"),
    ("tx_text_amount.csv", ColumnTypeError, r"row 13 holds 'abc'"),
    ("tx_null_amount.csv", DataError, r"'amount' is empty in 1 rows, first in row 13"),
])
def test_bad_values_name_the_value_and_row(fixture, error, message):
    with pytest.raises(error, match=message):
        rfm(pl.read_csv(FIXTURES / fixture))


def test_blank_amount_cell_is_reported_as_empty_not_as_text():
    """Regression: a cell holding a space (IBM Telco's TotalCharges) was a type error."""
    tx = pl.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02"], "amount": ["5", " "]})
    with pytest.raises(DataError, match=r"'amount' is empty in 1 rows, first in row 2"):
        rfm(tx)


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), float("nan")])
def test_infinite_or_nan_amount_is_a_data_error_not_a_crash(bad):
    """Regression: inf crashed the exact micro-unit sum with a traceback."""
    tx = pl.DataFrame({"customer_id": ["a", "b"], "date": [date(2024, 1, 1)] * 2, "amount": [bad, 5.0]})
    with pytest.raises(DataError, match=r"'amount' is not a finite number \((-?inf|nan)\) in row 1"):
        rfm(tx)


def test_as_of_before_every_transaction_says_so():
    with pytest.raises(DataError, match="no transactions on or before --as-of 2023-01-01"):
        with pytest.warns(SegmentWarning):
            rfm(small(), as_of="2023-01-01")


@pytest.mark.parametrize("body, message", [
    ("Top,a,5,3,5,1,5\n", "score ranges must be whole numbers"),  # regression: was a ValueError traceback
    ("", "only a header"),
])
def test_bad_segment_csv_is_one_line_error(tmp_path, body, message):
    from segment.errors import InputError
    from segment.rfm._segments import load_segments

    path = tmp_path / "segments.csv"
    path.write_text("segment,r_min,r_max,f_min,f_max,m_min,m_max\n" + body)
    with pytest.raises(InputError, match=message):
        load_segments(path)


def test_iso_timestamps_of_mixed_forms_are_cut_to_their_dates():
    """Regression: '2024-01-01T10:00:00Z' and a mix of dates and datetimes were 'not a date'."""
    tx = pl.DataFrame({"customer_id": ["a", "b", "c", "d"],
                       "date": ["2024-01-01T10:00:00Z", "2024-01-02", "2024-01-03 10:00", "2024-01-04T01:02:03.5+02:00"],
                       "amount": [5.0, 6.0, 7.0, 8.0]})
    assert rfm(tx, bins=2, segments=None).table["recency"].to_list() == [4, 3, 2, 1]
    with pytest.raises(DataError, match=r"'2024-02-31 10:00' \(row 2\)"):
        rfm(tx.with_columns(date=pl.Series(["2024-01-01T10:00:00Z", "2024-02-31 10:00", "2024-01-03", "2024-01-04"])))
    with pytest.raises(DataError, match="does not match --date-format %d/%m/%Y"):
        rfm(tx, date_format="%d/%m/%Y")


def test_order_counts_distinct_orders_not_lines():
    # a: order 1 has three lines, order 2 one line, order C3 is a return; b: one order of two lines.
    tx = pl.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "b"],
        "date": [date(2024, 1, 1)] * 3 + [date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 2), date(2024, 1, 2)],
        "amount": [10.0, 5.0, 5.0, 20.0, -5.0, 7.0, 3.0],
        "invoice": ["1", "1", "1", "2", "C3", "4", "4"],
    })
    by_line = rfm(tx, bins=2, segments=None).table
    by_order = rfm(tx, bins=2, segments=None, order="invoice", monetary="mean").table
    assert by_line["frequency"].to_list() == [4, 2]
    assert by_order["frequency"].to_list() == [2, 1]
    assert by_order["monetary"].to_list() == [17.5, 10.0]  # (40 - 5) / 2 orders; 10 / 1
    with pytest.raises(OptionError, match="does not combine"):
        rfm(tx, order="invoice", btyd=True)
    with pytest.raises(DataError, match="'invoice' is empty in 1 rows"):
        rfm(tx.with_columns(invoice=pl.Series(["1", None, "1", "2", "C3", "4", "4"])), order="invoice")


def test_unknown_column_suggests_close_match():
    with pytest.raises(ColumnNotFoundError, match="did you mean 'amount'"):
        rfm(small(), amount="amout")


def test_empty_frame_is_an_empty_input_error():
    empty = pl.DataFrame(schema={"customer_id": pl.String, "date": pl.Date, "amount": pl.Float64})
    with pytest.raises(EmptyInputError):
        rfm(empty)


def test_only_returns_is_a_data_error():
    tx = pl.DataFrame({"customer_id": ["a"], "date": [date(2024, 1, 1)], "amount": [-5.0]})
    with pytest.raises(DataError, match="no purchases"), pytest.warns(UserWarning):
        rfm(tx)


def test_datetime_and_integer_dates_are_cut_to_days():
    tx = small()
    as_dt = tx.with_columns(pl.col("date").str.to_datetime("%Y-%m-%d") + pl.duration(hours=23))
    as_int = tx.with_columns(pl.col("date").str.replace_all("-", "").cast(pl.Int64))
    base = rfm(tx).table
    assert_frame_equal(rfm(as_dt).table, base)
    assert_frame_equal(rfm(as_int).table, base)


def test_duplicate_transactions_count_twice():
    # Identical rows are separate transactions (two recharges of the same value on one day).
    tx = pl.concat([small(), small().filter(pl.col("customer_id") == "c05")])
    got = rfm(tx).table.filter(pl.col("customer_id") == "c05").row(0, named=True)
    assert (got["frequency"], got["monetary"]) == (2, 10.0)


# ------------------------------------------------------------------ CLI


def test_cli_writes_table_thresholds_and_summary(cli, tmp_path):
    out, th = tmp_path / "rfm.parquet", tmp_path / "th.csv"
    result = cli(["rfm", SMALL, "-o", out, "--thresholds", th])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "RFM segments" in result.stderr and "Loyal Customers" in result.stderr
    df = pl.read_parquet(out)
    assert df.height == 8 and df["segment"].null_count() == 0
    assert pl.read_csv(th).columns == ["metric", "score", "n", "share", "min", "max"]
    from segment.io import read_table

    prov = read_table(out).provenance
    assert prov["options"]["bins"] == 5 and prov["details"]["as_of"] == "2024-04-01"
    assert prov["inputs"][0]["name"].endswith("tx_small.csv")


def test_cli_option_names_map_to_columns(cli, tmp_path):
    renamed = tmp_path / "renamed.csv"
    small().rename({"customer_id": "msisdn", "date": "paid_on", "amount": "value"}).write_csv(renamed)
    result = cli(["rfm", renamed, "--id", "msisdn", "--date", "paid_on", "--amount", "value"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("msisdn,recency,frequency,monetary")


def test_cli_null_ids_warn_on_stderr_and_strict_exits_2(cli):
    result = cli(["rfm", FIXTURES / "tx_null_id.csv"])
    assert result.exit_code == 0
    assert "warning: dropped 1 rows" in result.stderr
    strict = cli(["rfm", FIXTURES / "tx_null_id.csv", "--strict"])
    assert strict.exit_code == 2 and strict.stderr.startswith("error: ")


@pytest.mark.parametrize("args, needle", [
    (["--bins", "1"], "--bins must be between 2 and 10"),
    (["--breaks", "r=a"], "'a' is not a number"),
    (["--as-of", "yesterday"], "--as-of must be a date"),
    (["--segments", "nope.toml"], "does not exist"),
    (["--returns", "keep"], "'keep' is not one of"),
])
def test_cli_bad_options_exit_2(cli, args, needle):
    result = cli(["rfm", SMALL, *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and needle in result.stderr, result.stderr


def test_cli_segments_from_toml_and_csv(cli, tmp_path):
    toml = tmp_path / "seg.toml"
    toml.write_text('[[segment]]\nname = "Recent"\nr = [4, 5]\nf = [1, 5]\nm = [1, 5]\n')
    csv = tmp_path / "seg.csv"
    csv.write_text("segment,r_min,r_max,f_min,f_max,m_min,m_max\nRecent,4,5,1,5,1,5\n")
    for table in (toml, csv):
        result = cli(["rfm", SMALL, "--segments", table])
        assert result.exit_code == 0, result.stderr
        df = pl.read_csv(result.stdout_bytes)
        assert set(df["segment"]) == {"Recent", "Others"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[segment]]\nname = "X"\nr = [5, 4]\nf = [1, 5]\nm = [1, 5]\n')
    result = cli(["rfm", SMALL, "--segments", bad])
    assert result.exit_code == 2 and "reversed" in result.stderr


def test_atomic_write_forced_failure_leaves_no_file(cli, tmp_path, monkeypatch):
    import segment.io as sio

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sio, "_write_path", boom)
    target = tmp_path / "rfm.parquet"
    with pytest.raises(OSError, match="disk full"):
        cli(["rfm", SMALL, "-o", target])
    assert list(tmp_path.iterdir()) == []


def test_pipe_stdin_to_info():
    proc = shell(f"segment rfm - < '{SMALL}' -q --to arrow | segment info -")
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "rows: 8" in text and '"command": "rfm"' in text and "r_score: Int8" in text


def test_arrow_round_trip_between_two_commands_keeps_types():
    proc = shell(f"segment rfm '{SMALL}' -q --to arrow | segment info - --json")
    assert proc.returncode == 0, proc.stderr.decode()
    import json

    info = json.loads(proc.stdout)
    assert info["format"] == "arrow"
    assert info["schema"]["recency"] == "Int64" and info["schema"]["frequency"] == "UInt32"
    assert info["provenance"]["inputs"][0]["sha256"]


def test_csv_pipe_into_head_is_quiet_and_exit_0():
    proc = shell(f"segment rfm '{SMALL}' | head -n 2")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines()[0].startswith("customer_id,recency")
    assert b"Traceback" not in proc.stderr


def test_real_process_exit_codes(tmp_path):
    assert run_segment(["rfm", SMALL, "-o", tmp_path / "a.csv", "-q"]).returncode == 0
    bad = run_segment(["rfm", FIXTURES / "tx_bad_date.csv", "-o", tmp_path / "b.csv"])
    assert bad.returncode == 2 and not (tmp_path / "b.csv").exists()
    assert bad.stderr.decode().count("\n") == 1
    usage = run_segment(["rfm", "--no-such-flag"])
    assert usage.returncode == 2 and b"Traceback" not in usage.stderr


def test_regression_float_sums_depend_on_thread_scheduling():
    # polars' streaming engine adds floats in whatever order its threads finish;
    # money is now summed as integers, so repeated runs must agree to the bit.
    import numpy as np

    rng = np.random.default_rng(7)
    n = 600_000
    tx = pl.DataFrame({
        "customer_id": rng.integers(0, 20_000, n),
        "date": np.datetime64("2024-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]"),
        "amount": np.round(rng.lognormal(3, 1, n) * np.where(rng.random(n) < 0.03, -1, 1), 2),
    })
    runs = [rfm(tx, btyd=True, segments=None).table for _ in range(3)]
    for other in runs[1:]:
        assert_frame_equal(runs[0], other, check_exact=True)


# ---------------------------------------------------------------- coarse data: fewer distinct values than bins


def billed(dates: dict[str, list[str]], amounts: dict[str, float] | None = None) -> pl.DataFrame:
    rows = [{"customer_id": c, "date": d, "amount": (amounts or {}).get(c, 10.0)} for c, ds in dates.items()
            for d in ds]
    return pl.DataFrame(rows).with_columns(pl.col("date").str.to_date())


def test_monthly_billing_with_three_recency_values_spreads_them_over_the_scale():
    # Bills on the 1st of January, February or March; as_of 2 March: recency 61, 30 and 1 days.
    # Three values for five scores: 1, 3, 5 (the most recent at the top), so the latest payers can be
    # Champions. Frequency: everybody 2 bills -> one value -> the middle score 3.
    tx = billed({"a": ["2023-12-01", "2024-01-01"], "b": ["2023-12-01", "2024-02-01"],
                 "c": ["2023-12-01", "2024-03-01"], "d": ["2023-12-01", "2024-03-01"]})
    res = rfm(tx, as_of="2024-03-02", segments=None)
    t = {r["customer_id"]: (r["recency"], r["r_score"], r["f_score"]) for r in res.table.iter_rows(named=True)}
    assert t == {"a": (61, 1, 3), "b": (30, 3, 3), "c": (1, 5, 3), "d": (1, 5, 3)}
    # Repeated breakpoints: recency 30 is the lower edge of scores 2 and 3 alike (days counted backwards).
    assert res.breaks["r"] == [1.0, 1.0, 30.0, 30.0] and res.breaks["f"] == [2.0, 2.0, 2.0 + 2**-51, 2.0 + 2**-51]
    # The breaks are reusable as they are, on the same scale.
    again = rfm(tx, as_of="2024-03-02", segments=None, breaks=res.breaks).table
    assert again["r_score"].to_list() == [1, 3, 5, 5] and again["f_score"].to_list() == [3, 3, 3, 3]


def test_everybody_buying_on_the_same_day_scores_the_middle_not_lost():
    tx = billed({"a": ["2024-03-01"], "b": ["2024-03-01"], "c": ["2024-03-01"]}, {"a": 5.0, "b": 10.0, "c": 20.0})
    res = rfm(tx).table
    assert res["r_score"].to_list() == [3, 3, 3] and res["f_score"].to_list() == [3, 3, 3]
    assert res["m_score"].to_list() == [1, 3, 5]  # three amounts: spread too
    assert "Lost" not in res["segment"].to_list()


@pytest.mark.parametrize("values, bins, want", [
    ([7, 7], 4, [3, 3]),            # one value: the middle, halves rounded up
    ([1, 2], 4, [1, 4]),            # two values: the ends
    ([1, 2, 3, 4], 5, [1, 2, 4, 5]),  # 1 + round(4 * i / 3): 1, 2.33, 3.67, 5
    ([1, 2, 3], 3, [1, 2, 3]),      # as many values as bins: one each, as before
])
def test_spread_scores_by_hand(values, bins, want):
    tx = billed({f"c{i}": ["2024-03-01"] * v for i, v in enumerate(values)})
    assert rfm(tx, bins=bins, segments=None).table["f_score"].to_list() == want


def test_breaks_may_repeat_but_not_decrease():
    res = rfm(small(), breaks={"f": [2, 2, 3, 3]}).table
    assert sorted(set(res["f_score"].to_list())) == [1, 3, 5]
    with pytest.raises(OptionError, match=r"--breaks f= must be increasing \(repeats allowed\)"):
        rfm(small(), breaks={"f": [2, 3, 3, 2]})

"""segment lifecycle: hand-computed panels for every rule and edge, options, bad input, CLI."""

from __future__ import annotations

import warnings
from datetime import date

import polars as pl
import pytest

from segment.errors import ColumnNotFoundError, ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.lifecycle._lifecycle import lifecycle
from tests.conftest import FIXTURES, run_segment, shell
from tests.test_contract import assert_one_line_error

SMALL = FIXTURES / "lifecycle_small.csv"
COLS = ["--voice", "voice_min", "--data", "data_mb", "--revenue", "revenue"]


def months(n: int, start: int = 1) -> list[str]:
    return [f"{2023 + (start + i - 1) // 12}-{(start + i - 1) % 12 + 1:02d}" for i in range(n)]


def panel(**customers: list) -> pl.DataFrame:
    """customer -> list of (month, voice, data, revenue[, status]) rows."""
    rows = []
    for cid, entries in customers.items():
        for e in entries:
            rows.append({"customer_id": cid, "month": e[0], "voice": float(e[1]), "data": float(e[2]),
                         "revenue": float(e[3]), "status": e[4] if len(e) > 4 else "active"})
    return pl.DataFrame(rows)


def steady(voice: list[float], data: list[float] | None = None, revenue: float = 20.0, start: int = 1,
           status: list[str] | None = None) -> list:
    data = data if data is not None else [v * 5 for v in voice]
    status = status or ["active"] * len(voice)
    return [(m, v, d, revenue if v or d else 0.0, s)
            for m, v, d, s in zip(months(len(voice), start), voice, data, status, strict=True)]


def run(df: pl.DataFrame, **kw):
    kw = {"voice": "voice", "data": "data", "revenue": "revenue", "status": "status", **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifecycle(df, **kw)


def history(df: pl.DataFrame, cid: str = "a", **kw) -> list[tuple]:
    h = run(df, **kw).history().filter(pl.col("customer_id") == cid)
    return list(zip(h["stage"].to_list(), h["subtype"].to_list(), h["tenure"].to_list(),
                    h["months_in_stage"].to_list(), strict=True))


A, B, C, D, E = "acquisition", "build-up", "maturity", "decline", "exit"


# ---------------------------------------------------------------- the rules, by hand


def test_decline_in_month_two_overrides_acquisition():
    # month 2 against month 1: voice 40 vs 100 (-60%), data unchanged -> single drop of voice.
    h = history(panel(a=steady([100, 40], data=[500, 500])))
    assert h == [(A, None, 1, 1), (D, "single-drop:voice", 2, 1)]


def test_a_fall_of_exactly_the_threshold_is_a_decline_and_just_under_is_not():
    assert history(panel(a=steady([100, 70], data=[500, 500])))[1][0] == D
    assert history(panel(a=steady([100, 71], data=[500, 500])))[1][0] == A
    # --drop 0.5: a fall of 40% is no longer enough.
    assert history(panel(a=steady([100, 60], data=[500, 500])), drop=0.5)[1][0] == A


def test_gap_counts_as_zero_usage():
    rows = [r for r in steady([100] * 7) if r[0] != "2023-04"]
    res = run(panel(a=rows))
    h = history(panel(a=rows))
    # Month 4 has no row: voice and data both 0 that month.
    # m4: window (m2..m4) = 66.7 vs baseline (m1) = 100 -> -33%: a double drop. m5: usage again after
    # one silent month: a win-back (tenure 5 = build-up), and the window starts again there:
    # m6: m6 against m5; m7: (m6, m7) = 100 against m5 = 100 -> tenure 7 = maturity.
    assert [s for s, *_ in h] == [A, A, A, D, B, B, C]
    assert [sub for _, sub, *_ in h] == [None, None, None, "double-drop", "winback", None, None]
    snap = res.snapshot().row(0, named=True)
    assert snap["voice_recent"] == 100.0 and snap["voice_baseline"] == 100.0 and snap["voice_change"] == 0.0
    assert res.stats["gap_slots"] == 1


def test_return_after_two_silent_months_is_a_winback_not_a_decline():
    h = history(panel(a=steady([100] * 6 + [0, 0] + [100] * 4)))
    # m7: (m5..m7) 66.7 vs (m2..m4) 100: decline; m8: 33.3. m9: usage again after 2 silent months:
    # a win-back (tenure 9 = maturity), not a decline of (m7..m9) 33.3 against (m4..m6) 100; the
    # window starts again at m9: m10 is m10 against m9, m12 is (m10..m12) against m9.
    assert [s for s, *_ in h] == [A, A, A, B, B, B, D, D, C, C, C, C]
    assert h[8] == (C, "winback", 9, 1)
    assert h[-1] == (C, None, 12, 4)


def test_the_window_restarts_at_the_winback_so_a_fall_after_it_is_judged_against_the_return():
    # Back at 100 after one silent month (m6), then 60: m8 is 60 against the return month m7 alone
    # (-40%), m9 (m8, m9) and m10 (m8..m10) likewise: declines. Had the window not restarted, m10's
    # (m8..m10) = 60 against (m5..m7) = 66.7 would be no decline, and m7 itself would be one.
    h = history(panel(a=steady([100] * 5 + [0, 100, 60, 60, 60], data=[500] * 5 + [0] + [500] * 4)))
    assert [s for s, *_ in h] == [A, A, A, B, B, D, C, D, D, D]
    assert [sub for _, sub, *_ in h][6:] == ["winback"] + ["single-drop:voice"] * 3


def test_three_silent_months_are_an_exit_and_a_return_within_the_winback_window_is_a_winback():
    h = history(panel(a=steady([100] * 6 + [0, 0, 0] + [100] * 3)))
    # The exit shows in the third silent month; usage in m10 (after 3 silent months, within the
    # 3-month win-back window) is a win-back: the window starts again there, no decline after it.
    assert [s for s, *_ in h] == [A, A, A, B, B, B, D, D, E, C, C, C]
    assert h[8] == (E, "churn", 9, 1)
    assert h[9] == (C, "winback", 10, 1)
    assert history(panel(a=steady([100] * 6 + [0, 0, 0])), exit_after=4)[8][0] == D
    # --winback 2: 3 silent months are beyond the window; the return is read as before
    # (m10: (m8..m10) 33.3 vs (m5..m7) 66.7 -> decline).
    assert [s for s, *_ in history(panel(a=steady([100] * 6 + [0, 0, 0] + [100] * 3)), winback=2)][9] == D


def test_return_after_more_than_the_winback_window_is_a_reactivation_and_tenure_stops_at_exit():
    h = history(panel(a=steady([100] * 6 + [0, 0, 0, 0] + [100] * 2)))
    # Exit in m9 and m10 (tenure held at 9, the exit month's); m11 after 4 silent months is no
    # win-back: (m9..m11) 33.3 vs (m6..m8) 33.3 is no fall -> maturity with tenure 11 again.
    assert [s for s, *_ in h] == [A, A, A, B, B, B, D, D, E, E, C, C]
    assert [t for *_, t, _ in h][8:] == [9, 9, 11, 12]
    assert [sub for _, sub, *_ in h][10] is None


def test_history_says_what_happened_next_month():
    # Three silent months exit the line in month 6; a steady line never churns.
    df = panel(a=steady([100, 100, 100, 0, 0, 0, 0]), b=steady([50] * 7))
    h = run(df).history()
    a = h.filter(pl.col("customer_id") == "a")
    assert a["next_stage"].to_list()[4:] == [E, E, None]
    # At risk while not yet exited; unknown in the panel's last month.
    assert a["churn_next_month"].to_list() == [False, False, False, False, True, None, None]
    b = h.filter(pl.col("customer_id") == "b")
    assert b["churn_next_month"].to_list() == [False] * 6 + [None]


def test_suspended_then_active_again():
    status = ["active"] * 8 + ["suspended"] * 2 + ["active"] * 3
    res = run(panel(a=steady([100] * 8 + [0, 0] + [100] * 3, status=status)))
    h = res.history()
    assert h["stage"].to_list() == [A, A, A, B, B, B, C, C, D, D, C, C, C]
    assert h["subtype"].to_list()[10] == "winback"
    # 3 months of win-back window: 2 left in the first suspended month, 1 in the second.
    assert h["winback_months_left"].to_list() == [None] * 8 + [2, 1] + [None] * 3
    assert res.snapshot()["winback_months_left"].to_list() == [None]


def test_suspension_running_out_the_winback_window_exits():
    status = ["active"] * 8 + ["suspended"] * 3 + ["cancelled"]
    h = run(panel(a=steady([100] * 8 + [0] * 4, status=status))).history()
    assert h["stage"].to_list()[-4:] == [D, D, E, E]
    assert h["winback_months_left"].to_list()[-4:] == [2, 1, 0, None]


def test_cancelled_status_exits_and_carries_over_months_without_rows():
    rows = steady([100] * 4, status=["active"] * 3 + ["cancelled"])
    df = panel(a=rows, z=steady([10] * 8))  # z makes the panel run to month 8
    h = history(df)
    assert [s for s, *_ in h] == [A, A, A, E, E, E, E, E]
    assert h[3][1] == "churn" and h[-1][3] == 5
    assert [t for *_, t, _ in h] == [1, 2, 3, 4, 4, 4, 4, 4]  # tenure stops at the exit month
    # A later row with another status ends the cancellation: usage again after 3 silent months is a
    # win-back (tenure 7 = maturity); m8 has no row: zero against the return month, a decline.
    back = rows + [("2023-07", 100, 500, 20, "active")]
    h = history(panel(a=back, z=steady([10] * 8)))
    assert [s for s, *_ in h][4:] == [E, E, C, D] and h[6][:3] == (C, "winback", 7)


def test_no_stage_before_the_first_activity():
    h = history(panel(a=steady([0, 0, 100, 100, 100], data=[0, 0, 500, 500, 500])))
    assert h == [(None, None, None, None), (None, None, None, None), (A, None, 1, 1), (A, None, 2, 2),
                 (A, None, 3, 3)]
    snap = run(panel(a=steady([0, 0]), z=steady([5, 5]))).snapshot().row(0, named=True)
    assert snap["stage"] is None and snap["first_active"] is None


def test_decline_subtypes():
    base = [100] * 6
    cases = {
        "double-drop": steady(base + [20] * 3),
        "single-drop:voice": steady(base + [20] * 3, data=[500] * 9),
        "single-drop:data": steady(base * 1 + [100] * 3, data=[500] * 6 + [50] * 3),
        "revenue-drop": [(m, 100, 500, r) for m, r in zip(months(9), [20] * 6 + [5] * 3, strict=True)],
    }
    for want, rows in cases.items():
        h = history(panel(a=rows))
        assert (h[-1][0], h[-1][1]) == (D, want), want


def test_generic_metrics_and_two_falling_metrics_are_a_double_drop():
    rows = [{"customer_id": "a", "month": m, "orders": o, "visits": v}
            for m, o, v in zip(months(4), [4, 4, 1, 1], [10, 10, 10, 0], strict=True)]
    res = run(pl.DataFrame(rows), voice=None, data=None, revenue=None, status=None, metrics=["orders", "visits"])
    assert res.history()["subtype"].to_list() == [None, None, "single-drop:orders", "double-drop"]


def test_activation_date_sets_tenure_for_stock_customers():
    df = panel(a=steady([100] * 3), b=steady([100] * 3)).with_columns(
        activation=pl.when(pl.col("customer_id") == "a").then(pl.lit("2021-06-15")).otherwise(pl.lit("2022-12-31")))
    res = run(df, activation="activation")
    snap = {r["customer_id"]: r for r in res.snapshot().iter_rows(named=True)}
    assert (snap["a"]["stage"], snap["a"]["tenure"]) == (C, 22)  # Jun 2021 = tenure 1 -> Mar 2023 = 22
    assert (snap["b"]["stage"], snap["b"]["tenure"]) == (B, 4)
    with pytest.raises(DataError, match=r"customer 'a' has usage in 2023-01, before its activation month 2023-03"):
        run(panel(a=steady([100] * 3)).with_columns(activation=pl.lit("2023-03-02")), activation="activation")


def test_reentry_under_a_new_id():
    df = panel(b=steady([50, 20, 0, 0], status=["active", "active", "suspended", "cancelled"]),
               c=steady([10, 12], start=5), x=steady([80] * 6)).with_columns(
        person=pl.col("customer_id").replace({"b": "p2", "c": "p2", "x": "p9"}))
    res = run(df, identity="person")
    hist = res.history().filter(pl.col("customer_id") == "b")
    assert hist["stage"].to_list() == [A, D, D, E, E, E]
    assert hist["subtype"].to_list() == [None, "double-drop", "double-drop", "re-entry", "re-entry", "re-entry"]
    snap = {r["customer_id"]: r for r in res.snapshot().iter_rows(named=True)}
    assert (snap["b"]["entry"], snap["c"]["entry"], snap["x"]["entry"]) == ("brand-new", "re-entry", "brand-new")
    # Transitions follow the person: b's exit in April goes on as c's acquisition in May.
    moves = {(r["from"], r["to"]): r["moves"] for r in res.transitions().iter_rows(named=True)}
    assert moves[(E, A)] == 1 and moves[(E, E)] == 0
    assert res.chain().current.tolist() == [1, 1, 0, 0, 0]  # c, and x in build-up; b is now c
    # Without the identity nothing links b to c: a plain churn.
    assert run(df).history().filter(pl.col("customer_id") == "b")["subtype"].to_list()[3] == "churn"


def test_new_line_activated_before_the_old_line_exits_is_a_number_swap_not_churn():
    # b is used in m1-m3 and exits in m6; c, the same person's new line, started in m2 (overlap).
    df = panel(b=steady([50, 50, 50, 0, 0, 0]), c=steady([10] * 5, start=2),
               x=steady([50, 50, 50, 0, 0, 0])).with_columns(person=pl.col("customer_id").replace({"c": "b"}))
    res = run(df, identity="person")
    hist = res.history()
    b = hist.filter(pl.col("customer_id") == "b")
    assert b["subtype"].to_list()[-1] == "exit_swap"
    # Not a churn: b's month before the exit says no churn; x, the same shape alone, churns.
    assert b["churn_next_month"].to_list()[:6] == [False] * 5 + [None]
    x = hist.filter(pl.col("customer_id") == "x")
    assert x["subtype"].to_list()[-1] == "churn" and x["churn_next_month"].to_list()[4] is True
    assert res.snapshot().filter(pl.col("customer_id") == "c")["entry"].item() == "brand-new"
    # KPIs: in m5 two persons are in decline (b and x); x churns in m6, b swaps.
    may = res.kpis().filter((pl.col("month") == date(2023, 5, 1)) & (pl.col("stage") == D)).row(0, named=True)
    assert (may["customers"], may["churn_next_month"], may["swap_next_month"]) == (2, 0.5, 0.5)
    # A line started together with the old one, or after its last active month, is no swap.
    same = df.with_columns(pl.when(pl.col("customer_id") == "c").then(pl.col("month").str.replace("02$", "01"))
                           .otherwise(pl.col("month")).alias("month"))
    assert run(same, identity="person").history().filter(pl.col("customer_id") == "b")["subtype"][-1] == "churn"
    late = panel(b=steady([50, 50, 50, 0, 0, 0]), c=steady([10], start=6)).with_columns(person=pl.lit("p"))
    assert run(late, identity="person").history().filter(pl.col("customer_id") == "b")["subtype"][-1] == "re-entry"


def test_kpi_churn_counts_persons_when_an_identity_is_given_and_lines_without():
    # In May, y1 and y2 (person q, started together: no swap) and z (person r) are in decline;
    # y1 and y2 exit in June, z does not. Persons: 1 of 2 churn; lines: 2 of 3.
    df = panel(y1=steady([50, 50, 50, 0, 0, 0]), y2=steady([50, 50, 50, 0, 0, 0]),
               z=steady([50, 50, 50, 20, 20, 20])).with_columns(
        person=pl.col("customer_id").replace({"y1": "q", "y2": "q", "z": "r"}))

    def may(**kw) -> dict:
        k = run(df, **kw).kpis()
        return k.filter((pl.col("month") == date(2023, 5, 1)) & (pl.col("stage") == D)).row(0, named=True)

    assert may(identity="person")["customers"] == 3
    assert may(identity="person")["churn_next_month"] == 0.5
    assert may()["churn_next_month"] == pytest.approx(2 / 3, abs=1e-6)
    assert may()["swap_next_month"] is None  # swaps need --identity


def test_kpis_by_hand():
    res = run(pl.read_csv(SMALL), voice="voice_min", data="data_mb", identity="identity")
    k = {(str(r["month"]), r["stage"]): r for r in res.kpis().iter_rows(named=True)}
    june, may = k[("2024-06-01", A)], k[("2024-05-01", A)]
    # June: a decline, b exit, c acquisition, d build-up.
    assert [k[("2024-06-01", s)]["customers"] for s in (A, B, C, D, E)] == [1, 1, 0, 1, 1]
    assert june["share"] == 0.25 and june["revenue"] == 5.0
    assert (may["brand_new"], may["re_entered"], may["entered"]) == (0, 1, 1)
    feb = k[("2024-02-01", A)]
    assert (feb["brand_new"], feb["re_entered"]) == (1, 0)  # d
    # In decline in March: persons p2 (line b) and p4 (d). b exits in April, but p2 comes back
    # on line c in May: a re-entry is no churn of the person, so next-month churn is 0 of 2.
    assert k[("2024-03-01", D)]["churn_next_month"] == 0.0
    assert k[("2024-03-01", D)]["swap_next_month"] == 0.0
    # d returns in April after a silent March: a win-back in acquisition (tenure 3).
    d = res.history().filter(pl.col("customer_id") == "d")
    assert d["stage"].to_list()[2] == A and d["subtype"].to_list()[2] == "winback"
    assert june["churn_next_month"] is None and k[("2024-01-01", A)]["entered"] is None


# ---------------------------------------------------------------- --scheme purchases


def purchases(as_of: str | None = None, **customers: list[str]) -> pl.DataFrame:
    """customer -> months with an order; stages under the purchases scheme, one history row per month."""
    df = pl.DataFrame([{"customer_id": c, "month": m, "orders": 1} for c, ms in customers.items() for m in ms])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifecycle(df, metrics=["orders"], scheme="purchases", as_of=as_of).history()


def test_purchases_scheme_judges_each_customer_by_their_own_gap_between_purchases():
    # a buys every 2 months (gaps 2, 2, 2, 2, then 1: median 2 as of October): overdue by 2 x 2 = 4
    # months in February (decline), exit after the 3-month win-back window, in May; tenure stops.
    # b buys monthly (median gap 1): decline in the 2nd month without an order, exit 3 months later.
    h = purchases("2025-06", a=["2024-01", "2024-03", "2024-05", "2024-07", "2024-09", "2024-10"],
                  b=["2024-01", "2024-02", "2024-03"])
    a = h.filter(pl.col("customer_id") == "a")
    assert a["stage"].to_list() == [A] * 3 + [B] * 3 + [C] * 7 + [D] * 3 + [E] * 2
    assert a["subtype"].to_list()[13:] == ["overdue"] * 3 + ["churn"] * 2
    assert a["tenure"].to_list()[-3:] == [16, 17, 17]
    b = h.filter(pl.col("customer_id") == "b")
    assert b["stage"].to_list()[:9] == [A, A, A, B, D, D, D, E, E]
    # The every-2-months buyer is not in decline in the months between its orders (telecom would be).
    assert D not in a["stage"].to_list()[:13]


def test_purchases_scheme_first_gap_comes_from_everybody_and_a_return_from_overdue_is_a_winback():
    # c has one order (January) until its return: its rhythm is the median gap of everybody so far.
    # By March, d's gaps are 1, 1 (median 1): c is overdue from March (2 months), back in April: win-back.
    # e returns after its exit (reactivation): no win-back.
    h = purchases(c=["2024-01", "2024-04", "2024-05"], d=["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"],
                  e=["2024-01", "2024-02", "2024-03", "2024-09"])
    c = h.filter(pl.col("customer_id") == "c")
    assert c["stage"].to_list()[:5] == [A, A, D, B, B] and c["subtype"].to_list()[3] == "winback"
    e = h.filter(pl.col("customer_id") == "e")
    # e: monthly (gap 1): decline May-Jul, exit Aug; September's order after the exit is no win-back.
    assert e["stage"].to_list() == [A, A, A, B, D, D, D, E, C]
    assert e["subtype"].to_list()[-1] is None


def test_purchases_snapshot_shows_the_gap_judged_against():
    df = pl.DataFrame({"customer_id": ["a"] * 3, "month": ["2024-01", "2024-03", "2024-06"], "orders": [1, 2, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = lifecycle(df, metrics=["orders"], scheme="purchases", as_of="2024-09").snapshot().row(0, named=True)
    # gaps 2 and 3: median 2.5; 3 months since June is under 2 x 2.5.
    assert (snap["purchase_gap"], snap["months_since_purchase"], snap["stage"]) == (2.5, 3, C)
    with pytest.raises(OptionError, match="--scheme must be one of telecom, purchases, b2b"):
        lifecycle(df, metrics=["orders"], scheme="retail")
    with pytest.raises(OptionError, match="--overdue must be"):
        lifecycle(df, metrics=["orders"], scheme="purchases", overdue=0.5)


# ---------------------------------------------------------------- options and input forms


@pytest.mark.parametrize("values", [
    ["2023-01", "2023-02", "2023-03"], ["202301", "202302", "202303"], [202301, 202302, 202303],
    [date(2023, 1, 1), date(2023, 2, 14), date(2023, 3, 31)], ["2023-01-05", "2023-02-05", "2023-03-05"],
    ["2023/01", "2023/02", "2023/03"],
])
def test_month_forms(values):
    df = pl.DataFrame({"customer_id": ["a"] * 3, "month": values, "voice": [100.0, 40.0, 40.0]})
    h = run(df, data=None, revenue=None, status=None).history()
    assert h["month"].to_list() == [date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)]
    assert h["stage"].to_list() == [A, D, D]


def test_as_of_cuts_later_rows_with_a_warning():
    df = panel(a=steady([100] * 5 + [10]))
    with pytest.warns(UserWarning, match="left out 1 rows after --as-of 2023-05"):
        res = lifecycle(df, voice="voice", as_of="2023-05")
    assert res.snapshot()["stage"].to_list() == [B]
    with pytest.raises(OptionError, match="before the panel's first month"):
        lifecycle(df, voice="voice", as_of="2022-01")


def test_as_of_after_the_panel_counts_the_months_between_as_silent():
    df = panel(a=steady([100] * 7))
    with pytest.warns(UserWarning, match="after the panel's last month 2023-07; the months in between count"):
        res = lifecycle(df, voice="voice", as_of="2023-10", activation=None)
    assert res.history()["stage"].to_list()[-3:] == [D, D, E]


def test_unsorted_input_and_numeric_ids_give_the_same_stages():
    df = pl.read_csv(SMALL)
    kw = dict(voice="voice_min", data="data_mb", revenue="revenue", status="status", identity="identity")
    want = run(df, **kw)
    shuffled = run(df.sample(fraction=1.0, shuffle=True, seed=4), **kw)
    assert shuffled.history().equals(want.history()) and shuffled.snapshot().equals(want.snapshot())
    numeric = df.with_columns(pl.col("customer_id").replace({"a": "10", "b": "2", "c": "3", "d": "4"})
                              .cast(pl.Int64)).sample(fraction=1.0, shuffle=True, seed=5)
    got = run(numeric, **kw).history()
    assert got["customer_id"].to_list()[:3] == [2, 2, 2]  # sorted as numbers, not as text
    assert got.sort("customer_id")["stage"].to_list() == want.history().sort(
        pl.col("customer_id").replace({"a": "10", "b": "2", "c": "3", "d": "4"}).cast(pl.Int64))["stage"].to_list()
    dup = pl.concat([df, df.filter(pl.col("customer_id") == "d")]).sample(fraction=1.0, shuffle=True, seed=6)
    summed = run(dup, dedupe="sum", **kw).snapshot().filter(pl.col("customer_id") == "d")
    # d's window restarts at its win-back in April: June's window is May and June, (85 + 90) / 2.
    assert summed["voice_min_recent"].item() == pytest.approx(2 * 87.5)


def test_duplicate_months_are_an_error_unless_summed():
    df = pl.read_csv(FIXTURES / "lifecycle_duplicate_month.csv")
    with pytest.raises(DataError, match=r"customer 'a' has more than one row for 2024-02 \(rows 2 and 4\); "
                                        "pass --dedupe sum"):
        lifecycle(df, voice="voice_min")
    res = lifecycle(df, voice="voice_min", data="data_mb", dedupe="sum")
    assert res.history().filter(pl.col("customer_id") == "a")["stage"].to_list() == [A, A, A]
    assert res.snapshot()["voice_min_recent"].to_list()[0] == pytest.approx(100.0)


def test_status_values_map_other_words():
    df = panel(a=steady([100] * 3, status=["A", "A", "X"]))
    res = run(df, status_values={"active": ["a"], "cancelled": ["x", "closed"]})
    assert res.history()["stage"].to_list() == [A, A, E]
    with pytest.raises(DataError, match=r"unknown status 'A' \(row 1\); map it with --status-values"):
        run(df)
    with pytest.raises(OptionError, match="'gone' is not one of"):
        run(df, status_values={"gone": ["x"]})


@pytest.mark.parametrize("kw, message", [
    ({"drop": 1.5}, "--drop must be a fraction"), ({"window": 0}, "--window must be"),
    ({"baseline": 61}, "--baseline must be a whole number of months from 1 to 60"),
    ({"acquisition": 7}, "--acquisition (7) must be between 0 and --build-up (6)"),
    ({"exit_after": 0}, "--exit-after must be"), ({"dedupe": "max"}, "--dedupe must be"),
])
def test_bad_options(kw, message):
    with pytest.raises(OptionError) as err:
        run(panel(a=steady([100] * 3)), **kw)
    assert message in str(err.value)


def test_needs_a_metric_and_distinct_columns():
    with pytest.raises(OptionError, match="name at least one usage column"):
        lifecycle(panel(a=steady([1])))
    with pytest.raises(OptionError, match="given twice"):
        lifecycle(panel(a=steady([1])), voice="voice", metrics=["voice"])
    with pytest.raises(OptionError, match="cannot be both a usage metric and the month column"):
        lifecycle(panel(a=steady([1])), voice="month")


def test_library_errors_name_the_column_and_row():
    df = pl.read_csv(SMALL)
    with pytest.raises(ColumnNotFoundError, match="voice column 'voice' not found; did you mean 'voice_min'"):
        lifecycle(df, voice="voice")
    with pytest.raises(ColumnTypeError, match=r"'voice_min' must be numeric, but row 2 holds 'unknown'; clean "
                                              r"the column, pass --null-values 'unknown' .*another column with --voice"):
        lifecycle(pl.read_csv(FIXTURES / "lifecycle_stray_word_usage.csv"), voice="voice_min")
    with pytest.warns(SegmentWarning, match="1 missing in 'voice_min'"), \
            pytest.raises(DataError, match=r"'voice_min' is empty \(null\) in 1 rows, first in row 2"):
        lifecycle(pl.read_csv(FIXTURES / "lifecycle_text_usage.csv"), voice="voice_min")
    with pytest.raises(DataError, match="identity"):
        lifecycle(df.with_columns(identity=pl.when(pl.col("month") == "2024-02").then(pl.lit("zz"))
                                  .otherwise(pl.col("identity"))), voice="voice_min", identity="identity")


def test_one_month_panel_says_what_it_can_compute():
    df = pl.read_csv(FIXTURES / "lifecycle_one_month.csv")
    res = lifecycle(df, voice="voice_min", status="status", activation="activation")
    with pytest.warns(UserWarning, match=r"one month \(2024-01\): stages come from tenure and status only; "
                                         "decline needs 2 months"):
        snap = res.snapshot()
    # c never used the line in the panel but is cancelled: exit, with its tenure from the activation date.
    assert snap["stage"].to_list() == [C, A, E, A]
    assert snap["tenure"].to_list() == [21, 3, 37, 1]
    with pytest.raises(DataError, match="transitions need at least two months; the panel has only 2024-01"):
        res.transitions()


# ---------------------------------------------------------------- CLI


def test_cli_default_subcommand_is_stages(cli):
    a = cli(["lifecycle", SMALL, *COLS])
    b = cli(["lifecycle", "stages", SMALL, *COLS])
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert a.stdout.splitlines()[0].startswith("customer_id,stage,subtype,tenure,months_in_stage")
    assert "Lifecycle stages" in a.stderr and "maturity" in a.stderr


def test_cli_history_and_kpis_side_file(cli, tmp_path):
    kpis = tmp_path / "kpis.parquet"
    r = cli(["lifecycle", SMALL, *COLS, "--status", "status", "--identity", "identity", "--history",
             "--kpis", kpis, "-o", tmp_path / "h.parquet"])
    assert r.exit_code == 0, r.stderr
    from segment.io import read_table

    hist = read_table(tmp_path / "h.parquet")
    assert hist.rows() == 19 and hist.provenance["details"]["rules"]["drop"] == 0.3
    side = read_table(kpis)
    assert side.provenance["details"]["role"] == "kpis"
    assert side.frame.collect().height == 6 * 5


def test_cli_transitions_and_projection(cli, tmp_path):
    out = tmp_path / "proj.csv"
    r = cli(["lifecycle", "transitions", SMALL, *COLS, "--status", "status", "--identity", "identity",
             "--project", "3", "--projection", out])
    assert r.exit_code == 0, r.stderr
    table = pl.read_csv(r.stdout_bytes)
    assert table.columns == ["from", "to", "moves", "probability"] and table.height == 25
    assert "Stage transition probabilities" in r.stderr and "Projected customers" in r.stderr
    assert pl.read_csv(out)["months_ahead"].max() == 3
    assert_one_line_error(cli(["lifecycle", "transitions", SMALL, *COLS, "--projection", out]), "--project N")
    # Checked before the panel is read: no warning about the data comes first.
    assert_one_line_error(cli(["lifecycle", "transitions", SMALL, *COLS, "--project", "-1"]), "--project")


def test_cli_panel_from_transactions_pipes_into_stages():
    proc = shell(f"segment lifecycle panel '{FIXTURES / 'tx_small.csv'}' -q "
                 "| segment lifecycle - --metric orders --revenue revenue -q")
    assert proc.returncode == 0, proc.stderr.decode()
    out = pl.read_csv(proc.stdout)
    assert out.height == 8 and set(out["stage"].drop_nulls()) <= {A, D, E}


def test_cli_metric_option_takes_lists(cli):
    r = cli(["lifecycle", SMALL, "--metric", "voice_min,data_mb", "--metric", "revenue", "-q"])
    assert r.exit_code == 0, r.stderr
    assert {"voice_min_change", "data_mb_change", "revenue_change"} <= set(r.stdout.splitlines()[0].split(","))


@pytest.mark.parametrize("fixture, args, needles", [
    ("lifecycle_bad_month.csv", COLS, ["not a month: '2024-13' (row 3)"]),
    ("lifecycle_text_usage.csv", COLS, ["'voice_min' is empty (null) in 1 rows, first in row 2"]),  # n/a: missing
    ("lifecycle_stray_word_usage.csv", COLS, ["'voice_min' must be numeric, but row 2 holds 'unknown'",
                                              "--null-values 'unknown'", "--voice"]),
    ("lifecycle_negative_usage.csv", COLS, ["'data_mb' is negative (-5.0) in row 2"]),
    ("lifecycle_null_usage.csv", COLS, ["'data_mb' is empty (null) in 1 rows, first in row 2"]),
    ("lifecycle_duplicate_month.csv", COLS, ["customer 'a' has more than one row for 2024-02", "--dedupe sum"]),
    ("lifecycle_unknown_status.csv", [*COLS, "--status", "status"], ["unknown status 'closed' (row 2)"]),
    ("lifecycle_bad_activation.csv", [*COLS, "--activation", "activation"], ["not a date: 'someday' (row 3)"]),
    ("lifecycle_small.csv", ["--voice", "voice_mn"], ["'voice_mn' not found", "did you mean 'voice_min'"]),
    ("lifecycle_small.csv", [], ["name at least one usage column"]),
    ("lifecycle_small.csv", [*COLS, "--drop", "30"], ["--drop must be a fraction"]),
    ("lifecycle_small.csv", [*COLS, "--as-of", "June"], ["--as-of must be a month like 2024-06"]),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, fixture, args, needles):
    target = tmp_path / "out.csv"
    assert_one_line_error(cli(["lifecycle", FIXTURES / fixture, *args, "-o", target]), *needles)
    assert not target.exists()


def test_cli_one_month_panel(cli):
    one = FIXTURES / "lifecycle_one_month.csv"
    r = cli(["lifecycle", one, *COLS, "--status", "status", "--activation", "activation"])
    assert r.exit_code == 0 and "warning: the panel has one month" in r.stderr
    assert_one_line_error(cli(["lifecycle", "transitions", one, *COLS]), "transitions need at least two months")


def test_cli_help_lists_subcommands_and_rules():
    proc = run_segment(["lifecycle", "--help"], check=True)
    assert b"stages" in proc.stdout and b"transitions" in proc.stdout and b"panel" in proc.stdout
    proc = run_segment(["lifecycle", "stages", "--help"], check=True)
    assert b"--exit-after" in proc.stdout and b"Stage rules" in proc.stdout


def test_date_format_applies_to_the_month_column():
    """Regression: --date-format reached only --activation, so 01/15/2024 months were 'not a month'."""
    iso = panel(a=steady([10, 10, 10, 2, 2, 2, 2]))
    us = iso.with_columns(pl.col("month").str.strptime(pl.Date, "%Y-%m").dt.strftime("%m/15/%Y"))
    with pytest.raises(DataError, match="--date-format"):
        run(us)
    expected = run(iso).history()
    assert run(us, date_format="%m/%d/%Y").history().equals(expected)


def test_at_gives_one_row_per_customer_of_that_months_history():
    df = panel(a=steady([10, 10, 10, 10, 10, 0, 0, 0]), b=steady([5, 5, 5, 5, 5, 5, 5, 5]))
    res = run(df)
    full = res.history()
    one = res.history("2023-05")
    assert one.equals(full.filter(pl.col("month") == date(2023, 5, 1)))
    assert one["customer_id"].to_list() == ["a", "b"]
    with pytest.raises(OptionError, match="--at 2024-01 is outside the panel's months 2023-01 to 2023-08"):
        res.history("2024-01")


def test_cli_at_writes_one_row_per_customer_and_checks_its_format(cli, tmp_path):
    out = tmp_path / "at.csv"
    r = cli(["lifecycle", SMALL, *COLS, "--at", "2024-02", "-o", out])
    assert r.exit_code == 0, r.stderr
    table = pl.read_csv(out)
    assert table["customer_id"].n_unique() == table.height > 0
    assert set(table["month"].to_list()) == {"2024-02-01"}
    assert_one_line_error(cli(["lifecycle", SMALL, *COLS, "--at", "Feb", "-o", out]), "--at must be a month")


def test_cli_scheme_is_one_option_with_values(cli, tmp_path):
    proc = shell(f"segment lifecycle panel '{FIXTURES / 'tx_small.csv'}' -q "
                 "| segment lifecycle - --metric orders --revenue revenue --scheme purchases --overdue 3 -q")
    assert proc.returncode == 0, proc.stderr.decode()
    out = pl.read_csv(proc.stdout)
    assert {"purchase_gap", "months_since_purchase"} <= set(out.columns)
    assert_one_line_error(cli(["lifecycle", SMALL, *COLS, "--scheme", "retail"]), "--scheme", "retail")
    assert_one_line_error(cli(["lifecycle", SMALL, *COLS, "--scheme", "b2b"]), "--scheme b2b", "--account")
    telecom = cli(["lifecycle", SMALL, *COLS, "--scheme", "telecom", "-q"])
    assert telecom.exit_code == 0 and telecom.stdout == cli(["lifecycle", SMALL, *COLS, "-q"]).stdout
    assert_one_line_error(cli(["lifecycle", "transitions", SMALL, *COLS, "--scheme", "purchases", "--overdue", "0"]),
                          "--overdue must be")

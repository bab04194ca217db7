"""segment survival on real and planted data: IBM Telco by contract, and the synth panel's planted churn."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from segment.lifecycle import durations
from segment.survival import survival
from segment.synth._synth import synth
from tests.conftest import run_segment, shared

PANEL = dict(id="customer_id", month="month", voice="voice_min", data="data_mb", revenue="revenue", status="status",
             identity="identity", activation="activation")


@pytest.fixture(scope="module")
def telco() -> pl.DataFrame:
    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    return pl.read_csv(path, infer_schema_length=0)


def test_telco_month_to_month_contracts_leave_far_sooner(telco):
    res = survival(telco, duration="tenure", event="Churn", by="Contract")
    summary = {r["group"]: r for r in res.summary.iter_rows(named=True)}
    m2m, one, two = summary["Month-to-month"], summary["One year"], summary["Two year"]
    assert (m2m["lines"], m2m["events"]) == (3875, 1655)  # the data set's published counts
    assert m2m["median_lifetime"] is not None and one["median_lifetime"] is None
    assert m2m["survival_12"] < 0.75 < 0.95 < one["survival_12"] <= two["survival_12"]
    # Every band of month-to-month lies below every band of the others after the first year.
    curves = res.curves.filter(pl.col("time").is_between(12, 60))
    top = curves.filter(pl.col("group") == "Month-to-month").select("time", "upper")
    for other in ("One year", "Two year"):
        low = curves.filter(pl.col("group") == other).select("time", "lower").join(top, on="time")
        assert (low["upper"] < low["lower"]).all()
    assert res.logrank.df == 2 and res.logrank.pvalue < 1e-300
    assert (res.pairs["p_adjusted"] < 1e-50).all()


def test_telco_curve_equals_lifelines_end_to_end(telco):
    lifelines = pytest.importorskip("lifelines")
    res = survival(telco, duration="tenure", event="Churn", by="Contract")
    part = telco.filter(pl.col("Contract") == "Month-to-month")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lifelines.KaplanMeierFitter().fit(part["tenure"].cast(int).to_numpy(),
                                                (part["Churn"] == "Yes").to_numpy())
    ref = fit.survival_function_.join(fit.confidence_interval_)
    ours = res.curves.filter(pl.col("group") == "Month-to-month")
    for t in (1, 12, 35, 72):
        s, lo, hi = ref.loc[t].to_numpy()
        row = ours.row(t, named=True)
        assert (row["survival"], row["lower"], row["upper"]) == (pytest.approx(s, abs=1e-9),
                                                                 pytest.approx(lo, abs=1e-9),
                                                                 pytest.approx(hi, abs=1e-9))
    assert ours.filter(pl.col("survival") <= 0.5)["time"][0] == fit.median_survival_time_


def test_telco_through_the_cli(telco, tmp_path):
    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    out = tmp_path / "curves.parquet"
    proc = run_segment(["survival", path, "--duration", "tenure", "--event", "Churn", "--by", "Contract",
                        "--summary", tmp_path / "summary.csv", "-o", out], check=True)
    assert "Month-to-month" in proc.stderr.decode()
    curves = pl.read_parquet(out)
    assert curves.columns == ["group", "time", "at_risk", "events", "censored", "survival", "lower", "upper", "hazard"]
    assert pl.read_csv(tmp_path / "summary.csv")["lines"].sum() == 7043


@pytest.fixture(scope="module")
def planted() -> dict[str, pl.DataFrame]:
    return synth(6000, 24, seed=7, tables=["panel", "customers", "truth_panel", "truth_customers"]).frames()


def test_synth_lifetimes_equal_the_truths_lifetimes(planted):
    """Duration and event per line from the panel equal those read off the planted, noise-free truth."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = durations(planted["panel"], event="exit", **PANEL)
    t = planted["truth_panel"].sort("customer_id", "month").with_columns(
        used=(pl.col("latent_voice_min") > 0) | (pl.col("latent_data_mb") > 0) | (pl.col("latent_revenue") > 0),
        exits=(pl.col("true_stage") == "exit").cast(pl.Int32).cum_sum().over("customer_id"))
    lived = t.filter(pl.col("used") & (pl.col("exits") <= (pl.col("true_stage") == "exit").cast(pl.Int32)))
    truth = (lived.group_by("customer_id").agg(pl.col("true_tenure").sort_by("month").last().alias("want"))
             .join(t.group_by("customer_id").agg(left=(pl.col("exits") > 0).any()), on="customer_id"))
    both = got.join(truth, on="customer_id", how="full", coalesce=True)
    assert both.height == got.height == truth.height
    assert (both["duration"] == both["want"]).all()
    assert (both["event"] == both["left"]).all()


def test_synth_planted_churn_by_contract_is_recovered(planted):
    """Lines in the first month, followed 24 months: churned share per contract = mean planted probability."""
    panel = planted["panel"].join(planted["customers"].select("customer_id", "contract"), on="customer_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = survival(panel, panel=PANEL, by="contract", since="2023-01", event_kind="exit")
    truth = (res.lines.join(planted["truth_customers"], on="customer_id")
             .group_by("group").agg(p=pl.col("true_churn_probability").mean(),
                                    se=(pl.col("true_churn_probability") * (1 - pl.col("true_churn_probability")))
                                    .sum().sqrt() / pl.len()))
    last = res.curves.group_by("group").agg(pl.col("survival").sort_by("time").last())
    for row in truth.join(last, on="group").iter_rows(named=True):
        assert 1 - row["survival"] == pytest.approx(row["p"], abs=4 * row["se"]), row
    order = res.summary.sort("survival_24")["group"].to_list()
    assert order == ["month-to-month", "one-year", "two-year"]
    assert res.logrank.pvalue < 1e-6


def test_synth_calendar_churn_counts_every_planted_exit_once(planted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = survival(planted["panel"], panel=PANEL, event_kind="exit", calendar=True)
    assert res.calendar["events"].sum() == res.lines["event"].sum()
    assert str(res.calendar["month"].min()) == "2023-01-01" and str(res.calendar["month"].max()) == "2024-12-01"
    assert np.all(res.calendar["hazard"].to_numpy() <= 1)

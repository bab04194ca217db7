"""segment clv: BG/NBD, Gamma-Gamma, sBG and BdW against published numbers, lifetimes and simulation."""

from __future__ import annotations

import json
import warnings

import numpy as np
import polars as pl
import pytest

from segment.clv import CLVModel, fit, score
from segment.errors import DataError, OptionError
from tests.conftest import FIXTURES, ROOT, shared

# Fader & Hardie (2007), Table 1: survivors in years 8-12, after the 7 years in survivors.csv
# (the paper's holdout for its projections).
LATER = {"regular": [223, 207, 194, 183, 173], "high_end": [468, 445, 427, 409, 394]}


@pytest.fixture(scope="module")
def cdnow_btyd() -> pl.DataFrame:
    """Fader & Hardie's 2,357-customer CDNOW sample through rfm --btyd, calibration to 1997-09-30."""
    from segment.rfm import rfm

    path = shared("cdnow", "CDNOW_sample.txt")
    # No header; whitespace-separated: master id, sample id, date, CDs, dollars (see PROVENANCE.md).
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    tx = pl.DataFrame({"customer_id": [r[1] for r in rows], "date": [r[2] for r in rows],
                       "amount": [float(r[4]) for r in rows]}).with_columns(pl.col("date").str.to_date("%Y%m%d"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transactions after --as-of are left out on purpose
        return rfm(tx, as_of="1997-09-30", btyd=True, segments=None).table


@pytest.fixture(scope="module")
def cdnow_model(cdnow_btyd) -> CLVModel:
    return fit(cdnow_btyd, model="bgnbd", spend="gamma-gamma", time_unit="week")


@pytest.mark.shared
def test_bgnbd_on_cdnow_gives_the_published_and_lifetimes_parameters(cdnow_model):
    p = cdnow_model.fit.params
    # Fader, Hardie & Lee (2005), three decimals.
    assert {k: round(v, 3) for k, v in p.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    # lifetimes' BetaGeoFitter on the same input, four decimals.
    np.testing.assert_allclose([p["r"], p["alpha"], p["a"], p["b"]], [0.2426, 4.4136, 0.7929, 2.4259], atol=6e-5)
    assert cdnow_model.fit.n == 2357


@pytest.mark.shared
def test_gamma_gamma_on_cdnow_repeat_buyers_gives_the_published_parameters(cdnow_model):
    name, spend = cdnow_model.spend
    assert name == "gamma-gamma" and spend.n == 946
    assert {k: round(v, 2) for k, v in spend.params.items()} == {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.mark.shared
def test_p_alive_expected_purchases_and_standard_errors_equal_lifetimes(cdnow_btyd, cdnow_model):
    lifetimes = pytest.importorskip("lifetimes")
    df = cdnow_btyd.to_pandas()
    x, tx, T = df["frequency_btyd"], df["recency_btyd"] / 7, df["T"] / 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = lifetimes.BetaGeoFitter().fit(x, tx, T)
        repeat = df[(x > 0) & (df["monetary_value"] > 0)]
        ggf = lifetimes.GammaGammaFitter().fit(repeat["frequency_btyd"], repeat["monetary_value"])
    # Standard errors from the Hessian, as lifetimes computes them.
    ours = cdnow_model.fit.se
    np.testing.assert_allclose([ours[k] for k in ("r", "alpha", "a", "b")], bgf.summary["se(coef)"], rtol=2e-3)
    np.testing.assert_allclose(list(cdnow_model.spend[1].se.values()), ggf.summary["se(coef)"], rtol=2e-3)
    # Predictions with the same parameters agree to 1e-6.
    for k, v in cdnow_model.fit.params.items():
        bgf.params_[k] = v
    scored = score(cdnow_btyd, cdnow_model, horizon=39)
    np.testing.assert_allclose(scored["p_alive"], bgf.conditional_probability_alive(x, tx, T), rtol=0, atol=1e-6)
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T)
    np.testing.assert_allclose(scored["expected_purchases"], expected, rtol=0, atol=1e-6)
    ggf.params_["p"], ggf.params_["q"], ggf.params_["v"] = cdnow_model.spend[1].params.values()
    spend = ggf.conditional_expected_average_profit(df["frequency_btyd"], df["monetary_value"])
    np.testing.assert_allclose(scored["expected_spend"], spend, rtol=1e-9)


@pytest.mark.shared
def test_backtest_on_cdnow_holdout_weeks_40_to_78(cdnow_model, tmp_path):
    from segment.clv import backtest
    from segment.rfm import rfm

    path = shared("cdnow", "CDNOW_sample.txt")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    tx = pl.DataFrame({"customer_id": [r[1] for r in rows], "date": [r[2] for r in rows],
                       "amount": [float(r[4]) for r in rows]}).with_columns(pl.col("date").str.to_date("%Y%m%d"))
    table = rfm(tx, as_of="1997-09-30", holdout_end="1998-06-30", btyd=True, frequency="days", segments=None).table
    got = backtest(table, cdnow_model)
    assert got["group"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert got["customers"].sum() == 2357
    # Actual: purchase days after the calibration, counted here from the log.
    later = tx.filter(pl.col("date") > pl.date(1997, 9, 30)).select("customer_id", "date").unique().height
    assert got["actual_total"].sum() == later
    # Predicted: eq. 10 over the 39 holdout weeks (273 days), as lifetimes computes it, per group.
    x = table["frequency_btyd"].to_numpy().astype(float)
    tx_, T = table["recency_btyd"].to_numpy() / 7, table["T"].to_numpy() / 7
    from segment.clv import _bgnbd

    expected = _bgnbd.expected_purchases(cdnow_model.fit.params, 39.0, x, tx_, T)
    assert got["predicted_total"].sum() == pytest.approx(expected.sum(), rel=1e-12)
    # The BG/NBD tracks the holdout within 15% in total (Fader, Hardie & Lee 2005, Figure 4).
    assert got["predicted_total"].sum() == pytest.approx(got["actual_total"].sum(), rel=0.15)


@pytest.mark.shared
def test_pareto_nbd_on_cdnow_gives_the_published_parameters_and_lifetimes_predictions(cdnow_btyd):
    model = fit(cdnow_btyd, model="pareto-nbd")
    p = model.fit.params
    # Fader, Hardie & Lee (2005, "Counting your customers the easy way"), three decimals.
    assert {k: round(v, 3) for k, v in p.items()} == {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    lifetimes = pytest.importorskip("lifetimes")
    df = cdnow_btyd.to_pandas()
    x, tx, T = df["frequency_btyd"], df["recency_btyd"] / 7, df["T"] / 7
    pnbd = lifetimes.ParetoNBDFitter()
    pnbd.params_ = __import__("pandas").Series(p)
    scored = score(cdnow_btyd, model, horizon=39)
    np.testing.assert_allclose(scored["p_alive"], pnbd.conditional_probability_alive(x, tx, T), atol=1e-6)
    expected = pnbd.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T)
    np.testing.assert_allclose(scored["expected_purchases"], expected, atol=1e-6)


def test_pareto_nbd_likelihood_is_finite_where_its_terms_cancel():
    from segment.clv import _paretonbd

    x = np.array([0.0, 3, 3, 40])
    tx = np.array([0.0, 10, 30, 30])  # a purchase at the very end: A0 = 0 exactly
    T = np.array([30.0, 30, 30, 30])
    for params in ([0.5, 10.0, 0.6, 10.0], [0.5, 10.0, 0.6, 10.0 + 1e-12], [0.5, 1.0, 3.0, 200.0], [5.0, 300.0, 0.1, 1.0]):
        value = _paretonbd.loglik(np.array(params), x, tx, T, np.ones(4))
        assert np.isfinite(value), params
        alive = _paretonbd.p_alive(dict(zip(_paretonbd.NAMES, params)), x, tx, T)
        assert np.all((alive > 0) & (alive <= 1))
        assert alive[2] == 1.0  # last purchase at the end: certainly alive


def test_time_unit_rescales_alpha_only():
    btyd = pl.read_csv(FIXTURES / "clv_btyd_small.csv", schema_overrides={"customer_id": pl.String})
    week = fit(btyd, time_unit="week").fit.params
    day = fit(btyd, time_unit="day").fit.params
    np.testing.assert_allclose([day["r"], day["a"], day["b"]], [week["r"], week["a"], week["b"]], rtol=1e-4)
    assert day["alpha"] == pytest.approx(7 * week["alpha"], rel=1e-4)


def test_clv_is_margin_times_spend_times_continuously_discounted_expected_purchases():
    from segment.clv import _bgnbd

    btyd = pl.read_csv(FIXTURES / "clv_btyd_small.csv", schema_overrides={"customer_id": pl.String})
    model = fit(btyd, spend="gamma-gamma")
    scored = score(btyd, model, horizon=26, margin=0.25, discount_rate=0.05)
    x = btyd["frequency_btyd"].to_numpy().astype(float)
    tx, T = btyd["recency_btyd"].to_numpy() / 7, btyd["T"].to_numpy() / 7
    # The Stieltjes sum of (1.05)^-t over dE[X(t)] on a fine grid, midpoints discounted.
    grid = np.linspace(0, 26, 2601)
    previous, by_hand = np.zeros_like(x), np.zeros_like(x)
    for lo, hi in zip(grid[:-1], grid[1:]):
        now = _bgnbd.expected_purchases(model.fit.params, hi, x, tx, T)
        by_hand += (now - previous) * 1.05 ** (-(lo + hi) / 2)
        previous = now
    np.testing.assert_allclose(scored["expected_purchases"], previous, rtol=1e-12)
    np.testing.assert_allclose(scored["clv"], 0.25 * scored["expected_spend"].to_numpy() * by_hand, rtol=1e-5)
    assert (scored["p_alive"] <= 1).all() and (scored["p_alive"] > 0).all()
    undiscounted = score(btyd, model, horizon=26, margin=0.25, discount_rate=0)
    np.testing.assert_allclose(undiscounted["clv"], 0.25 * scored["expected_spend"].to_numpy() * previous, rtol=1e-12)


def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> pl.DataFrame:
    """BG/NBD customers in continuous days (purchase rate gamma(r, alpha), dropout beta(a, b))."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(100, 365, n)
    x, last = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i], last[i] = x[i] + 1, t
            if rng.random() < p[i]:
                break
    return pl.DataFrame({"frequency_btyd": x, "recency_btyd": last, "T": T})


def test_simulated_bgnbd_parameters_are_recovered_within_their_standard_errors():
    truth = {"r": 0.8, "alpha": 20.0, "a": 0.7, "b": 2.5}
    model = fit(_simulate_bgnbd(4000, *truth.values(), seed=3), time_unit="day")
    for k, v in truth.items():
        assert abs(model.fit.params[k] - v) < 3 * model.fit.se[k], (k, model.fit.params[k], model.fit.se[k])


def test_simulated_gamma_gamma_parameters_are_recovered_within_their_standard_errors():
    rng = np.random.default_rng(8)
    truth = {"p": 6.0, "q": 3.8, "gamma": 15.0}
    frame = _simulate_bgnbd(8000, 0.8, 20.0, 0.7, 2.5, seed=4)
    x = frame["frequency_btyd"].to_numpy()
    nu = rng.gamma(truth["q"], 1 / truth["gamma"], len(x))
    m = np.where(x > 0, rng.gamma(truth["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0.0)
    spend = fit(frame.with_columns(monetary_value=m), spend="gamma-gamma", time_unit="day").spend[1]
    for k, v in truth.items():
        assert abs(spend.params[k] - v) < 3 * spend.se[k], (k, spend.params[k], spend.se[k])


def _fader_hardie() -> pl.DataFrame:
    """One row per customer of the two 2007 cohorts: churned at the end of year t, or active after 7."""
    survivors = pl.read_csv(shared("fader-hardie-2007", "survivors.csv"))
    rows = []
    for cohort in ("regular", "high_end"):
        n = survivors[cohort].to_list()
        rows += [(cohort, t, "yes") for t in range(1, 8) for _ in range(n[t - 1] - n[t])]
        rows += [(cohort, 7, "no")] * n[7]
    return pl.DataFrame(rows, schema=["cohort", "years", "churned"], orient="row")


@pytest.mark.shared
def test_sbg_per_cohort_gives_fader_hardie_2007_and_projects_their_holdout_years(cli, tmp_path):
    path = tmp_path / "fh.csv"
    _fader_hardie().with_row_index("customer_id").write_csv(path)
    out = tmp_path / "params.json"
    res = cli(["clv", "fit", path, "--model", "sbg", "--duration", "years", "--event", "churned",
               "--cohort", "cohort", "--time-unit", "year", "-o", out])
    assert res.exit_code == 0, res.stderr
    params = json.loads(out.read_text())
    assert params["model"] == "sbg" and params["converged"] is True and params["cohort"] == "cohort"
    got = {k: {p: round(v, 3) for p, v in c["params"].items()} for k, c in params["cohorts"].items()}
    assert got == {"regular": {"alpha": 0.704, "beta": 1.182}, "high_end": {"alpha": 0.668, "beta": 3.806}}
    # Projected survivors in years 8-12 follow the actual ones within 5% (the paper's point:
    # the sBG projects, where curve fitting collapses).
    from scipy.special import betaln

    for cohort, actual in LATER.items():
        a, b = params["cohorts"][cohort]["params"].values()
        projected = 1000 * np.exp(betaln(a, b + np.arange(8, 13)) - betaln(a, b))
        np.testing.assert_allclose(projected, actual, rtol=0.05)
        # Retention in year t is (beta + t - 1) / (alpha + beta + t - 1), rising with tenure.
        model = CLVModel.from_dict(params)
        active = pl.DataFrame({"cohort": [cohort] * 3, "years": [0, 1, 7], "churned": [0, 0, 0]})
        kept = score(active, model, duration="years", event="churned", margin=1)["retention_next"].to_numpy()
        np.testing.assert_allclose(kept, [(b + t) / (a + b + t) for t in (0, 1, 7)], rtol=1e-12)


@pytest.mark.shared
def test_cohort_curves_put_the_actual_survivors_beside_the_fitted_ones(cli, tmp_path):
    path, curves = tmp_path / "fh.csv", tmp_path / "curves.csv"
    _fader_hardie().with_row_index("customer_id").write_csv(path)
    res = cli(["clv", "fit", path, "--model", "sbg", "--duration", "years", "--event", "churned",
               "--cohort", "cohort", "--curves", curves, "-o", tmp_path / "p.json"])
    assert res.exit_code == 0, res.stderr
    table = pl.read_csv(curves)
    survivors = pl.read_csv(shared("fader-hardie-2007", "survivors.csv"))
    for cohort in ("regular", "high_end"):
        rows = table.filter(pl.col("cohort") == cohort).sort("period")
        # Everybody censored is censored after the last year, so Kaplan-Meier is survivors / 1000.
        np.testing.assert_allclose(rows["actual"], survivors[cohort] / 1000, rtol=1e-12)
        assert (rows["fitted"] - rows["actual"]).abs().max() < 0.025
    assert set(table["cohort"]) == {"all", "regular", "high_end"}


def test_derl_is_the_discounted_sum_of_future_survival():
    from segment.clv import _sbg

    params = {"alpha": 0.704, "beta": 1.182}
    d, n = 0.1, 5
    k = np.arange(0, 3000)
    survival = np.exp(_sbg.log_survival(0.704, 1.182, 1.0, n + 1.0 + k) - _sbg.log_survival(0.704, 1.182, 1.0, n))
    assert _sbg.derl(params, np.array([n]), d)[0] == pytest.approx(np.sum(survival / (1 + d) ** k), rel=1e-9)
    # BdW with c = 1 sums the same series term by term.
    assert _sbg.derl({**params, "c": 1.0}, np.array([n]), d)[0] == pytest.approx(_sbg.derl(params, np.array([n]), d)[0],
                                                                           rel=1e-9)


def test_bdw_with_c_one_has_the_sbg_likelihood_and_finds_c_near_one_on_sbg_data():
    from segment.clv import _sbg

    rng = np.random.default_rng(5)
    theta = rng.beta(1.2, 3.0, 3000)
    lifetime = rng.geometric(theta)
    d = np.minimum(lifetime, 8)
    e = lifetime <= 8
    w = np.ones(len(d))
    assert _sbg.loglik(np.array([1.2, 3.0, 1.0]), d, e, w) == pytest.approx(_sbg.loglik(np.array([1.2, 3.0]), d, e, w))
    frame = pl.DataFrame({"duration": d, "event": e.astype(int)})
    bdw = fit(frame, model="bdw").fit
    assert abs(bdw.params["c"] - 1) < 3 * bdw.se["c"]
    sbg = fit(frame, model="sbg").fit
    assert abs(sbg.params["alpha"] - 1.2) < 3 * sbg.se["alpha"] and abs(sbg.params["beta"] - 3.0) < 3 * sbg.se["beta"]


def test_left_truncated_sbg_recovers_the_planted_parameters_and_ignoring_it_does_not():
    # Customers are seen only from a start date: those who joined earlier are in the data only
    # because they survived until then (left truncation), and have lived `entry` periods already.
    rng = np.random.default_rng(11)
    n = 20_000
    lifetime = rng.geometric(rng.beta(1.0, 3.0, n))
    entry = rng.integers(0, 8, n)
    seen = lifetime > entry
    lifetime, entry = lifetime[seen], entry[seen]
    end = entry + 6
    frame = pl.DataFrame({"duration": np.minimum(lifetime, end), "event": (lifetime <= end).astype(int), "entry": entry})
    fair = fit(frame, model="sbg", entry="entry").fit
    for k, v in {"alpha": 1.0, "beta": 3.0}.items():
        assert abs(fair.params[k] - v) < 3 * fair.se[k], (k, fair.params[k], fair.se[k])
    # Ignoring it, the survivors of the early periods look like new customers: churn at the first
    # renewal (alpha / (alpha + beta), truly 0.25) comes out far too low.
    naive = fit(frame, model="sbg").fit.params
    assert naive["alpha"] / (naive["alpha"] + naive["beta"]) < 0.15
    assert fair.params["alpha"] / (fair.params["alpha"] + fair.params["beta"]) == pytest.approx(0.25, abs=0.02)


def test_a_panel_is_fitted_on_its_lines_lifetimes(cli, tmp_path):
    from segment.lifecycle import durations

    panel = pl.read_parquet(ROOT / "examples" / "data" / "synth" / "panel.parquet")
    kw = {"id": "customer_id", "voice": "voice_min", "data": "data_mb", "status": "status",
          "activation": "activation"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lines = durations(panel, **kw)
        direct = fit(panel, model="sbg", panel=kw).fit
    two_step = fit(lines, model="sbg", entry="entry").fit
    assert direct.params == two_step.params and direct.n == lines.height
    out = tmp_path / "lines.csv"
    res = cli(["clv", "fit", ROOT / "examples" / "data" / "synth" / "panel.parquet", "--model", "sbg",
               "--voice", "voice_min", "--data", "data_mb", "--status", "status", "--activation", "activation",
               "--score", "--margin", "20", "-o", out])
    assert res.exit_code == 0, res.stderr
    scored = pl.read_csv(out)
    assert scored.height == lines.height and {"duration", "event", "entry", "derl", "clv"} <= set(scored.columns)


def test_fit_then_score_equals_fit_with_score(cli, tmp_path):
    src = FIXTURES / "clv_btyd_small.csv"
    params = tmp_path / "p.json"
    assert cli(["clv", "fit", src, "--spend", "gamma-gamma", "-o", params]).exit_code == 0
    doc = json.loads(params.read_text())
    assert list(k for k in doc if k != "provenance") == ["aic", "converged", "loglik", "model", "n", "params", "se",
                                                          "spend", "time_unit"]
    assert set(doc["spend"]) == {"model", "params", "se", "loglik", "aic", "n", "converged"}
    assert set(doc["params"]) == set(doc["se"]) == {"r", "alpha", "a", "b"}
    assert cli(["clv", "score", src, "--params", params, "-o", tmp_path / "a.csv"]).exit_code == 0
    both = cli(["clv", "fit", src, "--spend", "gamma-gamma", "--score", "-o", tmp_path / "b.csv",
                "--params-out", tmp_path / "p2.json"])
    assert both.exit_code == 0, both.stderr
    a, b = pl.read_csv(tmp_path / "a.csv"), pl.read_csv(tmp_path / "b.csv")
    assert a.columns[-4:] == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    assert a.equals(b)
    assert json.loads((tmp_path / "p2.json").read_text())["params"] == doc["params"]


def _btyd(**changes) -> pl.DataFrame:
    df = pl.read_csv(FIXTURES / "clv_btyd_small.csv", schema_overrides={"customer_id": pl.String})
    return df.with_columns(**{k: pl.lit(v) if not isinstance(v, pl.Expr) else v for k, v in changes.items()})


@pytest.mark.parametrize("args, frame, message", [
    ((), _btyd(frequency_btyd=pl.when(pl.int_range(pl.len()) == 3).then(400).otherwise(pl.col("frequency_btyd"))),
     "'frequency_btyd' exceeds --age 'T'"),
    ((), _btyd(recency_btyd=pl.when(pl.int_range(pl.len()) == 3).then(999).otherwise(pl.col("recency_btyd"))),
     "(first to last purchase) exceeds --age"),
    ((), _btyd().head(49), "49 customers: a fit needs at least 50"),
    (("--model", "sbg", "--event", "churned", "--cohort", "plan"), None, "no churn"),
    (("--model", "sbg", "--event", "plan"), None, "events must be 0/1, true/false or yes/no"),
    (("--model", "sbg", "--event", "churned", "--duration", "half"), None, "whole numbers of periods"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(cli, tmp_path, args, frame, message):
    if frame is None:
        frame = pl.read_csv(FIXTURES / "clv_durations_small.csv").with_columns(
            half=pl.col("duration") / 2,
            churned=pl.when(pl.col("plan") == "plus").then(pl.lit("no")).otherwise(pl.col("churned")))
    src, out = tmp_path / "in.csv", tmp_path / "out.json"
    frame.write_csv(src)
    res = cli(["clv", "fit", src, *args, "-o", out])
    assert res.exit_code == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not out.exists()


def test_options_that_do_not_apply_are_refused():
    frame = pl.read_csv(FIXTURES / "clv_durations_small.csv")
    with pytest.raises(OptionError, match="--spend"):
        fit(frame, model="sbg", event="churned", spend="gamma-gamma")
    model = fit(frame, model="sbg", event="churned")
    with pytest.raises(OptionError, match="--horizon"):
        score(frame, model, event="churned", horizon=12)
    with pytest.raises(OptionError, match="--discount-rate"):
        score(frame, model, event="churned", discount_rate=0)
    with pytest.raises(DataError, match="not in the fit"):
        by_plan = fit(frame, model="sbg", event="churned", cohort="plan")
        score(frame.with_columns(plan=pl.lit("gold")), by_plan, event="churned")


def test_a_fit_that_does_not_converge_is_an_error_not_a_result():
    # Every customer identical and nobody repeats: the BG/NBD dropout parameters are not identified.
    frame = pl.DataFrame({"frequency_btyd": [0] * 60, "recency_btyd": [0] * 60, "T": [100] * 60})
    with pytest.raises(DataError, match="did not converge"):
        fit(frame)

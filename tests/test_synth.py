"""segment.synth._synth: schema, determinism, and that the planted truth is real and recoverable."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from segment.synth import _world as w
from segment.errors import OptionError, SegmentWarning
from segment.synth._synth import BLOCK, SCHEMAS, TABLES, synth
from tests import synth_reference as ref

N, SEED = 6000, 3


@pytest.fixture(scope="module")
def data() -> dict[str, pl.DataFrame]:
    return synth(customers=N, months=24, seed=SEED).frames()


@pytest.fixture(scope="module")
def found(data) -> pl.DataFrame:
    """The reference detector run on the noisy panel."""
    return ref.stages(data["panel"])


def _months_between(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (b.dt.year() - a.dt.year()) * 12 + b.dt.month() - a.dt.month()


# ---------------------------------------------------------------- schema


def test_every_table_has_the_documented_schema(data):
    assert set(data) == set(TABLES)
    for name, schema in SCHEMAS.items():
        assert dict(data[name].schema) == schema, name
    assert data["truth_effects"].height > 0


def test_panel_has_one_row_per_customer_month_without_gaps(data):
    p = data["panel"]
    assert p.select(pl.struct("customer_id", "month").is_unique().all()).item()
    assert (p["month"].dt.day() == 1).all()
    assert p["customer_id"].is_sorted()
    spans = p.group_by("customer_id").agg(
        rows=pl.len(), first=pl.col("month").min(), last=pl.col("month").max(),
        act=pl.col("activation").first(), acts=pl.col("activation").n_unique())
    assert (spans["acts"] == 1).all()
    assert spans.select((pl.col("rows") == _months_between(pl.col("first"), pl.col("last")) + 1).all()).item()
    # No row before activation; the first row is the activation month or the first panel month.
    first_row = pl.max_horizontal(pl.col("act").dt.truncate("1mo"), pl.lit(p["month"].min()))
    assert spans.select((pl.col("first") == first_row).all()).item()
    assert p["customer_id"].n_unique() == N == data["customers"].height


def test_truth_panel_matches_panel_row_for_row(data):
    p, t = data["panel"], data["truth_panel"]
    assert p.select("customer_id", "month").equals(t.select("customer_id", "month"))
    # Observed zeros are latent zeros, and the other way round.
    for obs, lat in (("voice_min", "latent_voice_min"), ("data_mb", "latent_data_mb"), ("revenue", "latent_revenue")):
        assert ((p[obs] == 0) == (t[lat] == 0)).all(), obs


def test_inputs_hold_no_true_columns(data):
    for name in ("panel", "customers", "transactions"):
        assert not [c for c in data[name].columns if c.startswith(("true_", "latent_"))]


def test_missing_values_only_where_documented(data):
    p, c = data["panel"], data["customers"]
    nulls = {k: v for k, v in p.null_count().row(0, named=True).items() if v}
    assert set(nulls) <= {"sms", "channel"}
    assert 0.001 < nulls["sms"] / p.height < 0.006
    # Channel is missing only for long-standing (legacy) lines.
    legacy = p.filter(pl.col("channel").is_null())
    assert legacy.height > 0
    assert legacy["activation"].max() < date(2023 - w.LEGACY_TENURE // 12, 2, 1)  # tenure > 60 at 2023-01
    c_nulls = {k: v for k, v in c.null_count().row(0, named=True).items() if v}
    assert set(c_nulls) <= {"channel", "age_band", "total_charges"}
    assert 0.01 < c_nulls["age_band"] / c.height < 0.05
    assert (c.filter(pl.col("total_charges").is_null())["tenure_months"] == 1).all()


def test_realistic_marginals(data):
    p, c = data["panel"], data["customers"]
    active = p.filter(pl.col("status") == "active")
    for col in ("revenue", "voice_min", "data_mb"):
        x = active[col]
        assert x.mean() > 1.3 * x.median(), col          # right-skewed
        assert x.quantile(0.99) > 10 * x.median(), col   # heavy upper tail
    assert (c["arpu"].skew() or 0) > 1
    # Zero-usage months exist (suspended, silent and cancellation months).
    quiet = p.filter((pl.col("voice_min") == 0) & (pl.col("data_mb") == 0))
    assert quiet.height > 0 and set(quiet["status"].unique()) == {"active", "suspended", "cancelled"}
    # Seasonality: December SMS above June SMS, February minutes below January's.
    by_month = active.group_by(pl.col("month").dt.month().alias("m")).agg(pl.col("sms", "voice_min").mean())
    sms = dict(by_month.select("m", "sms").iter_rows())
    voice = dict(by_month.select("m", "voice_min").iter_rows())
    assert sms[12] > 1.2 * sms[6] and voice[2] < voice[1]
    # Plans and channels at about the planted shares.
    share = c["channel"].drop_nulls().value_counts(normalize=True)
    assert abs(share.filter(pl.col("channel") == "retail_store")["proportion"].item() - 0.35) < 0.03
    prepaid = c["plan"].is_in(list(w.PREPAID)).mean()
    assert 0.45 < prepaid < 0.65


# ---------------------------------------------------------------- determinism


def test_same_seed_same_data_other_seed_other_data():
    a = synth(customers=1500, months=12, seed=11).frames()
    b = synth(customers=1500, months=12, seed=11).frames()
    c = synth(customers=1500, months=12, seed=12).frames()
    for name in TABLES:
        assert a[name].equals(b[name]), name
    assert not a["panel"].equals(c["panel"])


def test_blocks_do_not_depend_on_the_total():
    # The first full blocks of a larger run are the same customers.
    small = synth(customers=BLOCK, months=12, seed=5, tables=["customers", "panel"]).frames()
    big = synth(customers=BLOCK + 500, months=12, seed=5, tables=["customers", "panel"])
    first = next(big.chunks())
    assert first["customers"].equals(small["customers"])
    assert first["panel"].equals(small["panel"])


def test_bad_options_are_option_errors():
    for kwargs, needle in (({"customers": 0}, "--customers"), ({"months": 0}, "--months"),
                           ({"seed": -1}, "--seed"), ({"start": "2023-13"}, "--start"),
                           ({"start": "soon"}, "--start"), ({"tables": ["panels"]}, "'panels'")):
        with pytest.raises(OptionError, match=needle):
            synth(**kwargs)
    with pytest.warns(SegmentWarning, match="months"):
        synth(customers=10, months=6)


# ---------------------------------------------------------------- lifecycle truth


def test_truth_is_the_rules_applied_to_the_latent_levels(data):
    t = data["truth_panel"]
    latent = data["panel"].drop("voice_min", "data_mb", "revenue").with_columns(
        voice_min=t["latent_voice_min"], data_mb=t["latent_data_mb"], revenue=t["latent_revenue"])
    mine = ref.stages(latent)
    j = t.join(mine, on=["customer_id", "month"])
    assert j.height == t.height
    assert (j["stage"] == j["true_stage"]).all()
    assert j.select(pl.col("decline_subtype").eq_missing(pl.col("true_decline_subtype")).all()).item()
    assert j.select(pl.col("exit_subtype").eq_missing(pl.col("true_exit_subtype")).all()).item()
    assert (j["winback"] == j["true_winback"]).all() and j["true_winback"].sum() > 20


def test_a_correct_detector_recovers_every_stage_on_the_noisy_panel(data, found):
    table = ref.agreement(data["truth_panel"], found)
    print("\nper-stage agreement of the reference detector on the noisy panel:\n", table)
    print("confusion (rows: truth, columns: found):\n", ref.confusion(data["truth_panel"], found))
    assert set(table["true_stage"]) == {"acquisition", "build-up", "maturity", "decline", "exit"}
    assert (table["recall"] >= 0.95).all(), table
    assert (table["precision"] >= 0.93).all(), table
    assert (table["rows"] >= 300).all(), table  # every stage well represented


def test_decline_and_exit_subtypes_are_recoverable(data, found):
    j = data["truth_panel"].join(found, on=["customer_id", "month"])
    dec = j.filter((pl.col("true_stage") == "decline") & (pl.col("stage") == "decline"))
    assert set(dec["true_decline_subtype"].unique()) == {"double-drop", "single-drop:voice_min",
                                                         "single-drop:data_mb", "revenue-drop"}
    assert (dec["decline_subtype"] == dec["true_decline_subtype"]).mean() >= 0.95
    ex = j.filter(pl.col("true_stage") == "exit")
    assert set(ex["true_exit_subtype"].unique()) == {"churn", "re-entry", "exit_swap"}
    assert (ex["exit_subtype"] == ex["true_exit_subtype"]).mean() >= 0.99


def test_declines_happen_in_every_tenure_stage(data):
    t = data["truth_panel"].with_columns(h=pl.int_range(pl.len()).over("customer_id"))
    onset = t.filter((pl.col("true_stage") == "decline")
                     & (pl.col("true_stage").shift(1).over("customer_id") != "decline"))
    tenure_stage = (pl.when(pl.col("true_tenure") <= 3).then(pl.lit("A"))
                    .when(pl.col("true_tenure") <= 6).then(pl.lit("B")).otherwise(pl.lit("C")))
    assert set(onset.select(tenure_stage).to_series()) == {"A", "B", "C"}


def test_double_drop_customers_really_drop_both_metrics(data):
    tc = data["truth_customers"].filter(pl.col("true_path").str.starts_with("double-drop"))
    p = data["panel"].join(tc.select("customer_id", "true_path_start"), on="customer_id")
    p = p.with_columns(r=_months_between(pl.col("true_path_start"), pl.col("month")))
    before = p.filter(pl.col("r").is_between(-3, -1)).group_by("customer_id").agg(
        pl.col("voice_min").mean().alias("v0"), pl.col("data_mb").mean().alias("d0"))
    after = p.filter(pl.col("r").is_between(1, 2) & (pl.col("status") != "cancelled")).group_by("customer_id").agg(
        pl.col("voice_min").mean().alias("v1"), pl.col("data_mb").mean().alias("d1"))
    j = before.join(after, on="customer_id")
    assert j.height > 50
    assert ((j["v1"] < 0.5 * j["v0"]) & (j["d1"] < 0.5 * j["d0"])).mean() > 0.97
    # Single drops: one metric falls, the other does not (mature lines: no ramp-up in the comparison).
    tc = data["truth_customers"].filter(pl.col("true_path") == "single-drop:voice_min")
    p = data["panel"].join(tc.select("customer_id", "true_path_start"), on="customer_id").with_columns(
        r=_months_between(pl.col("true_path_start"), pl.col("month")),
        tenure=_months_between(pl.col("activation"), pl.col("month")) + 1)
    p = p.filter(pl.col("r").is_between(-3, 3) & (pl.col("tenure").min().over("customer_id") > 7))
    s = p.group_by("customer_id").agg(
        v0=pl.col("voice_min").filter(pl.col("r").is_between(-3, -1)).mean(),
        v1=pl.col("voice_min").filter(pl.col("r").is_between(1, 3)).mean(),
        d0=pl.col("data_mb").filter(pl.col("r").is_between(-3, -1)).mean(),
        d1=pl.col("data_mb").filter(pl.col("r").is_between(1, 3)).mean()).drop_nulls()
    assert s.height > 30
    assert ((s["v1"] < 0.6 * s["v0"]) & (s["d1"] > 0.7 * s["d0"])).mean() > 0.97


def test_reentries_share_identity_with_an_earlier_exited_line(data):
    tc, p = data["truth_customers"], data["panel"]
    new = tc.filter(pl.col("reentry_of").is_not_null())
    assert new.height > 20
    old = tc.select(pl.col("customer_id").alias("reentry_of"), pl.col("identity").alias("old_identity"))
    j = new.join(old, on="reentry_of")
    assert (j["identity"] == j["old_identity"]).all()
    last = p.group_by("customer_id").agg(last=pl.col("month").max(), status=pl.col("status").last())
    first = p.group_by("customer_id").agg(first=pl.col("month").min())
    j = (j.join(first, on="customer_id").join(last.rename({"customer_id": "reentry_of"}), on="reentry_of"))
    assert (j["status"] == "cancelled").all()
    assert (j["first"] > j["last"]).all()
    # Identities are shared only by re-entries and number swaps.
    shared = p.group_by("identity").agg(n=pl.col("customer_id").n_unique()).filter(pl.col("n") > 1)
    swaps = tc.filter(pl.col("swap_of").is_not_null())
    assert shared.height == new.height + swaps.height and (shared["n"] == 2).all()
    # Same person, same gender.
    g = data["customers"].select("customer_id", "gender")
    jj = new.join(g, on="customer_id").join(g.rename({"customer_id": "reentry_of", "gender": "g0"}), on="reentry_of")
    assert (jj["gender"] == jj["g0"]).all()


def test_number_swaps_start_the_new_line_while_the_old_one_is_in_use(data):
    tc, p = data["truth_customers"], data["panel"]
    new = tc.filter(pl.col("swap_of").is_not_null())
    assert new.height > 20
    old = tc.select(pl.col("customer_id").alias("swap_of"), pl.col("identity").alias("old_identity"),
                    pl.col("true_exit_subtype").alias("old_exit"))
    j = new.join(old, on="swap_of")
    assert (j["identity"] == j["old_identity"]).all() and (j["old_exit"] == "exit_swap").all()
    used = p.filter((pl.col("voice_min") > 0) | (pl.col("data_mb") > 0) | (pl.col("revenue") > 0))
    span = used.group_by("customer_id").agg(first=pl.col("month").min(), last=pl.col("month").max())
    j = j.join(span, on="customer_id").join(span.rename({"customer_id": "swap_of", "first": "old_first",
                                                         "last": "old_last"}), on="swap_of")
    assert ((j["first"] > j["old_first"]) & (j["first"] <= j["old_last"])).all()


def test_suspensions_resolve_within_three_months(data):
    p = data["panel"].with_columns(
        susp=pl.col("status") == "suspended",
        run=(pl.col("status") != pl.col("status").shift(1)).over("customer_id").fill_null(True).cum_sum())
    runs = p.filter(pl.col("susp")).group_by("customer_id", "run").agg(
        n=pl.len(), last=pl.col("month").max())
    assert runs.height > 50 and runs["n"].max() <= 3
    nxt = p.select("customer_id", pl.col("month").dt.offset_by("-1mo").alias("last"), pl.col("status").alias("after"))
    j = runs.join(nxt, on=["customer_id", "last"], how="left")
    # After a suspension: active again (recovered), cancelled (after 3 months), or the panel ended.
    assert set(j["after"].drop_nulls().unique()) <= {"active", "cancelled"}
    assert (j.filter(pl.col("after") == "cancelled")["n"] == 3).all()
    assert (j.filter(pl.col("after") == "active")["n"] <= 2).all()
    assert (j.filter(pl.col("after").is_null())["last"] == p["month"].max()).all()
    # Suspended months carry no usage and no revenue.
    s = data["panel"].filter(pl.col("status") == "suspended")
    assert (s["voice_min"] == 0).all() and (s["revenue"] == 0).all()


# ---------------------------------------------------------------- planted effects


def _rate(c: pl.DataFrame, cond: pl.Expr) -> float:
    return c.filter(cond)["churn"].eq("yes").mean()


def test_churn_effects_are_visible(data):
    c = data["customers"]
    m2m, one, two = (_rate(c, pl.col("contract") == v) for v in ("month-to-month", "one-year", "two-year"))
    assert m2m > 1.5 * one and two < 0.6 * one
    fibre_no_support = (pl.col("fibre") == "yes") & (pl.col("tech_support") == "no")
    inside = _rate(c, fibre_no_support & (pl.col("contract") == "month-to-month"))
    outside = _rate(c, ~fibre_no_support & (pl.col("contract") == "month-to-month"))
    assert inside > 1.3 * outside


def test_planted_log_odds_are_recovered_by_a_logistic_model(data):
    import statsmodels.api as sm

    act = data["panel"].group_by("customer_id").agg(pl.col("activation").first())
    c = data["customers"].join(act, on="customer_id")
    # Only lines that had a month before the last one could churn at all.
    c = c.filter(pl.col("activation") < pl.date(2024, 12, 1))
    X = c.select(
        m2m=pl.col("contract") == "month-to-month", two=pl.col("contract") == "two-year",
        fns=(pl.col("fibre") == "yes") & (pl.col("tech_support") == "no"),
        female=pl.col("gender") == "female", streaming=pl.col("streaming") == "yes",
    ).cast(pl.Float64).to_numpy()
    y = (c["churn"] == "yes").cast(pl.Float64).to_numpy()
    fit = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    planted = [w.CHURN_BASE_LOGIT, *(e for _, _, e in w.CHURN_EFFECTS), 0.0, 0.0]
    lo, hi = fit.conf_int(alpha=0.001).T
    assert ((lo <= planted) & (planted <= hi)).all(), (fit.params, planted)


def test_gender_is_independent_of_every_outcome_and_plan_is_not(data):
    from scipy import stats

    c = data["customers"]
    tab = c.group_by("gender", "churn").len().pivot(on="churn", index="gender", values="len").drop("gender")
    assert stats.chi2_contingency(tab.to_numpy()).pvalue > 0.001
    for outcome in ("arpu", "avg_voice_min", "avg_data_mb"):
        groups = [g[outcome].to_numpy() for _, g in c.group_by("gender")]
        assert stats.kruskal(*groups).pvalue > 0.001, outcome
        groups = [g[outcome].to_numpy() for _, g in c.group_by("plan")]
        assert stats.kruskal(*groups).pvalue < 1e-12, outcome
    tab = c.group_by("plan", "churn").len().pivot(on="churn", index="plan", values="len").drop("plan")
    assert stats.chi2_contingency(tab.to_numpy()).pvalue < 1e-6
    effects = data["truth_effects"].filter(pl.col("item") == "gender")
    assert (effects["effect"] == "none").all() and effects.height == 4


def test_clusters_are_recoverable_with_hdbscan(data):
    import hdbscan
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import RobustScaler

    c = data["customers"].join(data["truth_customers"].select("customer_id", "true_cluster"), on="customer_id")
    X = RobustScaler().fit_transform(np.log1p(c.select("avg_voice_min", "avg_data_mb", "avg_sms", "arpu").to_numpy()))
    labels = hdbscan.HDBSCAN(min_cluster_size=max(30, c.height // 100), min_samples=10).fit_predict(X)
    truth = c["true_cluster"].to_numpy()
    keep = truth >= 0
    ari = adjusted_rand_score(truth[keep], labels[keep])
    print(f"\nhdbscan on log1p + robust-scaled features: {labels.max() + 1} clusters, ARI {ari:.3f}")
    assert labels.max() + 1 == len(w.GROUPS)
    assert ari >= 0.9
    sizes = np.bincount(truth[keep])
    assert sizes.max() > 2 * sizes.min()  # unequal sizes


# ---------------------------------------------------------------- transactions


def test_transactions_sum_to_each_months_revenue(data):
    t, p = data["transactions"], data["panel"]
    monthly = t.group_by("customer_id", pl.col("date").dt.truncate("1mo").alias("month")).agg(
        total=pl.col("amount").sum())
    j = p.filter(pl.col("revenue") > 0).join(monthly, on=["customer_id", "month"], how="full", coalesce=True)
    assert j.null_count().select("revenue", "total").sum_horizontal().item() == 0
    assert (j["revenue"] - j["total"]).abs().max() < 1e-6
    refunds = t.filter(pl.col("amount") < 0)
    assert 0 < refunds.height < 0.01 * t.height and (refunds["kind"] == "refund").all()
    assert t["customer_id"].is_sorted()
    assert t.select(pl.col("date").diff().over("customer_id").dt.total_days().fill_null(0).min()).item() >= 0


def test_rfm_runs_on_the_transactions(data):
    from segment.rfm._rfm import rfm

    res = rfm(data["transactions"].lazy())
    assert res.table.height == data["panel"].filter(pl.col("revenue") > 0)["customer_id"].n_unique()


# ---------------------------------------------------------------- scale


@pytest.mark.slow
def test_a_100k_customer_run_streams_in_blocks():
    spec = synth(customers=100_000, months=24, seed=9, tables=["panel", "customers", "truth_customers"])
    ids: set[str] = set()
    rows = 0
    blocks = 0
    for chunk in spec.chunks():
        blocks += 1
        assert chunk["panel"].height <= BLOCK * 24
        assert dict(chunk["panel"].schema) == SCHEMAS["panel"]
        ids.update(chunk["customers"]["customer_id"].to_list())
        rows += chunk["panel"].height
    assert blocks == 10 and len(ids) == 100_000
    assert spec.stats["rows"]["panel"] == rows > 1_500_000
    assert 0.15 < spec.stats["churned"] / 100_000 < 0.3

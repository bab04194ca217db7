"""segment churn: features and label dating, leakage guards, the model folder, scores, statistics, bad inputs."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import polars as pl
import pytest

from segment.churn import auc, churn_features, deciles, evaluate, fit, ks, load_model, psi, score
from segment.errors import DataError, InputError, OptionError
from tests.conftest import FIXTURES
from tests.test_contract import assert_one_line_error

MODEL = FIXTURES / "churn_model"
USAGE = dict(voice="voice_min", data="data_mb", revenue="revenue", status="status")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _panel(rows: dict[str, list[float]], first: str = "2024-01") -> pl.DataFrame:
    """One voice column per customer, consecutive months from *first*."""
    y, m = map(int, first.split("-"))
    out = []
    for cid, values in rows.items():
        for i, v in enumerate(values):
            k = y * 12 + m - 1 + i
            out.append({"customer_id": cid, "month": f"{k // 12}-{k % 12 + 1:02d}", "voice": float(v)})
    return pl.DataFrame(out)


# ---------------------------------------------------------------- statistics against references


def test_auc_and_ks_match_scikit_learn_and_scipy():
    from scipy.stats import ks_2samp
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    y = (rng.random(3000) < 0.1).astype(int)
    p = np.round(rng.random(3000) * 0.5 + 0.3 * y, 2)  # rounded: many ties
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ks(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)


def test_decile_table_by_hand():
    # 20 customers, scores 20..1; churners at ranks 1, 2, 3, 6, 11 (1-based): 5 of 20, base rate 0.25.
    p = np.arange(20, 0, -1) / 20
    y = np.zeros(20, dtype=int)
    y[[0, 1, 2, 5, 10]] = 1
    t = deciles(y, p)
    assert t["customers"].to_list() == [2] * 10
    assert t["churners"].to_list() == [2, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert t["churn_rate"].to_list() == [1.0, 0.5, 0.5, 0, 0, 0.5, 0, 0, 0, 0]
    assert t["lift"].to_list() == [4.0, 2.0, 2.0, 0, 0, 2.0, 0, 0, 0, 0]
    assert t["cum_lift"][2] == pytest.approx((4 / 6) / 0.25)
    assert t["capture"].to_list() == pytest.approx([0.4, 0.6, 0.8, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert t["min_score"][0] == pytest.approx(19 / 20)


def test_psi_of_a_shifted_score_is_large_and_of_the_same_is_zero():
    rng = np.random.default_rng(1)
    a = rng.normal(size=5000)
    assert psi(a, a) == pytest.approx(0.0)
    assert psi(a, rng.normal(size=5000)) < 0.02
    assert psi(a, rng.normal(loc=1.0, size=5000)) > 0.25


# ---------------------------------------------------------------- features and the label


def test_churn_event_is_dated_at_the_start_of_the_silent_run():
    # "a" is silent from May 2024 (exit confirmed in July): the event month is May.
    panel = _panel({"a": [100, 90, 110, 100, 0, 0, 0, 0, 0], "b": [50] * 9})
    labels = {}
    for t in ("2024-01", "2024-02", "2024-03", "2024-04"):
        f = _quiet(churn_features, panel, voice="voice", as_of=t, horizon=2, gap=1)
        labels[t] = dict(zip(f.table["customer_id"], f.table["churn"], strict=True))
    # window t+2..t+3: Jan -> Mar-Apr, Feb -> Apr-May, Mar -> May-Jun, Apr -> Jun-Jul
    assert [labels[t]["a"] for t in labels] == [0, 1, 1, 0]
    assert all(labels[t]["b"] == 0 for t in labels)


def test_silent_customers_are_left_out_and_the_current_month_has_no_label():
    panel = _panel({"a": [100, 90, 110, 100, 0, 0, 0, 0, 0], "b": [50] * 9})
    f = _quiet(churn_features, panel, voice="voice", as_of="2024-05")
    assert f.table["customer_id"].to_list() == ["b"]  # "a" is silent in May
    now = _quiet(churn_features, panel, voice="voice", as_of="2024-09")
    assert "churn" not in now.table.columns and now.labelled == []


def test_a_number_swap_or_re_entry_is_not_churn():
    panel = _panel({"a": [100, 100, 100, 100, 0, 0, 0, 0, 0], "b": [0, 0, 0, 80, 80, 80, 80, 80, 80]})
    panel = panel.with_columns(person=pl.lit("same person"))
    f = _quiet(churn_features, panel, voice="voice", identity="person", as_of="2024-02")
    assert dict(zip(f.table["customer_id"], f.table["churn"], strict=True)) == {"a": 0}
    alone = _quiet(churn_features, panel.drop("person"), voice="voice", as_of="2024-02")
    assert dict(zip(alone.table["customer_id"], alone.table["churn"], strict=True)) == {"a": 1}


def test_features_never_read_a_month_after_as_of():
    """Leakage guard: changing or dropping every month after as-of leaves the features as they were."""
    panel = pl.read_csv(FIXTURES / "churn_panel_small.csv")
    kwargs = dict(**USAGE, categories=["plan"], as_of="2023-09")
    full = _quiet(churn_features, panel, **kwargs).table.drop("churn")
    later = pl.col("month") >= "2023-10"  # months are written 2023-09-01
    scrambled = panel.with_columns(pl.when(later).then(pl.col(c) * 7 + 3).otherwise(pl.col(c)).alias(c)
                                   for c in ("voice_min", "data_mb", "revenue"))
    scrambled = scrambled.with_columns(pl.when(later).then(pl.lit("cancelled")).otherwise(pl.col("status"))
                                       .alias("status"))
    cut = panel.filter(~later)
    for other in (scrambled, cut):
        got = _quiet(churn_features, other, **kwargs).table
        assert got.drop("churn", strict=False).equals(full)


def test_usage_windows_by_hand():
    panel = _panel({"a": [10, 20, 30, 40, 50, 60, 0, 80]})
    f = _quiet(churn_features, panel, voice="voice", as_of="2024-08").table.row(0, named=True)
    assert f["voice_last"] == 80 and f["voice_mean3"] == pytest.approx(140 / 3)
    assert f["voice_mean6"] == pytest.approx((30 + 40 + 50 + 60 + 0 + 80) / 6)
    assert f["voice_trend"] == pytest.approx((140 / 3) / 40 - 1, abs=1e-6)  # last 3 (60, 0, 80) against 3 before (30, 40, 50)
    assert f["voice_idle"] == 0 and f["tenure"] == 8


# ---------------------------------------------------------------- synth: the planted truth


@pytest.fixture(scope="module")
def synth_run():
    """A synth panel with the planted static attributes joined in, features stacked over 14 months."""
    from segment.synth import synth

    data = synth(customers=5000, months=24, seed=21).frames()
    static = data["customers"].select("customer_id", "contract", "fibre", "tech_support")
    panel = data["panel"].join(static, on="customer_id")
    f = _quiet(churn_features, panel, **USAGE, identity="identity", activation="activation", complaints="complaints",
               categories=["plan", "contract", "fibre", "tech_support"], as_of="2023-06..2024-07")
    model = _quiet(fit, f.table, valid_from="2024-05",
                   provenance={"command": "churn features", "details": f.provenance()})
    return data, f, model


#: Months from a churn path's first month to its churn event (the first month without usage):
#: the planted shapes of :mod:`segment.synth._paths` (a double drop that cancels is used until
#: its cancellation row, so its event is that row).
EVENT_OFFSET = {"cancel": 0, "silent": 1, "suspension-cancel": 1, "double-drop-silent": 2}
#: Path kinds that look alike until they part: a double drop that stays or ends, a dip that
#: recovers or ends.
LOOK_ALIKE = {"double-drop-cancel": "double", "double-drop-silent": "double", "double-drop-stay": "double",
              "suspension-cancel": "dip", "silent": "dip", "suspension-recover": "dip", "silent-return": "dip"}


def _planted_outcomes(p: float, first: int, months: int, exit_after: int) -> dict[str, np.ndarray]:
    """Every path the synth generator can plant for a line, with its probability.

    Enumerates ``segment.synth._paths._choose_paths`` exactly: churn with
    probability *p*, the churn kind, its length and a start month uniform
    over the months where it fits (a path that does not fit becomes a plain
    cancellation); else a stay path starting uniformly after the first month
    (and the recovering kinds' silent months). The reentry and number-swap
    draws that turn a churned line's exit into no churn are folded in as
    the probability ``keep`` that the exit stays a churn (assuming a new line
    to take the person over is there when wanted). A silent return whose
    silence lasts *exit_after* months is an exit too (then a win-back): its
    event is its first silent month.
    """
    from segment.synth import _world as w
    from segment.synth._paths import _CHURN_LENGTH  # noqa: PLC2701 (the generator's own table)

    rows: list[tuple[float, str, int, int, int, float]] = []  # prob, kind, start, event, recovery gap, keep
    earliest = first + 1
    can_churn = earliest <= months - 1
    p = p if can_churn else 0.0
    for kind, share in w.CHURN_PATHS.items():
        lo, hi = _CHURN_LENGTH[kind]
        for length in range(lo, hi + 1):
            k, n = (kind, length) if earliest + length <= months - 1 else ("cancel", 0)
            starts = max(months - 1 - n - earliest + 1, 1)
            for start in range(earliest, earliest + starts):
                event = start + EVENT_OFFSET.get(k, n)
                cancel = start + n
                reentry = w.REENTRY_SHARE * np.mean([cancel + g <= months - 1 for g in w.REENTRY_GAPS])
                last_used = event - 1
                swap = w.SWAP_SHARE * np.mean([last_used - lead > first for lead in w.SWAP_LEADS])
                rows.append((p * share / (hi - lo + 1) / starts, k, start, event, 0, 1 - reentry - swap))
    for kind, share in w.STAY_PATHS.items():
        if kind == "none":
            rows.append(((1 - p) * share, "none", -1, -1, 0, 0.0))
            continue
        gaps = {"suspension-recover": (1, 2), "silent-return": (1, 2, 3)}.get(kind, (0,))
        starts = max(months - earliest, 1)
        for start in range(earliest, earliest + starts):
            for g in gaps:
                exits = kind == "silent-return" and g >= exit_after
                rows.append(((1 - p) * share / starts / len(gaps), kind, start, start + 1 if exits else -1, g,
                             1.0 if exits else 0.0))
    prob, kind, start, event, gap, keep = (np.array(c) for c in zip(*rows, strict=True))
    if not can_churn:  # the generator plants no path at all then
        prob, kind, start = np.array([1.0]), np.array(["none"]), np.array([-1])
        event, gap, keep = np.array([-1]), np.array([0]), np.array([0.0])
    return {"prob": prob, "kind": kind, "start": start, "event": event, "gap": gap, "keep": keep,
            "look": np.array([LOOK_ALIKE.get(k, k) for k in kind])}


def planted_truth(data: dict[str, pl.DataFrame], rows: pl.DataFrame, *, gap: int, horizon: int, exit_after: int,
                  path_so_far: bool = False) -> pl.DataFrame:
    """The true probability of each row's label, from the generator's planted churn probability.

    ``P(churn event in as-of + gap + 1 .. as-of + gap + horizon | the line's
    planted churn probability, its activation, and that it is in use at
    as-of)``, as every row of the features is: the generator's own
    distribution of paths (:func:`_planted_outcomes`) restricted to those
    that leave the line in use at as-of. With *path_so_far* it also knows
    the noise-free path up to as-of (no path yet, or which kind of decline
    began and when; kinds that look alike until they part are not told
    apart): an oracle that sees the planted decline without the noise.
    """
    months = sorted(data["truth_panel"]["month"].unique().to_list())
    index = {m: i for i, m in enumerate(months)}
    lines = (data["truth_customers"].select("customer_id", "true_churn_probability", "true_path", "true_path_start")
             .join(data["panel"].group_by("customer_id").agg(pl.col("activation").first()), on="customer_id"))
    first_month = months[0]
    lines = lines.with_columns(
        first=((pl.col("activation").dt.year() - first_month.year) * 12 + pl.col("activation").dt.month()
               - first_month.month).clip(0, None))
    frame = rows.join(lines, on="customer_id", how="left").with_row_index("__row")
    out = np.full(frame.height, np.nan)
    for (p, first), part in frame.group_by(["true_churn_probability", "first"]):
        o = _planted_outcomes(p, first, len(months), exit_after)
        t = np.array([index[d] for d in part["as_of"].to_list()])[:, None]
        start = np.array([-1 if d is None else index[d.replace(day=1)] for d in part["true_path_start"].to_list()])
        look = np.array([LOOK_ALIKE.get(k, k) for k in part["true_path"].to_list()])
        begun = (start[:, None] >= 0) & (start[:, None] <= t)
        o_begun = (o["start"][None, :] >= 0) & (o["start"][None, :] <= t)
        same = True if not path_so_far else np.where(begun, o_begun & (o["start"][None, :] == start[:, None]) & (o["look"][None, :] == look[:, None]),
                        ~o_begun)
        r = t - o["start"][None, :]
        churns = o["event"][None, :] >= 0
        recovering = np.isin(o["kind"], ["suspension-recover", "silent-return"])[None, :]
        in_use = np.where(recovering, (r <= 0) | (r > o["gap"][None, :]), ~churns | (t < o["event"][None, :]))
        weight = o["prob"][None, :] * (same & in_use)
        hit = churns & (o["event"][None, :] >= t + gap + 1) & (o["event"][None, :] <= t + gap + horizon)
        out[part["__row"].to_numpy()] = (weight * hit * o["keep"][None, :]).sum(axis=1) / weight.sum(axis=1)
    return frame.drop("__row").with_columns(truth=pl.Series(out))


@pytest.mark.slow
def test_synth_auc_reaches_95_percent_of_the_planted_truth(synth_run):
    data, f, model = synth_run
    valid = f.table.filter(pl.col("as_of") >= pl.date(2024, 5, 1))
    scored = _quiet(score, valid, model, reasons="all")
    window = dict(gap=f.params["gap"], horizon=f.params["horizon"], exit_after=f.params["rules"]["exit_after"])
    rows = valid.select("customer_id", "as_of", "churn")
    truth = planted_truth(data, rows, **window)
    oracle = planted_truth(data, rows, **window, path_so_far=True)
    both = scored.table.select("customer_id", "as_of", "churn", "p_churn").join(
        truth.select("customer_id", "as_of", "truth"), on=["customer_id", "as_of"]).join(
        oracle.select("customer_id", "as_of", pl.col("truth").alias("oracle")), on=["customer_id", "as_of"])
    assert both.height == valid.height
    assert not both["truth"].is_nan().any() and not both["oracle"].is_nan().any()  # every row has a planted path
    y = both["churn"].to_numpy()
    model_auc, truth_auc = auc(y, both["p_churn"].to_numpy()), auc(y, both["truth"].to_numpy())
    # README: model 0.683, planted probability 0.691; the oracle that also sees the planted
    # decline up to as-of, 0.789, bounds what any model of the noisy panel could reach.
    assert model_auc >= 0.95 * truth_auc, (model_auc, truth_auc)
    assert auc(y, both["oracle"].to_numpy()) > truth_auc
    rate = y.mean()  # the planted probabilities are calibrated: their mean is the churn rate, within 3 SE
    assert abs(both["truth"].mean() - rate) < 3 * np.sqrt(rate * (1 - rate) / len(y))
    assert model.metrics["auc"] == pytest.approx(model_auc)
    top = model.evaluation.deciles["churn_rate"].to_list()[:3]
    assert top[0] >= top[1] >= top[2], top  # monotone in the top deciles
    assert model.metrics["validation"]["kind"] == "out-of-time"


def test_planted_outcomes_are_the_generators_path_distribution():
    """The enumeration behind planted_truth against the generator's own draws (many lines alike)."""
    from segment.synth._lines import draw_lines
    from segment.synth._paths import KINDS, draw_paths

    rng = np.random.default_rng(3)
    lines = draw_lines(rng, first=0, n=200_000, months=24)
    lines.activation[:] = 4
    lines.churn_logit[:] = -1.0
    paths = draw_paths(rng, lines, 24)
    o = _planted_outcomes(1 / (1 + np.exp(1.0)), 4, 24, exit_after=3)
    kind = np.array(KINDS)[paths.kind]
    for k in ("cancel", "double-drop-cancel", "silent", "single-drop:voice_min", "none"):
        drawn = kind == k
        assert drawn.mean() == pytest.approx(o["prob"][o["kind"] == k].sum(), abs=0.005), k
    for s in (5, 12, 20):  # start months, among the churned lines
        drawn = (paths.start == s) & paths.churn
        assert drawn.mean() == pytest.approx(o["prob"][(o["start"] == s) & (o["event"] >= 0)
                                                       & (o["kind"] != "silent-return")].sum(), abs=0.003), s


@pytest.mark.slow
def test_contributions_sum_to_the_raw_score(synth_run):
    _, f, model = synth_run
    from segment.churn._model import matrix  # noqa: PLC2701 (the package's own test)

    rows = f.table.tail(500)
    x, _ = matrix(rows, model.features)
    booster = model.booster()
    contrib = booster.predict(x, pred_contrib=True)
    raw = booster.predict(x, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-9, atol=1e-9)
    # The reasons are the largest positive contributions, in order.
    scored = _quiet(score, rows, model, reasons="all").table
    first = scored.filter(pl.col("contrib_1").is_not_null())
    assert (first["contrib_1"] >= first["contrib_2"].fill_null(-np.inf)).all()
    assert (first["contrib_1"] > 0).all()


@pytest.mark.slow
def test_path_attribution_sums_to_the_raw_score_and_mostly_agrees_with_treeshap(synth_run):
    _, f, model = synth_run
    from segment.churn._model import matrix  # noqa: PLC2701
    from segment.churn._score import path_contributions, path_tables  # noqa: PLC2701

    x, _ = matrix(f.table.tail(1000), model.features)
    booster = model.booster()
    tables = path_tables(booster, len(model.features))
    path = path_contributions(booster, tables, x, 1, chunk=300)
    np.testing.assert_allclose(path.sum(axis=1) + tables[1], booster.predict(x, raw_score=True), atol=1e-9)
    shap = booster.predict(x, pred_contrib=True)[:, :-1]
    # Correlated features (last, 3- and 6-month means) share credit differently; the top reason agrees:
    top3 = np.argsort(-path, axis=1)[:, :3]
    assert np.mean((top3 == np.argmax(shap, axis=1)[:, None]).any(axis=1)) > 0.8
    by_path = _quiet(score, f.table.tail(1000), model, reasons="all", contrib="path").table
    by_shap = _quiet(score, f.table.tail(1000), model, reasons="all", contrib="shap").table
    assert by_path["p_churn"].equals(by_shap["p_churn"])


@pytest.mark.slow
def test_same_input_same_model_bytes(synth_run, tmp_path):
    _, f, model = synth_run
    again = _quiet(fit, f.table, valid_from="2024-05",
                   provenance={"command": "churn features", "details": f.provenance()})
    assert again.files() == model.files()
    model.save(tmp_path / "m")
    text = "".join((tmp_path / "m" / n).read_text() for n in ("model.json", "metrics.json"))
    assert str(tmp_path) not in text and "/" not in json.loads((tmp_path / "m" / "model.json").read_text())["id"]
    loaded = load_model(tmp_path / "m")
    rows = f.table.tail(300)
    assert _quiet(score, rows, loaded).table.equals(_quiet(score, rows, model).table)


# ---------------------------------------------------------------- priority


def _scored_fixture(**kwargs):
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    feats = feats.with_columns(margin=pl.Series(np.linspace(1, 40, feats.height)))
    return _quiet(score, feats, load_model(MODEL), **kwargs).table


def test_priority_never_calls_a_customer_whose_offer_costs_more_than_it_saves():
    t = _scored_fixture(value="margin", offer_cost=2.0, save_rate=0.3, capacity=1000)
    assert t["expected_net"].is_sorted(descending=True)
    np.testing.assert_allclose(t["kept_value"], t["margin"] * 12 if "margin" in t.columns else t["kept_value"])
    np.testing.assert_allclose(t["expected_net"], t["p_churn"] * 0.3 * t["kept_value"] - 2.0)
    called = t.filter("call")
    assert (called["expected_net"] > 0).all()
    assert t.filter(~pl.col("call"))["expected_net"].max() <= 0
    assert called["priority"].to_list() == list(range(1, called.height + 1))


def test_capacity_calls_the_n_best_and_clv_has_no_horizon():
    t = _scored_fixture(value="margin", value_kind="clv", offer_cost=0.0, save_rate=0.5, capacity=5)
    assert t["call"].sum() == 5 and t["priority"].drop_nulls().to_list() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(t["expected_loss"], t["p_churn"] * t["kept_value"])
    assert t.filter("call")["expected_net"].min() >= t.filter(~pl.col("call"))["expected_net"].max()


def test_reasons_only_for_alerted_customers_unless_all():
    t = _scored_fixture()
    assert t.filter(pl.col("alert") == "green")["reason_1"].null_count() == t.filter(pl.col("alert") == "green").height
    assert t["decile"].min() == 1 and t.sort("p_churn", descending=True)["decile"][0] == 1
    every = _scored_fixture(reasons="all")
    assert every["reason_1"].null_count() < t["reason_1"].null_count()


# ---------------------------------------------------------------- refusals (library)


def _labelled(n=400, positives=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[:positives] = 1
    return pl.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "x": rng.normal(size=n) + y, "churn": y})


def test_fit_refuses_too_few_churners_and_one_class():
    with pytest.raises(DataError, match="has 12 churners; at least 30"):
        _quiet(fit, _labelled(positives=12))
    with pytest.raises(DataError, match="one class only"):
        _quiet(fit, _labelled(positives=0))


def test_fit_refuses_features_computed_after_as_of():
    with pytest.raises(DataError, match="'churn_next_month' looks computed after the as-of month"):
        _quiet(fit, _labelled().with_columns(churn_next_month=pl.col("churn")))
    prov = {"command": "churn features", "details": {"after_as_of": ["churn", "churn_6m"]}}
    with pytest.raises(DataError, match="'churn_6m' was computed after the as-of month"):
        _quiet(fit, _labelled().with_columns(churn_6m=pl.col("churn")), provenance=prov)
    _quiet(fit, _labelled().with_columns(churn_6m=pl.col("churn")), provenance=prov, exclude=["churn_6m"])


def test_fit_refuses_an_id_twice_in_one_as_of_month():
    t = _labelled().with_columns(as_of=pl.date(2024, 1, 1))
    with pytest.raises(DataError, match="appears more than once in as-of month"):
        _quiet(fit, pl.concat([t, t.head(1)]))


def test_alert_top_must_rise():
    from segment.churn import parse_alert_top

    for bad in ("15%,5%", "5%,5%", "5%", "5%,150%"):
        with pytest.raises(OptionError):
            parse_alert_top(bad)


@pytest.mark.parametrize("text", ["10", "ten", "-5%", "1e-1", "5%%"])
def test_alert_top_and_control_refuse_the_same_share_spellings(text):
    """One share reader for --alert-top and --control: a spelling one refuses, the other refuses too."""
    from segment.churn import parse_alert_top
    from segment.stats.sampling import parse_share

    with pytest.raises(OptionError, match="--control expects a share"):
        parse_share(text)
    with pytest.raises(OptionError, match="--alert-top expects a share"):
        parse_alert_top(f"{text},40%")


def test_alert_top_reads_shares_as_control_does():
    from segment.churn import parse_alert_top
    from segment.stats.sampling import parse_share

    assert parse_alert_top("5%, 0.15") == (0.05, 0.15)
    assert parse_alert_top("12.5%,30%") == (parse_share("12.5%"), parse_share("30%"))


def test_model_folder_that_is_not_ours_or_from_another_version(tmp_path):
    with pytest.raises(InputError, match="not a segment churn model folder"):
        load_model(tmp_path)
    shutil.copytree(MODEL, tmp_path / "m")
    spec = json.loads((tmp_path / "m" / "model.json").read_text())
    (tmp_path / "m" / "model.json").write_text(json.dumps({**spec, "format_version": 99}))
    with pytest.raises(InputError, match="incompatible version"):
        load_model(tmp_path / "m")


def test_unseen_category_level_scores_as_missing_with_a_count():
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    feats = feats.with_columns(plan=pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("brand_new_plan"))
                               .otherwise(pl.col("plan")))
    with pytest.warns(UserWarning, match=r"unseen at fit time scored as missing \(plan: 3\)"):
        score(feats, load_model(MODEL))


def test_evaluate_needs_both_classes():
    with pytest.raises(DataError, match="one class only"):
        evaluate(pl.DataFrame({"churn": [0, 0, 0], "p_churn": [0.1, 0.2, 0.3]}), target="churn")


# ---------------------------------------------------------------- bad inputs on the command line


def test_score_input_missing_a_model_feature_names_it(cli, tmp_path):
    path = tmp_path / "f.csv"
    pl.read_csv(FIXTURES / "churn_features_small.csv").drop("voice_min_trend").write_csv(path)
    out = tmp_path / "s.csv"
    assert_one_line_error(cli(["churn", "score", path, "--model", MODEL, "-o", out]), "'voice_min_trend' not found")
    assert not out.exists()


def test_fit_bad_inputs_are_one_line_and_write_nothing(cli, tmp_path):
    few = tmp_path / "few.csv"
    _labelled(positives=10).write_csv(few)
    assert_one_line_error(cli(["churn", "fit", few, "-o", tmp_path / "m"]), "at least 30")
    ok = tmp_path / "ok.csv"
    _labelled().write_csv(ok)
    assert_one_line_error(cli(["churn", "fit", ok, "-o", tmp_path / "m", "--alert-top", "15%,5%"]), "--alert-top")
    (tmp_path / "notours").mkdir()
    (tmp_path / "notours" / "keep.txt").write_text("x")
    assert_one_line_error(cli(["churn", "fit", ok, "-o", tmp_path / "notours"]), "not a segment churn model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["few.csv", "notours", "ok.csv"]
    assert [p.name for p in (tmp_path / "notours").iterdir()] == ["keep.txt"]


def test_score_with_a_model_folder_that_is_not_ours(cli, tmp_path):
    assert_one_line_error(cli(["churn", "score", FIXTURES / "churn_features_small.csv", "--model", tmp_path]),
                          "not a segment churn model")


def test_fit_then_score_on_the_command_line_replaces_an_earlier_model(cli, tmp_path):
    ok = tmp_path / "ok.csv"
    _labelled(n=600, positives=60).write_csv(ok)
    for _ in range(2):
        result = cli(["churn", "fit", ok, "-o", tmp_path / "m", "-q"])
        assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["metrics.json", "model.json", "model.txt"]
    assert "snapshot" in result.stderr  # a plain snapshot may leak the outcome
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    scored = cli(["churn", "score", ok, "--model", tmp_path / "m"])
    assert scored.exit_code == 0, scored.stderr
    assert pl.read_csv(scored.stdout_bytes).columns[:4] == ["customer_id", "churn", "p_churn", "decile"]


def test_evaluate_min_auc_is_a_check(cli):
    result = cli(["churn", "evaluate", FIXTURES / "churn_scores_small.csv", "--min-auc", "0.99", "-q"])
    assert result.exit_code == 1 and "below --min-auc" in result.stderr


# ---------------------------------------------------------------- real data


@pytest.mark.shared
def test_ibm_telco_snapshot():
    from segment.io import read_table
    from tests.conftest import shared

    table = read_table(shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")).frame.collect()
    with pytest.warns(UserWarning, match="snapshot"):
        model = fit(table, target="Churn", id="customerID")
    assert model.metrics["validation"]["kind"] == "holdout"
    assert 0.80 <= model.metrics["auc"] <= 0.90  # published gradient-boosting results on Telco: about 0.84
    assert {f["name"] for f in model.features} >= {"Contract", "tenure", "MonthlyCharges"}


def test_drift_against_a_previous_scoring_covers_the_score_and_each_feature(cli, tmp_path):
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    feats.write_csv(tmp_path / "now.csv")
    shifted = feats.with_columns(pl.col("voice_min_last") * 3)
    shifted.write_csv(tmp_path / "then.csv")
    for name in ("now", "then"):
        result = cli(["churn", "score", tmp_path / f"{name}.csv", "--model", MODEL, "--keep-features", "-q",
                      "-o", tmp_path / f"{name}_scores.csv"])
        assert result.exit_code == 0, result.stderr
    result = cli(["churn", "evaluate", tmp_path / "now_scores.csv", "--previous", tmp_path / "then_scores.csv",
                  "--json", tmp_path / "ev.json", "-q"])
    assert result.exit_code == 0, result.stderr
    drift = {d["column"]: d for d in json.loads((tmp_path / "ev.json").read_text())["drift"]}
    assert {"p_churn", "voice_min_last", "plan"} <= set(drift) and "as_of" not in drift
    assert drift["voice_min_last"]["level"] == "shifted" and drift["plan"]["psi"] == pytest.approx(0.0)

"""validate-segment on real data: calibration by simulation, verdicts, merges, replication.

The telco data is the bundled byte-identical copy of
../shared/data/telco-churn-ibm (examples/data/PROVENANCE.md), so these run on
a fresh clone too.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from segment.errors import ColumnTypeError, DataError, OptionError, SegmentWarning
from segment.stats.groupstats import SEG, count_stats, numeric_stats
from segment.validate._profiles import count_summaries, numeric_summaries
from segment.stats.tests import anova, chi_square, kruskal, welch
from segment.validate._validate import validate_segment
from tests.conftest import ROOT

TELCO = ROOT / "examples" / "data" / "telco_churn.csv"
OUTCOMES = ["Churn", "MonthlyCharges", "tenure", "InternetService"]


@pytest.fixture(scope="module")
def telco() -> pl.DataFrame:
    return pl.read_csv(TELCO, schema_overrides={"customerID": pl.String})


def _run(df: pl.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentWarning)
        return validate_segment(df, **kw)


def _random_labels(n: int, seed: int, k: int = 4) -> pl.Series:
    return pl.Series("random", np.random.default_rng(seed).integers(0, k, n)).cast(pl.String)


# ---------------------------------------------------------------- calibration


def test_random_labels_are_arbitrary_in_at_least_94_percent_of_200_seeds(telco):
    verdicts, any_significant = [], 0
    for seed in range(200):
        res = _run(telco.with_columns(_random_labels(telco.height, seed)), segment="random", outcomes=OUTCOMES)
        verdicts.append(res.verdict)
        any_significant += bool(res.outcomes["significant"].any())
    assert verdicts.count("arbitrary") >= 188, {v: verdicts.count(v) for v in set(verdicts)}
    # Holm keeps the chance of any significant outcome at about alpha (5%, i.e. 10 of 200).
    assert any_significant <= 20


@pytest.mark.parametrize("test, kind", [(chi_square, "counts"), (kruskal, "numeric"), (anova, "numeric"),
                                        (welch, "numeric")])
def test_null_p_values_reject_at_the_nominal_rate(telco, test, kind):
    churn = (telco["Churn"] == "Yes").cast(pl.UInt32)
    charges = telco["MonthlyCharges"]
    rejections, reps = 0, 400
    for seed in range(reps):
        seg = _random_labels(telco.height, 10_000 + seed, k=5).cast(pl.UInt32)
        data = pl.DataFrame({SEG: seg, "y": churn if kind == "counts" else charges})
        stats = count_stats(data, "y", 5, 2) if kind == "counts" else numeric_stats(data, "y", 5)
        rejections += test(stats).p <= 0.05
    # 400 x 5% = 20 expected; +-3 binomial standard deviations is 7..33.
    assert 7 <= rejections <= 33, rejections


def test_contract_on_churn_is_valid(telco):
    res = _run(telco, segment="Contract", outcomes=["Churn"])
    assert res.verdict == "valid", res.reasons
    row = res.outcomes.row(0, named=True)
    assert row["verdict"] == "differs" and row["effect_label"] in ("medium", "large")
    assert res.merge_map["action"].to_list() == ["keep"] * 3
    rates = dict(res.profile.select("segment", "value").iter_rows())
    assert rates["Month-to-month"] > rates["One year"] > rates["Two year"]


def test_gender_is_arbitrary(telco):
    res = _run(telco, segment="gender", outcomes=OUTCOMES)
    assert res.verdict == "arbitrary"
    assert set(res.outcomes["verdict"]) <= {"no difference", "negligible effect"}


def test_real_segment_split_in_halves_is_over_fine_and_merged_back(telco):
    merged_back = 0
    for seed in range(20):
        halves = pl.Series(np.random.default_rng(seed).integers(1, 3, telco.height)).cast(pl.String)
        split = pl.when(pl.col("Contract") == "Month-to-month").then(pl.lit("Month-to-month ") + halves) \
            .otherwise(pl.col("Contract")).alias("contract_split")
        res = _run(telco.with_columns(split), segment="contract_split", outcomes=["Churn", "MonthlyCharges", "tenure"])
        mapping = dict(res.merge_map.select("segment", "merged_segment").iter_rows())
        assert mapping["One year"] == "One year" and mapping["Two year"] == "Two year"
        halves_pair = res.pairs.filter(pl.col("segment_a").eq("Month-to-month 1") & pl.col("segment_b").eq("Month-to-month 2"))
        if mapping["Month-to-month 1"] != mapping["Month-to-month 2"]:
            # The halves differ by chance (p adjusted over all pairs and outcomes <= alpha, a 5% event):
            # the run says so in --pairs and does not contradict itself.
            assert halves_pair["significant"].any() and res.verdict == "valid"
            continue
        merged_back += 1
        assert res.verdict == "over-fine", res.reasons
        # Relabelling with the map gives back a valid segmentation.
        relabelled = telco.with_columns(split).join(res.merge_map.select("segment", "merged_segment"),
                                                    left_on="contract_split", right_on="segment")
        again = _run(relabelled, segment="merged_segment", outcomes=["Churn", "MonthlyCharges", "tenure"])
        assert again.verdict == "valid"
    # The pairs family holds the chance of calling two alike segments different at alpha (1 in 20 seeds).
    assert merged_back >= 17, merged_back


def test_planted_effect_is_found_and_null_segments_merged(telco):
    merged_back = 0
    for seed in range(10):
        labels = np.random.default_rng(seed).integers(0, 4, telco.height)
        shift = pl.Series(np.where(labels == 0, 15.0, 0.0))
        df = telco.with_columns(pl.Series("seg", labels).cast(pl.String), MonthlyCharges=pl.col("MonthlyCharges") + shift)
        res = _run(df, segment="seg", outcomes=["MonthlyCharges", "Churn"])
        verdicts = dict(res.outcomes.select("outcome", "verdict").iter_rows())
        assert verdicts["MonthlyCharges"] == "differs" and verdicts["Churn"] != "differs"
        assert res.verdict == "over-fine"
        mapping = dict(res.merge_map.select("segment", "merged_segment").iter_rows())
        assert mapping["0"] == "0"  # the planted segment is never merged away
        merged_back += mapping["1"] == mapping["2"] == mapping["3"]
    # The three null segments differ only by chance: merged into one nearly always.
    assert merged_back >= 8, merged_back


def test_small_segment_is_flagged_and_merged_into_its_nearest_neighbour(telco):
    two_year = (pl.col("Contract") == "Two year") & (pl.int_range(pl.len()).over("Contract") < 20)
    df = telco.with_columns(pl.when(two_year).then(pl.lit("Tiny")).otherwise(pl.col("Contract")).alias("seg"))
    res = _run(df, segment="seg", outcomes=["Churn", "tenure"])
    assert res.verdict == "over-fine"
    row = res.merge_map.filter(pl.col("segment") == "Tiny").row(0, named=True)
    assert row["small"] and row["merged_segment"] == "Two year" and "too small" in row["reason"]
    assert res.stats["small_segments"] == 1


def test_min_share_flags_segments_below_the_share(telco):
    res = _run(telco, segment="Contract", outcomes=["Churn"], min_share=0.25)
    assert res.merge_map.filter(pl.col("small"))["segment"].to_list() == ["One year", "Two year"]
    assert res.verdict == "over-fine"


# ---------------------------------------------------------------- replication


def test_real_difference_replicates_on_the_held_out_half(telco):
    res = _run(telco, segment="Contract", outcomes=["Churn", "gender"], holdout=0.5, seed=4)
    churn = res.outcomes.row(0, named=True)
    assert churn["replicated"] is True and churn["order_agreement"] == 1.0 and churn["p_holdout"] < 1e-6
    assert res.stats["rows_held_out"] == pytest.approx(telco.height / 2, abs=2)
    assert res.outcomes.row(1, named=True)["replicated"] is None  # nothing to replicate
    assert res.verdict == "valid"


def test_difference_that_does_not_replicate_is_reported_as_such(telco, monkeypatch):
    # Plant the effect in the first half of the rows only and hold out exactly the second half.
    import segment.validate._validate as vs

    n = telco.height
    labels = np.random.default_rng(0).integers(0, 2, n)
    first = np.arange(n) < n // 2
    df = telco.with_columns(pl.Series("seg", labels).cast(pl.String),
                            MonthlyCharges=pl.col("MonthlyCharges") + pl.Series(np.where(first & (labels == 0), 30.0, 0.0)))
    monkeypatch.setattr(vs, "holdout_mask", lambda data, fraction, rng: pl.Series(~first))
    res = _run(df, segment="seg", outcomes=["MonthlyCharges"], holdout=0.5)
    row = res.outcomes.row(0, named=True)
    assert row["significant"] and row["replicated"] is False and row["verdict"] == "not replicated"
    assert res.verdict == "arbitrary"
    assert "not on the held-out rows" in " ".join(res.reasons)


def test_holdout_split_is_stratified_and_seeded(telco):
    from segment.validate._replication import holdout_mask

    data = pl.DataFrame({SEG: telco["Contract"].rank("dense").cast(pl.UInt32) - 1})
    a = holdout_mask(data, 0.5, np.random.default_rng(1))
    b = holdout_mask(data, 0.5, np.random.default_rng(1))
    assert a.equals(b)
    per = data.with_columns(h=a).group_by(SEG).agg(share=pl.col("h").mean())
    assert per["share"].is_between(0.499, 0.501).all()


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_rate_intervals_cover_at_about_the_nominal_rate():
    rng = np.random.default_rng(5)
    positives = rng.binomial(200, 0.3, size=400)
    stats = count_stats(pl.DataFrame({SEG: pl.Series(np.repeat(np.arange(400), 200), dtype=pl.UInt32),
                                      "y": pl.Series(np.concatenate([np.r_[np.ones(p), np.zeros(200 - p)]
                                                                     for p in positives]), dtype=pl.UInt32)}),
                        "y", 400, 2)
    rows = count_summaries(stats, levels=["0", "1"], positive_only=True, bootstrap=400, confidence=0.95,
                           rng=np.random.default_rng(6))
    covered = np.mean([r["ci_low"] <= 0.3 <= r["ci_high"] for r in rows])
    assert 0.90 <= covered <= 0.985, covered


def test_bootstrap_median_intervals_cover_at_about_the_nominal_rate():
    rng = np.random.default_rng(7)
    k, n = 300, 101
    data = pl.DataFrame({SEG: pl.Series(np.repeat(np.arange(k), n), dtype=pl.UInt32), "y": rng.normal(0, 1, k * n)})
    stats = numeric_stats(data, "y", k)
    rows = numeric_summaries(data, "y", stats, statistic="median", bootstrap=300, confidence=0.95,
                             rng=np.random.default_rng(8))
    covered = np.mean([r["ci_low"] <= 0.0 <= r["ci_high"] for r in rows])
    assert 0.90 <= covered <= 0.99, covered
    assert all(r["value"] == pytest.approx(np.median(data.filter(pl.col(SEG) == r["segment"])["y"].to_numpy()))
               for r in rows[:5])


def test_same_seed_same_result_other_seed_other_intervals(telco):
    kw = dict(segment="Contract", outcomes=["Churn", "MonthlyCharges"], bootstrap=50, holdout=0.5)
    a, b, c = _run(telco, seed=1, **kw), _run(telco, seed=1, **kw), _run(telco, seed=2, **kw)
    assert a.to_dict() == b.to_dict()
    assert not a.profile["ci_low"].equals(c.profile["ci_low"])
    # With --holdout the tests run on the rows not held out, which the seed picks.
    assert not a.outcomes["statistic"].equals(c.outcomes["statistic"])
    kw["holdout"] = 0.0
    assert _run(telco, seed=1, **kw).outcomes["statistic"].equals(_run(telco, seed=2, **kw).outcomes["statistic"])


# ---------------------------------------------------------------- inputs


def test_outcome_kinds_are_detected_and_can_be_forced(telco):
    res = _run(telco, segment="Contract", outcomes=["Churn", "SeniorCitizen", "TotalCharges", "PaymentMethod"])
    kinds = dict(res.outcomes.select("outcome", "kind").iter_rows())
    assert kinds == {"Churn": "binary", "SeniorCitizen": "binary", "TotalCharges": "numeric",
                     "PaymentMethod": "categorical"}
    positive = dict(res.outcomes.select("outcome", "positive").iter_rows())
    assert positive["Churn"] == "Yes" and positive["SeniorCitizen"] == "1"
    assert res.params["outcomes"]["TotalCharges"]["rows_without_value"] == 11  # blank text is missing
    forced = _run(telco, segment="Contract", outcomes=["tenure"], outcome_types={"tenure": "categorical"})
    assert forced.outcomes["kind"][0] == "categorical" and forced.outcomes["test"][0] == "chi-square"
    with pytest.raises(DataError, match="not binary"):
        _run(telco, segment="Contract", outcomes=["PaymentMethod"], outcome_types={"PaymentMethod": "binary"})


def test_rows_without_an_outcome_value_are_left_out_with_a_warning(telco):
    with pytest.warns(SegmentWarning, match="left out 11 rows where outcome 'TotalCharges' is empty"):
        res = validate_segment(telco, segment="Contract", outcomes=["TotalCharges"])
    assert res.outcomes["n"][0] == telco.height - 11


def test_segment_nulls_are_left_out_or_an_error_with_strict(telco):
    df = telco.with_columns(pl.when(pl.int_range(pl.len()) % 100 == 0).then(None).otherwise(pl.col("Contract"))
                            .alias("Contract"))
    with pytest.warns(SegmentWarning, match="left out 71 rows with an empty segment 'Contract'"):
        res = validate_segment(df, segment="Contract", outcomes=["Churn"])
    assert res.stats["rows_without_segment"] == 71 and res.stats["rows_used"] == telco.height - 71
    with pytest.raises(DataError, match=r"empty in 71 rows, first in row 1"):
        validate_segment(df, segment="Contract", outcomes=["Churn"], strict=True)


def test_negative_outcome_values_are_fine_and_ranks_ignore_a_shift(telco):
    a = _run(telco, segment="Contract", outcomes=["MonthlyCharges"])
    b = _run(telco.with_columns(pl.col("MonthlyCharges") - 1000), segment="Contract", outcomes=["MonthlyCharges"])
    assert a.outcomes["statistic"][0] == b.outcomes["statistic"][0]


def test_a_segment_without_values_of_one_outcome_is_left_out_of_that_outcome(telco):
    df = telco.with_columns(pl.when(pl.col("Contract") == "Two year").then(None).otherwise(pl.col("tenure"))
                            .alias("tenure"))
    res = _run(df, segment="Contract", outcomes=["Churn", "tenure"])
    assert res.outcomes.select("outcome", "segments").rows() == [("Churn", 3), ("tenure", 2)]
    assert res.pairs.filter(pl.col("outcome") == "tenure").height == 1


@pytest.mark.parametrize("frame, kw, error, needle", [
    (pl.DataFrame({"s": ["a"] * 5, "y": [1.0, 2, 3, 4, 5]}), {}, DataError, "one segment only"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": [1.0] * 10}), {}, DataError, "same value (1.0) in every row"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": [None] * 10}, schema_overrides={"y": pl.Float64}), {}, DataError,
     "empty in every row"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, float("inf")]}), {}, DataError,
     "infinite"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 10), eager=True)}),
     {}, ColumnTypeError, "holds Date values"),
    (pl.DataFrame({"s": [[1], [2]] * 5, "y": list(range(10))}), {}, ColumnTypeError, "one label per row"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10))}), {"outcomes": ["y", "y"]}, OptionError, "twice"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10))}), {"outcomes": ["s"]}, OptionError, "both the segment"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10))}), {"holdout": 1.0}, OptionError, "--holdout"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10))}), {"alpha": 0.0}, OptionError, "--alpha"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10))}), {"seed": -1}, OptionError, "--seed"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": [1.0, 1, 1, 2, 1, 3, 1, 4, 1, 5]}), {"numeric_test": "welch"}, DataError,
     "Welch's test needs"),
    (pl.DataFrame({"s": ["a", "b"] * 5, "y": list(range(10)), "id": list(range(9)) + [0]}), {"id": "id"},
     DataError, "customer id 0 in column 'id' appears more than once (first in row 1)"),
])
def test_bad_input_is_a_clear_error(frame, kw, error, needle):
    kw = {"segment": "s", "outcomes": ["y"], **kw}
    with pytest.raises(error) as exc:
        validate_segment(frame, **kw)
    assert needle in str(exc.value)


def test_more_segments_than_max_segments_is_refused():
    df = pl.DataFrame({"s": np.arange(10_000).astype(str), "y": np.arange(10_000) % 7})
    with pytest.raises(DataError, match="10,000 distinct segments, more than --max-segments 1,000"):
        validate_segment(df, segment="s", outcomes=["y"])
    with pytest.raises(OptionError, match="--max-segments must be from 2 to 2,000"):
        validate_segment(df, segment="s", outcomes=["y"], max_segments=10_000)


def test_merge_bookkeeping_finds_the_same_pair_as_a_full_search():
    from segment.stats.groupstats import CountStats
    from segment.validate._merging import _Groups

    rng = np.random.default_rng(12)
    counts = rng.integers(5, 60, size=(60, 3))
    counts[10:20] = counts[10]  # exact ties between pairs
    groups = _Groups([CountStats(counts)], counts.sum(axis=1), "kruskal")
    while groups.active.sum() > 2:
        a, b = groups.best_pair()
        full = np.unravel_index(int(np.argmax(groups.raw)), groups.raw.shape)
        assert (a, b) == tuple(int(x) for x in full)
        groups.merge(*sorted((a, b), key=lambda g: -groups.size[g]), fold=False)


def test_many_small_segments_are_merged_into_one_when_nothing_differs():
    rng = np.random.default_rng(2)
    df = pl.DataFrame({"cell": rng.integers(0, 300, 6000).astype(str), "churn": rng.integers(0, 2, 6000),
                       "arpu": rng.gamma(2, 20, 6000)})
    res = _run(df, segment="cell", outcomes=["churn", "arpu"])
    assert res.verdict == "arbitrary" and res.stats["small_segments"] == 300
    # Merging similar small cells sorts them by their noise; CHAID's multiplier
    # keeps those groups from looking different afterwards.
    assert res.merge_map["merged_segment"].n_unique() == 1


def test_json_leaves_out_a_huge_pairs_table(telco):
    res = _run(telco, segment="Contract", outcomes=["Churn"])
    assert res.to_dict()["pairs_left_out"] == 0 and len(res.to_dict()["pairs"]) == 3
    assert res.to_dict(max_pairs=2)["pairs"] is None and res.to_dict(max_pairs=2)["pairs_left_out"] == 3


def test_many_small_segments_with_real_structure_keep_it_apart():
    rng = np.random.default_rng(4)
    cells = rng.integers(0, 200, 12_000)
    df = pl.DataFrame({"cell": cells, "churn": rng.random(cells.size) < 0.2 + 0.3 * (cells % 2)})
    res = _run(df, segment="cell", outcomes=["churn"])
    groups = res.merge_map.with_columns(odd=pl.col("segment") % 2).group_by("merged_segment") \
        .agg(pl.col("odd").mean())
    # A 60-row cell can look like the other parity by chance; nearly all sit right.
    assert groups.height >= 2 and ((groups["odd"] >= 0.95) | (groups["odd"] <= 0.05)).all()


# ---------------------------------------------------------------- segment synth (planted truth)

_SYNTH_OUTCOMES = {"churn": "churn", "revenue": "arpu", "voice_min": "avg_voice_min", "data_mb": "avg_data_mb"}


@pytest.mark.parametrize("seed", range(5))
def test_synth_gender_is_arbitrary_and_plan_is_valid(seed):
    from segment.synth._synth import synth

    data = synth(customers=10_000, months=24, seed=seed, tables=["customers", "truth_effects"]).frames()
    truth = data["truth_effects"].filter(pl.col("item").is_in(["gender", "plan"]))
    for variable, expected in (("gender", "arbitrary"), ("plan", "valid")):
        rows = truth.filter(pl.col("item") == variable)
        planted = set(rows["effect"])
        # The expectation comes from what synth planted, not from this command.
        assert planted == ({"none"} if expected == "arbitrary" else {"differs"})
        outcomes = [_SYNTH_OUTCOMES[o] for o in rows["outcome"]]
        res = _run(data["customers"], segment=variable, outcomes=outcomes, id="customer_id")
        assert res.verdict == expected, (variable, res.reasons)


def test_synth_bundled_sample_plan_differs_with_only_the_premium_plans_borderline():
    # 2,000 lines: unlimited and postpaid_l share the premium group and differ
    # only modestly (Dunn p about 0.03 on voice and data); nothing else merges.
    customers = pl.read_parquet(ROOT / "examples" / "data" / "synth" / "customers.parquet")
    outcomes = list(_SYNTH_OUTCOMES.values())
    plan = _run(customers, segment="plan", outcomes=outcomes)
    assert set(plan.outcomes.filter(pl.col("outcome") != "churn")["verdict"]) == {"differs"}
    merged = plan.merge_map.filter(pl.col("action") == "merge")
    assert merged.height <= 1 and set(merged["segment"]) | set(merged["merged_segment"]) <= {"unlimited", "postpaid_l"}
    assert _run(customers, segment="gender", outcomes=outcomes).verdict == "arbitrary"


# ---------------------------------------------------------------- segments without outcome values


def _churn_rows(label: str, n: int, churned: int | None) -> pl.DataFrame:
    churn = [None] * n if churned is None else [1] * churned + [0] * (n - churned)
    return pl.DataFrame({"stage": [label] * n, "churn": churn}, schema={"stage": pl.String, "churn": pl.Int64})


def test_regression_segment_without_outcome_values_is_not_a_merge_target():
    # As lifecycle stages: churn next month is null for every exited line. Nothing can be
    # said about 'exit' on churn; 'acquisition' (2% churn) must not be merged into it.
    df = pl.concat([_churn_rows("acquisition", 300, 6), _churn_rows("decline", 300, 60),
                    _churn_rows("exit", 200, None), _churn_rows("maturity", 300, 30)])
    with pytest.warns(SegmentWarning) as caught:
        res = validate_segment(df, segment="stage", outcomes=["churn"])
    assert res.verdict == "valid", res.reasons
    assert res.merges == []
    mapping = res.merge_map.select("segment", "merged_segment", "action").rows()
    assert mapping == [("acquisition", "acquisition", "keep"), ("decline", "decline", "keep"),
                       ("exit", "exit", "left out"), ("maturity", "maturity", "keep")]
    messages = [str(w.message) for w in caught]
    assert "left out segment 'exit' (200 rows): outcome 'churn' is empty in all its rows" in messages
    assert res.outcomes.select("n", "segments").row(0) == (900, 3)
    assert res.stats["segments"] == 3 and res.stats["rows_used"] == 900
    assert res.stats["segments_left_out"] == 1 and res.stats["rows_in_segments_left_out"] == 200
    assert "exit" not in set(res.pairs["segment_a"]) | set(res.pairs["segment_b"])
    # The rows of 'exit' are counted once, as the left-out segment's, not again as rows without churn.
    assert not any("where outcome 'churn' is empty" in m for m in messages)


def test_regression_segment_without_values_of_one_outcome_takes_part_in_the_other_only():
    rng = np.random.default_rng(3)
    df = pl.concat([_churn_rows("acquisition", 300, 6), _churn_rows("decline", 300, 60),
                    _churn_rows("exit", 200, None), _churn_rows("maturity", 300, 30)])
    # 'exit' has revenue close to 'maturity' (Dunn p about 0.05), the others differ on it.
    centre = {"acquisition": 10.0, "decline": 20.0, "exit": 31.5, "maturity": 30.0}
    df = df.with_columns(revenue=pl.Series(rng.normal(0, 3, df.height)) + pl.col("stage").replace_strict(centre))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SegmentWarning)  # no segment is left out, no row lacks revenue
        with pytest.warns(SegmentWarning, match="left out 200 rows where outcome 'churn' is empty"):
            res = validate_segment(df, segment="stage", outcomes=["churn", "revenue"])
    assert res.outcomes.select("outcome", "segments").rows() == [("churn", 3), ("revenue", 4)]
    pairs = res.pairs.filter(pl.col("segment_a").eq("exit") | pl.col("segment_b").eq("exit"))
    assert set(pairs["outcome"]) == {"revenue"} and pairs.height == 3
    assert res.verdict == "over-fine"
    mapping = dict(res.merge_map.select("segment", "merged_segment").iter_rows())
    assert mapping == {"acquisition": "acquisition", "decline": "decline", "exit": "maturity",
                       "maturity": "maturity"}
    # The distance is revenue's alone: one outcome compared, and the only candidate pair of that
    # step (every other pair is significant in --pairs, so kept apart).
    (step,) = res.merges
    dunn = pairs.filter(pl.col("segment_b") == "maturity")
    assert step["merged"] == ["exit"] and step["p_adjusted"] == pytest.approx(dunn["p"].item(), rel=1e-9)
    assert step["outcomes"] == ["revenue"]
    assert res.pairs.filter(~pl.col("kept_apart")).select("segment_a", "segment_b").rows() == [("exit", "maturity")]
    reason = res.merge_map.filter(pl.col("segment") == "exit")["reason"].item()
    assert reason == "not distinguishable from 'maturity' on 'revenue', the only outcome with values in both " \
                     "(adjusted p 0.054 > alpha 0.05); closest call 'revenue': 31.3 vs 30.29, Cohen's d +0.41 " \
                     "(small), pair p 0.054, adjusted 0.054"


def test_regression_segments_with_no_outcome_in_common_are_never_merged_as_similar():
    # 'a' and 'b' have churn only, 'c' and 'd' revenue only: a pair across cannot be told
    # apart on anything, which is no evidence that it is the same.
    rng = np.random.default_rng(4)
    df = pl.DataFrame({
        "seg": ["a"] * 300 + ["b"] * 300 + ["c"] * 300 + ["d"] * 300,
        "churn": [1] * 30 + [0] * 270 + [1] * 120 + [0] * 180 + [None] * 600,
        "revenue": [None] * 600 + list(rng.normal(10, 3, 300)) + list(rng.normal(20, 3, 300)),
    }, schema_overrides={"churn": pl.Int64, "revenue": pl.Float64})
    res = _run(df, segment="seg", outcomes=["churn", "revenue"])
    assert res.verdict == "valid", res.reasons
    assert res.merge_map["action"].to_list() == ["keep"] * 4


def test_segments_without_any_outcome_value_are_named_in_one_warning_and_kept_in_the_map():
    rng = np.random.default_rng(5)
    df = pl.DataFrame({"seg": np.repeat([1, 2, 3, 4], [300, 20, 300, 25]),
                       "churn": np.r_[np.zeros(270), np.ones(30), np.full(20, np.nan), np.zeros(180), np.ones(120),
                                      np.full(25, np.nan)],
                       "arpu": np.r_[rng.normal(10, 2, 300), np.full(20, np.nan), rng.normal(20, 2, 300),
                                     np.full(25, np.nan)]}).fill_nan(None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SegmentWarning)
        res = validate_segment(df, segment="seg", outcomes=["churn", "arpu"])
    assert [str(w.message) for w in caught] == \
        ["left out 2 segments, 2 (20 rows), 4 (25 rows): every outcome is empty in all their rows"]
    # Segments of 20 and 25 rows would be too small; left out, they are neither small nor merged.
    assert res.verdict == "valid", res.reasons
    assert res.merge_map.select("segment", "merged_segment", "n", "small", "action").rows() == [
        (1, 1, 300, False, "keep"), (2, 2, 20, None, "left out"), (3, 3, 300, False, "keep"),
        (4, 4, 25, None, "left out")]
    assert res.stats["segments"] == 2 and res.stats["rows_used"] == 600
    assert "2 segments without a value of any outcome left out of the tests: 2 (20 rows), 4 (25 rows)" in res.reasons


def test_merge_map_tests_groups_only_on_outcomes_both_have_values_on():
    from segment.stats.groupstats import CountStats
    from segment.validate._homogeneity import Homogeneity

    # Segment 2 has no values: group {0, 1} against it says nothing, whatever 0 and 1 look like.
    h = Homogeneity(CountStats(np.array([[50, 50], [51, 49], [0, 0]])))
    h.add(0, 1)
    assert np.isnan(h.p(np.array([0]), np.array([2]))[0])
    assert not h.shared(np.array([0]), np.array([2]))[0]


def test_min_size_counts_all_rows_of_a_segment_not_only_those_with_values():
    # Too small to act on is about customers; few rows with a value only make the tests weaker.
    df = pl.concat([_churn_rows("a", 300, 15), _churn_rows("b", 300, 150),
                    pl.concat([_churn_rows("c", 20, 10), _churn_rows("c", 180, None)])])
    res = _run(df, segment="stage", outcomes=["churn"])
    assert res.merge_map.filter(pl.col("small"))["segment"].to_list() == []
    assert res.merge_map.filter(pl.col("segment") == "c")["n"].item() == 200


def test_holdout_discovers_on_the_other_rows_and_replicates_on_the_held_out_ones(telco):
    # Discovery and replication share no rows, so the two checks are independent (issue 15).
    from scipy.stats import chi2_contingency

    from segment.validate._outcomes import prepare
    from segment.validate._replication import holdout_mask

    res = _run(telco, segment="Contract", outcomes=["Churn"], holdout=0.5, seed=3)
    row = res.outcomes.row(0, named=True)
    assert row["n"] == telco.height - res.stats["rows_held_out"]
    prep = prepare(telco, segment="Contract", outcomes=["Churn"])
    split = np.random.default_rng(np.random.SeedSequence(3).spawn(3)[0])
    mask = holdout_mask(prep.data, 0.5, split)
    for part, p in ((prep.data.filter(~mask), row["p"]), (prep.data.filter(mask), row["p_holdout"])):
        table = part.group_by(SEG, "y0").len().pivot(on="y0", index=SEG, values="len").drop(SEG).to_numpy()
        assert p == pytest.approx(chi2_contingency(table, correction=False).pvalue, rel=1e-9)

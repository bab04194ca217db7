"""``segment cluster``: recovery of planted clusters, faithfulness of the fast
assignment to hdbscan, reproducibility, profiles, stability and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import adjusted_rand_score

from segment.cluster._cluster import DEFAULT_FIT_SAMPLE, cluster, default_min_cluster_size
from segment.cluster._features import prepare
from segment.cluster._profile import jaccard_table
from segment.errors import DataError, OptionError
from tests.blobs import planted
from tests.conftest import FIXTURES, digest, shell
from tests.test_contract import assert_one_line_error

GOOD = FIXTURES / "cluster_customers.csv"


def _labels_by_id(result) -> dict[str, int]:
    return dict(zip(result.table["customer_id"].to_list(), result.table["cluster"].to_list(), strict=True))


def _truth_sorted(frame: pl.DataFrame, truth: np.ndarray) -> np.ndarray:
    return truth[np.argsort(frame["customer_id"].to_numpy())]


# ------------------------------------------------------------------ recovery


def test_planted_clusters_recovered():
    customers, truth = planted(4000, seed=21, clusters=6)
    res = cluster(customers)
    want = _truth_sorted(customers, truth)
    got = res.table["cluster"].to_numpy()
    real = want >= 0
    assert res.stats["clusters"] == 6  # including the 1.5 % group
    assert adjusted_rand_score(want[real], got[real]) >= 0.9
    # Most planted noise is found as noise, few real customers are lost to it.
    assert (got[~real] < 0).mean() >= 0.7
    assert (got[real] < 0).mean() <= 0.05


USAGE = "avg_voice_min,avg_data_mb,avg_sms,arpu"


@pytest.mark.parametrize("customers,extra", [(4000, []), (20_000, ["--fit-sample", "5000"])])
def test_planted_clusters_from_segment_synth_recovered(cli, tmp_path, customers, extra):
    """ARI >= 0.9 on the customers synth did not draw as noise (cluster's noise counts as a label)."""
    made = cli(["synth", "--customers", customers, "--seed", "7", "--tables", "customers,truth_customers",
                "-o", tmp_path / "synth", "-q"])
    assert made.exit_code == 0, made.stderr
    result = cli(["cluster", tmp_path / "synth" / "customers.parquet", "--features", USAGE, *extra,
                  "-o", tmp_path / "clusters.parquet", "-q"])
    assert result.exit_code == 0, result.stderr
    got = pl.read_parquet(tmp_path / "clusters.parquet").join(
        pl.read_parquet(tmp_path / "synth" / "truth_customers.parquet"), on="customer_id")
    real = got.filter(pl.col("true_cluster") >= 0)
    assert adjusted_rand_score(real["true_cluster"], real["cluster"]) >= 0.9
    assert got["cluster"].max() + 1 == got["true_cluster"].max() + 1 == 5


def test_planted_clusters_recovered_through_sample_and_assign():
    customers, truth = planted(12_000, seed=22)
    res = cluster(customers, fit_sample=3000)
    assert res.stats["fit_rows"] == 3000 and res.stats["assigned_rows"] == 9000
    want, got = _truth_sorted(customers, truth), res.table["cluster"].to_numpy()
    assert adjusted_rand_score(want[want >= 0], got[want >= 0]) >= 0.9


def test_structureless_data_rarely_yields_clusters():
    """Null calibration: one heavy-tailed blob, 20 data sets; clusters found in at most 2."""
    from segment.cluster._engines import HDBSCANEngine

    rng = np.random.default_rng(5)
    cov = np.eye(4) * 0.5 + 0.2
    found = 0
    for _ in range(20):
        x = rng.multivariate_normal(np.zeros(4), cov, size=500)
        x = (x - np.median(x, axis=0)) / np.subtract(*np.percentile(x, [75, 25], axis=0))
        found += int(HDBSCANEngine(min_cluster_size=30, min_samples=10).fit(x).labels_.max() >= 1)
    assert found <= 2


@pytest.mark.slow
def test_sample_and_assign_agrees_with_full_fit_on_200k():
    """ARI >= 0.95 between the default sample-and-assign and hdbscan on all 200k rows.

    Two features keep the full Boruvka fit within the test budget; the
    four-feature, one-million-row comparison is in benchmarks/bench_cluster.py.
    """
    customers, _ = planted(200_000, seed=8, clusters=6, noise=0.03)
    feats = ["avg_voice_min", "avg_data_mb"]
    full = cluster(customers, features=feats, fit_sample=200_000)
    sampled = cluster(customers, features=feats)
    assert sampled.stats["fit_rows"] == DEFAULT_FIT_SAMPLE < full.stats["fit_rows"]
    a, b = full.table["cluster"].to_numpy(), sampled.table["cluster"].to_numpy()
    assert adjusted_rand_score(a, b) >= 0.95
    both = (a >= 0) & (b >= 0)
    assert adjusted_rand_score(a[both], b[both]) >= 0.99


# ------------------------------------------------------------------ faithfulness


@pytest.mark.parametrize("selection,epsilon,min_samples,size", [
    ("eom", 0.0, 10, 60), ("leaf", 0.0, 5, 30), ("eom", 0.4, 5, 30), ("eom", 0.0, 3, 15),
])
def test_assignment_equals_hdbscan_approximate_predict(selection, epsilon, min_samples, size):
    import hdbscan
    from hdbscan.prediction import approximate_predict, approximate_predict_scores

    from segment.cluster._assign import TreeAssigner

    customers, _ = planted(6000, seed=4, overlap=1.3, noise=0.05)
    x = prepare(customers.lazy())[1].matrix
    fit, new = x[:3000], x[3000:]
    model = hdbscan.HDBSCAN(min_cluster_size=size, min_samples=min_samples, prediction_data=True,
                            cluster_selection_method=selection, cluster_selection_epsilon=epsilon).fit(fit)
    want_labels, want_prob = approximate_predict(model, new)
    want_scores = np.clip(approximate_predict_scores(model, new), 0, 1)
    labels, prob, scores = TreeAssigner(model, fit).assign(new)
    assert model.labels_.max() >= 1
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_allclose(prob, want_prob, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-12)


def test_duplicates_of_fitted_customers_get_probability_one_regression():
    """New customers identical to a fitted block of duplicates came out with probability 0 (max/inf)."""
    rng = np.random.default_rng(0)
    x = np.vstack([np.zeros((80, 2)), rng.normal(5, 0.5, (200, 2)), np.full((60, 2), 10.0)]) + 1
    frame = pl.DataFrame({"customer_id": np.arange(len(x)), "a": x[:, 0], "b": x[:, 1]})
    res = cluster(frame, log="none", fit_sample=150, min_cluster_size=30)
    block = res.table.filter(pl.col("a") == 11.0)
    assert block["cluster"].n_unique() == 1 and block["cluster"][0] >= 0
    assert (block["cluster_probability"] == 1.0).all()


def test_fitted_rows_keep_hdbscan_labels_and_scores():
    import hdbscan

    customers, _ = planted(3000, seed=9)
    res = cluster(customers, min_cluster_size=40)
    x = prepare(customers.lazy())[1].matrix
    ref = hdbscan.HDBSCAN(min_cluster_size=40, min_samples=10).fit(x)
    assert adjusted_rand_score(ref.labels_, res.table["cluster"].to_numpy()) == 1.0
    np.testing.assert_allclose(res.table["cluster_probability"].to_numpy(), ref.probabilities_)
    np.testing.assert_allclose(res.table["outlier_score"].to_numpy(), np.clip(ref.outlier_scores_, 0, 1))


# ------------------------------------------------------------------ reproducibility


def test_same_labels_whatever_the_row_order():
    customers, _ = planted(5000, seed=30)
    first = cluster(customers, fit_sample=1500, seed=3)
    shuffled = cluster(customers.sample(fraction=1.0, shuffle=True, seed=99), fit_sample=1500, seed=3)
    assert _labels_by_id(first) == _labels_by_id(shuffled)
    assert first.table.equals(shuffled.table)


def test_seed_decides_the_sample_and_nothing_else_varies(cli, tmp_path):
    outs = []
    for name, seed in (("a.csv", 1), ("b.csv", 1), ("c.csv", 2)):
        result = cli(["cluster", GOOD, "--fit-sample", "120", "--seed", seed, "-o", tmp_path / name])
        assert result.exit_code == 0, result.stderr
        outs.append(digest(tmp_path / name))
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_clusters_numbered_by_size_then_smallest_id():
    from segment.cluster._cluster import _renumbering

    # Rows are in id order: old cluster 2 (3 rows) is largest; 0 and 1 tie at
    # 2 rows and 1 has the smaller first id.
    labels = np.array([1, 0, 2, 2, -1, 0, 1, 2])
    lookup = _renumbering(labels)
    assert lookup[labels + 1].tolist() == [1, 2, 0, 0, -1, 2, 1, 0]


def test_largest_cluster_is_zero():
    customers, _ = planted(3000, seed=12)
    sizes = cluster(customers).profile.filter(pl.col("cluster") >= 0)["customers"].to_list()
    assert sizes == sorted(sizes, reverse=True)


# ------------------------------------------------------------------ features and transforms


def test_default_features_skip_id_scores_and_labels():
    frame = pl.DataFrame({"customer_id": [1, 2, 3, 4], "recency": [1, 5, 9, 3], "frequency": [1, 2, 3, 9],
                          "r_score": [1, 2, 3, 4], "rfm_cell": [111, 222, 333, 444], "cluster": [0, 0, 1, 1],
                          "segment": ["a", "b", "c", "d"], "plan_id": [7, 8, 9, 7]})
    assert prepare(frame.lazy())[1].names == ["recency", "frequency"]


def test_scaling_matches_scikit_learn():
    from sklearn.preprocessing import RobustScaler, StandardScaler

    customers, _ = planted(500, seed=2)
    raw = customers.sort("customer_id").drop("customer_id").to_numpy()
    robust = prepare(customers.lazy(), log="none")[1].matrix
    standard = prepare(customers.lazy(), log="none", scale="standard")[1].matrix
    # Within the 1e-9 quantum that makes features identical across CPUs.
    np.testing.assert_allclose(robust, RobustScaler().fit_transform(raw), rtol=0, atol=0.5e-9)
    np.testing.assert_allclose(standard, StandardScaler().fit_transform(raw), rtol=0, atol=0.5e-9)
    logged = prepare(customers.lazy(), log=["arpu"], scale="none")[1]
    assert logged.log == ["arpu"]
    np.testing.assert_allclose(logged.matrix[:, 3], np.log1p(raw[:, 3]))
    np.testing.assert_allclose(logged.matrix[:, 0], raw[:, 0])


def test_log_auto_takes_skewed_non_negative_features_only():
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"customer_id": np.arange(400), "spend": rng.lognormal(3, 1, 400),
                          "tenure": rng.uniform(0, 60, 400), "change": rng.lognormal(0, 1, 400) - 1})
    assert prepare(frame.lazy())[1].log == ["spend"]


def test_robust_scale_falls_back_to_sd_when_iqr_is_zero():
    frame = pl.DataFrame({"customer_id": np.arange(10), "sms": [0, 0, 0, 0, 0, 0, 0, 0, 4, 9],
                          "arpu": np.arange(10.0)})
    with pytest.warns(UserWarning, match="interquartile range of 0"):
        feats = prepare(frame.lazy(), log="none")[1]
    assert feats.scaling["sms"]["method"] == "robust (std fallback)"
    assert feats.scaling["sms"]["scale"] == pytest.approx(np.std([0] * 8 + [4, 9]))


# ------------------------------------------------------------------ output columns, noise, kmeans


def test_output_columns_and_types():
    res = cluster(pl.read_csv(GOOD), noise="nearest")
    schema = res.table.schema
    assert schema["cluster"] == pl.Int32 and schema["nearest_cluster"] == pl.Int32
    assert schema["cluster_probability"] == pl.Float64 and schema["outlier_score"] == pl.Float64
    t = res.table
    assert t.filter(pl.col("cluster") < 0)["cluster_probability"].max() == 0.0
    assert t["outlier_score"].min() >= 0 and t["outlier_score"].max() <= 1
    assert t["cluster_probability"].min() >= 0 and t["cluster_probability"].max() <= 1
    assert t["customer_id"].to_list() == sorted(t["customer_id"].to_list())


def test_noise_nearest_is_the_nearest_clustered_customer():
    customers, _ = planted(3000, seed=14, overlap=1.3, noise=0.08)
    res = cluster(customers, noise="nearest", fit_sample=1000)
    x = prepare(customers.lazy())[1].matrix
    labels = res.table["cluster"].to_numpy()
    nearest = res.table["nearest_cluster"].to_numpy()
    assert (nearest[labels >= 0] == labels[labels >= 0]).all()
    assert (nearest >= 0).all()
    # Brute force over the fitted, clustered customers (same seeded sample).
    rows = np.sort(np.random.default_rng(0).choice(3000, size=1000, replace=False))
    members = rows[labels[rows] >= 0]
    noise = np.flatnonzero(labels < 0)
    d = ((x[noise, None, :] - x[None, members, :]) ** 2).sum(axis=2)
    assert (labels[members[d.argmin(axis=1)]] == nearest[noise]).all()


def test_kmeans_matches_scikit_learn():
    from sklearn.cluster import KMeans

    customers, _ = planted(2000, seed=17)
    res = cluster(customers, algorithm="kmeans", k=4, seed=5, noise="nearest")
    x = prepare(customers.lazy())[1].matrix
    ref = KMeans(n_clusters=4, n_init=10, random_state=5).fit_predict(x)
    got = res.table["cluster"].to_numpy()
    assert adjusted_rand_score(ref, got) == 1.0
    assert (res.table["cluster_probability"] == 1.0).all()
    assert (res.table["nearest_cluster"] == res.table["cluster"]).all()
    score = res.table["outlier_score"].to_numpy()
    assert 0 <= score.min() and score.max() < 1
    # The score ranks customers by distance to their own centre.
    d = np.linalg.norm(x - np.array([x[got == c].mean(axis=0) for c in range(4)])[got], axis=1)
    c0 = got == 0
    assert np.corrcoef(np.argsort(np.argsort(d[c0])), np.argsort(np.argsort(score[c0])))[0, 1] > 0.99


# ------------------------------------------------------------------ profile and stability


def test_profile_matches_group_statistics():
    res = cluster(pl.read_csv(GOOD))
    t, prof = res.table, res.profile
    want = t.group_by("cluster").agg(pl.len().alias("n"), pl.col("arpu").median().alias("med"),
                                     pl.col("arpu").mean().alias("mean"))
    got = prof.join(want, on="cluster")
    assert (got["customers"] == got["n"]).all()
    np.testing.assert_allclose(got["arpu_median"], got["med"])
    np.testing.assert_allclose(got["arpu_mean"], got["mean"])
    assert prof["share"].sum() == pytest.approx(1.0)
    assert prof["cluster"].to_list()[-1] == -1


def test_standardised_difference_is_cohens_d():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (300, 1))
    labels = np.repeat([0, 1, -1], 100)
    x[labels == 1] += 2.0
    from segment.cluster._profile import profile

    prof = profile(x, x, labels, ["f"])
    a, b = x[labels == 1, 0], x[labels != 1, 0]
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    assert prof.filter(pl.col("cluster") == 1)["f_diff"].item() == pytest.approx((a.mean() - b.mean()) / pooled)
    assert prof.filter(pl.col("cluster") == 1)["distinctive"].item().startswith("f +")


def test_flag_feature_difference_is_infinite_not_1e16_regression():
    """A cluster made only of SeniorCitizen=1 against a rest of 0s showed +7584827925202255.0."""
    from segment.cluster._profile import profile

    flag = np.array([[1.0]] * 50 + [[0.0]] * 150)
    flag = (flag - 0.0) / 0.43  # scaled, as the clustering sees it: constant groups keep rounding residue
    labels = np.repeat([0, 1], [50, 150])
    prof = profile(flag, flag, labels, ["senior"])
    assert prof["senior_diff"].to_list() == [np.inf, -np.inf]
    assert prof["distinctive"].to_list() == ["senior +inf", "senior -inf"]


def test_log_auto_skips_two_valued_flags():
    rng = np.random.default_rng(2)
    frame = pl.DataFrame({"customer_id": np.arange(500), "senior": (rng.uniform(size=500) < 0.15).astype(int),
                          "spend": rng.lognormal(3, 1, 500)})
    with pytest.warns(UserWarning, match="'senior' has an interquartile range of 0"):
        assert prepare(frame.lazy())[1].log == ["spend"]


def test_blank_cells_are_missing_values(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("customer_id,tenure,total\na,1,10.5\nb,2, \nc,3,30\nd,4,41\n")
    with pytest.raises(DataError, match="'total' is empty .* in row 2"):
        prepare(pl.scan_csv(path), features=["tenure", "total"])
    with pytest.warns(UserWarning, match="dropped 1 rows"):
        table, feats = prepare(pl.scan_csv(path), features=["tenure", "total"], drop_nulls=True)
    assert table["customer_id"].to_list() == ["a", "c", "d"] and feats.raw[:, 1].tolist() == [10.5, 30, 41]


@pytest.mark.shared
def test_ibm_telco_customers():
    from tests.conftest import shared

    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    with pytest.warns(UserWarning, match="dropped 11 rows with empty features .TotalCharges: 11"):
        res = cluster(pl.scan_csv(path), id="customerID", features=["tenure", "MonthlyCharges", "TotalCharges"],
                      drop_nulls=True, min_cluster_size=350)
    assert res.stats["customers"] == 7032 and res.stats["clusters"] >= 2
    # Clusters differ on what they were made from: tenure medians are far apart.
    medians = res.profile.filter(pl.col("cluster") >= 0)["tenure_median"]
    assert medians.max() - medians.min() >= 24


def test_jaccard_hand_computed():
    # Cluster 0 = rows {0,1,2}; refit cluster 9 = {1,2,3}: 2/4. Cluster 1 = {3,4}; refit 8 = {4}: 1/2.
    got = jaccard_table(np.array([0, 0, 0, 1, 1, -1]), np.array([-1, 9, 9, 9, 8, 8]), 2)
    assert got.tolist() == [0.5, pytest.approx(1 / 3)]
    assert np.isnan(jaccard_table(np.array([0, 0]), np.array([1, 1]), 2)[1])


def test_stability_high_for_planted_low_for_spurious_split():
    customers, _ = planted(1500, seed=5)
    real = cluster(customers, stability=8).profile.filter(pl.col("cluster") >= 0)
    assert real["stability"].min() >= 0.85
    assert set(real["stability_reading"]) == {"highly stable"}
    # k-means with k=3 on one round blob cuts it arbitrarily: not all parts are stable.
    rng = np.random.default_rng(3)
    blob = pl.DataFrame({"customer_id": np.arange(600), "a": rng.normal(0, 1, 600), "b": rng.normal(0, 1, 600),
                         "c": rng.normal(0, 1, 600)})
    split = cluster(blob, algorithm="kmeans", k=6, stability=8).profile
    assert split["stability"].min() < 0.75


def test_profile_file_and_summary(cli, tmp_path):
    prof_path = tmp_path / "profile.csv"
    result = cli(["cluster", GOOD, "--profile", prof_path, "--stability", "3", "-o", tmp_path / "out.parquet"])
    assert result.exit_code == 0, result.stderr
    prof = pl.read_csv(prof_path)
    assert {"cluster", "customers", "share", "arpu_median", "arpu_mean", "arpu_diff", "distinctive",
            "stability", "stability_reading"} <= set(prof.columns)
    said = " ".join(result.stderr.split())
    assert "Clusters" in said and "features: avg_voice_min, avg_data_mb, avg_sms, arpu" in said
    from segment.io import read_provenance

    details = read_provenance(tmp_path / "out.parquet")["details"]
    assert details["features"] == ["avg_voice_min", "avg_data_mb", "avg_sms", "arpu"]
    assert details["min_cluster_size"] == 30 and details["min_samples"] == 10
    assert set(details["scaling"]) == set(details["features"])


def test_progress_reports_fit_and_assignment():
    seen = []
    customers, _ = planted(3000, seed=1)
    cluster(customers, fit_sample=1000, stability=2, progress=lambda t, d, n: seen.append((t, d, n)))
    assert ("fit", 1, 1) in seen and ("assign", 2000, 2000) in seen and ("stability", 2, 2) in seen


# ------------------------------------------------------------------ bad input (one line, exit 2)


@pytest.mark.parametrize("fixture,args,needles", [
    ("cluster_no_numeric.csv", [], ["no numeric feature columns", "--features"]),
    ("cluster_constant.csv", [], ["'country_code' is constant", "--features"]),
    ("cluster_all_null.csv", ["--features", "arpu,avg_sms"], ["'avg_sms' has no values"]),
    ("cluster_null_feature.csv", [], ["'arpu' is empty", "3 rows, first in row 7", "--drop-nulls"]),
    ("cluster_nan_feature.csv", [], ["'arpu' is empty", "row 22"]),
    ("cluster_inf_feature.csv", [], ["'arpu' is infinite", "row 4"]),
    ("cluster_text_feature.csv", [], ["'arpu' looks numeric", "row 10", "'n/a'"]),
    ("cluster_text_feature.csv", ["--features", "arpu,avg_sms"], ["'arpu' must be numeric", "row 10"]),
    ("cluster_duplicate_id.csv", [], ["'c007' appears 2 times", "rows 8 and 13"]),
    ("cluster_null_id.csv", [], ["'customer_id' is empty in row 5"]),
    ("cluster_negative.csv", ["--log", "usage_change"], ["negative values", "usage_change"]),
    ("cluster_tiny.csv", [], ["only 12 customers", "--min-size 30"]),
    ("cluster_one_blob.csv", [], ["no clusters found", "single group", "--algorithm kmeans"]),
    ("cluster_customers.csv", ["--features", "arpu,avg_smss"], ["'avg_smss' not found", "did you mean 'avg_sms'"]),
    ("cluster_customers.csv", ["--features", "customer_id,arpu"], ["id column"]),
    ("cluster_customers.csv", ["--log", "arpuu"], ["'arpuu' not found", "did you mean 'arpu'"]),
    ("cluster_customers.csv", ["--algorithm", "kmeans"], ["needs --k"]),
    ("cluster_customers.csv", ["--k", "3"], ["only applies to --algorithm kmeans"]),
    ("cluster_customers.csv", ["--algorithm", "kmeans", "--k", "1"], ["--k must be 2 or more"]),
    ("cluster_customers.csv", ["--min-size", "1"], ["--min-size must be 2"]),
    ("cluster_customers.csv", ["--min-samples", "0"], ["--min-samples must be 1"]),
    ("cluster_customers.csv", ["--epsilon", "-1"], ["--epsilon must be 0"]),
    ("cluster_customers.csv", ["--fit-sample", "10"], ["--fit-sample must be at least 100"]),
    ("cluster_customers.csv", ["--stability", "-2"], ["--stability must be 0"]),
    ("cluster_customers.csv", ["--profile", "-"], ["--profile needs a file path"]),
    ("cluster_customers.csv", ["--scale", "minmax"], ["minmax"]),
])
def test_bad_input_is_one_clear_line(cli, tmp_path, fixture, args, needles):
    out = tmp_path / "out.csv"
    assert_one_line_error(cli(["cluster", FIXTURES / fixture, *args, "-o", out]), *needles)
    assert not out.exists()


def test_drop_nulls_drops_and_says_how_many(cli):
    result = cli(["cluster", FIXTURES / "cluster_null_feature.csv", "--drop-nulls", "--min-size", "5",
                  "--algorithm", "kmeans", "--k", "2"])
    assert result.exit_code == 0, result.stderr
    assert "warning: dropped 3 rows with empty features (arpu: 3)" in result.stderr
    assert pl.read_csv(result.stdout_bytes).height == 37


def test_all_empty_text_column_is_left_out_with_a_warning(cli):
    result = cli(["cluster", FIXTURES / "cluster_all_null.csv", "--algorithm", "kmeans", "--k", "2"])
    assert result.exit_code == 0, result.stderr
    assert "column 'avg_sms' is empty in every row, so it is not a feature" in result.stderr


def test_numbers_as_text_with_blanks_are_left_out_of_the_defaults_with_a_warning(cli, tmp_path):
    """Regression: Telco's TotalCharges (numbers with blank cells) was left out silently."""
    df = pl.read_csv(FIXTURES / "cluster_customers.csv")
    charges = df["arpu"].cast(pl.String).to_list()
    charges[3] = " "
    path = tmp_path / "blank_charges.csv"
    df.with_columns(charges=pl.Series(charges)).write_csv(path)
    result = cli(["cluster", path, "--algorithm", "kmeans", "--k", "2"])
    assert result.exit_code == 0, result.stderr
    assert "column 'charges' holds numbers as text with empty cells" in result.stderr


def test_single_cluster_is_an_error():
    from segment.cluster._cluster import _check_found

    with pytest.raises(DataError, match="only a single cluster found .*200 customers, 0 noise"):
        _check_found(np.zeros(200, dtype=int), "hdbscan")


def test_option_errors_in_the_library():
    frame = pl.read_csv(GOOD)
    with pytest.raises(OptionError, match="--scale"):
        cluster(frame, scale="minmax")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="--noise"):
        cluster(frame, noise="drop")  # type: ignore[arg-type]


def test_existing_result_columns_are_replaced_with_a_warning():
    first = cluster(pl.read_csv(GOOD)).table
    with pytest.warns(UserWarning, match="replaced the input's 'cluster'"):
        again = cluster(first)
    assert again.table.columns == first.columns
    assert again.params["features"] == ["avg_voice_min", "avg_data_mb", "avg_sms", "arpu"]


def test_default_min_cluster_size():
    assert default_min_cluster_size(100) == 30 and default_min_cluster_size(10_001) == 101


# ------------------------------------------------------------------ pipes


def test_rfm_piped_into_cluster():
    """A real pipe: rfm's CSV on stdin, cluster's Arrow stream (with provenance) on stdout."""
    import json

    import pyarrow.ipc

    data = FIXTURES.parent.parent / "examples" / "data" / "cdnow_2500.txt"
    proc = shell(f"segment rfm '{data}' --from ws --amount dollar_value -q "
                 f"| segment cluster - --noise nearest --to arrow -q")
    assert proc.returncode == 0, proc.stderr.decode()
    table = pyarrow.ipc.open_stream(proc.stdout).read_all()
    assert table.num_rows == 2500
    assert {"recency", "cluster", "nearest_cluster"} <= set(table.column_names)
    prov = json.loads(table.schema.metadata[b"segment.provenance"])
    assert prov["command"] == "cluster" and prov["details"]["features"] == ["recency", "frequency", "monetary"]
    assert prov["details"]["stats"]["clusters"] >= 2


def test_small_min_cluster_size_advice_fits_the_fit_sample(cli):
    """Regression: advised raising --fit-sample when the fit already held every row; warned before an error."""
    r = cli(["cluster", FIXTURES / "cluster_customers.csv", "--min-size", "5", "-q"])
    assert r.exit_code == 0 and "raise --min-size or lower --min-samples" in r.stderr
    assert "--fit-sample" not in r.stderr
    r = cli(["cluster", FIXTURES / "cluster_customers.csv", "--min-size", "0"])
    assert r.exit_code == 2 and r.stderr.strip().splitlines() == ["error: --min-size must be 2 or more, got 0"]


def test_regression_stability_bootstrap_uses_each_drawn_row_once_as_fpc_clusterboot():
    # fpc::clusterboot's default multipleboot=FALSE: rows drawn twice are used once.
    from segment.cluster._profile import bootstrap_stability

    n = 2000
    X = np.arange(n, dtype=float)[:, None]
    labels = (np.arange(n) >= n // 2).astype(np.int64)
    seen = []

    def fit(x, b):
        seen.append(x[:, 0])
        return (x[:, 0] >= n // 2).astype(np.int64)  # the refit finds the same two clusters

    scores = bootstrap_stability(X, labels, fit, 5, np.random.default_rng(0))
    assert scores.tolist() == [1.0, 1.0]
    for rows in seen:
        assert np.unique(rows).size == rows.size and (np.diff(rows) > 0).all()
        # Expected share of distinct rows in n draws: 1 - (1 - 1/n)^n, about 63.2%.
        assert abs(rows.size / n - (1 - (1 - 1 / n) ** n)) < 0.03


def test_cluster_summary_flags_clusters_below_hennigs_line():
    from segment_cli.cluster import summary
    from rich.console import Console

    prof = pl.DataFrame({"cluster": [0, 1, 2, -1], "customers": [50, 40, 30, 5], "share": [0.4, 0.32, 0.24, 0.04],
                         "distinctive": ["a +1.0", "", "b -0.7", ""], "stability": [0.9, 0.55, 0.59, None]})
    params = {"log1p": [], "k": 3, "algorithm": "kmeans", "features": ["a", "b"], "scale": "robust"}
    stats = {"customers": 125, "clusters": 3, "noise": 5, "fit_rows": 125, "assigned_rows": 0}
    console = Console(width=200, record=True)
    for part in summary(prof, params, stats):
        console.print(part)
    text = console.export_text()
    assert "warning: 2 of 3 clusters below stability 0.6 (Hennig): not trustworthy" in text and ": 1, 2" in text

"""``segment plot`` and ``segment report``: kinds, chart specs (golden), aggregates, bytes, the CLI.

The Vega-Lite specification is the tested artifact (``tests/golden/report/``,
rewritten with ``SEGMENT_WRITE_GOLDEN=1``); pixels are only smoke-tested,
since fonts differ between machines. The page itself is opened in a real
browser by ``test_report_browser.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest

from segment import io as sio
from segment.errors import ColumnNotFoundError, InputError, OptionError
from segment.report import KINDS, Source, kind_of, plot, report
from tests.conftest import FIXTURES, ROOT

REPORT = FIXTURES / "report"
GOLDEN = ROOT / "tests" / "golden" / "report"
# Each fixture (written by the command itself, see tests/fixtures/report/README.md) and its kind.
FIXTURE_KINDS = {
    "rfm.parquet": "rfm", "rfm_thresholds.parquet": "rfm-thresholds", "cluster.parquet": "cluster",
    "cluster_profile.parquet": "cluster-profile", "rules.parquet": "rules", "lifecycle.parquet": "lifecycle",
    "lifecycle_history.parquet": "lifecycle-history", "lifecycle_kpis.parquet": "lifecycle-kpis",
    "lifecycle_transitions.parquet": "lifecycle-transitions", "lifecycle_projection.parquet": "lifecycle-projection",
    "validate.parquet": "validate-segment", "validate_profile.parquet": "validate-profile",
    "validate_merge_map.parquet": "validate-merge-map", "validate_pairs.parquet": "validate-pairs",
    # Made by hand with the columns issues 18 and 20 give, until churn, survival and clv land.
    "churn_evaluate.parquet": "churn-evaluate", "churn_score_hand_made.parquet": "churn-score", "survival_hand_made.parquet": "survival",
    "clv_hand_made.parquet": "clv",
}


def source(name: str, kind: str | None = None) -> Source:
    table = sio.read_table(REPORT / name)
    return Source(name, table.frame, table.provenance, kind)


def csv_source(name: str, tmp_path) -> Source:
    """The fixture as CSV: no provenance, only its columns tell its kind."""
    path = tmp_path / name.replace(".parquet", ".csv")
    pl.read_parquet(REPORT / name).write_csv(path)
    table = sio.read_table(path)
    assert table.provenance is None
    return Source(path.name, table.frame)


def test_every_kind_has_a_fixture():
    assert set(FIXTURE_KINDS.values()) == {k.name for k in KINDS}


@pytest.mark.parametrize("name, kind", FIXTURE_KINDS.items())
def test_kind_comes_from_provenance(name, kind):
    assert kind_of(source(name)).name == kind


@pytest.mark.parametrize("name, kind", FIXTURE_KINDS.items())
def test_kind_of_a_csv_comes_from_its_columns(name, kind, tmp_path):
    assert kind_of(csv_source(name, tmp_path)).name == kind


def test_kind_option_overrides_provenance_and_columns():
    # A cluster of RFM scores has RFM's columns too: --kind rfm draws it as RFM.
    assert kind_of(source("cluster.parquet")).name == "cluster"
    frame = pl.LazyFrame({"recency": [1], "frequency": [1], "monetary": [1.0], "r_score": [5], "f_score": [1],
                          "m_score": [1], "cluster": [0], "cluster_probability": [1.0], "outlier_score": [0.0]})
    assert kind_of(Source("x.csv", frame)).name == "cluster"
    assert kind_of(Source("x.csv", frame, kind="rfm")).name == "rfm"


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(OptionError, match=r"unknown --kind 'rmf'; use one of rfm, rfm-thresholds, cluster"):
        kind_of(source("rfm.parquet", kind="rmf"))


def test_a_table_segment_did_not_write_lists_the_kinds():
    tx = sio.read_table(FIXTURES / "tx_small.csv")
    with pytest.raises(InputError, match="not a table segment knows how to chart; name its kind with --kind, "
                                         "one of rfm, .*validate-pairs"):
        kind_of(Source("tx_small.csv", tx.frame))


def test_a_forced_kind_still_needs_its_columns():
    tx = sio.read_table(FIXTURES / "tx_small.csv")
    with pytest.raises(ColumnNotFoundError, match="rfm table column 'recency' not found"):
        plot(Source("tx_small.csv", tx.frame, kind="rfm"))


def test_unknown_chart_lists_the_charts():
    with pytest.raises(OptionError, match="unknown --chart 'heat' for a rfm table; use one of rxf, segments, "
                                          "histograms"):
        plot(source("rfm.parquet"), chart="heat")


CHARTS = [(name, chart) for name, kind in FIXTURE_KINDS.items()
          for chart, _, _ in next(k for k in KINDS if k.name == kind).charts]


@pytest.mark.parametrize("name, chart", CHARTS)
def test_chart_spec_matches_its_golden_file(name, chart):
    figure = plot(source(name), chart=chart)
    golden = GOLDEN / f"{name.removesuffix('.parquet')}.{chart}.json"
    text = figure.to_json() + "\n"
    if os.environ.get("SEGMENT_WRITE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run with SEGMENT_WRITE_GOLDEN=1"
    assert text == golden.read_text()
    assert figure.spec["data"]["values"] or figure.note  # a chart has data (or says why not)


# ------------------------------------------------------------------ what the charts say
def test_rxf_heatmap_is_the_mean_monetary_per_score_pair():
    rfm = pl.read_parquet(REPORT / "rfm.parquet")
    got = {(r["r_score"], r["f_score"]): r["mean_monetary"] for r in plot(source("rfm.parquet")).spec["data"]["values"]}
    expected = {}
    for row in rfm.iter_rows(named=True):  # by hand, not with the group_by under test
        expected.setdefault((row["r_score"], row["f_score"]), []).append(row["monetary"])
    assert got == pytest.approx({k: sum(v) / len(v) for k, v in expected.items()}, rel=1e-6)


def test_segment_bars_count_every_customer_and_value_shares_add_up():
    rfm = pl.read_parquet(REPORT / "rfm.parquet")
    data = plot(source("rfm.parquet"), chart="segments").data
    assert data["customers"].sum() == rfm.height
    assert data["value_share"].sum() == pytest.approx(1.0)
    assert data["customers"].to_list() == sorted(data["customers"].to_list(), reverse=True)


def test_histograms_count_every_customer_once_per_metric():
    data = plot(source("rfm.parquet"), chart="histograms").data
    rows = pl.read_parquet(REPORT / "rfm.parquet").height
    assert data.group_by("metric").agg(pl.col("customers").sum())["customers"].to_list() == [rows] * 3


def test_cluster_sizes_put_noise_last_in_grey():
    figure = plot(source("cluster.parquet"))
    clusters = pl.read_parquet(REPORT / "cluster.parquet")["cluster"]
    assert figure.data["customers"].sum() == clusters.len()
    if (clusters == -1).any():
        assert figure.data["label"][-1] == "noise"
    assert figure.spec["encoding"]["color"]["scale"]["range"][1] == "#9e9e9e"


def test_stability_is_drawn_against_hennigs_lines():
    figure = plot(source("cluster_profile.parquet"), chart="stability")
    rules = figure.spec["layer"][1]
    assert rules["mark"]["type"] == "rule" and [v["line"] for v in rules["data"]["values"]] == [0.6, 0.75]


def test_profile_heatmap_clips_infinite_differences():
    frame = pl.LazyFrame({"cluster": [0, -1], "customers": [5, 1], "share": [0.8, 0.2], "distinctive": ["", ""],
                          "flag_diff": [float("inf"), -0.5]})
    figure = plot(Source("p.csv", frame))
    values = {v["label"]: v for v in figure.spec["data"]["values"]}
    assert values["0"]["shown"] == 3.0 and values["0"]["d"] is None  # JSON has no inf
    assert values["noise"]["shown"] == -0.5


def test_transition_heatmap_draws_the_probabilities_given():
    data = plot(source("lifecycle_transitions.parquet")).data
    given = pl.read_parquet(REPORT / "lifecycle_transitions.parquet")
    assert sorted(data["probability"].to_list()) == sorted(given["probability"].to_list())


def test_history_shares_add_up_to_one_each_month():
    data = plot(source("lifecycle_history.parquet")).data
    assert data.group_by("month").agg(pl.col("share").sum())["share"].to_list() == pytest.approx(
        [1.0] * data["month"].n_unique())


def test_estimates_carry_their_intervals():
    data = plot(source("validate_profile.parquet")).data
    assert data["ci_low"].null_count() == 0
    assert (data["ci_low"] <= data["value"]).all() and (data["value"] <= data["ci_high"]).all()


def test_kaplan_meier_steps_with_bands_and_median_lifetimes():
    figure = plot(source("survival_hand_made.parquet"))
    layers = figure.spec["layer"]
    assert [layer["mark"]["interpolate"] for layer in layers] == ["step-after", "step-after"]
    assert layers[0]["encoding"]["y2"]["field"] == "upper"
    table = dict(next(t for k in KINDS if k.name == "survival" for _, t in k.tables)(
        source("survival_hand_made.parquet").frame).select("group", "median_lifetime").rows())
    # month-to-month: 10 at risk lose 3 -> S(1) = 0.7; 7 lose 2 -> S(2) = 0.7 * 5/7 = 0.5, the median.
    assert table == {"month-to-month": 2, "two year": None}


def test_clv_by_segment_is_five_numbers_per_segment():
    frame = pl.read_parquet(REPORT / "clv_hand_made.parquet")
    data = plot(source("clv_hand_made.parquet")).data
    import numpy as np

    for row in data.iter_rows(named=True):
        values = frame.filter(pl.col("segment") == row["segment"])["clv"].to_numpy()
        assert row["customers"] == len(values)
        assert [row[k] for k in ("p10", "p25", "median", "p75", "p90")] == pytest.approx(
            np.percentile(values, [10, 25, 50, 75, 90]))


def test_gains_curve_ends_with_every_churner_captured():
    data = plot(source("churn_evaluate.parquet")).data
    assert data["capture"][-1] == pytest.approx(1.0) and data["customers_share"][-1] == pytest.approx(1.0)
    assert data["capture"].to_list() == sorted(data["capture"].to_list())


def test_churn_alerts_count_customers_red_first():
    data = plot(source("churn_score_hand_made.parquet")).data
    assert data["alert"].to_list() == ["red", "amber", "green"] and data["customers"].to_list() == [4, 4, 32]


def test_rules_scatter_is_support_vs_confidence_coloured_by_lift():
    enc = plot(source("rules.parquet")).spec["encoding"]
    assert (enc["x"]["field"], enc["y"]["field"], enc["color"]["field"]) == ("support", "confidence", "lift")


# ------------------------------------------------------------------ large and empty tables
def _rfm_table(n: int) -> pl.LazyFrame:
    i = pl.int_range(0, n, eager=True)
    return pl.LazyFrame({"customer_id": i.cast(pl.String), "recency": i % 365, "frequency": i % 37 + 1,
                         "monetary": (i * 7919 % 100_003).cast(pl.Float64) / 3, "r_score": i % 5 + 1,
                         "f_score": i // 5 % 5 + 1, "m_score": i // 25 % 5 + 1,
                         "segment": pl.Series(["A", "B", "C"])[list(i % 3)]})


@pytest.mark.slow
def test_charts_of_a_large_table_are_drawn_from_aggregates():
    frame = _rfm_table(200_000)
    sizes = {c.name: len(c.spec["data"]["values"]) for c in report([Source("big.parquet", frame)]).charts}
    assert sizes["rxf"] == 25 and sizes["segments"] == 3
    assert sizes["histograms"] <= 3 * 40
    many = pl.LazyFrame({"antecedent": [f"x={i}" for i in range(6000)], "consequent": ["churn=yes"] * 6000,
                         "support": [i / 6000 for i in range(6000)], "confidence": [0.5] * 6000,
                         "lift": [1.5] * 6000})
    assert len(plot(Source("r.csv", many)).spec["data"]["values"]) < 500


@pytest.mark.parametrize("name", ["rfm.parquet", "cluster_profile.parquet", "rules.parquet", "lifecycle_kpis.parquet",
                                  "validate_profile.parquet"])
def test_an_empty_table_gives_a_no_rows_note_not_a_crash(name):
    empty = pl.read_parquet(REPORT / name).clear().lazy()
    rep = report([Source(name, empty, kind=FIXTURE_KINDS[name])])
    assert rep.charts and all(c.note == "no rows" for c in rep.charts)
    assert "no rows" in rep.html


# ------------------------------------------------------------------ the report
ALL = list(FIXTURE_KINDS)


@pytest.fixture(scope="module")
def everything():
    """A report of every kind, inputs in reverse order (drawn once: each chart takes a moment)."""
    return report([source(n) for n in reversed(ALL)])


def test_report_follows_the_workflow_whatever_the_input_order(everything):
    rep = everything
    order = [k.name for k in KINDS]
    got = [s.kind.name for s in rep.sections]
    assert got == sorted(got, key=order.index)


def test_report_holds_no_customer_rows_unless_asked():
    ids = pl.read_parquet(REPORT / "rfm.parquet")["customer_id"].to_list()
    rep = report([source("rfm.parquet"), source("cluster.parquet")])
    assert not [i for i in ids if f">{i}<" in rep.html]
    asked = report([source("rfm.parquet")], include_rows=3)
    top = pl.read_parquet(REPORT / "rfm.parquet").sort("monetary", descending=True)["customer_id"][:3].to_list()
    assert all(f">{i}<" in asked.html for i in top)
    assert sum(f">{i}<" in asked.html for i in ids) == 3


def test_report_is_self_contained_and_says_where_each_table_came_from(everything):
    rep = everything
    page = rep.html
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/", "")
    assert "https://" not in page and "@import" not in page and "url(http" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count('class="chart"') == len(rep.charts) > 15
    assert '"command": "validate-segment"' in page  # provenance, escaped as text in <pre>


def test_svg_ids_are_unique_across_the_page(everything):
    import re

    page = everything.html
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_same_inputs_give_the_same_report_bytes_across_processes(tmp_path):
    args = [sys.executable, "-m", "segment_cli", "report", *[str(REPORT / n) for n in ALL], "--title", "T", "-q"]
    outs = []
    for name in ("a.html", "b.html"):
        proc = subprocess.run([*args, "-o", str(tmp_path / name)], capture_output=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 10_000


# ------------------------------------------------------------------ the command line
def test_plot_writes_svg_png_html_and_the_data_behind(cli, tmp_path):
    rfm = str(REPORT / "rfm.parquet")
    assert cli(["plot", rfm, "-o", str(tmp_path / "c.svg"), "--data", str(tmp_path / "c.csv")]).exit_code == 0
    svg = (tmp_path / "c.svg").read_text()
    assert svg.startswith("<svg") and "role-mark" in svg
    assert pl.read_csv(tmp_path / "c.csv").columns == ["r_score", "f_score", "customers", "mean_monetary"]
    assert cli(["plot", rfm, "--chart", "segments", "-o", str(tmp_path / "c.png")]).exit_code == 0
    png = (tmp_path / "c.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000  # pixels are smoke-tested only
    assert cli(["plot", rfm, "-o", str(tmp_path / "c.html")]).exit_code == 0
    assert "<svg" in (tmp_path / "c.html").read_text()


def test_plot_writes_svg_to_stdout(cli):
    result = cli(["plot", str(FIXTURES / "rfm_scores.csv"), "--chart", "histograms"])
    assert result.exit_code == 0 and result.stdout.startswith("<svg")


def test_plot_refuses_an_unknown_chart_format(cli, tmp_path):
    from tests.test_contract import assert_one_line_error

    assert_one_line_error(cli(["plot", str(REPORT / "rfm.parquet"), "-o", str(tmp_path / "c.jpg")]),
                          "use a name ending in .svg, .png, .html")
    assert not (tmp_path / "c.jpg").exists()


def test_plot_of_a_table_segment_did_not_write_names_the_kinds(cli):
    from tests.test_contract import assert_one_line_error

    assert_one_line_error(cli(["plot", str(FIXTURES / "tx_small.csv")]), "--kind, one of rfm,")
    assert_one_line_error(cli(["plot", str(FIXTURES / "rfm_scores.csv"), "--kind", "rmf"]), "use one of rfm,")


def test_report_of_a_rules_run_that_found_nothing_shows_no_rows(cli, tmp_path):
    # Regression for the header-only output of a rules run with no significant rule.
    empty = tmp_path / "no_rules.csv"
    pl.read_parquet(REPORT / "rules.parquet").clear().write_csv(empty)
    result = cli(["report", str(empty), str(REPORT / "rfm.parquet"), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.stderr
    assert "no rows" in (tmp_path / "r.html").read_text()


def test_report_kind_option_names_a_file(cli, tmp_path):
    path = tmp_path / "scores.csv"
    pl.read_parquet(REPORT / "rfm.parquet").select("recency", "frequency", "monetary").write_csv(path)
    bad = cli(["report", str(path)])
    assert bad.exit_code == 2 and "--kind" in bad.stderr
    forced = cli(["report", str(path), "--kind", f"{path}=rfm"])
    assert forced.exit_code == 2 and "column 'r_score' not found" in forced.stderr


def test_report_writes_provenance_free_html_to_stdout(cli):
    result = cli(["report", str(REPORT / "validate.parquet"), str(REPORT / "validate_profile.parquet")])
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")
    assert json.dumps("validate-segment")[1:-1] in result.stdout

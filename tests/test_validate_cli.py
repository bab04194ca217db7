"""``segment validate-segment`` on the command line: exit codes, outputs, report."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest

from segment.io import read_table
from tests.conftest import FIXTURES, ROOT, digest
from tests.test_contract import assert_one_line_error

TELCO = ROOT / "examples" / "data" / "telco_churn.csv"
GOOD = FIXTURES / "validate_segment_three_plans.csv"
BASE = ["--segment", "plan", "--outcome", "churn,arpu"]


def _stderr_lines(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


@pytest.mark.parametrize("fixture, extra, needle", [
    ("validate_segment_one_segment.csv", [], "holds one segment only ('basic')"),
    ("validate_segment_constant_outcome.csv", [], "outcome column 'churn' has the same value ('No') in every row"),
    ("validate_segment_null_outcome.csv", [], "outcome column 'arpu' is empty in every row"),
    ("validate_segment_duplicate_id.csv", ["--id", "customer_id"], "customer id 'C0003'"),
    ("validate_segment_text_outcome.csv", [], "row 12 holds 'n/a'"),
    ("validate_segment_nan_outcome.csv", [], "'arpu' is not a number (NaN) in row 6"),
    ("validate_segment_null_segment.csv", ["--strict"], "segment column 'plan' is empty in 2 rows, first in row 5"),
    ("validate_segment_three_plans.csv", ["--outcome-type", "churn=numeric"], "row 1 holds 'No'"),
    ("validate_segment_three_plans.csv", ["--outcome-type", "churn=boolean"], "must be one of binary"),
    ("validate_segment_three_plans.csv", ["--outcome-type", "arpu=numeric,=x"], "column=type pairs"),
    ("validate_segment_three_plans.csv", ["--numeric-test", "t"], "'t' is not one of"),
    ("validate_segment_three_plans.csv", ["--min-share", "2"], "--min-share"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, fixture, extra, needle):
    target = tmp_path / "out.csv"
    args = ["validate-segment", FIXTURES / fixture, *BASE, *extra, "-o", target, "--json", tmp_path / "r.json"]
    if "--outcome-type" in extra and "=numeric," in extra[-1]:
        args[args.index("churn,arpu")] = "arpu"
    assert_one_line_error(cli(args), needle)
    assert list(tmp_path.iterdir()) == []


def test_misspelt_outcome_suggests_the_close_match(cli):
    assert_one_line_error(cli(["validate-segment", GOOD, "--segment", "plan", "--outcome", "churn,arpy"]),
                          "outcome column 'arpy' not found; did you mean 'arpu'?")


def test_ten_thousand_segments_are_refused_politely(cli, tmp_path):
    path = tmp_path / "fine.csv"
    pl.DataFrame({"cell": [f"c{i}" for i in range(10_000)], "churn": [i % 2 for i in range(10_000)]}).write_csv(path)
    assert_one_line_error(cli(["validate-segment", path, "--segment", "cell", "--outcome", "churn"]),
                          "10,000 distinct segments, more than --max-segments 1,000")
    assert_one_line_error(cli(["validate-segment", path, "--segment", "cell", "--outcome", "churn",
                               "--max-segments", "10000"]), "--max-segments must be from 2 to 2,000")


def test_max_segments_can_be_raised(cli, tmp_path):
    path = tmp_path / "cells.csv"
    pl.DataFrame({"cell": [f"c{i % 50}" for i in range(5000)], "churn": [i % 3 == 0 for i in range(5000)]}).write_csv(path)
    args = ["validate-segment", path, "--segment", "cell", "--outcome", "churn", "-q"]
    assert_one_line_error(cli([*args, "--max-segments", "40"]), "50 distinct segments, more than --max-segments 40")
    assert cli([*args, "--max-segments", "50"]).exit_code == 0


def test_null_segments_are_reported_and_left_out(cli):
    result = cli(["validate-segment", FIXTURES / "validate_segment_null_segment.csv", *BASE])
    assert result.exit_code == 0, result.stderr
    assert _stderr_lines(result)[0] == \
        "warning: left out 2 rows with an empty segment 'plan' (use --strict to make this an error)"
    assert pl.read_csv(io.StringIO(result.stdout))["n"].to_list() == [38, 38]


def test_stdout_is_the_outcome_table_and_stderr_starts_with_the_verdict(cli):
    result = cli(["validate-segment", GOOD, *BASE])
    assert result.exit_code == 0, result.stderr
    table = pl.read_csv(io.StringIO(result.stdout))
    assert table["outcome"].to_list() == ["churn", "arpu"]
    assert {"test", "statistic", "df", "p", "p_adjusted", "effect_size", "effect_label", "verdict"} <= set(table.columns)
    assert "Verdict: VALID" in _stderr_lines(result)[1]


@pytest.mark.parametrize("segment, outcomes, verdict, code", [
    ("Contract", "Churn", "valid", 0),
    ("PaymentMethod", "Churn,MonthlyCharges", "over-fine", 1),
    ("gender", "Churn,MonthlyCharges,tenure", "arbitrary", 1),
])
def test_strict_fails_unless_valid_and_keeps_the_evidence(cli, tmp_path, segment, outcomes, verdict, code):
    out, evidence = tmp_path / "v.csv", tmp_path / "v.json"
    result = cli(["validate-segment", TELCO, "--segment", segment, "--outcome", outcomes, "--strict", "-q", "-o", out,
                  "--json", evidence])
    assert result.exit_code == code, result.stderr
    assert json.loads(evidence.read_text())["verdict"] == verdict  # the side output named explicitly is written
    if code:
        assert not out.exists()  # no target for Make to find
        assert result.stderr.startswith(f"check failed: verdict is {verdict}, not valid: ")
        assert len(result.stderr.strip().splitlines()) == 1
    else:
        assert pl.read_csv(out).height == len(outcomes.split(","))
    without = cli(["validate-segment", TELCO, "--segment", segment, "--outcome", outcomes, "-q"])
    assert without.exit_code == 0


def test_side_outputs_pairs_merge_map_profile_and_json(cli, tmp_path):
    paths = {name: tmp_path / f"{name}.parquet" for name in ("pairs", "merge-map", "profile")}
    json_path = tmp_path / "all.json"
    result = cli(["validate-segment", TELCO, "--segment", "PaymentMethod", "--outcome", "Churn,tenure",
                  "--pairs", paths["pairs"], "--merge-map", paths["merge-map"], "--profile", paths["profile"],
                  "--json", json_path, "--bootstrap", "50", "--holdout", "0.5", "-q"])
    assert result.exit_code == 0, result.stderr
    pairs = read_table(paths["pairs"])
    assert pairs.provenance["details"]["role"] == "pairs"
    assert pairs.frame.collect().height == 2 * 6
    mapping = read_table(paths["merge-map"]).frame.collect()
    assert mapping.columns[:2] == ["segment", "merged_segment"]
    profile = read_table(paths["profile"]).frame.collect()
    assert profile.filter(pl.col("ci_low").is_null()).height == 0
    doc = json.loads(json_path.read_text())
    assert doc["verdict"] == "over-fine" and doc["provenance"]["command"] == "validate-segment"
    assert {"outcomes", "pairs", "merge_map", "merges", "profile", "params", "reasons"} <= set(doc)
    assert doc["params"]["effect_conventions"]["cramers_v"].startswith("Cramer's V; Cohen (1988)")


def test_merge_map_relabels_directly(cli, tmp_path):
    args = ["--segment", "PaymentMethod", "--outcome", "Churn,tenure", "-q"]
    assert cli(["validate-segment", TELCO, *args, "--merge-map", tmp_path / "map.csv"]).exit_code == 0
    relabelled = pl.read_csv(TELCO).join(pl.read_csv(tmp_path / "map.csv").select("segment", "merged_segment"),
                                         left_on="PaymentMethod", right_on="segment")
    relabelled.write_csv(tmp_path / "relabelled.csv")
    result = cli(["validate-segment", tmp_path / "relabelled.csv", "--segment", "merged_segment",
                  "--outcome", "Churn,tenure", "--strict", "-q"])
    assert result.exit_code == 0, result.stderr


def test_shared_telco_data_gives_the_same_verdict(cli):
    from tests.conftest import shared

    path = shared("telco-churn-ibm", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    result = cli(["validate-segment", path, "--segment", "Contract", "--outcome", "Churn", "--strict", "-q"])
    assert result.exit_code == 0, result.stderr


def test_same_seed_gives_byte_identical_side_outputs(cli, tmp_path):
    args = ["validate-segment", TELCO, "--segment", "PaymentMethod", "--outcome", "Churn,MonthlyCharges,Contract",
            "--bootstrap", "30", "--holdout", "0.5", "--seed", "7", "-q", "-o", tmp_path / "o.parquet",
            "--pairs", tmp_path / "p.parquet", "--merge-map", tmp_path / "m.csv", "--profile", tmp_path / "f.parquet",
            "--json", tmp_path / "all.json"]
    outs = []
    for _ in range(2):
        assert cli(args).exit_code == 0
        outs.append({p.name: digest(p) for p in sorted(tmp_path.iterdir())})
    assert len(outs[0]) == 5 and outs[0] == outs[1]


def test_regression_segment_without_outcome_values_is_left_out_of_the_report(cli, tmp_path):
    path = tmp_path / "stages.csv"
    stages = ["acquisition"] * 300 + ["exit"] * 200 + ["maturity"] * 300
    churn = ["1"] * 6 + ["0"] * 294 + [""] * 200 + ["1"] * 60 + ["0"] * 240
    pl.DataFrame({"stage": stages, "churn_next_month": churn}).write_csv(path)
    result = cli(["validate-segment", path, "--segment", "stage", "--outcome", "churn_next_month",
                  "--merge-map", tmp_path / "map.csv"])
    assert result.exit_code == 0, result.stderr
    lines = _stderr_lines(result)
    assert lines[0] == "warning: left out segment 'exit' (200 rows): outcome 'churn_next_month' is empty in all its rows"
    assert "Verdict: VALID" in lines[2]
    assert "Merges suggested" not in result.stderr
    assert "600 rows in 2 segments (200 in 1 segment without outcome values left out)" in " ".join(result.stderr.split())
    mapping = pl.read_csv(tmp_path / "map.csv")
    assert mapping.select("segment", "merged_segment", "action").rows() == [
        ("acquisition", "acquisition", "keep"), ("exit", "exit", "left out"), ("maturity", "maturity", "keep")]
    assert pl.read_csv(io.StringIO(result.stdout))["segments"].to_list() == [2]


def test_strict_gate_holds_in_a_makefile_without_delete_on_error(tmp_path):
    # Without .DELETE_ON_ERROR, a target written before the failure would be up to date on the
    # second `make`, and the campaign would be built from a segmentation that failed its check.
    import shutil
    import subprocess
    import sys

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    segment = f"{sys.executable} -m segment_cli"
    (tmp_path / "Makefile").write_text(
        "all: campaign.csv\n"
        "gate.csv: telco.csv\n"
        f"\tPYTHONPATH={ROOT} {segment} validate-segment $< --segment gender --outcome Churn,tenure --strict -q "
        "--json gate.json -o $@\n"
        "campaign.csv: gate.csv\n"
        "\tcp $< $@\n")
    shutil.copy(TELCO, tmp_path / "telco.csv")
    for attempt in (1, 2):
        proc = subprocess.run(["make", "-s"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode != 0, (attempt, proc.stdout, proc.stderr)
        assert "check failed: verdict is arbitrary" in proc.stderr
        assert not (tmp_path / "gate.csv").exists() and not (tmp_path / "campaign.csv").exists()
    assert json.loads((tmp_path / "gate.json").read_text())["verdict"] == "arbitrary"


def test_report_names_standouts_and_a_circular_outcome(cli, tmp_path):
    from segment.io import write_table

    data = pl.read_csv(TELCO).with_columns(cluster=pl.col("Contract").replace_strict(
        {"Month-to-month": 0, "One year": 1, "Two year": 2}, return_dtype=pl.Int32))
    path = tmp_path / "clusters.parquet"
    write_table(data, path, provenance={"command": "cluster", "details": {"features": ["tenure", "MonthlyCharges"]}})
    result = cli(["validate-segment", path, "--segment", "cluster", "--outcome", "Churn,tenure",
                  "--json", tmp_path / "r.json"])
    assert result.exit_code == 0, result.stderr
    assert "warning: circular test: outcome 'tenure' was among the features" in result.stderr
    assert "Segments that stand out from the rest" in result.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["circular"]["outcomes"] == ["tenure"] and doc["params"]["made_from"] == ["tenure", "MonthlyCharges"]
    assert not doc["params"]["ordinal"]  # cluster numbers are not tiers
    assert {s["segment"] for s in doc["standouts"] if s["standout"]} >= {0}

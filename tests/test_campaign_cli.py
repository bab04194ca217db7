"""The campaign loop from the command line: sample -> synth --campaign -> churn effect."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from segment import io as sio

def effect_cli(*args: str):
    from segment_cli.app import app

    return CliRunner().invoke(app, ["churn", "effect", *args])


def run_cli(*args: str):
    from segment_cli.app import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture()
def call_list(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    p = rng.beta(2, 8, n)
    decile = (pl.Series(p).rank("ordinal", descending=True) * 10 / n).ceil().cast(pl.Int32)
    calls = pl.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "p_churn": p, "decile": decile,
                          "alert": "amber", "reason_1": "usage low", "contrib_1": 0.1, "call": decile <= 5})
    path = tmp_path / "calls.parquet"
    calls.write_parquet(path)
    return path


def test_the_loop_sample_then_synth_campaign_then_effect(tmp_path, call_list):
    ab, folder = tmp_path / "calls_ab.parquet", tmp_path / "camp"
    r = run_cli("sample", str(call_list), "--control", "20%", "--seed", "2", "-o", str(ab))
    assert r.exit_code == 0, r.stderr
    calls = pl.read_parquet(ab)
    assert calls.filter(pl.col("call"))["group"].value_counts().sort("group").rows() == [("control", 300), ("treat", 1200)]
    assert calls.filter(~pl.col("call"))["group"].null_count() == 1500
    again = tmp_path / "again.parquet"
    run_cli("sample", str(call_list), "--control", "20%", "--seed", "2", "-o", str(again))
    assert pl.read_parquet(again).equals(calls)

    r = run_cli("synth", "--campaign", str(ab), "--save-rate", "0.5", "--seed", "3", "--out", str(folder))
    assert r.exit_code == 0, r.stderr
    outcomes = pl.read_parquet(folder / "campaign.parquet")
    assert {"contacted", "would_churn", "saved", "churned", "value_kept"} <= set(outcomes.columns)

    out = tmp_path / "effect.csv"
    r = effect_cli(str(ab), str(folder / "campaign.parquet"), "--value", "value_kept", "--offer-cost", "5",
                   "-o", str(out))
    assert r.exit_code == 0, r.stderr
    table = pl.read_csv(out)
    overall = table.row(0, named=True)
    assert (overall["by"], overall["level"], overall["n_treat"], overall["n_control"]) == ("all", "all", 1200, 300)
    assert table.filter(pl.col("by") == "decile")["level"].cast(pl.String).to_list() == ["1", "2", "3", "4", "5"]
    assert overall["save_low"] <= 0.5 <= overall["save_high"]
    assert "is detectable with 80% power" in " ".join(r.stderr.split())
    assert "use it as the next --save-rate" in " ".join(r.stderr.split())


def test_effect_refuses_a_call_list_without_a_control_group(tmp_path, call_list):
    outcomes = tmp_path / "outcomes.csv"
    pl.read_parquet(call_list).select("customer_id", churned=pl.lit("no")).write_csv(outcomes)
    r = effect_cli(str(call_list), str(outcomes))
    assert r.exit_code == 2 and "no 'group' column" in r.stderr and "segment sample" in r.stderr
    treat_only = tmp_path / "treat_only.csv"
    pl.read_parquet(call_list).with_columns(group=pl.lit("treat")).write_csv(treat_only)
    r = effect_cli(str(treat_only), str(outcomes))
    assert r.exit_code == 2 and "no 'control' customers" in r.stderr


def test_effect_counts_outcome_ids_not_in_the_call_list(tmp_path):
    calls = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "group": ["treat", "treat", "control", "control"]})
    outcomes = pl.DataFrame({"customer_id": ["a", "b", "c", "x", "y"], "churned": [0, 1, 1, 0, 0]})
    calls.write_csv(tmp_path / "calls.csv")
    outcomes.write_csv(tmp_path / "outcomes.csv")
    out = tmp_path / "effect.csv"
    r = effect_cli(str(tmp_path / "calls.csv"), str(tmp_path / "outcomes.csv"), "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert "2 outcome ids are not in the call list" in r.stderr
    assert "1 customers of the campaign have no outcome" in r.stderr
    row = pl.read_csv(out).row(0, named=True)
    assert (row["n_treat"], row["n_control"], row["churned_treat"], row["churned_control"]) == (2, 1, 1, 1)
    assert row["test"] == "fisher"
    record = sio.read_table(str(out)).provenance  # csv: none; the parquet path carries it
    assert record is None


def test_effect_provenance_carries_both_inputs(tmp_path):
    calls = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "group": ["treat", "control"] * 20})
    outcomes = pl.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "churned": [i % 3 == 0 for i in range(40)]})
    calls.write_csv(tmp_path / "calls.csv")
    outcomes.write_csv(tmp_path / "outcomes.csv")
    out = tmp_path / "effect.parquet"
    r = effect_cli(str(tmp_path / "calls.csv"), str(tmp_path / "outcomes.csv"), "-o", str(out), "-q")
    assert r.exit_code == 0, r.stderr
    record = sio.read_table(str(out)).provenance
    assert record["command"] == "churn effect"
    assert [i["name"] for i in record["inputs"]] == [str(tmp_path / "calls.csv"), str(tmp_path / "outcomes.csv")]
    assert json.dumps(record["details"]["stats"])


def test_effect_warns_when_the_control_is_too_small_for_the_drop_asked_for(tmp_path):
    calls = pl.DataFrame({"customer_id": [f"c{i}" for i in range(200)], "group": ["treat"] * 180 + ["control"] * 20})
    outcomes = calls.select("customer_id", churned=pl.Series([i % 5 == 0 for i in range(200)]))
    calls.write_csv(tmp_path / "calls.csv")
    outcomes.write_csv(tmp_path / "outcomes.csv")
    r = effect_cli(str(tmp_path / "calls.csv"), str(tmp_path / "outcomes.csv"), "--detect", "0.03")
    assert r.exit_code == 0, r.stderr
    assert "control group is too small to detect a 3-point drop" in " ".join(r.stderr.split())


@pytest.mark.parametrize("share", ["0.5%", "51%", "0.9"])
def test_sample_refuses_a_control_share_outside_1_to_50_percent(call_list, share):
    r = run_cli("sample", str(call_list), "--control", share)
    assert r.exit_code == 2 and "--control" in r.stderr


def test_churn_score_control_holds_out_a_stratified_share_of_the_customers_to_call(tmp_path):
    from tests.conftest import FIXTURES

    args = ["churn", "score", str(FIXTURES / "churn_features_small.csv"), "--model", str(FIXTURES / "churn_model"),
            "--value", "revenue_last", "--offer-cost", "1", "--save-rate", "0.3", "--capacity", "40", "--seed", "1"]
    plain, ab = tmp_path / "plain.parquet", tmp_path / "ab.parquet"
    assert run_cli(*args, "-o", str(plain)).exit_code == 0
    r = run_cli(*args, "--control", "20%", "-o", str(ab))
    assert r.exit_code == 0, r.stderr
    scores, calls = pl.read_parquet(plain), pl.read_parquet(ab)
    assert calls.drop("group").equals(scores)  # the scores themselves are unchanged
    assert calls.filter(pl.col("call"))["group"].value_counts().sort("group").rows() == [("control", 8), ("treat", 32)]
    assert calls.filter(~pl.col("call"))["group"].null_count() == calls.height - 40
    # The same function as segment sample: the same groups.
    sampled = tmp_path / "sampled.parquet"
    assert run_cli("sample", str(plain), "--control", "20%", "--seed", "1", "-o", str(sampled)).exit_code == 0
    assert pl.read_parquet(sampled)["group"].equals(calls["group"])
    from segment.io import read_table

    assert "control" not in read_table(str(plain)).provenance["options"]  # scores without --control keep their bytes
    assert run_cli(*args, "--control", "70%").exit_code == 2

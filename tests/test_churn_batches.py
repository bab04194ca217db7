"""`segment churn score` reads its input in batches: the batch size never shows in the output."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from segment.churn import _score, load_model, score
from segment.io import write_table
from tests.conftest import FIXTURES, digest

MODEL = FIXTURES / "churn_model"


def _written(path, **kwargs):
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    feats = feats.with_columns(margin=pl.Series(np.linspace(1, 40, feats.height)))
    with pytest.warns(UserWarning):  # the fixture has missing trends, reported once whatever the batches
        result = score(feats.lazy(), load_model(MODEL), **kwargs)
    write_table(result.table, path, provenance=result.stats)
    return digest(path)


@pytest.mark.parametrize("options", [
    {},
    {"reasons": "all", "contrib": "path"},
    {"reasons": "all", "contrib": "shap", "keep_features": True},
    {"value": "margin", "offer_cost": 2.0, "save_rate": 0.3, "capacity": 20},
], ids=["alerted", "all-path", "all-shap-features", "priority"])
def test_small_batches_give_the_same_bytes_as_one_batch(tmp_path, monkeypatch, options):
    one = _written(tmp_path / "one.parquet", **options)
    monkeypatch.setattr(_score, "CONTRIB_ROWS", 5)  # reasons worked out 5 customers at a time
    small = _written(tmp_path / "small.parquet", batch_rows=7, **options)
    assert small == one


def test_batches_warn_missing_values_once_with_the_total():
    feats = pl.read_csv(FIXTURES / "churn_features_small.csv")
    expected = int(feats["voice_min_trend"].is_null().sum())
    with pytest.warns(UserWarning) as caught:
        score(feats, load_model(MODEL), batch_rows=10)
    lines = [str(w.message) for w in caught if "voice_min_trend" in str(w.message)]
    assert lines == [f"{expected} missing in 'voice_min_trend'; scored as missing (the model's branch for missing "
                     "values)"]

"""validate-segment never fails with anything but a SegmentError, whatever small frame it gets."""

from __future__ import annotations

import warnings

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segment.errors import SegmentError, SegmentWarning
from segment.validate._validate import validate_segment


@st.composite
def frames(draw):
    n = draw(st.integers(1, 60))
    k = draw(st.integers(1, 6))
    seg = draw(st.lists(st.one_of(st.none(), st.integers(0, k - 1)), min_size=n, max_size=n))
    y = draw(st.lists(st.one_of(st.none(), st.floats(-5, 5, allow_nan=False), st.sampled_from([0.0, 1.0])),
                      min_size=n, max_size=n))
    c = draw(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=n, max_size=n))
    return pl.DataFrame({"seg": seg, "y": y, "c": c}, schema={"seg": pl.Int64, "y": pl.Float64, "c": pl.String})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), test=st.sampled_from(["kruskal", "anova", "welch"]), holdout=st.sampled_from([0.0, 0.5]),
       bootstrap=st.sampled_from([0, 20]), min_size=st.sampled_from([0, 5, 30]))
def test_small_frames_give_a_verdict_or_a_segment_error(frame, test, holdout, bootstrap, min_size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SegmentWarning)
        try:
            res = validate_segment(frame, segment="seg", outcomes=["y", "c"], numeric_test=test, holdout=holdout,
                                   bootstrap=bootstrap, min_size=min_size, mc_samples=200)
        except SegmentError:
            return
    assert res.verdict in ("valid", "over-fine", "arbitrary")
    assert res.merge_map.height == frame["seg"].drop_nulls().n_unique()
    p = res.outcomes["p"].drop_nulls().drop_nans()
    assert ((p >= 0) & (p <= 1)).all()
    res.to_dict()

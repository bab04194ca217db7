"""The one multiple-testing correction (segment.stats.multitest) against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from segment.errors import OptionError
from segment.stats.multitest import METHODS, adjust

TOL = {"rtol": 1e-12, "atol": 0}
STATSMODELS = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni"}


def _family(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Small p-values (where the corrections differ), uniform ones, exact ties and the bounds.
    p = np.concatenate([rng.uniform(0, 1, 300), rng.uniform(0, 1e-4, 50), [0.0, 1.0, 0.03, 0.03, 0.03]])
    rng.shuffle(p)
    return p


@pytest.mark.parametrize("method", list(STATSMODELS))
@pytest.mark.parametrize("seed", [2, 7])
def test_corrections_equal_statsmodels(method, seed):
    p = _family(seed)
    np.testing.assert_allclose(adjust(p, method), multipletests(p, method=STATSMODELS[method])[1], **TOL)


@pytest.mark.parametrize("method", list(STATSMODELS))
def test_nan_p_values_are_left_out_of_the_family_regression(method):
    # rules counted a NaN in m and validate-segment did not; the one behaviour:
    # NaN stays NaN and the others are adjusted as the family without it.
    p = _family(3)
    with_nan = p.copy()
    with_nan[[3, 40]] = np.nan
    out = adjust(with_nan, method)
    assert np.isnan(out[[3, 40]]).all()
    ok = ~np.isnan(with_nan)
    np.testing.assert_allclose(out[ok], multipletests(with_nan[ok], method=STATSMODELS[method])[1], **TOL)


def test_no_correction_keeps_p_values_nan_included():
    p = np.array([0.2, np.nan, 0.01])
    out = adjust(p, "none")
    assert out[0] == 0.2 and np.isnan(out[1]) and out[2] == 0.01
    assert out is not p


@pytest.mark.parametrize("method", METHODS)
def test_empty_and_all_nan_families(method):
    assert adjust(np.array([]), method).size == 0
    assert np.isnan(adjust([np.nan, np.nan], method)).all()


def test_every_command_offers_the_same_corrections():
    from segment_cli.options import Correction

    assert tuple(c.value for c in Correction) == METHODS


def test_unknown_method_is_an_option_error():
    with pytest.raises(OptionError, match="--correction must be one of holm, bh, bonferroni, none, got 'fdr'"):
        adjust([0.1], "fdr")

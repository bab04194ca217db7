"""Treated against control: two proportions, two means, and the power to tell them apart.

Vectorised over groups (one element per decile or lever), each formula the
textbook one, checked against statsmodels and scipy in the tests:

* difference of two rates ``p_t - p_c`` with Newcombe's hybrid score interval
  (Newcombe 1998, method 10; statsmodels ``confint_proportions_2indep``
  ``method="newcomb"``);
* the pooled two-proportion z test (statsmodels ``proportions_ztest``) and
  Fisher's exact test (:func:`segment.stats.tests.fisher_exact_2x2`), Fisher
  being *the* test when an expected count is below 5;
* the ratio ``p_t / p_c`` with the Katz log interval (statsmodels
  ``compare="ratio", method="log"``); the save rate is ``1 - ratio``, the share
  of would-be churners that the action kept;
* Welch's t for a difference of means with its interval (scipy
  ``ttest_ind(equal_var=False)``);
* power of the two-sided test for a given drop through Cohen's
  ``h = 2 asin sqrt(p_c) - 2 asin sqrt(p_t)`` (statsmodels ``NormalIndPower``),
  and the smallest drop detectable with a given power.

Examples
--------
>>> import numpy as np
>>> r = two_proportions(np.array([120]), np.array([1000]), np.array([30]), np.array([200]))
>>> float(r.diff[0]), [round(float(x), 4) for x in (r.diff_low[0], r.diff_high[0])]
(-0.03, [-0.0891, 0.018])
>>> round(float(r.save_rate[0]), 3), r.test[0]
(0.2, 'z')
>>> round(detectable_drop(0.15, 800, 800), 4)  # with 800 per group, a 4.6-point drop from 15%
0.0464
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segment.stats.tests import fisher_exact_2x2

#: Expected count below which Fisher's exact test replaces the z test.
MIN_EXPECTED = 5


def _z(q: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(q))


def _as_arrays(*xs: object) -> list[np.ndarray]:
    return [np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in xs]


@dataclass
class Proportions:
    """Two rates per group (treated ``t`` against control ``c``) and their comparison; arrays."""

    rate_t: np.ndarray
    rate_c: np.ndarray
    diff: np.ndarray  # rate_t - rate_c (negative: fewer churn among the treated)
    diff_low: np.ndarray
    diff_high: np.ndarray
    p_z: np.ndarray
    p_fisher: np.ndarray
    p_value: np.ndarray  # p_fisher where an expected count is small, else p_z
    test: np.ndarray  # "z" or "fisher"
    save_rate: np.ndarray  # 1 - rate_t / rate_c
    save_low: np.ndarray
    save_high: np.ndarray


def wilson(x: np.ndarray, n: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion ``x / n``.

    >>> [round(float(v[0]), 4) for v in wilson(np.array([3.0]), np.array([10.0]))]
    [0.1078, 0.6032]
    """
    x, n = _as_arrays(x, n)
    z = _z(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def two_proportions(x_t: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray,
                    alpha: float = 0.05) -> Proportions:
    """Compare ``x_t / n_t`` (treated) with ``x_c / n_c`` (control), element by element.

    A group with no customers on one side gives NaN; a control without any
    event gives a NaN save rate (nothing to save).
    """
    from scipy.special import ndtr

    x_t, n_t, x_c, n_c = _as_arrays(x_t, n_t, x_c, n_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_t, p_c = x_t / n_t, x_c / n_c
        diff = p_t - p_c
        lt, ut = wilson(x_t, n_t, alpha)
        lc, uc = wilson(x_c, n_c, alpha)
        low = diff - np.sqrt((p_t - lt) ** 2 + (uc - p_c) ** 2)
        high = diff + np.sqrt((ut - p_t) ** 2 + (p_c - lc) ** 2)
        pooled = (x_t + x_c) / (n_t + n_c)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        z = np.where(se0 > 0, diff / se0, 0.0)
        p_z = 2 * ndtr(-np.abs(z))
        ok = (n_t > 0) & (n_c > 0)
        p_f = np.full(x_t.size, np.nan)
        if ok.any():
            p_f[ok] = fisher_exact_2x2(x_t[ok], (n_t - x_t)[ok], x_c[ok], (n_c - x_c)[ok])
        events, total = x_t + x_c, n_t + n_c
        expected = np.minimum.reduce([events * n_t, events * n_c, (total - events) * n_t,
                                      (total - events) * n_c]) / total
        small = expected < MIN_EXPECTED
        ratio = p_t / p_c
        # Katz log interval; a treated group without events gets 0.5 added (Haldane) so it has one.
        zero = x_t == 0
        xa, na = np.where(zero, x_t + 0.5, x_t), np.where(zero, n_t + 0.5, n_t)
        se = np.sqrt(1 / xa - 1 / na + 1 / x_c - 1 / n_c)
        log_ratio = np.log(xa / na) - np.log(p_c)
        z2 = _z(1 - alpha / 2)
        r_low, r_high = np.exp(log_ratio - z2 * se), np.exp(log_ratio + z2 * se)
    nan = ~ok
    for a in (diff, low, high, p_z):
        a[nan] = np.nan
    no_event = ~ok | (x_c == 0)
    save, s_low, s_high = 1 - ratio, 1 - r_high, 1 - np.where(zero, 0.0, r_low)
    for a in (save, s_low, s_high):
        a[no_event] = np.nan
    return Proportions(rate_t=p_t, rate_c=p_c, diff=diff, diff_low=low, diff_high=high, p_z=p_z, p_fisher=p_f,
                       p_value=np.where(small, p_f, p_z), test=np.where(small, "fisher", "z").astype(object),
                       save_rate=save, save_low=s_low, save_high=s_high)


@dataclass
class Means:
    """Welch comparison of two means per group (treated - control); arrays."""

    diff: np.ndarray
    low: np.ndarray
    high: np.ndarray
    df: np.ndarray
    p_value: np.ndarray


def welch(mean_t: np.ndarray, var_t: np.ndarray, n_t: np.ndarray, mean_c: np.ndarray, var_c: np.ndarray,
          n_c: np.ndarray, alpha: float = 0.05) -> Means:
    """Welch's t test and interval for ``mean_t - mean_c`` from group summaries (sample variances).

    >>> r = welch(np.array([10.0]), np.array([4.0]), np.array([50]), np.array([9.0]), np.array([9.0]), np.array([40]))
    >>> round(float(r.diff[0]), 3), round(float(r.p_value[0]), 4)
    (1.0, 0.0748)
    """
    from scipy.special import stdtr, stdtrit

    mean_t, var_t, n_t, mean_c, var_c, n_c = _as_arrays(mean_t, var_t, n_t, mean_c, var_c, n_c)
    with np.errstate(invalid="ignore", divide="ignore"):
        qt, qc = var_t / n_t, var_c / n_c
        se2 = qt + qc
        df = se2**2 / (qt**2 / (n_t - 1) + qc**2 / (n_c - 1))
        diff = mean_t - mean_c
        se = np.sqrt(se2)
        t = np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)))
        df = np.where(se2 > 0, df, np.maximum(n_t + n_c - 2, 1))
        p = np.where(np.isinf(t), 0.0, 2 * stdtr(df, -np.abs(t)))
        half = stdtrit(df, 1 - alpha / 2) * se
    bad = (n_t < 2) | (n_c < 2)
    for a in (diff, p, half, df):
        a[bad] = np.nan
    return Means(diff=diff, low=diff - half, high=diff + half, df=df, p_value=p)


def power(rate_c: float, drop: float, n_t: float, n_c: float, alpha: float = 0.05) -> float:
    """Power of the two-sided test at level *alpha* to detect churn falling from *rate_c* by *drop*.

    >>> round(power(0.15, 0.03, 800, 800), 3)
    0.42
    """
    from scipy.special import ndtr

    rate_t = min(max(rate_c - drop, 0.0), 1.0)
    h = abs(2 * np.arcsin(np.sqrt(rate_c)) - 2 * np.arcsin(np.sqrt(rate_t)))
    scale = np.sqrt(1 / (1 / n_t + 1 / n_c))
    crit = _z(1 - alpha / 2)
    return float(ndtr(h * scale - crit) + ndtr(-h * scale - crit))


def detectable_drop(rate_c: float, n_t: float, n_c: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest fall in churn from *rate_c* that the test detects with *power* (Cohen's h inverted).

    NaN when no drop down to zero churn is detectable.
    """
    if n_t <= 0 or n_c <= 0:
        return float("nan")
    h = (_z(1 - alpha / 2) + _z(power)) * np.sqrt(1 / n_t + 1 / n_c)
    angle = np.arcsin(np.sqrt(rate_c)) - h / 2
    return float(rate_c - np.sin(angle) ** 2) if angle >= 0 else float("nan")


def needed_per_group(rate_c: float, drop: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Customers per group (equal groups) to detect *drop* from *rate_c* with *power*.

    >>> needed_per_group(0.15, 0.03)
    2031
    """
    rate_t = min(max(rate_c - drop, 0.0), 1.0)
    h = abs(2 * np.arcsin(np.sqrt(rate_c)) - 2 * np.arcsin(np.sqrt(rate_t)))
    if h == 0:
        return 0
    return int(np.ceil(2 * ((_z(1 - alpha / 2) + _z(power)) / h) ** 2))

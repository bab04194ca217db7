"""BG/NBD (Fader, Hardie & Lee 2005): purchases while alive, dropout after a purchase.

Log-likelihood, P(alive) and conditional expected purchases written as in
the paper (equations 6, 12 and 10), in log space where the terms can
underflow. ``x`` repeat purchases, ``tx`` time of the last one, ``T`` time
since the first, all in the model's time unit.
"""

from __future__ import annotations

import numpy as np

NAMES = ("r", "alpha", "a", "b")


def loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    """Weighted log-likelihood (``w`` customers share each ``x, tx, T``).

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> # No repeat purchase: P = (alpha / (alpha + T))^r; with r=1, alpha=1, T=1 that is 1/2.
    >>> round(float(np.exp(loglik(np.array([1.0, 1.0, 1.0, 1.0]), 0 * one, 0 * one, one, one))), 12)
    0.5
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
          + _log_bracket(r, alpha, a, b, x, tx, T))
    return float(np.dot(w, ll))


def _log_bracket(r, alpha, a, b, x, tx, T):  # noqa: ANN001, ANN202
    """log[(alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+tx)^-(r+x)]."""
    died = _log_died_term(r, alpha, a, b, x, tx)
    return np.logaddexp(-(r + x) * np.log(alpha + T), died)


def _log_died_term(r, alpha, a, b, x, tx):  # noqa: ANN001, ANN202
    repeat = x > 0
    xs = np.where(repeat, x, 1.0)  # x = 0 has no such term; keep the log finite, then mask
    term = np.log(a) - np.log(b + xs - 1) - (r + xs) * np.log(alpha + tx)
    return np.where(repeat, term, -np.inf)


def p_alive(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, tx, T) (paper eq. 12); 1 for customers with no repeat purchase."""
    from scipy.special import expit

    r, alpha, a, b = (params[k] for k in NAMES)
    died_vs_alive = _log_died_term(r, alpha, a, b, x, tx) + (r + x) * np.log(alpha + T)
    return expit(-died_vs_alive)


def expected_purchases(params: dict[str, float], t: float, x: np.ndarray, tx: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """Expected purchases in the next *t* periods given each customer's history (paper eq. 10)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = (params[k] for k in NAMES)
    if t <= 0:
        return np.zeros(np.shape(x))
    c = a + b + x - 1
    z = t / (alpha + T + t)
    ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # The hypergeometric term is negative when a + b + x - 1 < 0: no logarithm of it.
        term = hyp2f1(r + x, b + x, c, z) * np.exp(ratio)
        # Euler's transformation where the series overflows for large x.
        alt = hyp2f1(c - (r + x), c - (b + x), c, z) * np.exp((c - (r + x) - (b + x)) * np.log1p(-z) + ratio)
    term = np.where(np.isfinite(term), term, alt)
    numerator = (a + b + x - 1) / (a - 1) * (1 - term)
    return numerator * p_alive(params, x, tx, T)


def start(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Starting values: r and alpha from the mean purchase rate, a and b near a typical fit."""
    rate = float(np.dot(w, x) / max(np.dot(w, T), 1e-9))
    return np.array([0.5, 0.5 / max(rate, 1e-6), 1.0, 2.0])

"""BG/NBD (Fader, Hardie & Lee 2005): purchases while alive, dropout after a purchase.

Log-likelihood, P(alive) and conditional expected purchases written as in
the paper (equations 6, 12 and 10), in log space where the terms can
underflow. ``x`` repeat purchases, ``tx`` time of the last one, ``T`` time
since the first, all in the model's time unit.
"""

from __future__ import annotations

import numpy as np


NAMES = ("r", "alpha", "a", "b")


class Prepared:
    """Customers grouped for the likelihood: the terms that depend on ``x`` alone are
    computed once per distinct ``x``, the logarithms of ``alpha + T`` and
    ``alpha + tx`` once per distinct ``T`` and ``tx`` (a million customers have
    a few hundred of each)."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.xu, self.xi = np.unique(x, return_inverse=True)
        self.Tu, self.Ti = np.unique(T, return_inverse=True)
        self.txu, self.txi = np.unique(tx, return_inverse=True)
        self.w = w
        self.wx = np.bincount(self.xi, weights=w, minlength=len(self.xu))
        self.repeat = self.xu > 0
        self.xs = np.where(self.repeat, self.xu, 1.0)  # x = 0 has no "died" term; keep its log finite


def loglik(params: np.ndarray, data: Prepared) -> float:
    """Weighted log-likelihood (paper eq. 6; ``w`` customers share each ``x, tx, T``).

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> # No repeat purchase: P = (alpha / (alpha + T))^r; with r=1, alpha=1, T=1 that is 1/2.
    >>> round(float(np.exp(loglik(np.array([1.0, 1.0, 1.0, 1.0]), Prepared(0 * one, 0 * one, one, one)))), 12)
    0.5
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = params
    xu = data.xu
    per_x = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)
    rx = (r + xu)[data.xi]
    alive = -rx * np.log(alpha + data.Tu)[data.Ti]
    died_x = np.where(data.repeat, np.log(a) - np.log(b + data.xs - 1), -np.inf)
    died = died_x[data.xi] - rx * np.log(alpha + data.txu)[data.txi]
    return float(np.dot(data.wx, per_x) + np.dot(data.w, np.logaddexp(alive, died)))


def gradient(params: np.ndarray, data: Prepared) -> tuple[float, np.ndarray]:
    """The log-likelihood and its gradient in (r, alpha, a, b), analytically.

    Examples
    --------
    >>> import numpy as np
    >>> data = Prepared(np.array([0.0, 2, 5]), np.array([0.0, 3, 20]), np.array([30.0, 25, 28]), np.ones(3))
    >>> p = np.array([0.5, 4.0, 0.8, 2.5])
    >>> value, grad = gradient(p, data)
    >>> numeric = [(loglik(p + h, data) - loglik(p - h, data)) / 2e-6 for h in np.eye(4) * 1e-6]
    >>> bool(np.allclose(grad, numeric, rtol=1e-6)) and value == loglik(p, data)
    True
    """
    from scipy.special import betaln, digamma, gammaln

    r, alpha, a, b = params
    xu, xi = data.xu, data.xi
    per_x = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + betaln(a, b + xu) - betaln(a, b)
    rxu = r + xu
    rx = rxu[xi]
    log_T = np.log(alpha + data.Tu)
    log_tx = np.log(alpha + data.txu)
    alive = -rx * log_T[data.Ti]
    died_x = np.where(data.repeat, np.log(a) - np.log(b + data.xs - 1), -np.inf)
    died = died_x[xi] - rx * log_tx[data.txi]
    both = np.logaddexp(alive, died)
    w = data.w
    value = float(np.dot(data.wx, per_x) + np.dot(w, both))
    # Share of the "alive" term in the bracket, and of the "died" term (0 without repeat purchases).
    p_died = np.exp(died - both)
    w_alive, w_died = w * (1 - p_died), w * p_died
    grad_x = np.array([
        digamma(rxu) - digamma(r) + np.log(alpha),
        np.full_like(xu, r / alpha),
        digamma(a + b) - digamma(a + b + xu),
        digamma(b + xu) - digamma(a + b + xu) - digamma(b) + digamma(a + b),
    ]) @ data.wx
    inv_T, inv_tx = (1 / (alpha + data.Tu))[data.Ti], (1 / (alpha + data.txu))[data.txi]
    d_died_b = np.where(data.repeat, -1 / (b + data.xs - 1), 0.0)[xi]
    grad_row = np.array([
        -np.dot(w_alive, log_T[data.Ti]) - np.dot(w_died, log_tx[data.txi]),
        -np.dot(w_alive * rx, inv_T) - np.dot(w_died * rx, inv_tx),
        w_died.sum() / a,
        np.dot(w_died, d_died_b),
    ])
    return value, grad_x + grad_row


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
    return if_alive(params, t, x, T) * p_alive(params, x, tx, T)


def if_alive(params: dict[str, float], t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Eq. 10's numerator: expected purchases in the next *t* periods of a customer alive now."""
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
    return (a + b + x - 1) / (a - 1) * (1 - term)


def start(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Starting values: r and alpha from the mean purchase rate, a and b near a typical fit."""
    rate = float(np.dot(w, x) / max(np.dot(w, T), 1e-9))
    return np.array([0.5, 0.5 / max(rate, 1e-6), 1.0, 2.0])

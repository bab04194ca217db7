"""Gamma-Gamma spend model (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013).

A customer's ``x`` repeat purchases average ``m``; the spend per purchase is
gamma(p, nu) with nu ~ gamma(q, gamma) across customers. Fitted on repeat
buyers only (``x > 0``, ``m > 0``).
"""

from __future__ import annotations

import numpy as np

NAMES = ("p", "q", "gamma")


class Prepared:
    """Repeat buyers grouped: terms in ``x`` alone once per distinct ``x``; ``log m``,
    ``log x`` and ``m x`` once."""

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.xu, self.xi = np.unique(x, return_inverse=True)
        self.wx = np.bincount(self.xi, weights=w, minlength=len(self.xu))
        self.w = w
        self.x, self.log_m, self.log_x, self.mx = x, np.log(m), np.log(x), m * x
        self.sum_log_m = float(np.dot(w, self.log_m))


def loglik(params: np.ndarray, data: Prepared) -> float:
    """Weighted log-likelihood of the average spends (the note's equation 5, with the Jacobian of the mean).

    Examples
    --------
    >>> import numpy as np
    >>> # One purchase (x=1): m is marginally a scaled beta-prime; p=q=gamma=1 gives 1/(1+m)^2.
    >>> one = np.ones(1)
    >>> round(float(np.exp(loglik(np.array([1.0, 1.0, 1.0]), Prepared(one, np.array([3.0]), one)))), 12)
    0.0625
    """
    from scipy.special import gammaln

    p, q, g = params
    pxu = p * data.xu
    per_x = gammaln(pxu + q) - gammaln(pxu) - gammaln(q) + q * np.log(g)
    px = p * data.x
    per_row = px * (data.log_m + data.log_x) - (px + q) * np.log(g + data.mx)
    return float(np.dot(data.wx, per_x) + np.dot(data.w, per_row) - data.sum_log_m)


def gradient(params: np.ndarray, data: Prepared) -> tuple[float, np.ndarray]:
    """The log-likelihood and its gradient in (p, q, gamma), analytically.

    Examples
    --------
    >>> import numpy as np
    >>> data = Prepared(np.array([1.0, 2, 7]), np.array([3.0, 10, 25]), np.ones(3))
    >>> p = np.array([2.0, 3.0, 10.0])
    >>> value, grad = gradient(p, data)
    >>> numeric = [(loglik(p + h, data) - loglik(p - h, data)) / 2e-6 for h in np.eye(3) * 1e-6]
    >>> bool(np.allclose(grad, numeric, rtol=1e-6)) and value == loglik(p, data)
    True
    """
    from scipy.special import digamma

    p, q, g = params
    value = loglik(params, data)
    pxu = p * data.xu
    grad_x = np.array([data.xu * (digamma(pxu + q) - digamma(pxu)), digamma(pxu + q) - digamma(q) + np.log(g),
                       np.full_like(pxu, q / g)]) @ data.wx
    log_gmx = np.log(g + data.mx)
    wx_row = data.w * data.x
    grad_row = np.array([np.dot(wx_row, data.log_m + data.log_x - log_gmx), -np.dot(data.w, log_gmx),
                         -np.dot(data.w * (p * data.x + q), 1 / (g + data.mx))])
    return value, grad_x + grad_row


def expected_spend(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per purchase | x, m]; the population mean p*gamma/(q-1) when x = 0."""
    p, q, g = (params[k] for k in NAMES)
    mean = np.where(x > 0, m, 0.0)
    return p * (g + x * mean) / (p * x + q - 1)


def start(m: np.ndarray, w: np.ndarray) -> np.ndarray:
    mean = float(np.dot(w, m) / w.sum())
    return np.array([2.0, 3.0, max(mean, 1e-6)])

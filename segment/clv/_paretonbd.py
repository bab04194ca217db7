"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases while alive, an exponential lifetime.

Written from Fader & Hardie's note "A note on deriving the Pareto/NBD model
and related expressions" (2005; equations 18-20 for the likelihood, 11 for
P(alive), 41 for the conditional expectation). The difference of the two
hypergeometric terms in A0 is taken in log space (it cancels when the last
purchase is recent), and the larger of alpha and beta is put in the
denominator so that the hypergeometric argument stays in [0, 1).
"""

from __future__ import annotations

import numpy as np


NAMES = ("r", "alpha", "s", "beta")


def _log_a0(r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray,
            T: np.ndarray) -> np.ndarray:
    from scipy.special import hyp2f1

    if alpha >= beta:
        big, b2 = alpha, s + 1
    else:
        big, b2 = beta, r + x
    gap = abs(alpha - beta)
    rsx = r + s + x
    with np.errstate(divide="ignore", invalid="ignore"):
        near = np.log(hyp2f1(rsx, b2, rsx + 1, gap / (big + tx))) - rsx * np.log(big + tx)
        far = np.log(hyp2f1(rsx, b2, rsx + 1, gap / (big + T))) - rsx * np.log(big + T)
        # near >= far (tx <= T); equal when the last purchase is at the end: A0 = 0.
        return near + np.log(-np.expm1(far - near))


def _log_parts(params, x, tx, T):  # noqa: ANN001, ANN202
    r, alpha, s, beta = params
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, tx, T)
    return alive, dead


def loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> float:
    """Weighted log-likelihood (the note's eq. 18).

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> # x = 0 at T -> 0: nothing can have happened yet, the likelihood tends to 1.
    >>> round(float(np.exp(loglik(np.array([1.0, 1.0, 1.0, 2.0]), 0 * one, 0 * one, 1e-9 * one, one))), 6)
    1.0
    """
    from scipy.special import gammaln

    r, alpha, s, beta = params
    alive, dead = _log_parts(params, x, tx, T)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(alive, dead)
    return float(np.dot(w, ll))


def p_alive(params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive | x, tx, T) (the note's eq. 11)."""
    from scipy.special import expit

    alive, dead = _log_parts([params[k] for k in NAMES], x, tx, T)
    return expit(alive - dead)


def if_alive(params: dict[str, float], t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = (params[k] for k in NAMES)
    ratio = np.log(beta + T) - np.log(beta + T + t)
    scale = (r + x) * (beta + T) / (alpha + T)
    if abs(s - 1) < 1e-10:
        return scale * -ratio
    return scale * -np.expm1((s - 1) * ratio) / (s - 1)


def expected_purchases(params: dict[str, float], t: float, x: np.ndarray, tx: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """Expected purchases in the next *t* periods given each customer's history (the note's eq. 41)."""
    return if_alive(params, t, x, T) * p_alive(params, x, tx, T)


def start(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    rate = float(np.dot(w, x) / max(np.dot(w, T), 1e-9))
    return np.array([0.5, 0.5 / max(rate, 1e-6), 0.5, 0.5 / max(rate, 1e-6)])

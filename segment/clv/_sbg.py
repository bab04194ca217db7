"""Shifted-beta-geometric (sBG, Fader & Hardie 2007) and beta-discrete-Weibull (BdW, Fader et al. 2018).

A customer's churn probability at each renewal is theta ~ beta(alpha, beta)
across customers; BdW lets it change with tenure through ``c`` (``c = 1`` is
the sBG, ``c < 1`` churn falls with tenure, ``c > 1`` it rises). Survival to
the end of period t is ``S(t) = B(alpha, beta + t^c) / B(alpha, beta)``.
``duration`` counts whole periods completed; ``event`` 1 = churned at the
end of it, 0 = still active (censored).
"""

from __future__ import annotations

import numpy as np

SBG = ("alpha", "beta")
BDW = ("alpha", "beta", "c")


def log_survival(alpha: float, beta: float, c: float, t: np.ndarray) -> np.ndarray:
    """log S(t); S(0) = 1.

    Examples
    --------
    >>> import numpy as np
    >>> # sBG with alpha = beta = 1: S(t) = 1 / (t + 1).
    >>> np.round(np.exp(log_survival(1.0, 1.0, 1.0, np.arange(4.0))), 12).tolist()
    [1.0, 0.5, 0.333333333333, 0.25]
    """
    from scipy.special import betaln

    return betaln(alpha, beta + np.power(t, c)) - betaln(alpha, beta)


def loglik(params: np.ndarray, duration: np.ndarray, event: np.ndarray, w: np.ndarray,
           entry: np.ndarray | None = None) -> float:
    """Weighted log-likelihood: P(churn at t) = S(t-1) - S(t) for events, S(t) for the censored.

    *entry*: periods a customer had lived before the data could see them
    (left truncation): their likelihood is conditional on surviving those,
    divided by S(entry).

    Examples
    --------
    >>> import numpy as np
    >>> # alpha = beta = 1: P(T = 2) = S(1) - S(2) = 1/2 - 1/3; given T > 1 it is (1/6) / (1/2).
    >>> one = np.ones(1)
    >>> round(float(np.exp(loglik(np.array([1.0, 1.0]), 2 * one, one > 0, one, entry=one))), 12)
    0.333333333333
    """
    alpha, beta, c = (*params, 1.0)[:3] if len(params) == 2 else params
    now = log_survival(alpha, beta, c, duration)
    before = log_survival(alpha, beta, c, np.maximum(duration - 1, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        churned = before + np.log(-np.expm1(now - before))
    ll = np.where(event, churned, now)
    if entry is not None:
        ll = ll - log_survival(alpha, beta, c, entry)
    return float(np.dot(w, ll))


def retention(params: dict[str, float], duration: np.ndarray) -> np.ndarray:
    """P(renew at the end of the next period | survived *duration* periods) = S(d+1)/S(d)."""
    alpha, beta, c = params["alpha"], params["beta"], params.get("c", 1.0)
    return np.exp(log_survival(alpha, beta, c, duration + 1.0) - log_survival(alpha, beta, c, duration))


def derl(params: dict[str, float], duration: np.ndarray, discount_rate: float) -> np.ndarray:
    """Discounted expected residual lifetime of a customer active after *duration* periods.

    Fader & Hardie (2010): valued just before the next renewal, so the next
    period counts in full and the k-th after it is discounted by
    ``(1 + d)^-k``: ``sum_k S(n+k)/S(n) / (1+d)^k`` for k >= 0 with n = duration + 1.
    The sBG has the closed form ``r * 2F1(1, beta+n; alpha+beta+n; 1/(1+d))``;
    BdW sums the series (its terms fall at least geometrically).
    """
    from scipy.special import hyp2f1

    alpha, beta, c = params["alpha"], params["beta"], params.get("c", 1.0)
    d = np.asarray(duration, dtype=float)
    if c == 1.0 and "c" not in params:
        n = d + 1
        return (beta + n - 1) / (alpha + beta + n - 1) * hyp2f1(1.0, beta + n, alpha + beta + n, 1 / (1 + discount_rate))
    unique, inverse = np.unique(d, return_inverse=True)
    base = log_survival(alpha, beta, c, unique)
    total = np.zeros_like(unique)
    factor = 1 / (1 + discount_rate)
    for k in range(100_000):
        term = np.exp(log_survival(alpha, beta, c, unique + 1 + k) - base) * factor**k
        total += term
        if term.max() < 1e-12 * total.min():
            break
    return total[inverse]

"""Maximum likelihood on log-parameters, standard errors from the Hessian.

Every model here has positive parameters: the optimiser works on their logs
(so it cannot step outside the parameter space), and the standard errors
come from the inverse Hessian of the negative log-likelihood in the natural
parameters (at the optimum the gradient is zero, so that Hessian is the
log-scale one divided by the parameters on both sides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from segment.errors import DataError


@dataclass(frozen=True)
class Fit:
    """A converged maximum-likelihood fit."""

    params: dict[str, float]
    se: dict[str, float]
    loglik: float
    n: int

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.loglik


def maximize(loglik: Callable[[np.ndarray], float], names: tuple[str, ...], start: np.ndarray, *,
             n: int, what: str, scale: float = 1.0) -> Fit:
    """Maximise *loglik* (a function of the natural parameters) over positive parameters.

    *scale* divides the log-likelihood inside the optimiser (usually the
    number of customers), so that the gradient tolerance means the same on
    a hundred customers and on a million. Raises :class:`DataError` when
    the optimiser does not converge or the optimum is not a proper maximum.

    Examples
    --------
    >>> import numpy as np
    >>> fit = maximize(lambda p: -(p[0] - 2.0) ** 2 * 50, ("m",), np.array([1.0]), n=1, what="demo")
    >>> round(fit.params["m"], 6), round(fit.se["m"], 4)
    (2.0, 0.1)
    """
    from scipy.optimize import minimize

    def objective(theta: np.ndarray) -> float:
        value = loglik(np.exp(theta))
        return -value / scale if np.isfinite(value) else np.inf

    best = None
    for method in ("BFGS", "Nelder-Mead"):
        x0 = np.log(start) if best is None else best.x
        res = minimize(objective, x0, method=method,
                       options={"gtol": 1e-9, "maxiter": 5000} if method == "BFGS"
                       else {"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000})
        if best is None or res.fun <= best.fun:
            best = res
        if method == "Nelder-Mead":
            # Polish: BFGS from the simplex's point settles the last digits.
            polish = minimize(objective, best.x, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
            if polish.fun <= best.fun:
                best = polish
        if _stationary(objective, best.x):
            break
    assert best is not None
    theta = best.x
    if not np.isfinite(best.fun) or not _stationary(objective, theta) or np.any(np.abs(theta) > 25):
        raise DataError(f"the {what} fit did not converge (parameters {_show(names, np.exp(theta))}): "
                        "the data do not identify the model; check the input columns, or try another model")
    params = np.exp(theta)
    hess = _hessian(lambda t: -loglik(np.exp(t)), theta)
    try:
        cov_log = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov_log = np.full_like(hess, np.nan)
    var = np.diag(cov_log)
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise DataError(f"the {what} fit did not converge to a proper maximum (parameters "
                        f"{_show(names, params)}; the Hessian is not positive definite): "
                        "the data do not identify the model")
    se = params * np.sqrt(var)
    return Fit(dict(zip(names, map(float, params))), dict(zip(names, map(float, se))),
               float(loglik(params)), n)


def _stationary(objective: Callable[[np.ndarray], float], theta: np.ndarray) -> bool:
    grad = np.array([(objective(theta + h) - objective(theta - h)) / (2e-6) for h in np.eye(len(theta)) * 1e-6])
    return bool(np.all(np.isfinite(grad)) and np.max(np.abs(grad)) < 1e-4)


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian (the log-scale steps keep it well scaled)."""
    k = len(x)
    out = np.empty((k, k))
    eye = np.eye(k) * step
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                out[i, i] = (f(x + eye[i]) - 2 * f0 + f(x - eye[i])) / step**2
            else:
                out[i, j] = out[j, i] = (f(x + eye[i] + eye[j]) - f(x + eye[i] - eye[j])
                                         - f(x - eye[i] + eye[j]) + f(x - eye[i] - eye[j])) / (4 * step**2)
    return out


def _show(names: tuple[str, ...], values: np.ndarray) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in zip(names, values))

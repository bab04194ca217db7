"""Maximum likelihood on log-parameters, standard errors from the Hessian.

Every model here has positive parameters: the optimiser works on their logs
(so it cannot step outside the parameter space), and the standard errors
come from the inverse Hessian of the negative log-likelihood in the natural
parameters (at the optimum the gradient is zero, so that Hessian is the
log-scale one divided by the parameters on both sides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from segment.errors import DataError


@dataclass(frozen=True)
class Fit:
    """A converged maximum-likelihood fit."""

    params: dict[str, float]
    se: dict[str, float]
    loglik: float
    n: int
    #: Covariance of the log-parameters (inverse Hessian), for a warm start of a larger fit.
    cov_log: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.loglik


def maximize(loglik: Callable[[np.ndarray], float], names: tuple[str, ...], start: np.ndarray, *,
             n: int, what: str, scale: float = 1.0,
             gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
             hess_inv: np.ndarray | None = None) -> Fit:
    """Maximise *loglik* (a function of the natural parameters) over positive parameters.

    *scale* divides the log-likelihood inside the optimiser (usually the
    number of customers), so that the gradient tolerance means the same on
    a hundred customers and on a million. *gradient*, when given, returns
    the log-likelihood and its gradient in the natural parameters (BFGS then
    needs far fewer evaluations); *hess_inv* is a first guess of the inverse
    Hessian of the scaled objective in the log-parameters (from a fit on a
    subset), which spares BFGS its first, badly scaled steps. Raises :class:`DataError` when the
    optimiser does not converge or the optimum is not a proper maximum.

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

    def with_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        value, grad = gradient(params)  # type: ignore[misc]
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(theta)
        return -value / scale, -grad * params / scale

    if gradient is not None:
        theta = np.log(start) if hess_inv is None else _newton(with_gradient, np.log(start), hess_inv)
        res = minimize(with_gradient, theta, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 5000})
        theta = res.x
        ok = np.isfinite(res.fun) and np.max(np.abs(with_gradient(theta)[1])) < 1e-6
        if not ok:  # a hard surface: the derivative-free search, then the gradient again
            theta = _search(objective, theta)
            theta = minimize(with_gradient, theta, jac=True, method="BFGS", options={"gtol": 1e-9}).x
            ok = np.max(np.abs(with_gradient(theta)[1])) < 1e-6
    else:
        theta = _search(objective, np.log(start), polish_first=True)
        ok = _stationary(objective, theta)
    if not ok or not np.isfinite(objective(theta)) or np.any(np.abs(theta) > 25):
        raise DataError(f"the {what} fit did not converge (parameters {_show(names, np.exp(theta))}): "
                        "the data do not identify the model; check the input columns, or try another model")
    params = np.exp(theta)
    if gradient is not None:
        hess = _hessian_from_gradient(lambda t: -gradient(np.exp(t))[1] * np.exp(t), theta)
    else:
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
               float(loglik(params)), n, cov_log)


def _newton(f: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, hess_inv: np.ndarray,
            steps: int = 20) -> np.ndarray:
    """Newton steps with a fixed inverse Hessian (halved while they do not improve)."""
    value, grad = f(theta)
    for _ in range(steps):
        if not np.isfinite(value) or np.max(np.abs(grad)) < 1e-8:
            break
        step, t = -hess_inv @ grad, 1.0
        while t > 1e-3:
            new_value, new_grad = f(theta + t * step)
            if new_value <= value:
                theta, value, grad = theta + t * step, new_value, new_grad
                break
            t /= 2
        else:
            break
    return theta


def _search(objective: Callable[[np.ndarray], float], theta: np.ndarray, polish_first: bool = False) -> np.ndarray:
    """BFGS with numerical derivatives, then Nelder-Mead and BFGS again if that did not settle."""
    from scipy.optimize import minimize

    best = minimize(objective, theta, method="BFGS", options={"gtol": 1e-9, "maxiter": 5000}) \
        if polish_first else None
    if best is not None and _stationary(objective, best.x):
        return best.x
    x0 = theta if best is None or not np.isfinite(best.fun) else best.x
    simplex = minimize(objective, x0, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 40000})
    polish = minimize(objective, simplex.x, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    return polish.x if polish.fun <= simplex.fun else simplex.x


def _hessian_from_gradient(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Hessian as central differences of an analytic gradient, symmetrised."""
    cols = [(grad(x + h) - grad(x - h)) / (2 * step) for h in np.eye(len(x)) * step]
    out = np.array(cols).T
    return (out + out.T) / 2


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

"""Customer lifetime value: BTYD models fitted by maximum likelihood, and per-customer value.

Non-contractual (purchases whenever): BG/NBD on ``segment rfm --btyd``
output, with the Gamma-Gamma model of spend per repeat purchase.
Contractual (renewals): shifted-beta-geometric and beta-discrete-Weibull on
duration and churn per customer, per acquisition cohort.

>>> from segment.clv import clv, fit, score  # doctest: +SKIP
"""

from segment.clv._clv import CLVModel, CLVResult, HORIZON, MODELS, TIME_UNITS, backtest, clv, fit, score, survival_curves

__all__ = ["CLVModel", "CLVResult", "HORIZON", "MODELS", "TIME_UNITS", "backtest", "clv", "fit", "score", "survival_curves"]

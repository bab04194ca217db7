"""From the planted levels to what an extract shows: seasonality, noise, rounding, gaps.

Observed value = latent level x seasonal factor of the calendar month x
days-in-month factor (usage only) x log-normal noise with mean 1, rounded
the way billing extracts round (0.1 minute, 0.1 MB, whole SMS, cents).
Exact zeros (suspended, silent and cancellation months) stay zero. SMS
counts are Poisson around their level, and a small share of them is missing
(null) as when the SMSC feed has a gap (only in months with traffic). Complaints are Poisson counts whose
rate rises while a churn path runs and for fibre customers without tech
support.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> lognormal_noise(rng, (2, 3), 0.0).tolist()
[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segment.synth import _world as w
from segment.synth._lines import Lines
from segment.synth._paths import Paths, addon

_MEAN_DAYS = 365.25 / 12


@dataclass
class Observed:
    """Observed monthly values of a block, ``(n, M)`` each."""

    voice: np.ndarray
    data: np.ndarray
    sms: np.ndarray          # float with NaN where missing
    revenue: np.ndarray
    complaints: np.ndarray


def lognormal_noise(rng: np.random.Generator, shape: tuple[int, int], sd: float | np.ndarray,
                    rho: float = 0.0) -> np.ndarray:
    """Multiplicative noise ``exp(sd * z - sd**2 / 2)`` (mean 1), ``z`` an AR(1) series along axis 1.

    ``z`` is standard normal in every month with correlation *rho* between
    consecutive months: a customer's heavy month tends to be followed by
    another heavy one, as in real usage.
    """
    sd = np.asarray(sd, dtype=np.float64)
    z = rng.standard_normal(shape)
    for j in range(1, shape[1]):
        z[:, j] = rho * z[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    return np.exp(sd * z - sd**2 / 2)


def observe(rng: np.random.Generator, lines: Lines, paths: Paths, *, start_month: int) -> Observed:
    """Draw the observed panel values of a block (see module docstring)."""
    n, M = paths.voice.shape
    cal = (start_month - 1 + np.arange(M)) % 12
    dayf = (paths.days / _MEAN_DAYS)[None, :]
    sd = w.NOISE_SD

    def usage(latent: np.ndarray, metric: str) -> np.ndarray:
        noisy = latent * w.SEASON[metric][cal][None, :] * dayf * lognormal_noise(rng, (n, M), sd[metric], w.NOISE_RHO)
        return np.round(noisy, 1)

    voice = usage(paths.voice, "voice_min")
    data = usage(paths.data, "data_mb")
    rate = paths.sms * w.SEASON["sms"][cal][None, :] * dayf * lognormal_noise(rng, (n, M), sd["sms"])
    sms = rng.poisson(rate).astype(np.float64)
    # Gaps hit only months with traffic, so a quiet month is never mistaken for a gap.
    sms[(rng.random((n, M)) < w.SMS_MISSING) & (paths.voice + paths.data > 0)] = np.nan
    rev_sd = np.where(lines.prepaid, sd["revenue_prepaid"], sd["revenue_postpaid"])[:, None]
    revenue = paths.revenue * w.SEASON["revenue"][cal][None, :] * lognormal_noise(rng, (n, M), rev_sd, w.NOISE_RHO)
    revenue = np.round(revenue, 2)

    no_support = addon(lines, "fibre") & ~addon(lines, "tech_support")
    lam = w.COMPLAINT_RATE * np.where(no_support, w.COMPLAINT_NO_SUPPORT_FACTOR, 1.0)[:, None]
    lam = lam * np.where(paths.churning, w.COMPLAINT_CHURN_FACTOR, 1.0)
    complaints = rng.poisson(np.broadcast_to(lam, (n, M)))
    return Observed(voice=voice, data=data, sms=sms, revenue=revenue, complaints=complaints)

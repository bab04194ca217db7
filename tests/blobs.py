"""Customer-like data with planted clusters, for tests and benchmarks.

Each cluster is a Gaussian in log space (so raw values are heavy-tailed,
like minutes, megabytes and revenue), clusters differ in size and spread,
and a share of customers is uniform noise over the whole range.
"""

from __future__ import annotations

import numpy as np
import polars as pl

FEATURES = ("avg_voice_min", "avg_data_mb", "avg_sms", "arpu")
# Cluster centres in log1p space, chosen several spreads apart.
_CENTRES = np.array([
    [5.5, 6.0, 1.0, 3.0],   # voice heavy
    [3.0, 8.5, 0.5, 3.5],   # data heavy
    [4.0, 5.0, 3.5, 2.5],   # texters
    [6.0, 8.5, 2.5, 4.5],   # heavy everything, high value
    [2.0, 3.5, 0.5, 2.0],   # light users
    [4.5, 7.0, 4.5, 5.0],   # small premium group (1.5 %)
])
_SHARES = np.array([0.34, 0.26, 0.18, 0.12, 0.10, 0.015])
_SPREADS = np.array([0.30, 0.35, 0.25, 0.30, 0.20, 0.20])


def planted(n: int, *, seed: int = 0, noise: float = 0.03, clusters: int = 5,
            id_width: int = 8, overlap: float = 1.0) -> tuple[pl.DataFrame, np.ndarray]:
    """Return ``(customers, true_cluster)``; ``true_cluster`` is -1 for noise.

    Customers are in random order; ``customer_id`` is text such as
    ``C00000042``. ``clusters=6`` adds a small group (1.5 % of customers);
    ``overlap`` multiplies every cluster's spread (1.5 makes them touch).
    """
    rng = np.random.default_rng(seed)
    centres, spreads = _CENTRES[:clusters], _SPREADS[:clusters] * overlap
    shares = _SHARES[:clusters] / _SHARES[:clusters].sum()
    n_noise = int(round(noise * n))
    truth = np.concatenate([rng.choice(clusters, size=n - n_noise, p=shares),
                            np.full(n_noise, -1)])
    logs = centres[np.maximum(truth, 0)] + rng.standard_normal((n, centres.shape[1])) * spreads[np.maximum(truth, 0), None]
    lo, hi = centres.min(axis=0) - 1.5, centres.max(axis=0) + 1.5
    logs[truth < 0] = rng.uniform(lo, hi, size=(n_noise, centres.shape[1]))
    values = np.expm1(np.maximum(logs, 0.0))
    order = rng.permutation(n)
    ids = np.char.add("C", np.char.zfill(np.arange(n).astype(str), id_width))
    frame = pl.DataFrame({"customer_id": ids[order],
                          **{f: values[order, j] for j, f in enumerate(FEATURES)}})
    return frame, truth[order]

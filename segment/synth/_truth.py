"""Lifecycle truth: the field's stage rules applied to the planted, noise-free levels.

For every panel row (customer-month) the truth is what the rules in
``../shared/DOMAIN.md`` (as stated for ``segment lifecycle``, issue 6) give
when they are applied to the *latent* levels of voice minutes, data MB and
revenue: the planted trajectory before seasonality, days-in-month, noise and
missing values. A correct detector run on the noisy panel therefore differs
from the truth only where noise pushes a window/baseline ratio across the
threshold.

Rules, in order (defaults of :data:`segment.synth._world.TRUTH_RULES`):

1. **exit**: status cancelled, or no usage (voice, data and revenue all zero)
   in this month and the two before it (three observed months).
2. **decline**: for voice, data or revenue, the mean of the *window* (this
   month and the ones before it) is at most 70% of the mean of the
   *baseline* (the months just before the window), the baseline mean being
   above zero. History counts only the customer's rows in the panel (months
   before the first panel month are unknown to any detector): with ``h``
   observed months up to and including this one, the window holds
   ``min(3, h - 1)`` months and the baseline the ``min(3, h - window)``
   months before it, so a customer's second month can already be a decline
   against the first, and from the sixth observed month on it is 3 months
   against 3. Subtype: ``double-drop`` when voice and data both fell,
   ``single-drop:voice_min`` / ``single-drop:data_mb`` when one of them did,
   ``revenue-drop`` when only revenue did.
3. otherwise the tenure stage: **acquisition** for tenure 1-3, **build-up**
   for 4-6, **maturity** from 7; tenure 1 is the activation month.

**Win-back**: a month with usage after 1 to 3 (``winback``) months without
usage is a win-back (never a decline: the history ``h`` starts again there,
so later months compare windows and baselines from the return on). A return
after a longer silence is judged as any other month.

Tenure stops at exit: every month of a run of exit months keeps the tenure
of the run's first month.

Exit subtype: ``exit_swap`` when the person (``identity``) moved to a new
line activated before this one's last month with usage (a number swap),
``re-entry`` when the person has a later line in the panel, else ``churn``.

Examples
--------
A line that loses 70% of its voice minutes from its 7th month:

>>> import numpy as np
>>> voice = np.array([[100.0] * 6 + [30.0] * 6])
>>> data = np.full((1, 12), 50.0)
>>> revenue = np.full((1, 12), 10.0)
>>> status = np.zeros((1, 12), dtype=np.int8)
>>> exists = np.ones((1, 12), dtype=bool)
>>> stage, sub, tenure, winback = lifecycle_truth(voice, data, revenue, status, exists,
...                                               first=np.array([0]), activation=np.array([-10]))
>>> [STAGES[s] for s in stage[0]]  # doctest: +NORMALIZE_WHITESPACE
['maturity', 'maturity', 'maturity', 'maturity', 'maturity', 'maturity',
 'maturity', 'decline', 'decline', 'decline', 'decline', 'maturity']
>>> DECLINE_SUBTYPES[sub[0, 8]]
'single-drop:voice_min'
"""

from __future__ import annotations

import numpy as np

from segment.synth._paths import CANCELLED
from segment.synth._world import TRUTH_RULES as R

STAGES = ("acquisition", "build-up", "maturity", "decline", "exit")
ACQUISITION, BUILDUP, MATURITY, DECLINE, EXIT = range(5)
#: Codes of :func:`lifecycle_truth`'s subtype matrix; 0 = none.
DECLINE_SUBTYPES = (None, "double-drop", "single-drop:voice_min", "single-drop:data_mb", "revenue-drop")
EXIT_SUBTYPES = ("churn", "re-entry", "exit_swap")


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """``out[:, j] = x[:, j - k]`` (zeros for j < k)."""
    if k == 0:
        return x
    out = np.zeros_like(x)
    out[:, k:] = x[:, :-k]
    return out


def fell(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Where the window mean is at most ``1 - drop`` of the baseline mean (see module docstring)."""
    win_n = np.minimum(R["window"], h - 1)
    base_n = np.minimum(R["baseline"], h - win_n)
    win = np.zeros_like(x)
    base = np.zeros_like(x)
    for k in range(R["window"] + R["baseline"]):
        s = _shift(x, k)
        win += np.where(k < win_n, s, 0.0)
        base += np.where((k >= win_n) & (k < win_n + base_n), s, 0.0)
    ok = (win_n >= 1) & (base_n >= 1) & (base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ok & (win / np.maximum(win_n, 1) <= (1 - R["drop"]) * (base / np.maximum(base_n, 1)))


def lifecycle_truth(voice: np.ndarray, data: np.ndarray, revenue: np.ndarray, status: np.ndarray,
                    exists: np.ndarray, *, first: np.ndarray,
                    activation: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stage code, decline-subtype code, tenure and win-back flag per line and panel month.

    All matrices are ``(n, M)``; *first* is each line's first panel month with
    a row and *activation* its activation month (same month index, may be
    negative). Values outside ``exists`` are meaningless.
    """
    M = voice.shape[1]
    j = np.arange(M)[None, :]
    tenure = j - activation[:, None] + 1
    used = exists & ((voice > 0) | (data > 0) | (revenue > 0))
    # One pass over the months (vectorised over lines): the last month with usage so far, and where
    # the history starts (the first row, or the latest win-back).
    winback = np.zeros_like(exists)
    anchor = first.copy()
    last_used = np.full(len(first), -(10**6))
    h = np.zeros(voice.shape, dtype=np.int64)
    for t in range(M):
        gap = t - last_used - 1
        back = used[:, t] & (last_used >= 0) & (gap >= 1) & (gap <= R["winback"])
        winback[:, t] = back
        anchor = np.where(back, t, anchor)
        h[:, t] = np.where(exists[:, t], t - anchor + 1, 0)
        last_used = np.where(used[:, t], t, last_used)

    quiet = exists & (voice == 0) & (data == 0) & (revenue == 0)
    silent = h >= R["exit_after"]
    for k in range(R["exit_after"]):
        silent = silent & _shift(quiet, k)
    exit_ = exists & ((status == CANCELLED) | silent)

    fv, fd, fr = fell(voice, h), fell(data, h), fell(revenue, h)
    decline = exists & ~exit_ & (fv | fd | fr)
    sub = np.select([fv & fd, fv, fd, fr], [1, 2, 3, 4], 0).astype(np.int8)
    sub = np.where(decline, sub, 0).astype(np.int8)

    stage = np.select([tenure <= R["acquisition_max_tenure"], tenure <= R["buildup_max_tenure"]],
                      [ACQUISITION, BUILDUP], MATURITY)
    stage = np.where(decline, DECLINE, stage)
    stage = np.where(exit_, EXIT, stage).astype(np.int8)
    winback &= ~exit_
    for t in range(1, M):  # tenure stops at exit
        tenure[:, t] = np.where(exit_[:, t] & exit_[:, t - 1], tenure[:, t - 1], tenure[:, t])
    return stage, sub, tenure, winback

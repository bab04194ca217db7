"""Payments behind each month's revenue: bill payments, recharges and refunds.

For every panel row with revenue above zero the amounts of that month's
transactions sum exactly (to the cent) to the row's revenue:

- postpaid lines pay one bill (``bill_payment``) on a random day of the month;
- prepaid lines top up 1 + Poisson(1.2) times (at most 6, and at most one
  top-up per 3.00 of revenue; ``recharge``), splitting the month's revenue
  at random;
- in a small share of months (0.4%) a payment is too large by some amount
  that is refunded later the same month (``refund``, a negative amount).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> line, day, cents, kind = payments(rng, line=np.array([0, 1]), cents=np.array([1234, 500]),
...                                   days=np.array([31, 30]), prepaid=np.array([True, False]))
>>> [int(cents[line == i].sum()) for i in (0, 1)]
[1234, 500]
"""

from __future__ import annotations

import numpy as np

from segment.synth import _world as w

KINDS = ("bill_payment", "recharge", "refund")
MAX_RECHARGES = 6
MIN_RECHARGE_CENTS = 300


def payments(rng: np.random.Generator, *, line: np.ndarray, cents: np.ndarray, days: np.ndarray,
             prepaid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Transactions for billed months.

    Parameters are per billed month (row): the row's position (*line*, any
    integer key, returned as is), revenue in *cents* (> 0), *days* in its
    month and whether the line is *prepaid*. Returns ``(row key, day of month
    1-based, cents, kind code)`` per transaction, sorted by key, day and kind.
    """
    rows = len(cents)
    k = np.where(prepaid, 1 + np.minimum(rng.poisson(w.RECHARGE_EXTRA_MEAN, rows), MAX_RECHARGES - 1), 1)
    # Top-ups are worth a few currency units at least: light users top up once.
    k = np.minimum(k, np.maximum(1, cents // MIN_RECHARGE_CENTS))
    owner = np.repeat(np.arange(rows), k)
    # Random split of the month's cents (gamma weights: top-ups of similar size), floor, remainder to the first.
    weight = rng.gamma(4.0, size=len(owner))
    total = np.bincount(owner, weights=weight, minlength=rows)
    share = np.floor(weight / total[owner] * cents[owner]).astype(np.int64)
    share = np.maximum(share, 1)
    first = np.r_[0, np.cumsum(k)[:-1]]
    share[first] += cents - np.bincount(owner, weights=share, minlength=rows).astype(np.int64)
    # The remainder can make the first share non-positive when the others were
    # pushed up to 1 cent; move the shortfall onto the largest share instead.
    bad = np.flatnonzero(share[first] < 1)
    for r in bad:  # rare (tiny months split in many parts): loop is fine
        idx = np.arange(first[r], first[r] + k[r])
        need = 1 - share[first[r]]
        top = idx[np.argmax(share[idx])]
        share[top] -= need
        share[first[r]] += need
    day = 1 + np.floor(rng.random(len(owner)) * days[owner]).astype(np.int64)
    kind = np.where(prepaid[owner], 1, 0)

    refund = rng.random(rows) < w.REFUND_RATE
    r_rows = np.flatnonzero(refund)
    extra = np.maximum(1, np.round(cents[r_rows] * rng.uniform(0.1, 0.5, len(r_rows)))).astype(np.int64)
    share[first[r_rows]] += extra
    r_day = day[first[r_rows]] + np.floor(rng.random(len(r_rows)) * (days[r_rows] - day[first[r_rows]] + 1))
    owner = np.r_[owner, r_rows]
    share = np.r_[share, -extra]
    day = np.r_[day, r_day.astype(np.int64)]
    kind = np.r_[kind, np.full(len(r_rows), 2)]

    # One integer key (row, day, refund last) sorts faster than a lexsort; stable for equal keys.
    order = np.argsort((owner.astype(np.int64) * 64 + day * 2 + (kind == 2)), kind="stable")
    return line[owner][order], day[order], share[order], kind[order].astype(np.int8)

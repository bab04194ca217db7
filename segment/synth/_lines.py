"""Who the synthetic customers are: one draw per line (customer_id).

Everything is drawn for a whole block of lines at once with numpy; the
categorical attributes are kept as small integer codes into the label tuples
of :mod:`segment.synth._world` until the tables are assembled.

Examples
--------
>>> import numpy as np
>>> lines = draw_lines(np.random.default_rng(0), first=0, n=1000, months=24)
>>> lines.n, lines.level.shape
(1000, (1000, 4))
>>> bool((lines.contract[lines.prepaid] == CONTRACTS.index("month-to-month")).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segment.synth import _world as w

CONTRACTS = ("month-to-month", "one-year", "two-year")
PAYMENTS = ("cash", "e_wallet", "credit_card", "direct_debit")
CHANNELS = tuple(w.CHANNELS)
GENDERS = tuple(w.GENDERS)
AGE_BANDS = w.AGE_BANDS
ADDONS = tuple(w.ADDONS)
#: Log levels are kept in this column order.
LEVELS = ("voice_min", "data_mb", "sms", "arpu")


@dataclass
class Lines:
    """Attributes of a block of lines; arrays of length ``n`` unless noted."""

    index: np.ndarray          # global line number, 0-based
    group: np.ndarray          # value/behaviour group, -1 = noise
    level: np.ndarray          # (n, 4) mature monthly levels: voice, data, sms, arpu
    plan: np.ndarray
    prepaid: np.ndarray        # bool
    contract: np.ndarray
    addons: np.ndarray         # (n, len(ADDONS)) bool
    payment: np.ndarray
    channel: np.ndarray        # -1 = missing
    gender: np.ndarray
    age: np.ndarray            # -1 = missing
    activation: np.ndarray     # month index relative to the first panel month (may be negative)
    activation_day: np.ndarray
    churn_logit: np.ndarray

    @property
    def n(self) -> int:
        return len(self.index)


def categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None = None,
                size: int | None = None) -> np.ndarray:
    """Draw category codes: from one probability vector, or row-wise from ``probs[rows]``."""
    cum = np.cumsum(probs, axis=-1)
    cum[..., -1] = 1.0  # guard against rounding in the shares
    if rows is None:
        u = rng.random(size)
        return np.searchsorted(cum, u, side="right").astype(np.int16)
    u = rng.random(len(rows))
    return (u[:, None] >= cum[rows]).sum(axis=1).astype(np.int16)


def _table(rows: list[dict[str, float]], labels: tuple[str, ...]) -> np.ndarray:
    return np.array([[r.get(k, 0.0) for k in labels] for r in rows], dtype=np.float64)


def draw_lines(rng: np.random.Generator, *, first: int, n: int, months: int) -> Lines:
    """Draw *n* lines numbered from *first* (see module docstring)."""
    groups = w.GROUPS
    g_share = np.array([g.share for g in groups] + [w.NOISE_SHARE])
    code = categorical(rng, g_share, size=n)
    group = np.where(code == len(groups), -1, code).astype(np.int8)
    level = _levels(rng, group)

    # Plans and ages depend on the group (noise customers: uniform plans, overall ages).
    plan_p = _table([g.plans for g in groups] + [dict.fromkeys(w.PLANS, 1 / len(w.PLANS))], w.PLANS)
    overall_age = {a: sum(g.share * g.ages[a] for g in groups) / (1 - w.NOISE_SHARE) for a in w.AGE_BANDS}
    age_p = _table([g.ages for g in groups] + [overall_age], w.AGE_BANDS)
    row = np.where(group < 0, len(groups), group)
    plan = categorical(rng, plan_p, rows=row)
    prepaid = np.isin(plan, [w.PLANS.index(p) for p in w.PREPAID])
    age = categorical(rng, age_p, rows=row)
    age[rng.random(n) < w.AGE_MISSING] = -1

    contract = categorical(rng, np.array(list(w.POSTPAID_CONTRACTS.values())), size=n)
    contract[prepaid] = CONTRACTS.index("month-to-month")
    addons = np.empty((n, len(ADDONS)), dtype=bool)
    for k, (pre, post, _) in enumerate(w.ADDONS.values()):
        addons[:, k] = rng.random(n) < np.where(prepaid, pre, post)
    pay_p = _table([w.PAYMENT["prepaid"], w.PAYMENT["postpaid"]], PAYMENTS)
    payment = categorical(rng, pay_p, rows=np.where(prepaid, 0, 1))
    gender = categorical(rng, np.array(list(w.GENDERS.values())), size=n)

    stock = rng.random(n) < w.STOCK_SHARE
    # Tenure at the panel start is at least 2, so every stock line has a month before it.
    tenure0 = np.minimum(1 + rng.geometric(1 / (w.STOCK_MEAN_TENURE - 1), size=n), w.STOCK_MAX_TENURE)
    new_month = rng.integers(0, months, size=n)
    activation = np.where(stock, 1 - tenure0, new_month).astype(np.int32)
    activation_day = rng.random(n)  # turned into a day of the month once the month is known
    channel = categorical(rng, np.array(list(w.CHANNELS.values())), size=n)
    legacy = stock & (tenure0 > w.LEGACY_TENURE) & (rng.random(n) < w.LEGACY_CHANNEL_MISSING)
    channel[legacy] = -1

    lines = Lines(index=np.arange(first, first + n, dtype=np.int64), group=group, level=level, plan=plan,
                  prepaid=prepaid, contract=contract, addons=addons, payment=payment, channel=channel,
                  gender=gender, age=age, activation=activation, activation_day=activation_day,
                  churn_logit=np.zeros(n))
    lines.churn_logit = churn_logits(lines)
    return lines


def _levels(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """Mature monthly levels (n, 4), log-normal around the group centre."""
    n = len(group)
    centre = np.log(np.array([[g.voice_min, g.data_mb, g.sms, g.arpu] for g in w.GROUPS]))
    cov = np.full((4, 4), w.LEVEL_CORR) + (1 - w.LEVEL_CORR) * np.eye(4)
    z = rng.multivariate_normal(np.zeros(4), cov, size=n, method="cholesky") * w.LEVEL_SD
    lo, hi = centre.min(axis=0) - w.NOISE_MARGIN, centre.max(axis=0) + w.NOISE_MARGIN
    noise = lo + rng.random((n, 4)) * (hi - lo)
    log_level = np.where((group >= 0)[:, None], centre[np.maximum(group, 0)] + z, noise)
    return np.exp(log_level)


def churn_logits(lines: Lines) -> np.ndarray:
    """Planted churn log-odds per line (:data:`segment.synth._world.CHURN_EFFECTS`)."""
    values = {
        "contract": (lines.contract, CONTRACTS),
        **{a: (lines.addons[:, k].astype(np.int16), ("no", "yes")) for k, a in enumerate(ADDONS)},
    }
    logit = np.full(lines.n, w.CHURN_BASE_LOGIT)
    for _, conditions, effect in w.CHURN_EFFECTS:
        hit = np.ones(lines.n, dtype=bool)
        for col, val in conditions:
            codes, labels = values[col]
            hit &= codes == labels.index(val)
        logit += effect * hit
    return logit


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def identity_keys(seed: int, person: np.ndarray) -> np.ndarray:
    """16 hex digits per person number: a stand-in for a hashed ID-document key.

    >>> identity_keys(0, np.array([0, 1])).tolist()
    [b'a706dd2f4d197e6f', b'08b4fda8c892b50e']
    """
    salt = _splitmix64(np.array([seed], dtype=np.uint64))[0]
    h = _splitmix64(np.asarray(person, dtype=np.uint64) ^ salt)
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = ((h[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return np.ascontiguousarray(chars).view("S16").ravel()

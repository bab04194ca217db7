"""What happens to each synthetic line month by month: the planted, noise-free process.

For a block of lines and ``M`` panel months this builds ``(n, M)`` matrices:
which rows exist, the status of each row, and the multipliers that turn a
line's mature level into its latent (noise-free) monthly level. Month ``j``
is the ``j``-th panel month (0-based); a line's tenure in month ``j`` is
``j - activation + 1``.

Planted shapes (multipliers of the mature level, from the path's first month
``s``; ``C`` is the cancellation row: status cancelled, zero usage, the
line's last row):

====================== ====================================================
path                   months s, s+1, ...
====================== ====================================================
double-drop-cancel     voice and data: a, b, [b, [b]], C
double-drop-silent     voice and data: a, b, 0, 0, 0, C (zeros: status active)
suspension-cancel      q, 0, 0, 0, C (zeros: status suspended)
silent                 q, 0, 0, 0, C (zeros: status active)
cancel                 C
single-drop:<metric>   that metric: f from s on (no exit)
revenue-drop           revenue: f from s on (no exit)
double-drop-stay       voice and data: a, b, b, ... (no exit)
suspension-recover     q, 0, [0], p, then back to the level (zeros: suspended)
silent-return          q, 0, [0, [0]], p, then back to the level (zeros: active)
====================== ====================================================

with ``a``, ``b``, ``f``, ``p``, ``q`` drawn per line from the ranges in
:mod:`segment.synth._world`. Usage ramps up over the first months of tenure
and the activation month is pro-rated by the activation day.

Examples
--------
>>> import numpy as np
>>> from segment.synth._lines import draw_lines
>>> rng = np.random.default_rng(1)
>>> lines = draw_lines(rng, first=0, n=500, months=24)
>>> paths = draw_paths(rng, lines, 24)
>>> paths.voice.shape
(500, 24)
>>> bool((paths.voice[~paths.exists] == 0).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segment.synth import _world as w
from segment.synth._lines import ADDONS, Lines, categorical

CHURN_KINDS = tuple(w.CHURN_PATHS)
STAY_KINDS = tuple(w.STAY_PATHS)
#: Every path kind, as coded in :attr:`Paths.kind` (churn kinds first).
KINDS = CHURN_KINDS + STAY_KINDS
ACTIVE, SUSPENDED, CANCELLED = 0, 1, 2
STATUSES = ("active", "suspended", "cancelled")


@dataclass
class Paths:
    """The planted process of a block of lines (see module docstring)."""

    exists: np.ndarray      # (n, M) bool: the panel has a row
    status: np.ndarray      # (n, M) int8: ACTIVE / SUSPENDED / CANCELLED
    voice: np.ndarray       # (n, M) latent voice minutes
    data: np.ndarray        # (n, M) latent data MB
    sms: np.ndarray         # (n, M) latent SMS
    revenue: np.ndarray     # (n, M) latent revenue
    churning: np.ndarray    # (n, M) bool: a churn path is running (complaints rise)
    first: np.ndarray       # first panel month with a row
    last: np.ndarray        # last panel month with a row
    kind: np.ndarray        # path code into KINDS
    start: np.ndarray       # first month of the path (-1 for "none")
    churn: np.ndarray       # bool: the line is cancelled within the window
    days: np.ndarray        # (M,) days in each panel month


def month_days(start_year: int, start_month: int, months: int) -> np.ndarray:
    """Days in each of *months* consecutive months from the given one.

    >>> month_days(2024, 1, 3).tolist()
    [31, 29, 31]
    """
    first = np.datetime64(f"{start_year:04d}-{start_month:02d}", "M")
    edges = np.arange(first, first + months + 1, dtype="datetime64[M]").astype("datetime64[D]")
    return np.diff(edges).astype(np.int64)


def draw_paths(rng: np.random.Generator, lines: Lines, months: int, *,
               start_year: int = 2023, start_month: int = 1) -> Paths:
    """Draw each line's path and build its latent monthly levels."""
    n, M = lines.n, months
    j = np.arange(M)[None, :]
    first = np.maximum(lines.activation, 0)

    churn, kind, start, cancel = _choose_paths(rng, lines, first, M)
    last = np.where(churn, cancel, M - 1)
    exists = (j >= first[:, None]) & (j <= last[:, None])
    r = j - start[:, None]  # months since the path began
    on = (start >= 0)[:, None] & (r >= 0)

    a = rng.uniform(*w.DOUBLE_FIRST, n)[:, None]
    b = rng.uniform(*w.DOUBLE_LOW, n)[:, None]
    f = rng.uniform(*w.SINGLE_LOW, n)[:, None]
    q = rng.uniform(*w.DIP, n)[:, None]
    p = rng.uniform(*w.RECOVERY, n)[:, None]
    gap = rng.integers(1, 3, n)[:, None]  # suspended months before a recovery
    # Silent months before a silent return: 1-3, so that some returns come after an exit (win-backs).
    # Drawn from a stream of their own: the main stream, and so every other line, stays as it was.
    extra = _side_stream(rng)
    gap = np.where(is_kind_flat(kind, "silent-return"), extra.integers(1, 4, n), gap[:, 0])[:, None]

    def is_kind(*names: str) -> np.ndarray:
        return np.isin(kind, [KINDS.index(k) for k in names])[:, None]

    double = is_kind("double-drop-cancel", "double-drop-silent", "double-drop-stay") & on
    dip = is_kind("suspension-cancel", "silent", "suspension-recover", "silent-return") & on
    drop = np.where(double, np.where(r == 0, a, b), 1.0) * np.where(dip & (r == 0), q, 1.0)
    voice_event = drop * np.where(is_kind("single-drop:voice_min") & on, f, 1.0)
    data_event = drop * np.where(is_kind("single-drop:data_mb") & on, f, 1.0)
    revenue_event = np.where(is_kind("revenue-drop") & on, f, 1.0)

    zero = (is_kind("double-drop-silent") & on & (r >= 2)) | (is_kind("suspension-cancel", "silent") & on & (r >= 1))
    zero |= is_kind("suspension-recover", "silent-return") & on & (r >= 1) & (r <= gap)
    # Service comes back mid-month: the first month after a suspension is partial.
    back = is_kind("suspension-recover", "silent-return") & on & (r == gap + 1)
    drop = np.where(back, p, drop)
    cancelled = churn[:, None] & (j == cancel[:, None])
    zero |= cancelled
    suspended = (is_kind("suspension-cancel", "suspension-recover") & zero & ~cancelled)

    tenure = j - lines.activation[:, None] + 1
    ramp = np.clip(w.RAMP_START + (1 - w.RAMP_START) * (tenure - 1) / w.RAMP_MONTHS, 0.0, 1.0)
    days = month_days(start_year, start_month, M)
    # Activation month: only the days from the activation day on are used.
    _, act_day, act_days = activation_dates(lines, start_year, start_month)
    prorate = np.where(tenure == 1, ((act_days - act_day + 1) / act_days)[:, None], 1.0)

    live = exists & ~zero
    uv = ramp * voice_event
    ud = ramp * data_event
    level = lines.level
    voice = np.where(live, level[:, [0]] * prorate * uv, 0.0)
    data = np.where(live, level[:, [1]] * prorate * ud, 0.0)
    sms = np.where(live, level[:, [2]] * prorate * uv, 0.0)
    fixed = np.where(lines.prepaid, w.FIXED_REVENUE["prepaid"], w.FIXED_REVENUE["postpaid"])[:, None]
    revenue = np.where(live, level[:, [3]] * prorate * (fixed + (1 - fixed) * 0.5 * (uv + ud)) * revenue_event, 0.0)

    status = np.full((n, M), ACTIVE, dtype=np.int8)
    status[suspended] = SUSPENDED
    status[cancelled] = CANCELLED
    churning = churn[:, None] & on & exists
    return Paths(exists=exists, status=status, voice=voice, data=data, sms=sms, revenue=revenue,
                 churning=churning, first=first, last=last, kind=kind, start=start, churn=churn, days=days)


#: Months from a churn path's first month to its cancellation row.
_CHURN_LENGTH = {"double-drop-cancel": (2, 4), "double-drop-silent": (5, 5), "suspension-cancel": (4, 4),
                 "silent": (4, 4), "cancel": (0, 0)}


def _choose_paths(rng: np.random.Generator, lines: Lines, first: np.ndarray,
                  M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = lines.n
    churn = rng.random(n) < 1 / (1 + np.exp(-lines.churn_logit))
    ckind = categorical(rng, np.array(list(w.CHURN_PATHS.values())), size=n)
    lo = np.array([_CHURN_LENGTH[k][0] for k in CHURN_KINDS])[ckind]
    hi = np.array([_CHURN_LENGTH[k][1] for k in CHURN_KINDS])[ckind]
    length = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    # A path needs one ordinary month before it; when it does not fit, a plain
    # cancellation is tried, and a line activated in the last month cannot churn.
    earliest = first + 1
    fits = earliest + length <= M - 1
    ckind = np.where(fits, ckind, CHURN_KINDS.index("cancel"))
    length = np.where(fits, length, 0)
    churn &= earliest <= M - 1
    u = rng.random(n)
    cstart = earliest + np.floor(u * np.maximum(M - 1 - length - earliest + 1, 1)).astype(np.int64)
    cancel = cstart + length

    skind = categorical(rng, np.array(list(w.STAY_PATHS.values())), size=n)
    none = STAY_KINDS.index("none")
    skind = np.where(earliest <= M - 1, skind, none)
    sstart = earliest + np.floor(rng.random(n) * np.maximum(M - earliest, 1)).astype(np.int64)

    kind = np.where(churn, ckind, len(CHURN_KINDS) + skind).astype(np.int16)
    start = np.where(churn, cstart, np.where(skind == none, -1, sstart))
    cancel = np.where(churn, cancel, -1)
    return churn, kind, start, cancel


def _side_stream(rng: np.random.Generator) -> np.random.Generator:
    """A generator seeded from *rng*'s seed that leaves *rng*'s own stream untouched."""
    return np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])  # type: ignore[attr-defined]


def is_kind_flat(kind: np.ndarray, *names: str) -> np.ndarray:
    """Per line: its path is one of *names*."""
    return np.isin(kind, [KINDS.index(k) for k in names])


def month_start(start_year: int, start_month: int, offsets: np.ndarray) -> np.ndarray:
    """First day (datetime64[D]) of the months *offsets* away from the given one."""
    first = np.datetime64(f"{start_year:04d}-{start_month:02d}", "M")
    return (first + np.asarray(offsets).astype("timedelta64[M]")).astype("datetime64[D]")


def activation_dates(lines: Lines, start_year: int, start_month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activation date, its day of the month (1-based) and the days in its month, per line."""
    begin = month_start(start_year, start_month, lines.activation)
    days = (month_start(start_year, start_month, lines.activation + 1) - begin).astype(np.int64)
    day = 1 + np.floor(lines.activation_day * days).astype(np.int64)
    return begin + (day - 1).astype("timedelta64[D]"), day, days


def match_reentries(rng: np.random.Generator, lines: Lines, paths: Paths,
                    months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pick which churned lines come back as a new line of the same person, or move to one.

    A churned line re-enters with probability ``REENTRY_SHARE``, 1-3 months
    after its cancellation month, as a line activated in that month within
    the same block (lines activated in a month are taken in line order).
    With probability ``SWAP_SHARE`` its person instead moved to a new line
    before it ended (a number swap): a line activated 0-2 months before the
    old line's last month with usage, and after its first. The new line keeps
    its own plan and usage but takes over the person: identity, gender and
    age band. Lines that plan to re-enter or swap are never themselves
    someone's new line, so there are no chains. When no new line is
    activated in the target month, or it falls outside the panel, the exit
    stays a plain churn.

    Returns ``(reentry_of, reentered_as, swap_of, swapped_as)``: the block
    position of the old line for each new line and of the new line for each
    old line, or -1. Updates ``lines.gender`` and ``lines.age`` of the new
    lines.
    """
    n = lines.n
    cancel = np.where(paths.churn, paths.last, -1)
    u = rng.random(n)
    wants = paths.churn & (u < w.REENTRY_SHARE)
    target = cancel + rng.choice(np.array(w.REENTRY_GAPS), n)
    wants &= target <= months - 1
    used = paths.exists & ((paths.voice > 0) | (paths.data > 0) | (paths.revenue > 0))
    last_used = np.where(used.any(axis=1), months - 1 - np.argmax(used[:, ::-1], axis=1), -1)
    swaps = paths.churn & (u >= w.REENTRY_SHARE) & (u < w.REENTRY_SHARE + w.SWAP_SHARE)
    swap_target = last_used - _side_stream(rng).choice(np.array(w.SWAP_LEADS), n)
    swaps &= (swap_target > paths.first) & (last_used >= 0)
    candidate = (lines.activation >= 0) & ~wants & ~swaps
    reentry_of = np.full(n, -1, dtype=np.int64)
    reentered_as = np.full(n, -1, dtype=np.int64)
    swap_of = np.full(n, -1, dtype=np.int64)
    swapped_as = np.full(n, -1, dtype=np.int64)
    for m in range(1, months):
        new = np.flatnonzero(candidate & (lines.activation == m))
        for wanting, target_m, of, as_ in ((wants, target, reentry_of, reentered_as),
                                           (swaps, swap_target, swap_of, swapped_as)):
            old = np.flatnonzero(wanting & (target_m == m))
            k = min(len(old), len(new))
            of[new[:k]] = old[:k]
            as_[old[:k]] = new[:k]
            new = new[k:]
    for of in (reentry_of, swap_of):
        new = np.flatnonzero(of >= 0)
        lines.gender[new] = lines.gender[of[new]]
        lines.age[new] = lines.age[of[new]]
    return reentry_of, reentered_as, swap_of, swapped_as


def addon(lines: Lines, name: str) -> np.ndarray:
    """Boolean column of one add-on service."""
    return lines.addons[:, ADDONS.index(name)]

"""A slow, literal reading of the lifecycle rules, one customer and one month at a time.

It follows the text of ``segment.lifecycle._lifecycle``'s docstring and docs/lifecycle.md
rather than the vectorised engine, so that the two can be compared on random
panels (``tests/test_lifecycle_properties.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    id: str
    month: int  # integer month (year * 12 + month - 1)
    usage: dict[str, float]
    status: str | None = None
    identity: str | None = None
    activation: int | None = None


def stages(rows: list[Row], roles: dict[str, str], *, window=3, baseline=3, drop=0.3, exit_after=3,
           acquisition=3, build_up=6, winback=3) -> dict[tuple[str, int], dict]:
    """(id, month) -> {stage, subtype, tenure, in_stage, winback} for every month from first row to the end."""
    end = max(r.month for r in rows)
    by_id: dict[str, dict[int, Row]] = {}
    for r in rows:
        by_id.setdefault(r.id, {})[r.month] = r
    usage_cols = [c for c, role in roles.items() if role != "revenue"]
    revenue_cols = [c for c, role in roles.items() if role == "revenue"]

    def used(row: Row | None) -> bool:
        return row is not None and any(v > 0 for v in row.usage.values())

    first_active = {}
    for cid, months in by_id.items():
        active = [t for t, r in months.items() if used(r)]
        first_active[cid] = min(active) if active else None

    out: dict[tuple[str, int], dict] = {}
    for cid, months in by_id.items():
        fa = first_active[cid]
        act = next(iter(months.values())).activation
        prev = None
        anchor = fa  # the window starts at the first activity, and again at each win-back
        for t in range(min(months), end + 1):
            origin = act if act is not None else fa
            tenure = t - origin + 1 if origin is not None and t - origin + 1 > 0 else None
            if fa is None or t < fa:
                if _cancelled(months, t):  # cancelled before any usage: an exit all the same
                    in_stage = prev["in_stage"] + 1 if prev is not None else 1
                    held = prev["tenure"] if prev is not None else tenure  # tenure stops at exit
                    prev = {"stage": "exit", "subtype": _exit_subtype(cid, t, months, by_id, first_active, used),
                            "tenure": held, "in_stage": in_stage, "winback": _winback(months, t, winback)}
                else:
                    prev = None
                    out[cid, t] = {"stage": None, "subtype": None, "tenure": None, "in_stage": None,
                                   "winback": _winback(months, t, winback)}
                    continue
                out[cid, t] = prev
                continue
            returned = False
            if used(months.get(t)) and t > fa:
                gap = 0
                while not used(months.get(t - 1 - gap)):
                    gap += 1
                if 1 <= gap <= winback:
                    returned, anchor = True, t
            h = t - anchor + 1

            def value(col: str, s: int) -> float:
                r = months.get(s)
                return r.usage[col] if r is not None else 0.0

            silent = 0
            while silent < h and not used(months.get(t - silent)):
                silent += 1
            if silent >= exit_after or _cancelled(months, t):
                stage, subtype = "exit", _exit_subtype(cid, t, months, by_id, first_active, used)
            else:
                w = min(window, h - 1)
                b = min(baseline, h - w)
                fell = {}
                for col in roles:
                    if h < 2 or b < 1:
                        fell[col] = False
                        continue
                    recent = sum(value(col, t - j) for j in range(w)) / w
                    base = sum(value(col, t - w - j) for j in range(b)) / b
                    fell[col] = base > 0 and recent <= (1 - drop) * base * (1 + 1e-9)
                usage_fell = [c for c in usage_cols if fell[c]]
                if len(usage_fell) >= 2:
                    subtype = "double-drop"
                elif len(usage_fell) == 1:
                    subtype = f"single-drop:{usage_fell[0]}"
                elif any(fell[c] for c in revenue_cols):
                    subtype = "revenue-drop"
                else:
                    subtype = None
                if subtype is not None:
                    stage = "decline"
                elif tenure <= acquisition:
                    stage = "acquisition"
                elif tenure <= build_up:
                    stage = "build-up"
                else:
                    stage = "maturity"
                if returned:  # h = 1: never a decline
                    subtype = "winback"
            in_stage = prev["in_stage"] + 1 if prev is not None and prev["stage"] == stage else 1
            if stage == "exit" and prev is not None and prev["stage"] == "exit":
                tenure = prev["tenure"]  # tenure stops at exit
            prev = {"stage": stage, "subtype": subtype, "tenure": tenure, "in_stage": in_stage,
                    "winback": _winback(months, t, winback)}
            out[cid, t] = prev
    return out


def _cancelled(months: dict[int, Row], t: int) -> bool:
    """The latest row at or before t says cancelled (months without a row carry it over)."""
    s = t
    while s >= min(months):
        if s in months:
            return months[s].status == "cancelled"
        s -= 1
    return False


def _winback(months: dict[int, Row], t: int, winback: int) -> int | None:
    if t not in months or months[t].status != "suspended":
        return None
    n = 0
    while t - n in months and months[t - n].status == "suspended":
        n += 1
    return max(winback - n, 0)


def _exit_subtype(cid, t, months, by_id, first_active, used) -> str:
    identity = next(iter(months.values())).identity
    if identity is None:
        return "churn"
    active = [s for s in range(min(months), t + 1) if used(months.get(s))]
    if active:
        last_used = max(active)
    else:  # never used: a line started after the cancellation month
        start = t
        while start - 1 >= min(months) and _cancelled(months, start - 1):
            start -= 1
        last_used = start
    others = [first_active[other] for other, rows in by_id.items()
              if other != cid and next(iter(rows.values())).identity == identity and first_active[other] is not None]
    mine = first_active[cid]
    # A number swap: a new line started while this one was in use (after its first active month).
    if any((mine is None or fa > mine) and fa <= last_used for fa in others):
        return "exit_swap"
    if any(fa > last_used for fa in others):
        return "re-entry"
    return "churn"

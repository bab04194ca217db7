"""Which segment labels are noise, and whether the segments are ordered tiers.

Noise: hdbscan labels customers that belong to no cluster ``-1``; such a
group is not a segment to act on, so it is never merged nor flagged small.
The label matches as a number (``-1``, ``-1.0``) or as text.

Ordered tiers (credit ratings, 1..5 scores): merging two levels that are not
neighbours ("4-Medium" absorbing "6-VeryLow" while "5-Low" stays apart) makes
a segmentation nobody can explain, so CHAID only merges adjacent categories
of an ordinal predictor. Detected when the segment column is an ordered
categorical (polars Enum), when the labels are the whole numbers 1..k
(k from 3 to 20), or when every label starts with a distinct number and
the numbers run 1..k or 0..k-1 (``1-Highest`` .. ``7-Lowest``).

Examples
--------
>>> import polars as pl
>>> tier_order(pl.Series(["1-Highest", "2-High", "3-Good", "4-Medium"]), None, [], False)
(array([0, 1, 2, 3]), "numbered labels '1-Highest' .. '4-Medium'")
>>> tier_order(pl.Series([-1, 0, 1, 2]), None, [0], False)
(None, None)
>>> noise_codes(pl.Series(["-1", "0", "1"]), -1), noise_codes(pl.Series([-1.0, 2.0]), "-1")
([0], [0])
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

_NUMBERED = re.compile(r"^\s*(\d+)\s*[-_.:)\s]\s*\S")
_MAX_TIERS = 20


def noise_codes(labels: pl.Series, noise_label: str | int | None) -> list[int]:
    """Codes of the labels equal to *noise_label*, as a number or as text."""
    if noise_label is None:
        return []
    text = str(noise_label).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    out = []
    for code, label in enumerate(labels.to_list()):
        if str(label).strip() == text:
            out.append(code)
            continue
        if number is not None and not isinstance(label, bool):
            try:
                if float(str(label)) == number:
                    out.append(code)
            except ValueError:
                pass
    return out


def tier_order(labels: pl.Series, ordinal: bool | None, noise: list[int],
               enum: bool) -> tuple[np.ndarray | None, str | None]:
    """Position of each label among ordered tiers and how they were recognised, or ``(None, None)``.

    *ordinal* True forces the labels' natural order, False turns tiers off,
    None detects them (see module docstring). Noise sits before every tier.
    """
    if ordinal is False:
        return None, None
    values = labels.to_list()
    keep = [c for c in range(len(values)) if c not in set(noise)]
    order = np.full(len(values), -1, dtype=np.int64)
    if enum:
        order[keep] = np.arange(len(keep))
        return order, "ordered categorical column"
    numbers = _numbers(values, keep)
    if numbers is not None:
        ranks = np.argsort(np.argsort(numbers, kind="stable"), kind="stable")
        order[keep] = ranks
        first, last = min(keep, key=lambda c: order[c]), max(keep, key=lambda c: order[c])
        return order, _how(values[first], values[last])
    if ordinal:
        order[keep] = np.arange(len(keep))
        return order, "--ordinal, in the labels' order"
    return None, None


def _numbers(values: list, keep: list[int]) -> list[int] | None:
    """The tier number of each kept label when they form a run 1..k (or 0..k-1 for numbered text)."""
    if not 3 <= len(keep) <= _MAX_TIERS:
        return None
    nums = []
    numbered = True
    for c in keep:
        v = values[c]
        if isinstance(v, bool):
            return None
        if isinstance(v, (int, float)) and float(v).is_integer():
            nums.append(int(v))
            numbered = False
            continue
        text = str(v)
        if re.fullmatch(r"\s*\d+\s*", text):
            nums.append(int(text))
            numbered = False
            continue
        m = _NUMBERED.match(text)
        if not m:
            return None
        nums.append(int(m.group(1)))
    if len(set(nums)) != len(nums):
        return None
    starts = (0, 1) if numbered else (1,)
    if min(nums) not in starts or max(nums) - min(nums) != len(nums) - 1:
        return None
    return nums


def _how(first: object, last: object) -> str:
    if isinstance(first, str) and not first.strip().isdigit():
        return f"numbered labels {first!r} .. {last!r}"
    return f"labels {first} .. {last}"

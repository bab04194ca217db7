"""How a p-value is written for people: in reasons, verdicts and summaries.

One style everywhere (APA-like): three decimals, ``< 0.001`` below that,
``n/a`` for a test that could not be run. Tables keep the number itself.

Examples
--------
>>> [format_p(p) for p in (0.3204, 0.05, 0.0009, 0.0, float("nan"), None)]
['0.320', '0.050', '< 0.001', '< 0.001', 'n/a', 'n/a']
"""

from __future__ import annotations


def format_p(p: float | None) -> str:
    """*p* as text: ``0.032``, ``< 0.001``, or ``n/a`` for None / NaN."""
    if p is None or p != p:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"

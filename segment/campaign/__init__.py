"""The retention campaign loop: one customer table, the stage x value matrix, and the measured effect.

* :func:`join`: the per-customer outputs of several commands, one row per customer;
* :func:`matrix`: customers, value and churn per cell of two segmentations, with planned levers;
* :func:`effect`: churn (and value kept) of the treated against the control group.

Control groups are drawn by :func:`segment.stats.sampling.assign_control`
(shared with ``segment churn score --control``).
"""

from segment.campaign._effect import EffectResult, effect
from segment.campaign._join import HOWS, JoinResult, join
from segment.campaign._matrix import MAX_LEVELS, Lever, MatrixResult, load_levers, matrix, parse_levers

__all__ = ["HOWS", "MAX_LEVELS", "EffectResult", "JoinResult", "Lever", "MatrixResult", "effect", "join", "load_levers",
           "matrix", "parse_levers"]

"""RFM scores and segments from a transaction log.

>>> from segment.rfm import rfm  # doctest: +SKIP
"""

from segment.rfm._rfm import METRICS, RFMResult, rfm
from segment.rfm._segments import SegmentRule, default_segments, load_segments

__all__ = ["METRICS", "RFMResult", "SegmentRule", "default_segments", "load_segments", "rfm"]

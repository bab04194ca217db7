"""Synthetic telecom operator with planted truth (and group accounts with ``b2b``)."""

from segment.synth._b2b import B2B_TABLES, B2BSynth, b2b
from segment.synth._campaign import campaign_outcomes
from segment.synth._synth import BLOCK, SCHEMAS, TABLES, Synth, synth

__all__ = ["B2B_TABLES", "BLOCK", "SCHEMAS", "TABLES", "B2BSynth", "Synth", "b2b", "campaign_outcomes", "synth"]

"""Synthetic telecom operator with planted truth."""

from segment.synth._campaign import campaign_outcomes
from segment.synth._synth import BLOCK, SCHEMAS, TABLES, Synth, synth

__all__ = ["BLOCK", "SCHEMAS", "TABLES", "Synth", "campaign_outcomes", "synth"]

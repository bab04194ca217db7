"""Synthetic telecom operator with planted truth."""

from segment.synth._synth import BLOCK, SCHEMAS, TABLES, Synth, synth

__all__ = ["BLOCK", "SCHEMAS", "TABLES", "Synth", "synth"]

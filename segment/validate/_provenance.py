"""What an input's provenance says about how its segments were made.

``segment`` writes provenance (command, options, details) into every
Parquet / Arrow output. Two things matter to validation:

* the columns a segment label was computed from: a clustering's
  ``features``, or RFM's recency, frequency and monetary for the scores,
  cells and named segments. Testing the segments on one of them is circular;
* whether the label is a cluster number (nominal: cluster 3 is not "between"
  clusters 2 and 4), so that numbers 1..k are not read as ordered tiers.

Examples
--------
>>> made_from({"command": "cluster", "details": {"features": ["arpu", "mou"]}}, "cluster")
['arpu', 'mou']
>>> made_from({"command": "rfm", "details": {}}, "segment")
['recency', 'frequency', 'monetary']
>>> made_from({"command": "rfm", "details": {}}, "monetary"), made_from(None, "cluster")
([], [])
>>> is_cluster_label({"command": "cluster"}, "cluster"), is_cluster_label({"command": "rfm"}, "r_score")
(True, False)
"""

from __future__ import annotations

from typing import Any

_RFM_LABELS = {"r_score": ["recency"], "f_score": ["frequency"], "m_score": ["monetary"],
               "rfm_cell": ["recency", "frequency", "monetary"], "rfm_score": ["recency", "frequency", "monetary"],
               "segment": ["recency", "frequency", "monetary"]}


def made_from(provenance: dict[str, Any] | None, segment: str) -> list[str]:
    """The columns the *segment* column was computed from, when the provenance says so."""
    if not provenance:
        return []
    command = provenance.get("command")
    details = provenance.get("details") or {}
    if command == "cluster" and segment == "cluster":
        features = details.get("features") or (provenance.get("options") or {}).get("features") or []
        return [f.strip() for f in features.split(",")] if isinstance(features, str) else [str(f) for f in features]
    if command == "rfm":
        return list(_RFM_LABELS.get(segment, []))
    return []


def is_cluster_label(provenance: dict[str, Any] | None, segment: str) -> bool:
    """Whether *segment* holds cluster numbers written by ``segment cluster``."""
    return bool(provenance) and provenance.get("command") == "cluster" and segment == "cluster"

"""Is a segmentation real? Tests, effect sizes, post-hoc pairs and a merge map."""

from segment.validate._provenance import is_cluster_label, made_from
from segment.validate._validate import ValidationResult, validate_segment

__all__ = ["ValidationResult", "is_cluster_label", "made_from", "validate_segment"]

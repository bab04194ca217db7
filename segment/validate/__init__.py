"""Is a segmentation real? Tests, effect sizes, post-hoc pairs and a merge map."""

from segment.validate._validate import ValidationResult, validate_segment

__all__ = ["ValidationResult", "validate_segment"]

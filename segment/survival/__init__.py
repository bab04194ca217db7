"""When customers leave: Kaplan-Meier survival per segment, hazard by tenure month, log-rank tests."""

from segment.survival._survival import DEFAULT_TIMES, SurvivalResult, survival

__all__ = ["DEFAULT_TIMES", "SurvivalResult", "survival"]

"""Churn rules: itemsets over customer attributes tested against a target."""

from segment.rules._rules import COLUMNS, DEFAULT_MIN_SUPPORT, OLD_NAMES, SORTS, RulesResult, rules

__all__ = ["COLUMNS", "DEFAULT_MIN_SUPPORT", "OLD_NAMES", "SORTS", "RulesResult", "rules"]

"""Churn rules: itemsets over customer attributes (and terms of complaint texts) tested against a target."""

from segment.rules._rules import COLUMNS, DEFAULT_MIN_SUPPORT, OLD_NAMES, SORTS, RulesResult, rules
from segment.rules._spark import refused as refused_on_spark
from segment.rules._text import DEFAULT_MIN_TERM_COUNT, LANGS

__all__ = ["COLUMNS", "DEFAULT_MIN_SUPPORT", "DEFAULT_MIN_TERM_COUNT", "LANGS", "OLD_NAMES", "SORTS", "RulesResult",
           "refused_on_spark", "rules"]

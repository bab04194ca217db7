"""Lifecycle stages A-E of telecom lines (or six stages of group accounts), transitions and KPIs; line lifetimes
(durations) for survival."""

from segment.lifecycle._lifecycle import B2B_STAGES, STAGES, Lifecycle, Rules, durations, lifecycle
from segment.lifecycle._panel import month_label, months_expr, parse_month_option
from segment.lifecycle._tx import monthly_panel

__all__ = ["B2B_STAGES", "STAGES", "Lifecycle", "Rules", "durations", "lifecycle", "month_label", "monthly_panel",
           "months_expr", "parse_month_option"]

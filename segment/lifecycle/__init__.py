"""Lifecycle stages A-E of telecom lines, transitions and KPIs."""

from segment.lifecycle._lifecycle import STAGES, Lifecycle, Rules, lifecycle
from segment.lifecycle._panel import parse_month_option
from segment.lifecycle._tx import monthly_panel

__all__ = ["STAGES", "Lifecycle", "Rules", "lifecycle", "monthly_panel", "parse_month_option"]

"""Outcome labels over a horizon after the as-of date, with explicit censoring."""

from riskstrat.outcomes._build import build_outcomes, latest_event_date
from riskstrat.outcomes._spec import EventDef, Filter, OutcomeDef, OutcomeSpec, load_outcome_spec
from riskstrat.outcomes._summary import outcome_summary, summary_table

__all__ = [
    "EventDef",
    "Filter",
    "OutcomeDef",
    "OutcomeSpec",
    "build_outcomes",
    "latest_event_date",
    "load_outcome_spec",
    "outcome_summary",
    "summary_table",
]

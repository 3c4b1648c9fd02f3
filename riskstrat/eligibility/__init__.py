"""Programme eligibility: structured rules (configs/programs.yaml) with reason codes."""

from riskstrat.eligibility._evaluate import eligibility_wide, evaluate_programs
from riskstrat.eligibility._io import write_eligibility
from riskstrat.eligibility._programs import (
    Capacity,
    Program,
    Programs,
    Rule,
    Screening,
    load_programs,
)
from riskstrat.eligibility._summary import counts_table, eligible_counts

__all__ = [
    "Capacity",
    "Program",
    "Programs",
    "Rule",
    "Screening",
    "counts_table",
    "eligible_counts",
    "eligibility_wide",
    "evaluate_programs",
    "load_programs",
    "write_eligibility",
]

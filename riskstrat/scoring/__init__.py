"""Quarterly cohorts: risk tiers, capacity, non-duplication, SHAP reasons and a manifest."""

from riskstrat.scoring._cohort import ScoredCohort, build_cohort, score_persons
from riskstrat.scoring._errors import (
    ModelVerificationError,
    ScoringConfigError,
    ScoringDataError,
    ScoringError,
)
from riskstrat.scoring._explain import describe_with_label, top_factors
from riskstrat.scoring._explain_persons import ModelConsistencyError, explain_persons
from riskstrat.scoring._manifest import build_manifest, input_files
from riskstrat.scoring._report import build_summary, print_summary, reconcile, summary_markdown
from riskstrat.scoring._run import CohortResult, score_cohort
from riskstrat.scoring._schemas import COHORT_COLUMNS, EXPLANATION_SCHEMA, cohort_schema
from riskstrat.scoring._selection import (
    STATUSES,
    ProgramSlots,
    enrolled_pairs,
    net_of_enrolment,
    quarter_capacity,
    select_cohort,
    slots_from_programs,
)
from riskstrat.scoring._spark import spark_risk
from riskstrat.scoring._tiers import (
    ExplanationConfig,
    ScoringConfig,
    SelectionConfig,
    TierConfig,
    TierLevel,
    assign_tiers,
    care_manager_fte,
    load_scoring_config,
    risk_percentile,
)
from riskstrat.scoring._write import atomic_output_dir

__all__ = [
    "COHORT_COLUMNS",
    "EXPLANATION_SCHEMA",
    "STATUSES",
    "assign_tiers",
    "atomic_output_dir",
    "build_cohort",
    "build_manifest",
    "build_summary",
    "care_manager_fte",
    "cohort_schema",
    "CohortResult",
    "describe_with_label",
    "enrolled_pairs",
    "explain_persons",
    "ExplanationConfig",
    "input_files",
    "load_scoring_config",
    "ModelConsistencyError",
    "ModelVerificationError",
    "print_summary",
    "ProgramSlots",
    "net_of_enrolment",
    "quarter_capacity",
    "reconcile",
    "risk_percentile",
    "score_cohort",
    "score_persons",
    "ScoredCohort",
    "ScoringConfig",
    "ScoringConfigError",
    "ScoringDataError",
    "ScoringError",
    "select_cohort",
    "SelectionConfig",
    "slots_from_programs",
    "spark_risk",
    "summary_markdown",
    "TierConfig",
    "TierLevel",
    "top_factors",
]


def __getattr__(name: str) -> object:
    # The old name clashed with riskstrat.features.describe_value, which takes a spec.
    if name == "describe_value":
        import warnings

        warnings.warn(
            "riskstrat.scoring.describe_value is now describe_with_label (feature, value, "
            "label); riskstrat.features.describe_value (name, value, spec) words a spec's "
            "features",
            FutureWarning,
            stacklevel=2,
        )
        return describe_with_label
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

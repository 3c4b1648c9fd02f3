"""Point-in-time features: a declarative spec compiled to SQL and run on DuckDB (or Spark)."""

from riskstrat.features._compile import compile_sql
from riskstrat.features._docs import features_markdown
from riskstrat.features._engine import build_features, population
from riskstrat.features._labels import describe_value, feature_labels, value_describer
from riskstrat.features._spark import spark_features
from riskstrat.features._spec import (
    NEVER_DAYS,
    Feature,
    FeatureSpec,
    expand_features,
    load_feature_spec,
)

__all__ = [
    "NEVER_DAYS",
    "Feature",
    "FeatureSpec",
    "build_features",
    "compile_sql",
    "describe_value",
    "value_describer",
    "expand_features",
    "feature_labels",
    "features_markdown",
    "load_feature_spec",
    "population",
    "spark_features",
]

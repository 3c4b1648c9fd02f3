"""riskstrat: risk stratification and eligibility scoring for county health and social services."""

import warnings
from importlib.metadata import PackageNotFoundError, version

# pandera imports pyspark.pandas whenever pyspark is installed (the `spark` extra), and
# pyspark >= 4.1 then warns that its pandas API does not support pandas 3, on every
# command. riskstrat never uses that API (Spark runs through DataFrames and SQL), so the
# warning says nothing about it; only this one message is silenced.
warnings.filterwarnings(
    "ignore",
    message="PySpark does not yet fully support pandas >= 3",
    category=FutureWarning,
)

try:
    __version__ = version("riskstrat")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]

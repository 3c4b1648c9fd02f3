"""riskstrat: risk stratification and eligibility scoring for county health and social services."""

import os
import warnings
from importlib.metadata import PackageNotFoundError, version

# pandera imports pyspark.pandas whenever pyspark is installed (the `spark` extra), and
# pyspark >= 4.1 then warns that it does not fully support pandas 3, on every command,
# Spark or not. riskstrat never uses pyspark.pandas; its Spark scoring passes pandas
# batches (mapInPandas), which the test suite checks against the bundle bit for bit on
# the pyspark it installs. Only this one message is silenced.
warnings.filterwarnings(
    "ignore",
    message="PySpark does not yet fully support pandas >= 3",
    category=FutureWarning,
)

# MLflow >= 3.2 sends usage telemetry to its vendor unless told not to; tracking here is
# embedded and county machines often may not call out. A user who wants it sets
# MLFLOW_DISABLE_TELEMETRY=false, which this leaves alone.
TELEMETRY_ENV = "MLFLOW_DISABLE_TELEMETRY"
os.environ.setdefault(TELEMETRY_ENV, "true")

try:
    __version__ = version("riskstrat")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]

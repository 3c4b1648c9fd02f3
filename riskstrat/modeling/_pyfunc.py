"""MLflow pyfunc wrapper around a :class:`ModelBundle`, logged as "models from code".

MLflow stores this file's source with the model instead of pickling a Python object;
at load time it runs the file and calls ``load_context``, which reads the bundle's
plain-text files through :meth:`ModelBundle.load` (checksums verified) and checks the
bundle's sha256 against the one pinned in the model config at logging time, so a bundle
edited together with its ``checksums.json`` is refused. The file is never imported by the
package itself: importing it registers the model with MLflow.
"""

from __future__ import annotations

from typing import Any

import mlflow.models
import mlflow.pyfunc
import numpy as np
import pandas as pd

from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._tracking import SHA_TAG

BUNDLE_ARTIFACT = "bundle"


class BundleModel(mlflow.pyfunc.PythonModel):
    """Score a feature table with the bundle stored under the ``bundle`` artifact."""

    def load_context(self, context: Any) -> None:
        """Load and verify the bundle folder MLflow copied next to the model.

        The sha256 pinned in the model config (``riskstrat.bundle_sha256``) must match;
        models logged before the pin existed have none and are checked by checksums only.
        """
        expected = (getattr(context, "model_config", None) or {}).get(SHA_TAG)
        self.bundle = ModelBundle.load(context.artifacts[BUNDLE_ARTIFACT], expected_sha256=expected)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        """Calibrated probability per row; columns are selected by feature name."""
        frame = pd.DataFrame(model_input)
        for name in self.bundle.features:
            if name in frame.columns and frame[name].dtype == object:
                # MLflow's schema check turns nullable columns (Int64, boolean with <NA>)
                # into object; read them back as numbers, missing as NaN. Text still fails.
                column = frame[name]
                frame[name] = pd.to_numeric(column.where(column.notna(), np.nan))
        return pd.Series(self.bundle.predict_proba(frame), index=frame.index, name="probability")


mlflow.models.set_model(BundleModel())

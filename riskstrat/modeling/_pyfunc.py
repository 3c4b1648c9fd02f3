"""MLflow's pyfunc flavour for a :class:`ModelBundle`: the registered model's loader module.

The registered model is logged with ``loader_module`` naming this module and the bundle
folder as its data, so the artifact store holds only the bundle's plain-text files and
``MLmodel``: no pickle, and no code. ``mlflow.pyfunc.load_model`` imports this module from
the installed riskstrat and calls :func:`_load_pyfunc`, which reads the bundle through
:meth:`ModelBundle.load` (checksums verified) and checks its sha256 against the one pinned
in the model config at logging time, so a bundle edited together with its
``checksums.json`` is refused.

That pin is stored in ``MLmodel``, beside the bundle: it catches a bundle swapped or
edited by mistake, not someone who can rewrite the whole artifact store (who could also
point ``MLmodel`` at other code, as with any MLflow model). ``riskstrat score`` and
:func:`resolve_model` do not go through MLflow's loader: they read the bundle's files only
and check the pin recorded in the tracking database.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._tracking import SHA_TAG


class BundleModel:
    """Score a feature table with a verified bundle (what ``_load_pyfunc`` returns)."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

    def predict(self, model_input: pd.DataFrame, params: Any = None) -> pd.Series:
        """Calibrated probability per row; columns are selected by feature name."""
        frame = pd.DataFrame(model_input)
        for name in self.bundle.features:
            if name in frame.columns and frame[name].dtype == object:
                # MLflow's schema check turns nullable columns (Int64, boolean with <NA>)
                # into object; read them back as numbers, missing as NaN. Text still fails.
                column = frame[name]
                frame[name] = pd.to_numeric(column.where(column.notna(), np.nan))
        return pd.Series(self.bundle.predict_proba(frame), index=frame.index, name="probability")


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> BundleModel:
    """Load and verify the bundle folder MLflow stored as the model's data.

    The sha256 pinned in the model config (``riskstrat.bundle_sha256``) must match.
    """
    expected = (model_config or {}).get(SHA_TAG)
    return BundleModel(ModelBundle.load(data_path, expected_sha256=expected))

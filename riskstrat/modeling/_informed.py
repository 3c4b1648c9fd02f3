"""How far the learner itself falls short of the oracle, on a synthetic county.

A model's gap to the as-of oracle has two parts: the hidden state the records do not
reveal, and the learner's own shortfall (too little data, the wrong model, a broken
pipeline). :func:`informed_auroc` separates them by training the same pipeline with the
generator's state on each as-of date added to the inputs: the as-of oracle's ``latent_*``
columns, the expected factor levels over the window given that state (exact under
antithetic draws, so two draws suffice). What is left between this run and the oracle is
the learner's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

from riskstrat.modeling._model_config import ModelConfig
from riskstrat.modeling._panel import FEATURES_ATTR, build_panel
from riskstrat.modeling._timechop import TemporalSplit


def informed_auroc(
    config: ModelConfig, county: str | Path, split: TemporalSplit, truth: pd.DataFrame
) -> dict[str, float]:
    """Test-quarter AUROC of the pipeline without and with the hidden state as inputs.

    Parameters
    ----------
    config : ModelConfig
        The training config; its split is narrowed to ``split``'s test quarter.
    county : str or Path
        A written synthetic county (with ``synth_manifest.json``).
    split : TemporalSplit
        Train, calibration and test dates.
    truth : DataFrame
        The oracle for the test quarter (``riskstrat.synth.as_of_truth``).

    Returns
    -------
    dict
        ``history`` (AUROC from the records alone), ``informed`` (with the state added)
        and ``oracle`` (of ``truth`` on the same rows).
    """
    from riskstrat.modeling._train import train
    from riskstrat.synth import as_of_truth

    dates = sorted({*split.train_as_of, *split.calibration_as_of, split.test_as_of})
    state = as_of_truth(county, dates, draws=2)
    columns = [c for c in state.columns if c.startswith("latent_")]
    state = state[["person_id", "as_of", *columns]]
    state["as_of"] = pd.to_datetime(state["as_of"]).astype("datetime64[us]")
    panel = build_panel(county, dates, data_end=split.data_end - dt.timedelta(days=1))
    attrs = dict(panel.attrs)
    panel["as_of"] = pd.to_datetime(panel["as_of"]).astype("datetime64[us]")
    informed = panel.merge(state, on=["person_id", "as_of"], how="left")
    informed.attrs = attrs | {FEATURES_ATTR: [*attrs[FEATURES_ATTR], *columns]}
    one = dataclasses.replace(
        config,
        split=dataclasses.replace(config.split, n_test=1, data_end=split.data_end),
        metrics=dataclasses.replace(config.metrics, n_bootstrap=20, plots=False),
        tracking=dataclasses.replace(config.tracking, enabled=False),
    )
    out = {}
    for name, frame in (("history", panel), ("informed", informed)):
        auroc = train(one, panel=frame, truth=truth).metrics.set_index(["scorer", "metric"])
        out[name] = float(auroc.loc[("model", "auroc"), "estimate"])
        out["oracle"] = float(auroc.loc[("oracle", "auroc"), "estimate"])
    return out

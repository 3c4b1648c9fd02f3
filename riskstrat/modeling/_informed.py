"""How far the learner itself falls short of the oracle, on a synthetic county.

A model's gap to the as-of oracle has two parts: the hidden state the records do not
reveal, and the learner's own shortfall (too little data, the wrong model, a broken
pipeline). :func:`informed_auroc` separates them by training the same pipeline with the
generator's state on each as-of date added to the inputs: the as-of oracle's ``latent_*``
columns, the expected factor levels over the window given that state (exact under
antithetic draws, so two draws suffice). What is left between this run and the oracle is
the learner's.

:func:`gap_decomposition` splits the state further into each person's persistent levels
and the episode of the month before, and asks whether the records hold more about the
persistent levels than the model uses: regressors learn them from the same features
(cross-fitted by person, so nobody's estimate comes from a model that saw their level)
and the classifier gets the estimates as extra inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from riskstrat.modeling._estimators import make_estimator
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
    from riskstrat.synth import as_of_truth

    panel = _panel(county, split)
    state = as_of_truth(county, _dates(split), draws=2)
    columns = [c for c in state.columns if c.startswith("latent_")]
    informed = _with(panel, state[["person_id", "as_of", *columns]])
    informed.attrs[FEATURES_ATTR] = [*panel.attrs[FEATURES_ATTR], *columns]
    one = _one_quarter(config, split)
    history, oracle = _auroc(one, panel, truth)
    return {"history": history, "informed": _auroc(one, informed, truth)[0], "oracle": oracle}


ESTIMATED = "records + persistent levels estimated from the records"
ORACLE_ROW = "as-of oracle"


def _gap_inputs(persistent: list[str], episode: list[str]) -> dict[str, list[str]]:
    """Each row's name and the state columns it adds to the records."""
    return {
        "records": [],
        "records + persistent levels": persistent,
        "records + last episode": episode,
        "records + both (the state on the as-of date)": [*persistent, *episode],
    }


GAP_ROWS: tuple[str, ...] = (*_gap_inputs([], []), ESTIMATED, ORACLE_ROW)


def gap_decomposition(
    config: ModelConfig, county: str | Path, split: TemporalSplit, truth: pd.DataFrame
) -> pd.DataFrame:
    """Test-quarter AUROC of the pipeline given the records and parts of the hidden state.

    Parameters
    ----------
    config : ModelConfig
        The training config; its split is narrowed to ``split``'s test quarter.
    county : str or Path
        A written synthetic county (with ``synth_manifest.json``).
    split : TemporalSplit
        Train, calibration and test dates.
    truth : DataFrame
        The as-of oracle for the test quarter.

    Returns
    -------
    DataFrame
        ``inputs`` (the rows of ``GAP_ROWS``) and ``auroc``; ``attrs["r2"]`` holds, per
        factor, the R^2 of the cross-fitted estimates of the persistent level on the test
        quarter.
    """
    from riskstrat.synth import STATE_COLUMNS, hidden_state

    panel = _panel(county, split)
    state = _with(panel, hidden_state(county, _dates(split)))
    persistent = [c for c in STATE_COLUMNS if c.startswith("persistent_")]
    episode = [c for c in STATE_COLUMNS if c.startswith("episode_")]
    features = list(panel.attrs[FEATURES_ATTR])
    fit_rows = state["as_of"].isin(pd.to_datetime(list(split.train_as_of))).to_numpy()
    estimates = cross_fitted(state, features, persistent, fit_rows, config)
    test = (state["as_of"] == pd.Timestamp(split.test_as_of)).to_numpy()
    r2 = {
        c.removeprefix("persistent_"): float(r2_score(state.loc[test, c], estimates.loc[test, c]))
        for c in persistent
    }
    one = _one_quarter(config, split)
    aurocs = {}
    for name, extra in _gap_inputs(persistent, episode).items():
        frame = state.drop(columns=[c for c in STATE_COLUMNS if c not in extra])
        frame.attrs = panel.attrs | {FEATURES_ATTR: [*features, *extra]}
        aurocs[name], oracle = _auroc(one, frame, truth)
    # From the state frame itself, so every estimate stays on its own row.
    estimated = state.drop(columns=list(STATE_COLUMNS)).assign(
        **{f"estimated_{c}": estimates[c].to_numpy() for c in persistent}
    )
    estimated.attrs = panel.attrs | {
        FEATURES_ATTR: [*features, *(f"estimated_{c}" for c in persistent)]
    }
    aurocs[ESTIMATED] = _auroc(one, estimated, truth)[0]
    aurocs[ORACLE_ROW] = oracle
    values = [aurocs[name] for name in GAP_ROWS]
    out = pd.DataFrame({"inputs": list(GAP_ROWS), "auroc": values})
    out.attrs["r2"] = r2
    return out


def cross_fitted(
    panel: pd.DataFrame,
    features: list[str],
    targets: list[str],
    fit_rows: np.ndarray,
    config: ModelConfig,
) -> pd.DataFrame:
    """Predictions of each target from the features, cross-fitted by person.

    People fall into two halves by a hash of ``person_id``; a regressor (LightGBM with the
    config's settings) fitted on one half's ``fit_rows`` predicts every row of the other,
    so no person's estimate comes from a model that saw them.

    Parameters
    ----------
    panel : DataFrame
        ``person_id``, the features and the targets.
    features : list of str
        The regressors' inputs.
    targets : list of str
        Columns to estimate.
    fit_rows : array of bool
        Rows the regressors may learn from (say, the training dates).
    config : ModelConfig
        Its ``lightgbm`` settings configure the regressors.

    Returns
    -------
    DataFrame
        One column per target, same index as ``panel``.
    """
    half = (pd.util.hash_pandas_object(panel["person_id"], index=False) % 2).to_numpy()
    X = panel[features].astype("float32")
    params = make_estimator("lightgbm", config).get_params()
    out = pd.DataFrame(index=panel.index)
    for target in targets:
        y = panel[target].to_numpy()
        estimate = np.empty(len(panel), dtype="float64")
        for h in (0, 1):
            model = lgb.LGBMRegressor(**params)
            model.fit(X[fit_rows & (half == h)], y[fit_rows & (half == h)])
            estimate[half != h] = model.predict(X[half != h])
        out[target] = estimate
    return out


def _dates(split: TemporalSplit) -> list[dt.date]:
    return sorted({*split.train_as_of, *split.calibration_as_of, split.test_as_of})


def _panel(county: str | Path, split: TemporalSplit) -> pd.DataFrame:
    panel = build_panel(county, _dates(split), data_end=split.data_end - dt.timedelta(days=1))
    panel["as_of"] = pd.to_datetime(panel["as_of"]).astype("datetime64[us]")
    return panel


def _with(panel: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    """The panel with the state's columns joined on (person_id, as_of), attrs kept."""
    state = state.assign(as_of=pd.to_datetime(state["as_of"]).astype("datetime64[us]"))
    merged = panel.merge(state, on=["person_id", "as_of"], how="left")
    merged.attrs = dict(panel.attrs)
    return merged


def _one_quarter(config: ModelConfig, split: TemporalSplit) -> ModelConfig:
    return dataclasses.replace(
        config,
        split=dataclasses.replace(config.split, n_test=1, data_end=split.data_end),
        metrics=dataclasses.replace(config.metrics, n_bootstrap=20, plots=False),
        tracking=dataclasses.replace(config.tracking, enabled=False),
    )


def _auroc(config: ModelConfig, panel: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float]:
    """(model, oracle) test-quarter AUROC of a training run on ``panel``."""
    from riskstrat.modeling._train import train

    m = train(config, panel=panel, truth=truth, track=False).metrics
    m = m.set_index(["scorer", "metric"])["estimate"]
    return float(m[("model", "auroc")]), float(m[("oracle", "auroc")])

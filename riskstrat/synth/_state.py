"""The generator's hidden state on an as-of date, split into what persists and the episode.

Each latent factor is a persistent person level (the frailty) plus an AR(1) episode that
rises and falls (``_model``). On an as-of date the as-of oracle knows both: the level and
the episode of the month before. :func:`hidden_state` hands them over as columns, so an
experiment can ask which of the two the records fail to show (the model layer's
``gap_decomposition``). Synthetic data only: real records have no such columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskstrat._dates import as_dates
from riskstrat.synth._asof import _day, _quarter, _settings, _verify_ids
from riskstrat.synth._county import _date, county_ids
from riskstrat.synth._model import FACTORS, BiasConfig, make_grid, make_population

PERSISTENT = "persistent_{factor}"
EPISODE = "episode_{factor}"
STATE_COLUMNS: tuple[str, ...] = (
    *(PERSISTENT.format(factor=f) for f in FACTORS),
    *(EPISODE.format(factor=f) for f in FACTORS),
)


def hidden_state(
    county_dir: str | Path, as_of_dates: Sequence[dt.date | str] | dt.date | str
) -> pd.DataFrame:
    """Each person's persistent level and last episode per latent factor, per as-of date.

    Parameters
    ----------
    county_dir : str or Path
        Folder written by ``riskstrat synth``; its state is regenerated from
        ``synth_manifest.json`` and its person ids checked, as for ``as_of_truth``.
    as_of_dates : date-like or sequence of date-like
        Quarter starts of the county with 12 months of window after them.

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of`` (date) and, for each factor in ``FACTORS`` (``mh``,
        ``sud``, ``med``, ``soc``), ``persistent_<factor>`` and ``episode_<factor>``: the
        episode of the month before ``as_of`` (nothing on or after it), sorted by
        (``as_of``, ``person_id``). Everyone the generator drew, dead or alive.

    Raises
    ------
    CountyMismatchError
        The persons table does not hold the regenerated ids.
    ValueError
        A date is not an allowed quarter start.
    """
    county = Path(county_dir)
    settings = _settings(county)
    grid = make_grid(_date(settings["start"]), _date(settings["end"]))
    dates = as_dates(as_of_dates, "as_of_dates")
    quarters = sorted({_quarter(grid, d, settings) for d in dates})
    seed = int(settings["seed"])
    pop = make_population(int(settings["n_persons"]), grid, BiasConfig(**settings["bias"]), seed)
    ids = county_ids(pop.n, seed)
    _verify_ids(county, ids, float(settings.get("dirty_rate", 0.0)))
    ids = np.asarray(ids.to_pylist(), dtype=object)
    order = np.argsort(ids, kind="stable")
    parts = []
    for q in quarters:
        # The month before as_of; a county's first quarter has no earlier month, and the
        # stationary start of the episode is its best guess: zero.
        episode = pop.latent[:, :, q - 1] - pop.frailty if q else np.zeros_like(pop.frailty)
        columns = {"person_id": ids[order], "as_of": _day(grid.first[q])}
        for k, factor in enumerate(FACTORS):
            columns[PERSISTENT.format(factor=factor)] = pop.frailty[k, order]
            columns[EPISODE.format(factor=factor)] = episode[k, order]
        parts.append(pd.DataFrame(columns))
    return pd.concat(parts, ignore_index=True)[["person_id", "as_of", *STATE_COLUMNS]]

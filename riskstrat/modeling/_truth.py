"""The truth table a training run compares against: what kind of oracle, for which county.

The synthetic county's stored ``truth/truth.parquet`` is the path oracle, with its county in
the key-value metadata; ``riskstrat oracle`` writes the as-of oracle with key-value metadata
saying so, its draws and its county.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.modeling._panel import KEYS

TRUTH_MISSING_COLUMNS = (
    "truth: missing column(s) {missing}; expected person_id, as_of and {outcome}"
)
TRUTH_COVERAGE = (
    "{source}: {missing} of {total} test rows{when} have no true probability for {outcome!r}; "
    "expected the truth table of the same synthetic county, with every test quarter "
    "(riskstrat oracle --as-of for each)"
)
BAD_TRUTH = (
    "truth {path}: not a readable Parquet file ({reason}); expected the as-of oracle of "
    "`riskstrat oracle` or a county's truth/truth.parquet"
)
OTHER_COUNTY = (
    "truth {truth}: made for another synthetic county than {tables} (its synth_manifest.json "
    "arguments differ: seed, persons, period or bias); expected riskstrat oracle --data {tables} "
    "or that county's own truth/truth.parquet"
)


class TruthError(ValueError):
    """The truth table given is not one for this data: another county's, or not a truth
    table at all. The argument is wrong, not the data: ``riskstrat train`` exits 2."""


UNMARKED = (
    "truth {truth} carries no riskstrat mark (re-saved by another tool?): which oracle it "
    "holds and which county it was made for cannot be checked, and its rows are matched to "
    "the data by person and as-of date only; expected the file as riskstrat oracle or "
    "riskstrat synth wrote it"
)
logger = logging.getLogger(__name__)


def _truth_metadata(truth: pd.DataFrame | str | Path) -> dict[str, str]:
    """A truth table's key-value metadata: Parquet schema metadata or ``DataFrame.attrs``."""
    if isinstance(truth, pd.DataFrame):
        return {k: str(v) for k, v in truth.attrs.items()}
    try:
        raw = pq.read_schema(truth).metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise TruthError(BAD_TRUTH.format(path=truth, reason=exc)) from exc
    return {k.decode(): v.decode() for k, v in raw.items()}


def check_truth_county(truth: pd.DataFrame | str | Path, tables: object) -> None:
    """Refuse a truth table made for another synthetic county than the ``tables`` folder.

    The as-of oracle and the stored path oracle both carry the mark. Checked only when both
    say which county they are (``county_identity``): a truth table without the mark (one
    written before the path oracle had it, or a DataFrame read from it), or tables given as
    frames, are matched row by row later.

    Parameters
    ----------
    truth : DataFrame, str or Path
        The truth table or its Parquet file.
    tables : object
        The ``tables`` a training run was given; only a folder is checked.

    Raises
    ------
    TruthError
        The truth table was made for another county (``OTHER_COUNTY``), or its file cannot
        be read as Parquet.
    """
    from riskstrat.synth import county_identity

    made_for = _truth_metadata(truth).get("county")
    if not made_for or not isinstance(tables, str | Path):
        return
    county = county_identity(tables)
    if county is not None and county != made_for:
        where = truth if isinstance(truth, str | Path) else "the truth table"
        raise TruthError(OTHER_COUNTY.format(truth=where, tables=tables))


MISSING_QUARTERS = (
    "{source}: no rows for the test quarter(s) {missing}; it holds {held}. Expected every "
    "test quarter this run evaluates, {wanted} (riskstrat oracle {arguments})"
)


def check_truth_quarters(truth: pd.DataFrame | None, splits: list, source: str) -> None:
    """Refuse a truth table lacking a test quarter of ``splits``, naming all it lacks and
    all it holds, before the panel is built: the row-by-row check comes after minutes of
    work, and named one missing quarter at a time."""
    if truth is None or "as_of" not in truth.columns:  # without it: the columns error later
        return
    test_dates = [s.test_as_of.isoformat() for s in splits]
    held = sorted({d.date().isoformat() for d in pd.to_datetime(truth["as_of"]).dropna()})
    missing = [d for d in test_dates if d not in held]
    if missing:
        raise TruthError(
            MISSING_QUARTERS.format(
                source=source,
                missing=", ".join(missing),
                held=", ".join(held) if held else "no dates",
                wanted=", ".join(test_dates),
                arguments=" ".join(f"--as-of {d}" for d in test_dates),
            )
        )


def oracle_kind(truth: pd.DataFrame | str | Path) -> str:
    """Which true probabilities a truth table holds: ``"as_of (N draws)"``, ``"path"`` or
    ``"unmarked"``.

    The as-of oracle (``riskstrat oracle``) says so in its Parquet metadata or
    ``DataFrame.attrs``; the synthetic county's stored truth is the path oracle and carries
    its county. A table with neither mark (a file re-saved by another tool keeps no
    key-value metadata) is named as such, with a warning, not taken for the path oracle.
    """
    meta = _truth_metadata(truth)
    if meta.get("riskstrat_oracle") == "as_of":
        return f"as_of ({meta.get('draws', '?')} draws)"
    if meta.get("riskstrat_oracle") == "path" or "county" in meta:
        return "path"
    where = truth if isinstance(truth, str | Path) else "the truth table"
    logger.warning(UNMARKED.format(truth=where))
    return "unmarked"


def read_truth(
    truth: pd.DataFrame | str | Path | None, tables: object
) -> tuple[pd.DataFrame | None, str | None, str]:
    """The truth table given to ``train``, checked against the county's tables: the
    table, its kind (:func:`oracle_kind`) and how messages name it."""
    if truth is None:
        return None, None, "truth"
    if not isinstance(truth, pd.DataFrame | str | Path):
        raise TypeError(
            "truth: expected the synthetic county's truth table (a DataFrame, or the path "
            f"of its Parquet file), got a {type(truth).__name__}"
        )
    kind = oracle_kind(truth)
    check_truth_county(truth, tables)
    if isinstance(truth, str | Path):
        return pd.read_parquet(truth), kind, f"truth {truth}"
    return truth, kind, "truth"


def covered_truth(
    rows: pd.DataFrame, truth: pd.DataFrame, outcome: str, when: str = "", source: str = "truth"
) -> np.ndarray:
    """:func:`true_probabilities`, refusing rows without one.

    The oracle must be scored on the same rows as the model, or the gap compares different
    people. ``when`` names the test quarter in the error (for example ``" on 2023-01-01"``),
    ``source`` the table (``"truth oracle.parquet"``, say).
    """
    oracle = true_probabilities(rows, truth, outcome)
    missing = int(np.isnan(oracle).sum())
    if missing:
        raise ValueError(
            TRUTH_COVERAGE.format(
                source=source, missing=missing, total=len(rows), when=when, outcome=outcome
            )
        )
    return oracle


def true_probabilities(rows: pd.DataFrame, truth: pd.DataFrame, outcome: str) -> np.ndarray:
    """The truth table's probability of ``outcome`` for each row (same order).

    Parameters
    ----------
    rows : DataFrame
        With ``person_id`` and ``as_of``.
    truth : DataFrame
        The synthetic county's truth (``person_id``, ``as_of``, one column per outcome).
    outcome : str

    Returns
    -------
    ndarray of float, NaN where the truth has no row.
    """
    missing = [c for c in (*KEYS, outcome) if c not in truth.columns]
    if missing:
        raise ValueError(TRUTH_MISSING_COLUMNS.format(missing=missing, outcome=outcome))
    keys = pd.MultiIndex.from_arrays(
        [
            truth["person_id"].astype("str"),
            pd.to_datetime(truth["as_of"]).astype("datetime64[us]"),
        ]
    )
    lookup = pd.Series(truth[outcome].to_numpy(dtype=np.float64), index=keys)
    lookup = lookup[~lookup.index.duplicated()]
    wanted = pd.MultiIndex.from_arrays(
        [
            rows["person_id"].astype("str"),
            pd.to_datetime(rows["as_of"]).astype("datetime64[us]"),
        ]
    )
    return lookup.reindex(wanted).to_numpy()

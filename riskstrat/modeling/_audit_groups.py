"""The groups the training evaluation reports every scorer by.

The sensitive attributes (``model.sensitive_features``: race/ethnicity, sex) are the ones a
model must not take as inputs; ``model.metrics.audit_groups`` adds groups a county is asked
about all the same: age, since young adults and older people meet services differently,
and the Service Planning Area, since a region with less outpatient care on record may be
scored low for the same need. They are reported, not withheld.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.modeling._model_config import ModelConfig
from riskstrat.modeling._subgroup_names import NOT_RECORDED

AGE_BAND = "age_band"
# Upper ends, in whole years on the as-of date; the last band is open.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (17, "0-17"),
    (25, "18-25"),
    (44, "26-44"),
    (64, "45-64"),
)
OLDEST_BAND = "65+"
NO_ATTRIBUTE = (
    "persons: no column {missing} for the subgroup metrics; expected the sensitive attributes "
    "of model.sensitive_features ({attributes}) in the persons table"
)


def sensitive_groups(
    rows: pd.DataFrame, persons: pd.DataFrame, attributes: Sequence[str]
) -> pd.DataFrame:
    """Each test row's value of every sensitive attribute, from the persons table.

    Parameters
    ----------
    rows : DataFrame
        Test rows with ``person_id``.
    persons : DataFrame
        The linked persons table (``person_id`` and the attributes).
    attributes : sequence of str
        Columns of ``persons`` (``model.sensitive_features``).

    Returns
    -------
    DataFrame
        One column per attribute, aligned with ``rows`` (same length and order, a fresh
        index); a missing value or a person not in ``persons`` reads ``"not recorded"``.
    """
    missing = [a for a in attributes if a not in persons.columns]
    if missing:
        raise ValueError(NO_ATTRIBUTE.format(missing=missing, attributes=list(attributes)))
    # The data contract keeps person_id unique; the first row stands for a duplicate.
    table = persons.drop_duplicates("person_id")
    table = table.set_index(table["person_id"].astype("str"))
    ids = rows["person_id"].astype("str")
    out = {}
    for attribute in attributes:
        values = table[attribute].astype("object").reindex(ids)
        out[attribute] = values.where(values.notna(), NOT_RECORDED).astype("str").to_numpy()
    return pd.DataFrame(out)


def evaluation_groups(
    rows: pd.DataFrame, persons: pd.DataFrame, attributes: Sequence[str]
) -> pd.DataFrame | None:
    """Each test row's group for every attribute: a persons column, or ``age_band``.

    An attribute the persons table lacks (a config may name a county's own column) is left
    out, not an error; None when none is left.

    Parameters
    ----------
    rows : DataFrame
        Test rows with ``person_id`` and ``as_of``.
    persons : DataFrame
        The linked persons table.
    attributes : sequence of str
        In table order; repeats are dropped.

    Returns
    -------
    DataFrame or None
        One column per attribute, aligned with ``rows``; a missing value reads
        ``"not recorded"``.
    """
    wanted = list(dict.fromkeys(attributes))
    columns = [a for a in wanted if a != AGE_BAND and a in persons.columns]
    table = (
        sensitive_groups(rows, persons, columns)
        if columns
        else pd.DataFrame(index=range(len(rows)))
    )
    if AGE_BAND in wanted and "birth_date" in persons.columns:
        table[AGE_BAND] = age_bands(rows, persons)
    kept = [a for a in wanted if a in table.columns]
    return table[kept] if kept else None


def age_bands(rows: pd.DataFrame, persons: pd.DataFrame) -> np.ndarray:
    """Each row's age band on its own as-of date (whole years completed)."""
    births = persons.drop_duplicates("person_id")
    births = pd.to_datetime(births.set_index(births["person_id"].astype("str"))["birth_date"])
    born = births.reindex(rows["person_id"].astype("str")).to_numpy()
    as_of = pd.to_datetime(rows["as_of"]).to_numpy()
    born, as_of = pd.DatetimeIndex(born), pd.DatetimeIndex(as_of)
    # Whole years: one less when the birthday has not come yet in the as-of year.
    before = (as_of.month < born.month) | ((as_of.month == born.month) & (as_of.day < born.day))
    age = as_of.year - born.year - before.astype(int)
    out = np.full(len(rows), OLDEST_BAND, dtype=object)
    for upper, label in reversed(AGE_BANDS):
        out[np.asarray(age <= upper)] = label
    out[np.asarray(born.isna())] = NOT_RECORDED
    return out.astype("str")


def groups_of_test_rows(
    rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame] | None, config: ModelConfig
) -> pd.DataFrame | None:
    """The test rows' sensitive attributes and audit groups (age band, SPA) from the persons
    table; None from a prebuilt panel, which has none.

    A sensitive feature the persons table lacks (a config may add one that names a derived
    column) has no groups to compare and is left out of the table, not an error.
    """
    persons = (tables or {}).get("persons")
    if persons is None:
        return None
    return evaluation_groups(
        rows, persons, (*config.sensitive_features, *config.metrics.audit_groups)
    )

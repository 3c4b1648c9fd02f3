"""Calibrated risk on Spark, partition by partition, for a population past one machine.

The feature table of a state's population stays in Spark (:func:`riskstrat.features.
spark_features`); each partition is scored where it lies with the same bundle the batch
job uses. The driver verifies the bundle; the executors get its files' bytes and rebuild
it, checked against the driver's sha256, so no executor scores with anything else and no
pickle of a model is ever read. Percentiles, tiers, capacity and explanations need the
whole ranking or a handful of people: they stay with :func:`riskstrat.scoring.score_cohort`
on one node, over the people the risk puts in reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from riskstrat.modeling import ModelBundle

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

KEYS = ("person_id", "as_of")
MISSING_FEATURES = (
    "features: missing column(s) {missing} of the model's {total}; expected the feature "
    "table the bundle was trained on (riskstrat.features.spark_features with its spec)"
)
NO_PERSON_ID = "features: missing column 'person_id'; expected one row per person (and as_of)"


def partition_scorer(
    files: dict[str, bytes], sha256: str, keys: tuple[str, ...]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The function each partition runs: the keys, ``risk`` and ``raw_score`` per row.

    Parameters
    ----------
    files : dict of str to bytes
        :attr:`ModelBundle.files` of a verified bundle.
    sha256 : str
        That bundle's sha256; a copy that differs is refused (:class:`BundleError`).
    keys : tuple of str
        Columns passed through (``person_id``, and ``as_of`` when present).
    """

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        bundle = ModelBundle.from_files(files, expected_sha256=sha256)
        for batch in batches:
            out = batch.loc[:, list(keys)]
            out["risk"] = bundle.predict_proba(batch)
            out["raw_score"] = bundle.raw_score(batch)
            yield out

    return score


def spark_risk(features: DataFrame, bundle: ModelBundle | str | Path) -> DataFrame:
    """Calibrated risk and the uncalibrated score for every row of a Spark feature table.

    The same numbers as :meth:`ModelBundle.predict_proba` and :meth:`ModelBundle.raw_score`
    on the same rows in pandas, computed per partition (``mapInPandas``); lazy, like any
    Spark DataFrame.

    Parameters
    ----------
    features : pyspark.sql.DataFrame
        ``person_id``, optionally ``as_of``, and at least the bundle's features.
    bundle : ModelBundle, or str or Path
        A bundle, or a bundle folder (loaded and verified here, on the driver).

    Returns
    -------
    pyspark.sql.DataFrame
        ``person_id`` (and ``as_of``), ``risk`` and ``raw_score`` (doubles; ``raw_score``
        breaks ties in ``risk``, as the cohort does).

    Raises
    ------
    ValueError
        ``person_id`` or a model feature is missing.
    BundleError
        The bundle folder fails verification.
    """
    from pyspark.sql.types import DoubleType, StructField, StructType

    if not isinstance(bundle, ModelBundle):
        bundle = ModelBundle.load(bundle)
    if "person_id" not in features.columns:
        raise ValueError(NO_PERSON_ID)
    missing = [f for f in bundle.features if f not in features.columns]
    if missing:
        raise ValueError(MISSING_FEATURES.format(missing=missing, total=len(bundle.features)))
    keys = tuple(k for k in KEYS if k in features.columns)
    schema = StructType(
        [features.schema[k] for k in keys]
        + [StructField("risk", DoubleType()), StructField("raw_score", DoubleType())]
    )
    scorer = partition_scorer(dict(bundle.files), bundle.sha256, keys)
    return features.select(*keys, *bundle.features).mapInPandas(scorer, schema)

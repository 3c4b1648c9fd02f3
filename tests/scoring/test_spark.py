"""Risk per Spark partition: the bundle's own numbers, from a copy pinned to its sha256."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from riskstrat.features import build_features, spark_features
from riskstrat.modeling import BundleError, ModelBundle
from riskstrat.modeling._panel import feature_matrix
from riskstrat.scoring import spark_risk
from riskstrat.scoring._spark import partition_scorer

DATES = ["2023-07-01"]


@pytest.fixture(scope="module")
def engine_features(spark_county: Path) -> pd.DataFrame:
    return build_features(spark_county, DATES)


@pytest.fixture(scope="module")
def bundle(engine_features: pd.DataFrame) -> ModelBundle:
    """LightGBM on every feature with an isotonic calibrator, on a made-up outcome."""
    names = [c for c in engine_features.columns if c not in ("person_id", "as_of")]
    X = feature_matrix(engine_features, names)
    rng = np.random.default_rng(0)
    signal = X["ed_visits_365d"].fillna(0) + 2 * X["bookings_365d"].fillna(0) - 3
    y = rng.random(len(X)) < 1 / (1 + np.exp(-signal.to_numpy()))
    half = len(X) // 2
    model = LGBMClassifier(n_estimators=30, num_leaves=15, verbose=-1, n_jobs=1, random_state=0)
    model.fit(X.iloc[:half], y[:half])
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic")
    calibrated.fit(X.iloc[half:], y[half:])
    return ModelBundle.from_calibrated(calibrated, "lightgbm", names, "composite_adverse")


@pytest.fixture(scope="module")
def spark_table(spark, spark_county: Path):
    """The same features built by Spark SQL (its own column types), computed once."""
    table = spark_features(spark, spark_county, DATES).cache()
    yield table
    table.unpersist()


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_risk_is_the_bundles_own(spark_table, engine_features, bundle, tmp_path) -> None:
    folder = bundle.save(tmp_path / "bundle")
    scored = spark_risk(spark_table, folder).toPandas()
    scored["as_of"] = pd.to_datetime(scored["as_of"]).astype("datetime64[us]")
    scored = scored.sort_values(["as_of", "person_id"], ignore_index=True)
    assert list(scored.columns) == ["person_id", "as_of", "risk", "raw_score"]
    pd.testing.assert_frame_equal(
        scored[["person_id", "as_of"]], engine_features[["person_id", "as_of"]]
    )
    # Exactly the numbers the batch job would compute, whatever Spark's column types.
    np.testing.assert_array_equal(scored["risk"], bundle.predict_proba(engine_features))
    np.testing.assert_array_equal(scored["raw_score"], bundle.raw_score(engine_features))
    assert scored["risk"].nunique() > 5


@pytest.mark.spark
def test_spark_risk_names_the_features_it_lacks(spark_table, bundle) -> None:
    features = spark_table.drop("bookings_365d")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['bookings_365d'\] of the model's"):
        spark_risk(features, bundle)


def test_a_copy_that_is_not_the_verified_bundle_is_refused(bundle, engine_features) -> None:
    files = dict(bundle.files)
    score = partition_scorer(files, bundle.sha256, ("person_id",))
    out = next(score(iter([engine_features.head(50)])))
    np.testing.assert_array_equal(out["risk"], bundle.predict_proba(engine_features.head(50)))
    files["metadata.json"] = files["metadata.json"].replace(b'"composite_adverse"', b'"death"')
    with pytest.raises(BundleError, match="differs from the expected"):
        next(partition_scorer(files, bundle.sha256, ("person_id",))(iter([engine_features])))

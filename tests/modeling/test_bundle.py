"""Model bundles: exact round trips, refused tampering, no pickle on the load path."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import re
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from riskstrat._commands._app import EXIT_DATA
from riskstrat.cli import app
from riskstrat.modeling import BundleError, BundleOutputError, ModelBundle
from riskstrat.modeling import _bundle as B
from riskstrat.modeling import _bundle_codec as C
from riskstrat.modeling import _bundle_files as F
from riskstrat.modeling import _bundle_read as R

FEATURES = ["age", "ed_visits_365d", "has_smi", "days_since_release"]


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "ed_visits_365d": rng.poisson(2.0, n).astype(float),
            "has_smi": rng.random(n) < 0.3,
            "days_since_release": rng.integers(0, 9999, n),
        }
    )
    logit = -1.5 + 0.6 * X["ed_visits_365d"] + 1.0 * X["has_smi"] - 0.0001 * X["days_since_release"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    X.loc[X.index[::13], "ed_visits_365d"] = np.nan  # LightGBM and the imputer see missing values
    return X, y


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    X_train, y_train = _frame(400, 0)
    X_cal, y_cal = _frame(200, 1)
    X_test, _ = _frame(150, 2)
    return {"train": (X_train, y_train), "cal": (X_cal, y_cal), "test": X_test}


@pytest.fixture(scope="module")
def lightgbm_model(data: dict) -> lgb.LGBMClassifier:
    X, y = data["train"]
    return lgb.LGBMClassifier(n_estimators=25, num_leaves=7, verbose=-1, n_jobs=1).fit(X, y)


@pytest.fixture(scope="module")
def logistic_model(data: dict) -> Pipeline:
    X, y = data["train"]
    steps = [
        ("impute", SimpleImputer(strategy="median")),
        ("scale", StandardScaler()),
        ("logistic", LogisticRegression(max_iter=1000)),
    ]
    return Pipeline(steps).fit(X, y)


def _calibrate(model: object, method: str, data: dict) -> object:
    if method == "none":
        return model
    X, y = data["cal"]
    return CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(X, y)


@pytest.fixture(scope="module")
def lgb_bundle(lightgbm_model: lgb.LGBMClassifier, data: dict) -> ModelBundle:
    calibrated = _calibrate(lightgbm_model, "isotonic", data)
    meta = {
        "version": "2026q1-1",
        "split": {"train_end": dt.date(2025, 1, 1)},
        "metrics": {"auc": np.float64(0.75), "ece": float("nan")},
    }
    return ModelBundle.from_calibrated(calibrated, "lightgbm", FEATURES, "psych_crisis", meta)


@pytest.fixture()
def saved(lgb_bundle: ModelBundle, tmp_path: Path) -> Path:
    return lgb_bundle.save(tmp_path / "bundle")


CASES = [
    ("lightgbm", "isotonic"),
    ("lightgbm", "sigmoid"),
    ("lightgbm", "none"),
    ("logistic", "isotonic"),
    ("logistic", "sigmoid"),
]


@pytest.mark.parametrize(("kind", "method"), CASES)
def test_round_trip_matches_sklearn_and_itself(kind, method, request, data, tmp_path) -> None:
    model = request.getfixturevalue(f"{kind}_model")
    calibrated = _calibrate(model, method, data)
    bundle = ModelBundle.from_calibrated(calibrated, kind, FEATURES, "jail_booking")
    X = data["test"]

    expected = calibrated.predict_proba(X)[:, 1]
    np.testing.assert_allclose(bundle.predict_proba(X), expected, rtol=0, atol=1e-12)
    raw = (
        model.predict_proba(X, raw_score=True) if kind == "lightgbm" else model.decision_function(X)
    )
    np.testing.assert_allclose(bundle.raw_score(X), raw, rtol=0, atol=1e-12)

    loaded = ModelBundle.load(bundle.save(tmp_path / "b"))
    np.testing.assert_allclose(loaded.predict_proba(X), bundle.predict_proba(X), rtol=0, atol=1e-12)
    assert loaded.sha256 == bundle.sha256
    assert loaded.calibration_method == method
    assert loaded.features == tuple(FEATURES)

    contrib = loaded.contributions(X)
    assert list(contrib.columns) == [*FEATURES, "base_value"]
    np.testing.assert_allclose(contrib.sum(axis=1), loaded.raw_score(X), rtol=0, atol=1e-9)


def test_isotonic_known_values(logistic_model: Pipeline, data: dict) -> None:
    # Four calibration rows with labels 0, 1, 0, 1 in response order: pool-adjacent-
    # violators pools the middle pair, so the calibrated values are 0, 1/2, 1/2, 1.
    X = data["test"].iloc[:4]
    order = np.argsort(logistic_model.decision_function(X))
    X_sorted = X.iloc[order]
    # cv=2: a frozen model's predictions do not depend on the folds; 4 rows need few folds.
    calibrated = CalibratedClassifierCV(FrozenEstimator(logistic_model), method="isotonic", cv=2)
    calibrated.fit(X_sorted, np.array([0, 1, 0, 1]))
    bundle = ModelBundle.from_calibrated(calibrated, "logistic", FEATURES, "death")
    np.testing.assert_allclose(bundle.predict_proba(X_sorted), [0.0, 0.5, 0.5, 1.0], atol=1e-15)


class _ProbaOnlyLGBM(lgb.LGBMClassifier):
    """An LGBMClassifier as before LightGBM 4.7, without decision_function."""

    @property
    def decision_function(self) -> None:
        raise AttributeError("decision_function")


@pytest.mark.parametrize("proba_only", [False, True], ids=["decision_function", "predict_proba"])
def test_sigmoid_uses_stored_a_b_on_sklearns_response(proba_only, data, tmp_path) -> None:
    # sklearn calibrates decision_function when the model has one (LightGBM >= 4.7),
    # otherwise predict_proba[:, 1]; the bundle must feed the calibrator the same.
    X, y = data["train"]
    cls = _ProbaOnlyLGBM if proba_only else lgb.LGBMClassifier
    model = cls(n_estimators=10, num_leaves=5, verbose=-1, n_jobs=1).fit(X, y)
    calibrated = _calibrate(model, "sigmoid", data)
    bundle = ModelBundle.from_calibrated(calibrated, "lightgbm", FEATURES, "death")
    cal = json.loads((bundle.save(tmp_path / "b") / "calibrator.json").read_text())
    assert cal["response"] == ("predict_proba" if proba_only else "decision_function")
    rows = data["test"].iloc[:5]
    raw = bundle.raw_score(rows)
    s = 1 / (1 + np.exp(-raw)) if proba_only else raw
    np.testing.assert_allclose(
        bundle.predict_proba(rows), 1 / (1 + np.exp(cal["a"] * s + cal["b"])), rtol=1e-12
    )
    np.testing.assert_allclose(
        bundle.predict_proba(rows), calibrated.predict_proba(rows)[:, 1], rtol=0, atol=1e-12
    )


def test_logistic_contribution_is_coef_times_standardized_value(logistic_model, data) -> None:
    bundle = ModelBundle.from_calibrated(logistic_model, "logistic", FEATURES, "death")
    X = data["test"].iloc[[1]]
    scaler, lr = logistic_model.named_steps["scale"], logistic_model.named_steps["logistic"]
    z = (X["age"].iloc[0] - scaler.mean_[0]) / scaler.scale_[0]
    contrib = bundle.contributions(X)
    assert contrib["age"].iloc[0] == pytest.approx(lr.coef_[0, 0] * z, abs=1e-12)
    assert contrib["base_value"].iloc[0] == pytest.approx(lr.intercept_[0], abs=1e-15)


def test_save_is_deterministic_and_sha_is_checksums_hash(lgb_bundle, tmp_path) -> None:
    a, b = lgb_bundle.save(tmp_path / "a"), lgb_bundle.save(tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == ["calibrator.json", "checksums.json", "metadata.json", "model.txt"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert lgb_bundle.sha256 == hashlib.sha256((a / "checksums.json").read_bytes()).hexdigest()
    meta = json.loads((a / "metadata.json").read_text())
    assert meta["split"] == {"train_end": "2025-01-01"}
    assert meta["metrics"] == {"auc": 0.75, "ece": None}  # NaN is not JSON
    assert meta["format_version"] == 1 and meta["kind"] == "lightgbm"
    assert meta["features"] == FEATURES and meta["outcome"] == "psych_crisis"
    assert lgb_bundle.version == "2026q1-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temp folders left
    # The software that trained it, as a cohort's manifest records its own.
    from importlib.metadata import version

    from riskstrat._provenance import code_sha256

    packages = meta["packages"]
    assert packages["riskstrat_code_sha256"] == code_sha256()
    assert packages["pandas"] == version("pandas") and packages["duckdb"] == version("duckdb")
    assert {"python", "lightgbm", "numpy", "pyarrow", "scikit-learn", "riskstrat"} < set(packages)


def test_save_refuses_existing_folder_unless_overwrite(lgb_bundle, saved) -> None:
    with pytest.raises(BundleError, match=re.escape(F.EXISTS.format(path=saved))):
        lgb_bundle.save(saved)
    (saved / "model.txt").write_text("junk")
    lgb_bundle.save(saved, overwrite=True)
    assert ModelBundle.load(saved).sha256 == lgb_bundle.sha256
    assert sorted(p.name for p in saved.parent.iterdir()) == ["bundle"]


def test_a_bundle_another_run_saved_meanwhile_stands(lgb_bundle, tmp_path, monkeypatch) -> None:
    # Two exports to one folder at once: the first to finish stands, the other says so.
    path = tmp_path / "bundle"
    fsync = os.fsync

    def raced(fd):
        if not path.exists():
            path.mkdir()
            (path / "notes.txt").write_text("the other run")
        return fsync(fd)

    monkeypatch.setattr(F.os, "fsync", raced)
    with pytest.raises(BundleOutputError, match="written by another run while this one worked"):
        lgb_bundle.save(path)
    assert [p.name for p in path.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


@pytest.mark.parametrize("target", ["folder", "file"])
def test_overwrite_never_replaces_what_is_not_a_bundle(lgb_bundle, tmp_path, target) -> None:
    # `models export champion --out models --overwrite` must not wipe the models/ folder.
    path = tmp_path / "models"
    if target == "folder":
        path.mkdir()
        (path / "notes.txt").write_text("important")
    else:
        path.write_text("important")
    message = F.NOT_REPLACEABLE.format(path=path)
    with pytest.raises(BundleError, match=re.escape(message)):
        lgb_bundle.save(path, overwrite=True)
    kept = path / "notes.txt" if target == "folder" else path
    assert kept.read_text() == "important"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # no temp or .old leftovers
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ModelBundle.load(lgb_bundle.save(empty, overwrite=True)).sha256 == lgb_bundle.sha256


@pytest.mark.parametrize("name", ["model.txt", "calibrator.json", "metadata.json"])
def test_one_changed_byte_is_refused(saved: Path, name: str) -> None:
    data = bytearray((saved / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (saved / name).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=re.escape(F.TAMPERED.format(path=saved, file=name))):
        ModelBundle.load(saved)


def test_changed_checksums_file_is_refused(saved: Path) -> None:
    path = saved / "checksums.json"
    original = path.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="does not match its sha256"):
        ModelBundle.load(saved)
    # Same hashes, different layout: the bundle's identity (its sha256) would change.
    path.write_text(json.dumps(json.loads(original)))
    message = F.TAMPERED.format(path=saved, file="checksums.json")
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


@pytest.mark.parametrize(
    "name", ["model.txt", "calibrator.json", "metadata.json", "checksums.json"]
)
def test_missing_file_is_refused(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises(BundleError, match=re.escape(F.MISSING_FILE.format(path=saved, file=name))):
        ModelBundle.load(saved)


def test_unlisted_file_is_refused(saved: Path) -> None:
    (saved / "extra.pkl").write_bytes(b"\x80\x04")
    message = F.UNLISTED_FILE.format(path=saved, file="extra.pkl")
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def test_a_renamed_file_is_named_with_the_one_it_was(saved: Path) -> None:
    (saved / "model.txt").rename(saved / "model.bak")
    message = F.UNLISTED_FILE.format(path=saved, file="model.bak") + F.RENAMED.format(
        missing="model.txt"
    )
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def test_a_folder_that_is_no_bundle_at_all_says_so(tmp_path: Path) -> None:
    (tmp_path / "persons.parquet").write_bytes(b"PAR1")
    with pytest.raises(BundleError, match=re.escape(F.NO_BUNDLE_FILES.format(path=tmp_path))):
        ModelBundle.load(tmp_path)


@pytest.mark.parametrize("name", ["../../etc/hostname", "/etc/hostname", "sub/model.txt", ".."])
def test_a_checksums_entry_that_is_a_path_is_refused_unopened(saved: Path, name: str) -> None:
    checksums = json.loads((saved / F.CHECKSUMS_FILE).read_text())
    checksums[name] = checksums["model.txt"]
    (saved / F.CHECKSUMS_FILE).write_text(json.dumps(checksums))
    message = F.NOT_A_NAME.format(path=saved, file=name)
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


@pytest.mark.parametrize("kind", ["folder", "link"])
def test_an_entry_that_is_not_a_regular_file_is_refused(saved: Path, kind: str) -> None:
    # Listed in checksums.json too, so only the entry's kind can refuse it.
    if kind == "folder":
        (saved / "sub").mkdir()
    else:
        (saved / "sub").symlink_to(saved / "model.txt")
    checksums = json.loads((saved / F.CHECKSUMS_FILE).read_text())
    checksums["sub"] = checksums["model.txt"]
    (saved / F.CHECKSUMS_FILE).write_text(json.dumps(checksums))
    message = F.NOT_A_FILE.format(path=saved, file="sub")
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def _rewrite(saved: Path, name: str, data: bytes) -> None:
    """Replace a file and re-sign checksums.json, as a consistent (non-tampered) writer would."""
    (saved / name).write_bytes(data)
    files = {p.name: p.read_bytes() for p in saved.iterdir() if p.name != F.CHECKSUMS_FILE}
    (saved / F.CHECKSUMS_FILE).write_bytes(F._checksums(files))


def _rewrite_json(saved: Path, name: str, edit) -> str:
    """Edit a JSON file in place with ``edit(obj) -> (obj, fragment)`` and re-sign it.

    String values "1e999" and "NaN" are written as bare tokens (JSON's overflow to
    infinity, and Python's non-JSON NaN), which _dumps itself refuses to write.
    """
    obj, fragment = edit(json.loads((saved / name).read_text()))
    data = F._dumps(obj).replace(b'"1e999"', b"1e999").replace(b'"NaN"', b"NaN")
    _rewrite(saved, name, data)
    return fragment


@pytest.fixture()
def logistic_saved(logistic_model: Pipeline, data: dict, tmp_path: Path) -> Path:
    calibrated = _calibrate(logistic_model, "sigmoid", data)
    bundle = ModelBundle.from_calibrated(calibrated, "logistic", FEATURES, "death")
    return bundle.save(tmp_path / "logistic")


def _refused(saved: Path, file: str, fragment: str) -> str:
    """Assert load refuses ``saved`` naming ``file`` and ``fragment``; return the message."""
    with pytest.raises(BundleError) as info:
        ModelBundle.load(saved)
    message = str(info.value)
    assert message.startswith(f"{saved}: {file}"), message
    assert fragment in message, message
    return message


def test_unknown_format_version_is_refused(saved: Path) -> None:
    meta = json.loads((saved / "metadata.json").read_text())
    meta["format_version"] = 99
    _rewrite(saved, "metadata.json", F._dumps(meta))
    message = F.BAD_FORMAT.format(path=saved, version=99, expected=1)
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def _swap_first_two(meta: dict) -> tuple[dict, str]:
    swapped = [FEATURES[1], FEATURES[0], *FEATURES[2:]]
    meta["features"] = swapped
    return meta, C.feature_order_problem(swapped, FEATURES)


def _drop_last(meta: dict) -> tuple[dict, str]:
    meta["features"] = FEATURES[:3]
    return meta, C.FEATURE_COUNT.format(n_names=3, n_model=4)


def _rename(meta: dict) -> tuple[dict, str]:
    renamed = [*FEATURES[:3], "days_since_booking"]
    meta["features"] = renamed
    return meta, C.feature_order_problem(renamed, FEATURES)


@pytest.mark.parametrize("edit", [_swap_first_two, _drop_last, _rename])
def test_metadata_features_must_match_the_lightgbm_model(saved: Path, data: dict, edit) -> None:
    # Swapped features loaded silently and changed predictions; a dropped one failed
    # later inside LightGBM. Both are refused at load, naming both files.
    problem = _rewrite_json(saved, "metadata.json", edit)
    message = F.MISMATCH.format(
        path=saved, file="metadata.json", other="model.txt", problem=problem
    )
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


@pytest.mark.parametrize("edit", [_swap_first_two, _drop_last])
def test_metadata_features_must_match_the_logistic_model(logistic_saved: Path, edit) -> None:
    problem = _rewrite_json(logistic_saved, "metadata.json", edit)
    message = F.MISMATCH.format(
        path=logistic_saved, file="metadata.json", other="logistic.json", problem=problem
    )
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(logistic_saved)


def _set(key: str, value: object, fragment: str):
    def edit(obj: dict) -> tuple[dict, str]:
        obj[key] = value
        return obj, fragment

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        _set("outcome", 3, "outcome must be a non-empty string, got 3"),
        _set("outcome", None, "outcome must be a non-empty string, got None"),
        _set("features", "age", "features must be a non-empty array of feature names, got a string"),
        _set("features", [], "features must be a non-empty array of feature names, got an empty"),
        _set("features", [*FEATURES[:3], 7], "features must be non-empty strings, got 7"),
        _set("features", FEATURES[:2] * 2, "features must be distinct; repeated: ['age', 'ed_"),
        _set("missing_allowed", "age", "missing_allowed must be an array of feature names"),
        _set("missing_allowed", ["tenure"], "missing_allowed names ['tenure'], which are not"),
        lambda meta: ([meta], "expected a JSON object, got an array"),
    ],
    ids=["outcome-number", "outcome-null", "features-string", "features-empty",
         "feature-number", "features-repeated", "allowed-string", "allowed-unknown",
         "not-an-object"],
)  # fmt: skip
def test_malformed_metadata_is_refused(saved: Path, edit) -> None:
    _refused(saved, "metadata.json", _rewrite_json(saved, "metadata.json", edit))


def test_format_version_must_be_the_integer(saved: Path) -> None:
    _rewrite_json(saved, "metadata.json", _set("format_version", True, ""))
    message = F.BAD_FORMAT.format(path=saved, version=True, expected=1)
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def _as_sigmoid(cal: dict, a: object = -1.5, b: object = 0.25) -> dict:
    return {"method": "sigmoid", "response": cal["response"], "a": a, "b": b}


def _truncate_y(cal: dict) -> tuple[dict, str]:
    n = len(cal["x_thresholds"])
    cal["y_thresholds"] = cal["y_thresholds"][:-1]
    return cal, f"isotonic x_thresholds has {n} values and y_thresholds {n - 1}; expected the same"


def _unsorted_x(cal: dict) -> tuple[dict, str]:
    cal["x_thresholds"] = cal["x_thresholds"][::-1]
    return cal, "isotonic x_thresholds must be sorted (non-decreasing); x_thresholds[1] = "


def _y_above_one(cal: dict) -> tuple[dict, str]:
    cal["y_thresholds"][-1] = 1.5
    i = len(cal["y_thresholds"]) - 1
    return cal, f"isotonic y_thresholds[{i}] = 1.5 is not a probability in [0, 1]"


def _negative_y(cal: dict) -> tuple[dict, str]:
    cal["y_thresholds"][0] = -0.25
    return cal, "isotonic y_thresholds[0] = -0.25 is not a probability in [0, 1]"


def _falling_y(cal: dict) -> tuple[dict, str]:
    # Checksums redone, so only the check itself stands between it and scoring.
    assert cal["y_thresholds"][1] < 1.0
    cal["y_thresholds"][0] = 1.0
    return cal, "isotonic y_thresholds must be non-decreasing; y_thresholds[1] = "


def _infinite_x(cal: dict) -> tuple[dict, str]:
    cal["x_thresholds"][-1] = "1e999"
    i = len(cal["x_thresholds"]) - 1
    return cal, f"isotonic x_thresholds[{i}] must be a finite number, got inf"


CALIBRATOR_EDITS = {
    "platt": lambda cal: (
        {**cal, "method": "platt"},
        "calibration method 'platt' is unknown; expected one of ['isotonic', 'sigmoid', 'none']",
    ),
    "truncated-isotonic": _truncate_y,
    "unsorted-isotonic": _unsorted_x,
    "y-above-one": _y_above_one,
    "y-negative": _negative_y,
    "y-falling": _falling_y,
    "x-infinite": _infinite_x,
    "x-text": lambda cal: (
        {**cal, "x_thresholds": ["0.1", *cal["x_thresholds"][1:]]},
        "isotonic x_thresholds[0] must be a finite number, got '0.1'",
    ),
    "x-not-array": lambda cal: (
        {**cal, "x_thresholds": 0.5},
        "isotonic x_thresholds must be an array of numbers, got a number",
    ),
    "isotonic-empty": lambda cal: (
        {**cal, "x_thresholds": [], "y_thresholds": []},
        "x_thresholds has 0 values and y_thresholds 0; expected the same number, at least one",
    ),
    "x-nan": lambda cal: (
        {**cal, "x_thresholds": ["NaN", *cal["x_thresholds"][1:]]},
        "not valid JSON (NaN is not a JSON number)",
    ),
    "sigmoid-a-infinite": lambda cal: (
        _as_sigmoid(cal, a="1e999"),
        "sigmoid a must be a finite number, got inf",
    ),
    "sigmoid-b-text": lambda cal: (
        _as_sigmoid(cal, b="0.25"),
        "sigmoid b must be a finite number, got '0.25'",
    ),
    "sigmoid-b-boolean": lambda cal: (
        _as_sigmoid(cal, b=True),
        "sigmoid b must be a finite number, got True",
    ),
    "sigmoid-missing-b": lambda cal: (
        {k: v for k, v in _as_sigmoid(cal).items() if k != "b"},
        "missing ['b'], unexpected []; expected ['a', 'b', 'method', 'response']",
    ),
    "thresholds-under-sigmoid": lambda cal: (
        {**cal, "method": "sigmoid"},
        "missing ['a', 'b'], unexpected ['x_thresholds', 'y_thresholds']",
    ),
    "extra-field": lambda cal: (
        {**cal, "temperature": 1.0},
        "unexpected ['temperature']",
    ),
    "unknown-response": lambda cal: (
        {**cal, "response": "proba"},
        "response 'proba' is not one of ['decision_function', 'predict_proba'] for a lightgbm",
    ),
    "not-an-object": lambda cal: ([cal], "expected a JSON object, got an array"),
}


@pytest.mark.parametrize("edit", CALIBRATOR_EDITS.values(), ids=CALIBRATOR_EDITS.keys())
def test_inconsistent_calibrator_is_refused(saved: Path, edit) -> None:
    # "platt" scored silently with plain expit; truncated thresholds failed later in numpy.
    _refused(saved, "calibrator.json", _rewrite_json(saved, "calibrator.json", edit))


def test_logistic_calibrator_must_read_the_decision_function(logistic_saved: Path) -> None:
    # sklearn always calibrates a logistic pipeline on decision_function.
    fragment = _rewrite_json(
        logistic_saved,
        "calibrator.json",
        lambda cal: (
            {**cal, "response": "predict_proba"},
            "response 'predict_proba' is not one of ['decision_function'] for a logistic model",
        ),
    )
    _refused(logistic_saved, "calibrator.json", fragment)


LOGISTIC_EDITS = {
    "coef-short": lambda lin: ({**lin, "coef": lin["coef"][:3]}, "coef has 3 values; expected 4"),
    "mean-text": lambda lin: (
        {**lin, "mean": [*lin["mean"][:3], "x"]},
        "mean[3] must be a finite number, got 'x'",
    ),
    "scale-zero": lambda lin: (
        {**lin, "scale": [lin["scale"][0], 0, *lin["scale"][2:]]},
        "scale[1] is 0; expected non-zero scales",
    ),
    "fill-infinite": lambda lin: (
        {**lin, "fill": [*lin["fill"][:3], "1e999"]},
        "fill[3] must be a finite number, got inf",
    ),
    "intercept-missing": lambda lin: (
        {k: v for k, v in lin.items() if k != "intercept"},
        "fields ['coef', 'features', 'fill', 'mean', 'scale']; expected ['coef', 'features', "
        "'fill', 'intercept', 'mean', 'scale']",
    ),
    "intercept-null": lambda lin: (
        {**lin, "intercept": None},
        "intercept must be a finite number, got None",
    ),
    "features-not-strings": lambda lin: (
        {**lin, "features": [1, 2, 3, 4]},
        "features must be an array of strings, got [1, 2, 3, 4]",
    ),
}


@pytest.mark.parametrize("edit", LOGISTIC_EDITS.values(), ids=LOGISTIC_EDITS.keys())
def test_inconsistent_logistic_model_is_refused(logistic_saved: Path, edit) -> None:
    _refused(logistic_saved, "logistic.json", _rewrite_json(logistic_saved, "logistic.json", edit))


@pytest.mark.parametrize(
    "name", ["metadata.json", "calibrator.json", "logistic.json", "checksums.json"]
)
def test_unparseable_json_names_the_file(logistic_saved: Path, name: str) -> None:
    # metadata.json used to crash `riskstrat models verify` with a JSONDecodeError.
    if name == "checksums.json":
        (logistic_saved / name).write_bytes(b'{"calibrator.json": ')
    else:
        _rewrite(logistic_saved, name, b'{"truncated": ')
    error = "Expecting value: line 1 column"
    message = F.BAD_JSON.format(path=logistic_saved, file=name, error=error).removesuffix(")")
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(logistic_saved)


def test_checksums_must_map_names_to_strings(saved: Path) -> None:
    (saved / "checksums.json").write_text('{"model.txt": 1}')
    message = F.BAD_CHECKSUMS.format(path=saved, got="a number for 'model.txt'")
    with pytest.raises(BundleError, match=re.escape(message)):
        ModelBundle.load(saved)


def test_broken_lightgbm_model_names_the_file(saved: Path, data: dict) -> None:
    text = (saved / "model.txt").read_bytes()
    # Garbage made LightGBM raise its own error; a model truncated in its trees or its
    # parameters aborts the whole Python process inside LightGBM.
    parameters_end = text.index(b"end of parameters")
    for broken in (b"not a model\n", text[: len(text) // 3], text[: parameters_end - 20]):
        _rewrite(saved, "model.txt", broken)
        _refused(saved, "model.txt", R.INCOMPLETE_LIGHTGBM)
    _rewrite(saved, "model.txt", b"\xff" + text)
    _refused(saved, "model.txt", "not UTF-8 text")
    # Every section present but unreadable: LightGBM's error, under the file's name.
    _rewrite(saved, "model.txt", text[: text.rindex(b"pandas_categorical:") + 20])
    _refused(saved, "model.txt", "LightGBM cannot read it (Expecting value")
    skeleton = (
        b"tree\n\nend of trees\n\nparameters:\nend of parameters\n\npandas_categorical:null\n"
    )
    _rewrite(saved, "model.txt", skeleton)
    _refused(saved, "model.txt", "header lacks ['feature_infos', 'feature_names'")
    # A tree edited into a shape LightGBM would crash on (tests/modeling/test_lightgbm_text.py).
    _rewrite(saved, "model.txt", re.sub(rb"left_child=\S+", b"left_child=999", text, count=1))
    _refused(saved, "model.txt", "Tree=0: node 0 points to node 999")
    # A multiclass model over the same features, swapped in.
    X, y = data["train"]
    multi = lgb.LGBMClassifier(n_estimators=3, num_leaves=5, verbose=-1, n_jobs=1)
    _rewrite(
        saved, "model.txt", multi.fit(X, y + (X["age"] > 50)).booster_.model_to_string().encode()
    )
    _refused(saved, "model.txt", "header num_class='3'; expected num_class=1")


@pytest.mark.parametrize(("kind", "method"), CASES)
def test_consistent_bundles_still_load_and_predict_identically(
    kind, method, request, data, tmp_path
) -> None:
    # A faithful rewrite (same bytes, checksums recomputed) is not a mismatch.
    model = request.getfixturevalue(f"{kind}_model")
    bundle = ModelBundle.from_calibrated(_calibrate(model, method, data), kind, FEATURES, "death")
    saved = bundle.save(tmp_path / "b")
    for name in ("metadata.json", "calibrator.json", F.MODEL_FILES[kind]):
        _rewrite(saved, name, (saved / name).read_bytes())
    loaded = ModelBundle.load(saved, expected_sha256=bundle.sha256)
    X = data["test"]
    np.testing.assert_array_equal(loaded.predict_proba(X), bundle.predict_proba(X))
    np.testing.assert_array_equal(loaded.contributions(X), bundle.contributions(X))


def test_lightgbm_fitted_on_arrays_still_loads(data: dict, tmp_path: Path) -> None:
    # LightGBM names array columns Column_<i>: only the count can be checked (as at save).
    X, y = data["train"]
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=5, verbose=-1, n_jobs=1)
    model.fit(X.to_numpy(dtype=float), y)
    bundle = ModelBundle.from_calibrated(model, "lightgbm", FEATURES, "death")
    loaded = ModelBundle.load(bundle.save(tmp_path / "b"))
    X_test = data["test"]
    np.testing.assert_array_equal(loaded.predict_proba(X_test), bundle.predict_proba(X_test))
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    meta["features"] = FEATURES[:3]
    _rewrite(tmp_path / "b", "metadata.json", F._dumps(meta))
    _refused(tmp_path / "b", "metadata.json does not match model.txt", "3 feature names given")


VERIFY_EDITS = {
    "swapped-features": ("metadata.json", _swap_first_two),
    "platt": ("calibrator.json", CALIBRATOR_EDITS["platt"]),
    "truncated-isotonic": ("calibrator.json", _truncate_y),
    "metadata-not-json": ("metadata.json", None),
}


@pytest.mark.parametrize("case", VERIFY_EDITS.values(), ids=VERIFY_EDITS.keys())
def test_cli_verify_refuses_with_one_line(saved: Path, case) -> None:
    name, edit = case
    if edit is None:
        _rewrite(saved, name, b"{not json")
        fragment = "not valid JSON"
    else:
        fragment = _rewrite_json(saved, name, edit)
    result = CliRunner().invoke(app, ["models", "verify", str(saved)])
    assert result.exit_code == EXIT_DATA, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {saved}: {name}"), line
    assert fragment in line, line


def test_cli_verify_prints_one_line_to_a_pipe(lgb_bundle, tmp_path) -> None:
    # A long folder name, as a county's runbook has: the sha256 is copied from this line.
    deep = lgb_bundle.save(tmp_path / ("nested-" * 12) / "models" / "composite_adverse")
    result = CliRunner().invoke(app, ["models", "verify", str(deep)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    line, *details = result.stdout.strip().splitlines()
    assert line.startswith("OK ") and line.endswith(f"sha256={lgb_bundle.sha256}")
    # Below it, indented, the software that trained it (this bundle records no test split).
    assert [d[:15] for d in details] == ["  trained with "]
    assert "riskstrat code sha256 " in details[0]


def test_cli_verify_takes_a_hash_as_score_does(lgb_bundle, tmp_path) -> None:
    # In either case; a malformed one or no folder is a runbook's slip (2), not tampering (1).
    saved = lgb_bundle.save(tmp_path / "m")
    upper = CliRunner().invoke(
        app, ["models", "verify", str(saved), "--sha256", lgb_bundle.sha256.upper()]
    )
    assert upper.exit_code == 0, upper.output
    for args in ([str(saved), "--sha256", lgb_bundle.sha256[:12]], [str(tmp_path / "nope")]):
        slip = CliRunner().invoke(app, ["models", "verify", *args])
        assert slip.exit_code == 2, slip.output
    other = CliRunner().invoke(app, ["models", "verify", str(saved), "--sha256", "0" * 64])
    assert other.exit_code == 1, other.output


def test_cli_verify_says_when_the_bundle_learnt_and_how_it_tested() -> None:
    from riskstrat._commands.models import _provenance_lines

    meta = {
        "split": {
            "train_as_of": ["2022-01-01", "2022-04-01"],
            "calibration_as_of": ["2023-10-01"],
            "test_as_of": "2024-10-01",
            "horizon_months": 12,
            "data_end": "2025-10-01",
        },
        "metrics": {"auroc": 0.77829, "ece": 0.00696, "auprc": None},
        "packages": {"lightgbm": "4.7.0", "riskstrat": "0.1.0", "riskstrat_code_sha256": "ab" * 32},
    }
    assert _provenance_lines(meta) == [
        "trained on as-of 2022-01-01, 2022-04-01; calibrated on 2023-10-01; tested on "
        "2024-10-01 (horizon 12 months, data end 2025-10-01)",
        "test quarter: auroc 0.778, ece 0.007 (riskstrat train's report has intervals)",
        "trained with lightgbm 4.7.0, riskstrat 0.1.0 (riskstrat code sha256 abababababab)",
    ]
    assert _provenance_lines({}) == []


def test_expected_sha256_pins_the_bundle(lgb_bundle, saved) -> None:
    assert ModelBundle.load(saved, expected_sha256=lgb_bundle.sha256).sha256 == lgb_bundle.sha256
    with pytest.raises(BundleError, match="differs from the expected 0000"):
        ModelBundle.load(saved, expected_sha256="0000")


def test_a_pinned_bundle_is_refused_before_its_model_is_parsed(
    lgb_bundle, saved, monkeypatch
) -> None:
    # An edited, re-checksummed model.txt could abort LightGBM's parser; with a pin it is
    # never handed to it.
    def parse(*args: object) -> None:
        raise AssertionError("the model was parsed")

    monkeypatch.setattr(B, "_read_lightgbm", parse)
    with pytest.raises(BundleError, match="differs from the expected 0000"):
        ModelBundle.load(saved, expected_sha256="0000")
    with pytest.raises(BundleError, match="differs from the expected 0000"):
        ModelBundle.from_files(lgb_bundle.files, expected_sha256="0000")


def test_missing_features_are_named(lgb_bundle: ModelBundle, data: dict) -> None:
    X = data["test"].drop(columns=["has_smi", "age"])
    message = B.MISSING_FEATURES.format(missing=["age", "has_smi"], count=2, total=4)
    with pytest.raises(BundleError, match=re.escape(message)):
        lgb_bundle.predict_proba(X)
    with pytest.raises(BundleError, match=re.escape(message)):
        lgb_bundle.contributions(X)


def test_columns_are_selected_by_name(lgb_bundle: ModelBundle, data: dict) -> None:
    X = data["test"]
    shuffled = X[FEATURES[::-1]].assign(person_id=[f"p{i}" for i in range(len(X))])
    np.testing.assert_array_equal(lgb_bundle.predict_proba(shuffled), lgb_bundle.predict_proba(X))


def test_text_feature_column_is_refused(lgb_bundle: ModelBundle, data: dict) -> None:
    X = data["test"].assign(age=data["test"]["age"].astype(str))
    with pytest.raises(BundleError, match="feature column 'age' has dtype"):
        lgb_bundle.raw_score(X)


def test_logistic_without_imputer_refuses_missing_values(data: dict) -> None:
    X, y = data["train"]
    model = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression())])
    model.fit(X.fillna(0), y)
    bundle = ModelBundle.from_calibrated(model, "logistic", FEATURES, "death")
    with pytest.raises(BundleError, match=re.escape("['ed_visits_365d']")):
        bundle.predict_proba(data["test"])


def test_missing_values_are_refused_where_training_had_none(lightgbm_model, data) -> None:
    # LightGBM scores a missing value in a feature it saw no missing values in as 0: a
    # count lost in a join would read as "no events" and lower the person's risk unsaid.
    allowed = {"missing_allowed": ["ed_visits_365d"]}
    bundle = ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES, "death", allowed)
    X = data["test"].copy()
    assert X["ed_visits_365d"].isna().any()
    assert bundle.predict_proba(X).shape == (150,)  # the listed feature may be missing
    X.loc[X.index[:3], "days_since_release"] = np.nan
    X["has_smi"] = X["has_smi"].astype("boolean")  # a nullable flag, as a left join leaves
    X.loc[X.index[2:6], "has_smi"] = pd.NA
    message = B.UNEXPECTED_MISSING.format(
        columns=["has_smi", "days_since_release"], rows=6, allowed=["ed_visits_365d"]
    )
    for score in (bundle.predict_proba, bundle.raw_score, bundle.contributions):
        with pytest.raises(BundleError, match=re.escape(message)):
            score(X)
    # A bundle without the list (written before it was kept) scores as it always did.
    unlisted = ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES, "death")
    assert np.isfinite(unlisted.predict_proba(X)).all()


def test_build_errors(lightgbm_model, logistic_model, data) -> None:
    with pytest.raises(
        BundleError, match=re.escape(F.BAD_KIND.format(kind="xgb", allowed=list(F.KINDS)))
    ):
        ModelBundle.from_calibrated(lightgbm_model, "xgb", FEATURES, "death")
    with pytest.raises(BundleError, match="model kind 'logistic' expects"):
        ModelBundle.from_calibrated(lightgbm_model, "logistic", FEATURES, "death")
    with pytest.raises(BundleError, match="model kind 'lightgbm' expects an LGBMClassifier"):
        ModelBundle.from_calibrated(logistic_model, "lightgbm", FEATURES, "death")
    with pytest.raises(BundleError, match="differ from the names the model was fitted on"):
        ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES[::-1], "death")
    with pytest.raises(BundleError, match="3 feature names given but the model was fitted on 4"):
        ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES[:3], "death")
    with pytest.raises(BundleError, match="metadata key 'kind' is written by the bundle"):
        ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES, "death", {"kind": "x"})
    with pytest.raises(BundleError, match="value of type set cannot be stored"):
        ModelBundle.from_calibrated(lightgbm_model, "lightgbm", FEATURES, "death", {"x": {1}})
    X, y = data["cal"]
    ensemble = CalibratedClassifierCV(lightgbm_model, cv=2).fit(X, y)
    with pytest.raises(BundleError, match="got 2 calibrated classifiers"):
        ModelBundle.from_calibrated(ensemble, "lightgbm", FEATURES, "death")
    temperature = CalibratedClassifierCV(FrozenEstimator(lightgbm_model), method="temperature")
    with pytest.raises(BundleError, match="calibration method 'temperature' cannot be stored"):
        ModelBundle.from_calibrated(temperature.fit(X, y), "lightgbm", FEATURES, "death")


def test_load_and_score_never_unpickle(saved: Path, data: dict, monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle used on the bundle path")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    bundle = ModelBundle.load(saved)
    assert bundle.predict_proba(data["test"]).shape == (150,)
    assert bundle.contributions(data["test"]).shape == (150, 5)


def test_a_bundle_load_would_refuse_is_never_made(lightgbm_model, data) -> None:
    calibrated = _calibrate(lightgbm_model, "isotonic", data)
    with pytest.raises(BundleError, match="outcome must be a non-empty string"):
        ModelBundle.from_calibrated(calibrated, "lightgbm", FEATURES, "")


def test_inputs_are_rounded_to_float32_as_in_training(tmp_path: Path) -> None:
    # Training feeds float32 (feature_matrix), so LightGBM thresholds sit between float32
    # values. A cents amount that float32 rounds across a threshold must go where training
    # would have sent it.
    from riskstrat.modeling._panel import feature_matrix

    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame({"paid": np.round(rng.uniform(0, 50_000, n), 2), "visits": rng.poisson(2, n)})
    y = (rng.random(n) < 1 / (1 + np.exp(2 - X["paid"] / 15_000))).astype(int).to_numpy()
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1, n_jobs=1)
    model.fit(feature_matrix(X, ["paid", "visits"]), y)
    bundle = ModelBundle.from_calibrated(model, "lightgbm", ["paid", "visits"], "death")

    thresholds = []

    def walk(node: dict) -> None:
        if "split_feature" in node:
            if node["split_feature"] == 0:
                thresholds.append(node["threshold"])
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in model.booster_.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    crossing = [
        cents
        for t in thresholds
        for cents in np.round(np.arange(t - 0.05, t + 0.05, 0.01), 2)
        if (np.float32(cents) <= t) != (cents <= t)
    ]
    assert crossing  # amounts of a few thousand dollars have float32 steps of a fraction of a cent
    probe = pd.DataFrame({"paid": crossing, "visits": 1})
    expected = model.predict_proba(feature_matrix(probe, ["paid", "visits"]), raw_score=True)
    as_float64 = model.predict_proba(probe.astype("float64"), raw_score=True)
    assert not np.array_equal(as_float64, expected)  # the probes do cross splits
    np.testing.assert_array_equal(bundle.raw_score(probe), expected)
    loaded = ModelBundle.load(bundle.save(tmp_path / "b"))
    np.testing.assert_array_equal(loaded.raw_score(probe), expected)


def test_another_lightgbm_release_is_warned_about(saved: Path, caplog) -> None:
    with caplog.at_level("WARNING", logger="riskstrat.modeling._bundle"):
        ModelBundle.load(saved)
    assert not caplog.records  # saved and read by the same LightGBM

    def older(meta: dict) -> tuple[dict, str]:
        meta["packages"]["lightgbm"] = "3.3.5"
        return meta, ""

    _rewrite_json(saved, F.METADATA_FILE, older)
    with caplog.at_level("WARNING", logger="riskstrat.modeling._bundle"):
        bundle = ModelBundle.load(saved)  # still loads: LightGBM reads older text models
    (record,) = caplog.records
    assert f"saved with lightgbm 3.3.5 and is read with {lgb.__version__}" in record.getMessage()
    assert bundle.kind == "lightgbm"


def test_a_feature_order_mismatch_names_where_not_both_lists() -> None:
    swapped = [FEATURES[1], FEATURES[0], *FEATURES[2:]]
    assert C.feature_order_problem(swapped, FEATURES) == (
        "feature names differ from the names the model was fitted on at 2 of 4 positions; "
        "first at position 0: 'ed_visits_365d' where the model has 'age'"
    )


def test_the_saved_model_keeps_no_training_ranges_and_explains_the_same(
    lightgbm_model: lgb.LGBMClassifier, saved: Path, data: dict
) -> None:
    own = lightgbm_model.booster_.model_to_string()
    assert re.search(r"^feature_infos=.*\[", own, flags=re.M)  # LightGBM's has min:max
    text = (saved / "model.txt").read_text()
    (infos,) = [line for line in text.splitlines() if line.startswith("feature_infos=")]
    assert set(infos.split("=", 1)[1].split()) == {"none"}
    # The trees alone give the scores and the per-feature contributions.
    X = data["test"]
    stored = lgb.Booster(model_str=text)
    np.testing.assert_array_equal(
        stored.predict(X, pred_contrib=True), lightgbm_model.booster_.predict(X, pred_contrib=True)
    )


def test_a_missing_bundle_folder_is_named_as_missing(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="nope: no such folder; expected a model bundle folder"):
        ModelBundle.load(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="file: not a model bundle folder"):
        ModelBundle.load(tmp_path / "file")

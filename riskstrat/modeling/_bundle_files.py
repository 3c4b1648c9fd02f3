"""The on-disk format of a model bundle: file names, JSON layout, checksums, verification.

A bundle is a folder of plain-text files plus ``checksums.json`` (sha256 of every other
file). This module owns everything about those bytes: the reproducible JSON encoding
(so equal bundles hash equally), the atomic write, and the read that verifies every
checksum before any file is interpreted. It knows nothing about models or scoring,
which live in :mod:`riskstrat.modeling._bundle_codec` and :mod:`riskstrat.modeling._bundle`.
"""

from __future__ import annotations

import hashlib
import json
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from riskstrat._atomic import OutputExistsError, atomic_output_dir

FORMAT_VERSION = 1
KINDS: tuple[str, ...] = ("lightgbm", "logistic")
CALIBRATION_METHODS: tuple[str, ...] = ("isotonic", "sigmoid", "none")

METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
CALIBRATOR_FILE = "calibrator.json"
MODEL_FILES: Mapping[str, str] = types.MappingProxyType(
    {"lightgbm": "model.txt", "logistic": "logistic.json"}
)
# Keys the bundle writes itself; caller metadata may not override them.
RESERVED_KEYS: tuple[str, ...] = ("format_version", "kind", "features", "outcome", "packages")

BAD_KIND = "model kind {kind!r} is not one of {allowed}"
RESERVED_METADATA = (
    "metadata key {key!r} is written by the bundle itself; reserved keys: {reserved}"
)
NOT_JSON = "metadata key {key!r}: value of type {type_name} cannot be stored as JSON"
EXISTS = "{path}: already exists; pass --overwrite (overwrite=True) to replace it"
NOT_REPLACEABLE = (
    "{path}: exists and is not a model bundle (no checksums.json); refusing to replace it, "
    "expected a bundle folder, an empty folder or a new path"
)
NOT_A_BUNDLE = "{path}: not a model bundle folder"
NO_BUNDLE_FILES = (
    "{path}: not a model bundle (neither checksums.json nor metadata.json is in it); expected "
    "a folder written by riskstrat train --out or riskstrat models export"
)
NOT_A_NAME = (
    "{path}: checksums.json lists {file!r}, which is not a file name in the bundle folder "
    "(a path); a bundle lists only its own files"
)
RENAMED = " ({missing!r}, which it lists, is missing: renamed?)"
NO_SUCH_BUNDLE = "{path}: no such folder; expected a model bundle folder (riskstrat train --out)"
MISSING_FILE = "{path}: bundle file {file!r} is missing"
TAMPERED = "{path}: bundle file {file!r} does not match its sha256 in checksums.json"
NOT_A_FILE = "{path}: bundle entry {file!r} is not a regular file; a bundle holds only files"
UNLISTED_FILE = "{path}: bundle file {file!r} is not listed in checksums.json"
BAD_FORMAT = "{path}: bundle format version {version!r} is not supported; expected {expected}"
BAD_METADATA = "{path}: metadata.json: {problem}"
BAD_FILE = "{path}: {file}: {problem}"
BAD_JSON = "{path}: {file}: not valid JSON ({error})"
BAD_CHECKSUMS = (
    "{path}: checksums.json: expected a JSON object mapping file names to sha256 hex "
    "strings, got {got}"
)
MISMATCH = "{path}: {file} does not match {other}: {problem}"
WRONG_BUNDLE = "{path}: bundle sha256 {actual} differs from the expected {expected}"


class BundleError(ValueError):
    """A model bundle cannot be built, saved, loaded or applied as asked."""


class BundleOutputError(BundleError):
    """Where a bundle was to be written is taken: the caller's choice, not the bundle's fault."""


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):  # date, datetime, pandas Timestamp
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(obj: Any) -> bytes:
    # Sorted keys and a fixed layout make the bytes (and so the sha256) reproducible;
    # json writes floats with repr, which round-trips float64 exactly. NaN is refused:
    # it is not JSON, and other readers of metadata.json would choke on it.
    text = json.dumps(obj, sort_keys=True, indent=2, default=_json_default, allow_nan=False)
    return (text + "\n").encode()


def _finite(value: Any) -> Any:
    """Metadata with NaN and infinities replaced by null (an undefined metric, say)."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_finite(v) for v in value]
    return value


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON and which _dumps never writes.
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(data: bytes, *, path: Path | str, file: str) -> Any:
    """Parse the bundle file ``file``, refusing anything that is not strict JSON."""
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise BundleError(BAD_JSON.format(path=path, file=file, error=exc)) from exc


def _check_loaded_metadata(meta: Any, path: Path) -> None:
    """Refuse a ``metadata.json`` that the bundle writer could not have written."""
    if not isinstance(meta, dict):
        problem = f"expected a JSON object, got {_json_type(meta)}"
        raise BundleError(BAD_METADATA.format(path=path, problem=problem))
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise BundleError(BAD_FORMAT.format(path=path, version=version, expected=FORMAT_VERSION))
    kind = meta.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        problem = BAD_KIND.format(kind=kind, allowed=list(KINDS))
        raise BundleError(BAD_METADATA.format(path=path, problem=problem))
    problem = None
    outcome = meta.get("outcome")
    features = meta.get("features")
    if not isinstance(outcome, str) or not outcome:
        problem = f"outcome must be a non-empty string, got {outcome!r}"
    elif not isinstance(features, list) or not features:
        got = _json_type(features) if not isinstance(features, list) else "an empty array"
        problem = f"features must be a non-empty array of feature names, got {got}"
    else:
        bad = [f for f in features if not isinstance(f, str) or not f]
        if bad:
            problem = f"features must be non-empty strings, got {bad[0]!r}"
        elif len(set(features)) != len(features):
            repeated = sorted({f for f in features if features.count(f) > 1})
            problem = f"features must be distinct; repeated: {repeated}"
        else:
            problem = _missing_allowed_problem(meta.get("missing_allowed", []), features)
    if problem is not None:
        raise BundleError(BAD_METADATA.format(path=path, problem=problem))


def _missing_allowed_problem(allowed: Any, features: list[str]) -> str | None:
    if not isinstance(allowed, list) or not all(isinstance(f, str) for f in allowed):
        return f"missing_allowed must be an array of feature names, got {_json_type(allowed)}"
    unknown = [f for f in allowed if f not in features]
    if unknown:
        return f"missing_allowed names {unknown}, which are not features of the model"
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


VERSION_DRIFT = (
    "{path}: the model was saved with lightgbm {saved} and is read with {installed}; a newer "
    "LightGBM reads older text models, but check a sample of scores against the training "
    "run's before relying on it"
)


def _lightgbm_drift(meta: Mapping[str, Any], path: Path) -> str | None:
    """A warning when a LightGBM bundle meets a LightGBM of another major.minor, else None.

    Only LightGBM's own code turns a bundle into scores (the calibrator and the logistic model
    are read by riskstrat), so its version is the one that can change them.
    """
    import lightgbm

    saved = str(meta.get("packages", {}).get("lightgbm", ""))
    if meta.get("kind") != "lightgbm" or not saved:
        return None
    if saved.split(".")[:2] == lightgbm.__version__.split(".")[:2]:
        return None
    return VERSION_DRIFT.format(path=path, saved=saved, installed=lightgbm.__version__)


def _package_versions() -> dict[str, str]:
    """riskstrat's version and the code and libraries that trained the model (an evaluator
    can tell two bundles' software apart, as a cohort's manifest does)."""
    import riskstrat
    from riskstrat._provenance import code_sha256, package_versions

    return {
        **package_versions(),
        "riskstrat": riskstrat.__version__,
        "riskstrat_code_sha256": code_sha256(),
    }


def _check_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    clean = {}
    for key, value in metadata.items():
        if key in RESERVED_KEYS:
            raise BundleError(RESERVED_METADATA.format(key=key, reserved=list(RESERVED_KEYS)))
        try:
            clean[str(key)] = json.loads(_dumps(_finite(value)))
        except TypeError as exc:
            raise BundleError(NOT_JSON.format(key=key, type_name=exc.args[0])) from exc
    return clean


def _checksums(files: Mapping[str, bytes]) -> bytes:
    """``checksums.json`` for ``files``: its sha256 identifies every byte of the bundle."""
    return _dumps({name: _sha256(data) for name, data in sorted(files.items())})


def check_replaceable(path: Path, *, overwrite: bool) -> None:
    """Refuse to write a bundle at ``path`` unless it is new, or ``overwrite`` and a bundle.

    Overwrite replaces a bundle (or an empty folder), never whatever folder or file a typo
    names.
    """
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return
    if not overwrite:
        raise BundleOutputError(EXISTS.format(path=path))
    replaceable = path.is_dir() and not path.is_symlink()
    if replaceable and not (path / CHECKSUMS_FILE).is_file() and any(path.iterdir()):
        replaceable = False
    if not replaceable:
        raise BundleOutputError(NOT_REPLACEABLE.format(path=path))


def _write_files(path: Path, files: Mapping[str, bytes], *, overwrite: bool) -> Path:
    """Write ``files`` to the folder ``path`` atomically (see :meth:`ModelBundle.save`)."""
    check_replaceable(path, overwrite=overwrite)
    try:
        with atomic_output_dir(path, overwrite=overwrite) as tmp:
            for name, data in files.items():
                with (tmp / name).open("wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
    except OutputExistsError as exc:  # another run wrote ``path`` meanwhile
        raise BundleOutputError(str(exc)) from exc
    return path


def _read_verified(
    path: Path, expected_sha256: str | None = None
) -> tuple[dict[str, bytes], bytes]:
    """Read a bundle folder's files, each checked against ``checksums.json``.

    With ``expected_sha256`` (a pinned bundle), the raw bytes of ``checksums.json`` are
    compared with it before anything is parsed, so an edited and re-checksummed bundle
    reaches neither the JSON nor LightGBM's parser.

    Returns the files by name and the raw bytes of ``checksums.json``. Raises
    :class:`BundleError` if a file is missing, changed or unlisted, ``checksums.json`` or
    ``metadata.json`` is not valid JSON, the format version is unknown, the metadata's
    kind, outcome or features are malformed, or the kind's model file is missing.
    """
    if not path.exists():
        raise BundleError(NO_SUCH_BUNDLE.format(path=path))
    if not path.is_dir():
        raise BundleError(NOT_A_BUNDLE.format(path=path))
    checksums_path = path / CHECKSUMS_FILE
    if not checksums_path.is_file():
        if not (path / METADATA_FILE).exists():  # a data folder, say: no bundle at all
            raise BundleError(NO_BUNDLE_FILES.format(path=path))
        raise BundleError(MISSING_FILE.format(path=path, file=CHECKSUMS_FILE))
    raw_checksums = checksums_path.read_bytes()
    if expected_sha256 is not None and _sha256(raw_checksums) != expected_sha256:
        raise BundleError(
            WRONG_BUNDLE.format(path=path, actual=_sha256(raw_checksums), expected=expected_sha256)
        )
    checksums = _parse_json(raw_checksums, path=path, file=CHECKSUMS_FILE)
    if not isinstance(checksums, dict):
        raise BundleError(BAD_CHECKSUMS.format(path=path, got=_json_type(checksums)))
    not_hex = [k for k, v in checksums.items() if not isinstance(v, str)]
    if not_hex:
        got = f"{_json_type(checksums[not_hex[0]])} for {not_hex[0]!r}"
        raise BundleError(BAD_CHECKSUMS.format(path=path, got=got))
    pathlike = [k for k in checksums if k != Path(k).name or k in ("", ".", "..")]
    if pathlike:  # never opened: it could name a file outside the bundle
        raise BundleError(NOT_A_NAME.format(path=path, file=pathlike[0]))
    entries = sorted(path.iterdir())
    for entry in entries:
        # A folder, a link (to /dev/zero, say) or a pipe has no place in a bundle.
        if entry.is_symlink() or not entry.is_file():
            raise BundleError(NOT_A_FILE.format(path=path, file=entry.name))
    present = {p.name for p in entries} - {CHECKSUMS_FILE}
    unlisted = sorted(present - set(checksums))
    if unlisted:
        missing = sorted(set(checksums) - present)
        renamed = RENAMED.format(missing=missing[0]) if missing else ""
        raise BundleError(UNLISTED_FILE.format(path=path, file=unlisted[0]) + renamed)
    files = {}
    for name in sorted(checksums):
        if name not in present:
            raise BundleError(MISSING_FILE.format(path=path, file=name))
        data = (path / name).read_bytes()
        if _sha256(data) != checksums[name]:
            raise BundleError(TAMPERED.format(path=path, file=name))
        files[name] = data
    for required in (METADATA_FILE, CALIBRATOR_FILE):
        if required not in files:
            raise BundleError(MISSING_FILE.format(path=path, file=required))
    meta = _parse_json(files[METADATA_FILE], path=path, file=METADATA_FILE)
    _check_loaded_metadata(meta, path)
    if MODEL_FILES[meta["kind"]] not in files:
        raise BundleError(MISSING_FILE.format(path=path, file=MODEL_FILES[meta["kind"]]))
    return files, raw_checksums

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
import shutil
import tempfile
import types
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

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
EXISTS = "{path}: already exists; pass overwrite=True to replace it"
NOT_A_BUNDLE = "{path}: not a model bundle folder"
MISSING_FILE = "{path}: bundle file {file!r} is missing"
TAMPERED = "{path}: bundle file {file!r} does not match its sha256 in checksums.json"
UNLISTED_FILE = "{path}: bundle file {file!r} is not listed in checksums.json"
BAD_FORMAT = "{path}: bundle format version {version!r} is not supported; expected {expected}"
BAD_METADATA = "{path}: metadata.json: {problem}"
WRONG_BUNDLE = "{path}: bundle sha256 {actual} differs from the expected {expected}"


class BundleError(ValueError):
    """A model bundle cannot be built, saved, loaded or applied as asked."""


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _package_versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    import riskstrat

    return {
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "riskstrat": riskstrat.__version__,
        "scikit-learn": sklearn.__version__,
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


def _write_files(path: Path, files: Mapping[str, bytes], *, overwrite: bool) -> Path:
    """Write ``files`` to the folder ``path`` atomically (see :meth:`ModelBundle.save`)."""
    if path.exists() and not overwrite:
        raise BundleError(EXISTS.format(path=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        for name, data in files.items():
            with (tmp / name).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        tmp.chmod(0o755)
        if path.exists():
            old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex}")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def _read_verified(path: Path) -> tuple[dict[str, bytes], bytes]:
    """Read a bundle folder's files, each checked against ``checksums.json``.

    Returns the files by name and the raw bytes of ``checksums.json``. Raises
    :class:`BundleError` if a file is missing, changed or unlisted, the format version is
    unknown, or the model kind or its model file is not what the metadata says.
    """
    if not path.is_dir():
        raise BundleError(NOT_A_BUNDLE.format(path=path))
    checksums_path = path / CHECKSUMS_FILE
    if not checksums_path.is_file():
        raise BundleError(MISSING_FILE.format(path=path, file=CHECKSUMS_FILE))
    raw_checksums = checksums_path.read_bytes()
    try:
        checksums = json.loads(raw_checksums)
    except ValueError as exc:
        raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE)) from exc
    if not isinstance(checksums, dict):
        raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
    if not all(isinstance(v, str) for v in checksums.values()):
        raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
    present = {p.name for p in path.iterdir()} - {CHECKSUMS_FILE}
    unlisted = sorted(present - set(checksums))
    if unlisted:
        raise BundleError(UNLISTED_FILE.format(path=path, file=unlisted[0]))
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
    meta = json.loads(files[METADATA_FILE])
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(BAD_FORMAT.format(path=path, version=version, expected=FORMAT_VERSION))
    if meta.get("kind") not in KINDS:
        problem = BAD_KIND.format(kind=meta.get("kind"), allowed=list(KINDS))
        raise BundleError(BAD_METADATA.format(path=path, problem=problem))
    if MODEL_FILES[meta["kind"]] not in files:
        raise BundleError(MISSING_FILE.format(path=path, file=MODEL_FILES[meta["kind"]]))
    return files, raw_checksums

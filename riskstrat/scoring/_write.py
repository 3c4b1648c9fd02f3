"""Byte-reproducible, atomic output folders.

Everything of a run is written into a temporary folder beside ``out`` and renamed into
place only when complete: a crash (or an exception) never leaves a half-written cohort, and
readers of ``out`` see either the previous run or the new one. Writers are deterministic:
no timestamps, sorted JSON keys, fixed Parquet options and CSV formatting.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

OUT_EXISTS = "{path}: output folder already exists; pass --overwrite (overwrite=True) to replace it"
OUT_NOT_DIR = "{path}: exists and is not a folder; refusing to replace it"

# Fixed Parquet options so the same frame always gives the same bytes.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


class OutputExistsError(FileExistsError):
    """The output folder exists and overwriting was not asked for."""


@contextlib.contextmanager
def atomic_output_dir(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; rename it to ``out`` if the block succeeds.

    Parameters
    ----------
    out : str or Path
        Final output folder.
    overwrite : bool
        Replace an existing ``out`` (swapped in by rename, the old one removed afterwards).

    Yields
    ------
    Path
        The temporary folder to write into.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is false (checked before any work and again
        before the rename).
    """
    out = Path(out)
    _check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work(out)
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{pid}-", dir=out.parent))
    try:
        yield tmp
        _fsync_dir(tmp)
        _check_target(out, overwrite)
        tmp.chmod(0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{pid}-", dir=out.parent))
            old.rmdir()
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
        _fsync_dir(out.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_work(out: str | Path) -> int:
    """Remove work folders beside ``out`` left by runs that were killed mid-write.

    A run names its work folders ``.<out>.tmp-<pid>-*`` / ``.<out>.old-<pid>-*``; a folder
    whose process no longer exists on this machine can only be debris (a finished run
    renames or removes its own). Folders of live processes, and names without a pid, are
    left alone.

    Returns
    -------
    int
        How many folders were removed.
    """
    out = Path(out)
    removed = 0
    if not out.parent.is_dir():
        return 0
    for kind in ("tmp", "old"):
        for folder in out.parent.glob(f".{glob.escape(out.name)}.{kind}-*-*"):
            pid = folder.name[len(f".{out.name}.{kind}-") :].split("-", 1)[0]
            if folder.is_dir() and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    if removed:
        logger.info("removed %d work folder(s) left by killed runs beside %s", removed, out)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(OUT_NOT_DIR.format(path=out))
    if out.exists() and not overwrite:
        raise OutputExistsError(OUT_EXISTS.format(path=out))


def _fsync_dir(path: Path) -> None:
    # Durability of the rename on POSIX; harmless elsewhere.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` (index dropped) with the fixed :data:`PARQUET_OPTIONS`."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # The pandas metadata block is dropped: it repeats the schema and varies with the
    # pandas version, which would change bytes without changing content.
    table = table.replace_schema_metadata(None)
    pq.write_table(table, str(path), **PARQUET_OPTIONS)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends; floats keep full precision (repr)."""
    text = frame.to_csv(index=False, lineterminator="\n")
    _write_bytes(Path(path), text.encode("utf-8"))


def write_json(obj: Any, path: str | Path) -> None:
    """Write ``obj`` as indented JSON with sorted keys and a trailing newline."""
    _write_bytes(Path(path), dumps_json(obj).encode("utf-8"))


def write_text(text: str, path: str | Path) -> None:
    """Write UTF-8 text with ``\\n`` line ends."""
    _write_bytes(Path(path), text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(obj, sort_keys=True, indent=2, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """sha256 hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()

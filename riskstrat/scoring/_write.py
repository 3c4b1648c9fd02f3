"""Byte-reproducible, atomic output folders.

Everything of a run is written into a temporary folder beside ``out`` and renamed into
place only when complete: a crash (or an exception) never leaves a half-written cohort, and
readers of ``out`` see either the previous run or the new one. Writers are deterministic:
no timestamps, sorted JSON keys, fixed Parquet options and CSV formatting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# The folder mechanics live in riskstrat._atomic, shared with the model layer; the cohort
# writer's callers keep importing them from here.
from riskstrat._atomic import OUT_EXISTS as OUT_EXISTS
from riskstrat._atomic import OutputExistsError as OutputExistsError
from riskstrat._atomic import atomic_output_dir as atomic_output_dir
from riskstrat._atomic import remove_stale_work as remove_stale_work

logger = logging.getLogger(__name__)


# Fixed Parquet options so the same frame always gives the same bytes.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


def _write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_parquet(
    frame: pd.DataFrame, path: str | Path, types: Mapping[str, pa.DataType] | None = None
) -> None:
    """Write ``frame`` (index dropped) with the fixed :data:`PARQUET_OPTIONS`.

    ``types`` fixes the Arrow type of the named columns: a column of dates that is empty this
    quarter would otherwise be written with Arrow's null type, and change its type next time.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name, kind in (types or {}).items():
        i = table.schema.get_field_index(name)
        if i < 0:
            raise KeyError(
                f"write_parquet: no column {name!r} to type; columns {table.column_names}"
            )
        column = table.column(i)
        if column.null_count == len(column):
            # Empty or all null (a quarter nobody was eligible in): pandas gave it whatever
            # dtype, which may not cast (double to date); nulls of the type are the same.
            column = pa.nulls(len(column), type=kind)
        table = table.set_column(i, name, column.cast(kind))
    # The pandas metadata block is dropped: it repeats the schema and varies with the
    # pandas version, which would change bytes without changing content.
    table = table.replace_schema_metadata(None)
    pq.write_table(table, str(path), **PARQUET_OPTIONS)
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as UTF-8 CSV with ``\\n`` line ends; floats as repr (round first for
    fewer digits)."""
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

"""Write eligibility results to Parquet atomically, readable by plain ``pd.read_parquet``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat._args import as_path, check_frame
from riskstrat._atomic import atomic_file


def write_eligibility(long: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`evaluate_programs` output to ``path`` via a temporary file and rename.

    Parameters
    ----------
    long : DataFrame
        Eligibility rows (list columns as Arrow ``list<string>``).
    path : str or Path
        Target Parquet file; its folder is created.

    Returns
    -------
    Path

    Notes
    -----
    pandas records Arrow list columns in the Parquet metadata under a dtype name it
    cannot read back; the metadata is rewritten to ``object`` so a default
    ``pd.read_parquet`` gives array cells (``dtype_backend="pyarrow"`` gives lists).
    """
    check_frame(long, "long")
    path = as_path(path, "path", "the Parquet file to write (str or Path)")
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(long, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    if b"pandas" in metadata:
        pandas_meta = json.loads(metadata[b"pandas"])
        for column in pandas_meta.get("columns", []):
            if str(column.get("numpy_type", "")).startswith(("list<", "large_list<")):
                column["numpy_type"] = "object"
        metadata[b"pandas"] = json.dumps(pandas_meta).encode()
        table = table.replace_schema_metadata(metadata)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
    return path

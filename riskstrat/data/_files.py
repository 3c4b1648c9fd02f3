"""Where each contract table lies in a folder, shared by every reader of folders.

A table is one of ``<table>.parquet``, ``<table>.csv``, or a dataset folder ``<table>/``
of Parquet files, flat or in hive partitions (``year=2024/part-0.parquet``), the layout
Spark writes. A table stored twice, or a dataset mixing both layouts, is refused: which
copy to read is the county's call, and reading one silently would lose the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Kind = Literal["parquet", "partitioned", "csv"]

AMBIGUOUS_FILES = "{path}: table {table!r} is stored more than once ({found}); keep one"
MIXED_DATASET = (
    "{path}: holds Parquet files both at its top and in partition folders; expected one "
    "layout (all files at the top, or all in partitions such as year=2024/)"
)


def table_source(folder: Path, table: str) -> tuple[Kind, Path] | None:
    """How and where to read ``table`` in ``folder``; None when it is not there.

    Returns ``("parquet", file)``, ``("csv", file)``, ``("parquet", <dir>/*.parquet)`` for
    a flat dataset or ``("partitioned", <dir>/**/*.parquet)`` for a partitioned one (read
    with hive partitioning, so partition columns come back as columns).
    """
    found: list[tuple[Kind, Path]] = []
    for kind in ("parquet", "csv"):
        path = folder / f"{table}.{kind}"
        if path.is_file():
            found.append((kind, path))
    dataset = folder / table
    if dataset.is_dir():
        flat = any(dataset.glob("*.parquet"))
        nested = any(dataset.glob("*/**/*.parquet"))
        if flat and nested:
            raise ValueError(MIXED_DATASET.format(path=dataset))
        if nested:
            found.append(("partitioned", dataset / "**" / "*.parquet"))
        elif flat:
            found.append(("parquet", dataset / "*.parquet"))
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(folder)) for _kind, p in found)
        raise ValueError(AMBIGUOUS_FILES.format(path=folder, table=table, found=names))
    return found[0] if found else None


def dataset_folder(path: Path) -> Path:
    """The folder a dataset glob (``<dir>/*.parquet``, ``<dir>/**/*.parquet``) reads."""
    while "*" in path.name:
        path = path.parent
    return path

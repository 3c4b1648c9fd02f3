"""Where each contract table lies in a folder, shared by every reader of folders.

A table is ``<table>.parquet`` or ``<table>.csv``, or a dataset folder of Parquet files,
``<table>/`` or ``<table>.parquet/`` (as Spark writes them), flat or in hive partitions
(``year=2024/part-0.parquet``). Files and folders whose names start with ``_`` or ``.``
(``_SUCCESS``, ``_temporary/``, ``.hive-staging/``) are not data, as Spark reads them. A
table stored twice, a dataset mixing layouts, or a folder of CSV parts is refused: which
copy to read is the county's call, and reading one silently would lose the other.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.data._codes import TABLE_NAMES

Kind = Literal["parquet", "csv", "dataset"]

logger = logging.getLogger(__name__)

# What `riskstrat synth` writes beside a county's tables: its own, not an extract's.
SYNTH_ENTRIES = frozenset({"synth_manifest.json", "truth"})
UNREAD = (
    "%s: %d entr%s not read, not named as a table of the data contract: %s; expected "
    "<table>.parquet, <table>.csv or a <table>/ folder for %s (a renamed or split extract "
    "is not read)"
)

UNREAD_PART = (
    "{path}: {names} not read, though named like table {table!r}: a table is read from "
    "one {table}.parquet or {table}.csv, or from every file in the folder {table}/; move "
    "a part of the table into {table}/ (with the rest of it), or anything else out of the "
    "folder, so that no rows are left out unsaid"
)
AMBIGUOUS_FILES = "{path}: table {table!r} is stored more than once ({found}); keep one"
MIXED_DATASET = (
    "{path}: holds Parquet files both at its top and in partition folders; expected one "
    "layout (all files at the top, or all in partitions such as year=2024/)"
)
NOT_HIVE = (
    "{path}: Parquet files in {folder!r}, which is not a hive partition (name=value); "
    "expected the files at the top of the dataset or in partitions such as year=2024/"
)
NO_DATA = (
    "{path}: a table's folder with no Parquet data file in it (a failed write leaves only "
    "_temporary/ or _SUCCESS); expected part files, or no folder"
)
PARTITION_ABOVE = (
    "{path}: the dataset lies under {folder!r}, a name=value folder, which would be read as "
    "a column of every row; move the data out of it"
)
LINKED = "{path}: a symbolic link in a dataset folder is not followed; copy the files in"
CSV_AMONG_PARQUET = (
    "{path}: {count} CSV file(s) among the dataset's Parquet parts (the first {first}) would "
    "not be read, and their rows would be lost; expected Parquet parts only (write them as "
    "Parquet, or move them out of the folder)"
)
CSV_FOLDER = (
    "{path}: a folder of CSV parts is not read; expected one {name} file (the parts joined, "
    "one header), or the parts as Parquet files in the folder"
)


def _data(name: str) -> bool:
    # Spark's rule: hidden and _-prefixed entries are not data, but a partition folder
    # (name=value) is, even when its column's name starts with "_".
    return not name.startswith(".") and (not name.startswith("_") or "=" in name)


ZONES_DIFFER = (
    "%s: column %r is written in %d time zones across the dataset's files (%s); its "
    "timestamps are read as UTC days; expected one zone per column"
)
NO_ZONE = "no zone"
_UTC = frozenset({"UTC", "ETC/UTC", "Z", "+00:00", "-00:00", "GMT"})
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")


def written_zones(source: tuple[Kind, Path]) -> dict[str, str]:
    """The time zone each zoned timestamp column of a Parquet table was written in, UTC aside.

    Parquet keeps the instant and pyarrow the zone's name beside it; DuckDB reads the
    instant in its session's zone (UTC here). With the name, a reader can take the
    calendar day where the event happened, as a single file read by pyarrow does.
    Read from the files' footers only. A column in more than one zone, or zoned in some
    files and not in others, is left out (read as UTC days), with a warning.
    """
    kind, path = source
    if kind == "csv":
        return {}
    found: dict[str, set[str]] = {}
    for file in dataset_files(path) if kind == "dataset" else [path]:
        try:
            schema = pq.read_schema(file)
        except (pa.ArrowException, OSError):
            continue  # the reader names what is wrong with the file
        for field in schema:
            if pa.types.is_timestamp(field.type):
                # A part without a zone is one more zone: shifting its wall times to
                # another part's zone would move every one of its days.
                found.setdefault(field.name, set()).add(field.type.tz or NO_ZONE)
    zones = {}
    for column, names in found.items():
        if len(names) > 1:
            logger.warning(ZONES_DIFFER, path, column, len(names), ", ".join(sorted(names)))
        elif (zone := next(iter(names))) != NO_ZONE and zone.upper() not in _UTC:
            zones[column] = zone
    return zones


def wall_time_sql(column: str, zone: str) -> str:
    """DuckDB SQL for a ``TIMESTAMPTZ`` column's wall time in ``zone`` (session in UTC).

    DuckDB knows zones by name, not fixed offsets such as ``+05:30``, which pyarrow writes.
    """
    quoted = '"' + column.replace('"', '""') + '"'
    offset = _OFFSET.fullmatch(zone)
    if offset:
        sign, hours, minutes = offset.groups()
        total = (int(hours) * 60 + int(minutes)) * (1 if sign == "+" else -1)
        return f"CAST({quoted} AS TIMESTAMP) + INTERVAL ({total}) MINUTE"
    name = zone.replace("'", "''")
    return f"timezone('{name}', {quoted})"


_CSV = (".csv", ".csv.gz")


def dataset_files(folder: Path) -> list[Path]:
    """The Parquet files of a dataset folder, sorted; hidden and staging entries left out.

    Raises
    ------
    ValueError
        No Parquet data file in it (a failed write leaves only ``_temporary/``), a CSV
        file among its Parquet parts (it would not be read), files
        both at the top and in partition folders, in a folder that is not a hive
        partition (``name=value``), or behind a symbolic link (DuckDB would not follow it).
    """
    above = [part for part in folder.resolve().parts if "=" in part]
    if above:
        # DuckDB reads every name=value folder in a file's path as a column, those above
        # the dataset too, and one named like a contract column would overwrite it.
        raise ValueError(PARTITION_ABOVE.format(path=folder, folder=above[0]))
    files: list[Path] = []
    texts: list[Path] = []
    for root, dirs, names in os.walk(folder):
        linked = [d for d in dirs if _data(d) and (Path(root) / d).is_symlink()]
        if linked:
            raise ValueError(LINKED.format(path=Path(root) / linked[0]))
        dirs[:] = sorted(d for d in dirs if _data(d))
        files += [Path(root) / n for n in names if n.endswith(".parquet") and _data(n)]
        texts += [Path(root) / n for n in names if n.lower().endswith(_CSV) and _data(n)]
    files.sort()
    if not files:
        csv = sorted(folder.rglob("*.csv"))
        if csv:  # CSV parts, not a failed write
            raise ValueError(CSV_FOLDER.format(path=folder, name=f"{folder.name}.csv"))
        raise ValueError(NO_DATA.format(path=folder))
    if texts:
        first = sorted(texts)[0].relative_to(folder).as_posix()
        raise ValueError(CSV_AMONG_PARQUET.format(path=folder, count=len(texts), first=first))
    nested = [f for f in files if f.parent != folder]
    if nested and len(nested) < len(files):
        raise ValueError(MIXED_DATASET.format(path=folder))
    for file in nested:
        for part in file.relative_to(folder).parts[:-1]:
            if "=" not in part:
                raise ValueError(NOT_HIVE.format(path=folder, folder=part))
    return files


def table_sources(folder: Path) -> dict[str, tuple[Kind, Path]]:
    """:func:`table_source` of every contract table found in ``folder``, in contract order."""
    return {t: found for t in TABLE_NAMES if (found := table_source(folder, t)) is not None}


def table_source(folder: Path, table: str) -> tuple[Kind, Path] | None:
    """How and where to read ``table`` in ``folder``; None when it is not there.

    Returns ``("parquet", file)``, ``("csv", file)`` or ``("dataset", dir)``: read a
    dataset's :func:`dataset_files` with hive partitioning, so partition columns come
    back as columns. A table's folder without a Parquet data file is refused.
    """
    found: list[tuple[Kind, Path]] = []
    for kind in ("parquet", "csv"):
        path = folder / f"{table}.{kind}"
        if path.is_file():
            found.append((kind, path))
        elif path.is_dir() and kind == "csv":
            raise ValueError(CSV_FOLDER.format(path=path, name=f"{table}.csv"))
        elif path.is_dir() and dataset_files(path):
            found.append(("dataset", path))
    dataset = folder / table
    if dataset.is_dir() and dataset_files(dataset):
        found.append(("dataset", dataset))
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(folder)) for _kind, p in found)
        raise ValueError(AMBIGUOUS_FILES.format(path=folder, table=table, found=names))
    return found[0] if found else None


def read_sources(folder: Path) -> dict[str, tuple[Kind, Path]]:
    """:func:`table_sources` of ``folder``, refusing a table's part left beside it unread.

    Every reader of a folder goes through here, validated or not: ``validate=False``
    skips the data contract, not the check that every row of a table is read.
    """
    sources = table_sources(folder)
    warn_unread(folder, sources)
    return sources


def warn_unread(folder: Path, sources: dict[str, tuple[Kind, Path]]) -> list[str]:
    """Name the entries of ``folder`` no table is read from, in a warning; return them.

    A new month's ``encounters_2024.csv`` beside ``encounters.parquet`` would otherwise be
    left out without a word. Hidden and ``_`` entries, and what ``riskstrat synth`` writes
    beside its tables, are not named.
    """
    used = {path.name for _kind, path in sources.values()}
    unread = sorted(
        p.name
        for p in folder.iterdir()
        if _data(p.name) and p.name not in used and p.name not in SYNTH_ENTRIES
    )
    for table in TABLE_NAMES:
        # encounters_2024.csv beside encounters.csv: the run would read a year less. Only
        # what a table is read from counts (a checksum or a data dictionary does not).
        parts = [
            n
            for n in unread
            if n.lower().startswith(table)
            and (n.lower().endswith((".csv", ".parquet")) or (folder / n).is_dir())
        ]
        if parts:
            raise ValueError(UNREAD_PART.format(path=folder, names=", ".join(parts), table=table))
    if unread:
        shown = ", ".join(unread[:8]) + (f" and {len(unread) - 8} more" if len(unread) > 8 else "")
        plural = "y" if len(unread) == 1 else "ies"
        logger.warning(UNREAD, folder, len(unread), plural, shown, ", ".join(TABLE_NAMES))
    return unread

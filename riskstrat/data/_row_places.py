"""Where a table's row lies in its source: the file, the row in that file, a CSV's line.

A row is numbered across the table's files as read; a county finds it again by the part
file of a dataset and, in a CSV, by the line an editor shows, which blank lines and
quoted line breaks move away from the row's number.
"""

from __future__ import annotations

import csv
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# A table read from files carries, in ``DataFrame.attrs``, its files in reading order with
# their row counts, so a rejected row can be found again in a dataset of many parts, and
# the folder they are in, so a CSV row's line can be found.
SOURCE_FILES = "riskstrat_source_files"
SOURCE_ROOT = "riskstrat_source_root"
# How many row numbers an error message shows.
MAX_EXAMPLES = 5


@dataclasses.dataclass(frozen=True)
class Sources:
    """A table's files in reading order, ``(name relative to root, rows)``, and their folder."""

    files: tuple[tuple[str, int], ...]
    root: str | None = None

    @classmethod
    def of(cls, raw: pd.DataFrame) -> Sources | None:
        """The sources recorded in ``raw.attrs``, if they account for every row."""
        files = raw.attrs.get(SOURCE_FILES)
        if not files or sum(n for _, n in files) != len(raw):
            return None
        root = raw.attrs.get(SOURCE_ROOT)
        return cls(tuple((str(f), int(n)) for f, n in files), None if root is None else str(root))

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's file and 0-based position in it, for rows numbered across the files."""
        counts = np.array([n for _, n in self.files])
        ends = np.cumsum(counts)
        which = np.searchsorted(ends, rows, side="right")
        starts = ends - counts
        return np.array([f for f, _ in self.files], dtype=object)[which], rows - starts[which]

    def lines(self, names: np.ndarray, positions: np.ndarray) -> pd.Series:
        """The 1-based line each located row starts on in its CSV file (null for Parquet)."""
        out = np.zeros(len(names), dtype="int64")
        known = np.zeros(len(names), dtype=bool)
        if self.root is not None:
            for name in {n for n in names if str(n).lower().endswith(".csv")}:
                here = names == name
                found = record_lines(Path(self.root) / name, positions[here])
                out[here] = [found.get(int(p), 0) for p in positions[here]]
                known[here] = [int(p) in found for p in positions[here]]
        return pd.Series(pd.arrays.IntegerArray(out, ~known), dtype="Int64")


def record_lines(path: Path, positions: Sequence[int] | np.ndarray) -> dict[int, int]:
    """The 1-based line on which each 0-based data record of a CSV file starts.

    Records are numbered as DuckDB reads them: after the header, blank lines skipped; a
    quoted field may run over several lines. Reads only as far as the last record asked
    for; a file that cannot be read gives no lines.
    """
    wanted = sorted({int(p) for p in positions})
    found: dict[int, int] = {}
    if not wanted:
        return found
    # A field may run longer than the csv module's default 131,072 characters (a 200,000
    # character id, a note): DuckDB reads it, so its line must be found.
    limit = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a C long on every platform
    above = lines_above_header(path)
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
            for _ in range(above):  # a title DuckDB's reader skipped
                handle.readline()
            reader = csv.reader(handle)
            # The header is the first line with anything on it, as DuckDB reads it.
            if next((row for row in reader if row), None) is None:
                return found
            start, record, target = reader.line_num + 1, 0, 0
            for row in reader:
                if row:
                    if record == wanted[target]:
                        found[record] = start + above
                        target += 1
                        if target == len(wanted):
                            break
                    record += 1
                start = reader.line_num + 1
    except (OSError, csv.Error):
        return {}
    finally:
        csv.field_size_limit(limit)
    return found


def lines_above_header(path: Path) -> int:
    """How many lines above the header DuckDB's reader skips (a title, a blank line): its
    sniffer finds the header where the columns begin, not on the first line."""
    import duckdb

    quoted = "'" + str(path).replace("'", "''") + "'"
    try:
        with duckdb.connect() as con:
            row = con.execute(
                f"SELECT SkipRows FROM sniff_csv({quoted}, header = true, sep = ',', "
                "all_varchar = true)"
            ).fetchone()
    except duckdb.Error:  # unreadable: the reader says so
        return 0
    return int(row[0]) if row and row[0] else 0


def row_examples(mask: pd.Series, sources: Sources | None) -> str:
    """The first rows of ``mask`` by number, with their file, row and line where known."""
    rows = mask.to_numpy().nonzero()[0][:MAX_EXAMPLES]
    if sources is None:
        return f"rows: {rows.tolist()}"
    names, positions = sources.locate(rows)
    lines = sources.lines(names, positions)
    if len(sources.files) < 2 and lines.isna().all():
        return f"rows: {rows.tolist()}"
    located = []
    for r, name, p, line in zip(rows, names, positions, lines, strict=True):
        where = f"line {line}" if pd.notna(line) else f"row {p}"
        located.append(f"{r} ({name} {where})")
    return f"rows: [{', '.join(located)}]"

"""What is wrong with a CSV file DuckDB could not read as a table, by line number.

DuckDB's own messages quote the offending line (record contents) or name no line at all;
these read the file with Python's csv module and say where, never what.
"""

from __future__ import annotations

import collections
import csv
from pathlib import Path

from riskstrat.data._codes import TABLE_COLUMNS


def named_twice(file: Path) -> str | None:
    """A contract column the CSV header names more than once (others are not shown: a
    file without its header row names its columns after a record)."""
    with file.open(newline="", encoding="utf-8", errors="replace") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    contract = {c for spec in TABLE_COLUMNS.values() for c, _kind, _required in spec}
    twice = [n for n in dict.fromkeys(header) if header.count(n) > 1 and n in contract]
    return twice[0] if twice else None


def quoting_problem(file: Path) -> str:
    """Where a quoted CSV file breaks its quoting, by line number, never the line."""
    with file.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.reader(handle, strict=True)
        try:
            # Read to the end: strict mode raises at the first broken quote.
            collections.deque(rows, maxlen=0)
        except csv.Error:
            return (
                f"line {rows.line_num} has a double quote inside a quoted field that is not "
                "doubled, or a quote not closed; expected each quote inside a field written twice"
            )
    return (
        "its column names came back quoted: DuckDB could not detect the file's quoting from "
        "the rows it samples; expected comma-separated values quoted with double quotes"
    )


def utf16(file: Path) -> bool:
    """Whether ``file`` starts with a UTF-16 byte-order mark (either byte order)."""
    with file.open("rb") as handle:
        return handle.read(2) in (b"\xff\xfe", b"\xfe\xff")


def csv_dialect_problem(file: Path) -> str:
    """Why DuckDB could not detect a CSV file's dialect, with a line number, never the line."""
    with file.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.reader(handle)
        try:
            header = next(rows, [])
            for row in rows:
                if row and len(row) != len(header):
                    # The reader's line count includes quoted line breaks and the header.
                    return (
                        f"line {rows.line_num} has {len(row)} fields where the header has "
                        f"{len(header)} (DuckDB could not detect the file's delimiter and "
                        "quoting)"
                    )
        except csv.Error:
            # An unclosed quote runs on to the end: Python's reader gives up too.
            return (
                f"from line {rows.line_num} on, a quote is not closed (DuckDB could not "
                "detect the file's delimiter and quoting)"
            )
    return (
        "DuckDB could not detect the file's delimiter and quoting from the rows it samples; "
        "expected comma-separated values with a header row"
    )

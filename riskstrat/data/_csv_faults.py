"""What is wrong with a CSV file DuckDB could not read as a table, by line number.

DuckDB's own messages quote the offending line (record contents) or name no line at all;
these read the file with Python's csv module and say where, never what.
"""

from __future__ import annotations

import collections
import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from riskstrat.data._codes import EVENT_DATES, TABLE_COLUMNS, contract_columns
from riskstrat.data._normalise import WHOLE_DAY
from riskstrat.data._results import DataContractError
from riskstrat.data._row_places import Sources

LINE_BREAK_IN_VALUE = "line_break_in_value"
SPANS_LINES = (
    "table {table!r}, column {column}: {count:,} value(s) run over more than one line, the "
    "first from {file} line {start} to line {end}. A quote left open in the export makes the "
    "lines after it one value, and the rows on them are not read; expected one line per "
    "value (close the quote, or double a quote inside a field, and export again)"
)


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


def what_the_bytes_say(file: Path) -> str | None:
    """What a file that could not be read is, from its first and last bytes, if that explains
    it: a workbook or an archive, a CSV renamed .parquet, a Parquet file cut short, or a CSV
    with nothing but a byte-order mark and blank lines."""
    size = file.stat().st_size
    with file.open("rb") as handle:
        head = handle.read(4096)
        handle.seek(max(0, size - 4))
        tail = handle.read(4)
    parquet = file.suffix.lower() == ".parquet"
    expected = "expected a Parquet file" if parquet else "expected CSV text (save as CSV UTF-8)"
    if head.startswith(b"PK\x03\x04"):
        return f"the file is a zip archive, as an Excel workbook (.xlsx) is; {expected}"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return f"the file is an old Excel workbook (.xls); {expected}"
    if parquet:
        # Magic, footer length and magic again: 12 bytes at the least.
        if head.startswith(b"PAR1") and (tail != b"PAR1" or size < 12):
            return "the Parquet file is cut short (its footer is missing); copy or export it again"
        if not head.startswith(b"PAR1"):
            return (
                "the file is not Parquet (it lacks Parquet's PAR1 marker); a CSV renamed "
                ".parquet? Expected a Parquet file, or the CSV named .csv"
            )
    elif size < 4096 and not head.removeprefix(b"\xef\xbb\xbf").strip():
        return "the file holds no header row, only a byte-order mark or blank lines"
    return None


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
    switch = line_ending_switch(file)
    if switch is not None:
        return (
            f"the file's line endings change at line {switch} (Windows CRLF and Unix LF mixed, "
            "as files joined from two systems are); expected one kind throughout (save the "
            "file again, or convert it with dos2unix)"
        )
    return (
        "DuckDB could not detect the file's delimiter and quoting from the rows it samples; "
        "expected comma-separated values with a header row"
    )


def line_ending_switch(file: Path) -> int | None:
    """The first line whose ending differs from the first line's (CRLF against LF), if any."""
    first = None
    with file.open("rb") as handle:  # line by line: the file may be gigabytes
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # the text after the last newline ends no line
            crlf = line.endswith(b"\r\n")
            first = crlf if first is None else first
            if crlf != first:
                return number
    return None


def _lines(value: str) -> list[str]:
    return value.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _swallowed(value: str, header: list[str], table: str) -> bool:
    # A line inside a note that parses as a whole record of the file, with its day where the
    # header puts the table's date, is a row read as text; prose with commas is not.
    day = EVENT_DATES.get(table, "birth_date")
    if day not in header:
        return False
    at = header.index(day)
    for fields in csv.reader(_lines(value)[1:]):
        if len(fields) == len(header) and re.match(WHOLE_DAY, fields[at].strip()):
            return True
    return False


def refuse_line_breaks(table: str, raw: pd.DataFrame) -> None:
    """Refuse a CSV-read table whose values swallowed lines, in every mode.

    No contract value (an id, a code, a date, a number) holds a line break: one that does
    is a stray quote that ran on to the next quote, and the rows on the lines between would
    be lost without a count (rows in = accepted + rejected balances on what was read). A
    column outside the contract (a free-text note) may hold line breaks; it is refused only
    where a line inside a value parses as a whole record, a day where the table's date is.
    """
    sources = Sources.of(raw)
    if sources is None or not any(f.lower().endswith(".csv") for f, _n in sources.files):
        return
    contract = set(contract_columns(table))
    for column in raw.columns:
        values = raw[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        spans = text.str.contains("[\r\n]", regex=True).fillna(False).to_numpy(bool)
        if spans.any() and column not in contract:
            rows = np.flatnonzero(spans)
            header = [str(c) for c in raw.columns]
            spans[rows] = [_swallowed(text.iloc[r], header, table) for r in rows]
        if not spans.any():
            continue
        first = int(np.flatnonzero(spans)[0])
        names, positions = sources.locate(np.array([first]))
        start = sources.lines(names, positions).iloc[0]
        breaks = len(_lines(text.iloc[first])) - 1
        raise DataContractError(
            SPANS_LINES.format(
                table=table,
                # A column outside the contract may be named after a record (no header row).
                column=repr(column) if column in contract else "outside the contract",
                count=int(spans.sum()),
                file=names[0],
                start="?" if pd.isna(start) else start,
                end="?" if pd.isna(start) else int(start) + breaks,
            ),
            table=table,
            column=str(column) if column in contract else None,
            check=LINE_BREAK_IN_VALUE,
            count=int(spans.sum()),
        )

"""Verdicts on whole tables after validation: empty, rejected whole, extra columns, orphans.

Row checks judge rows; these judge what the rows add up to. A quarantine that empties a
table, or a table most of whose rows name nobody, is a format or linkage problem that
setting rows aside would hide.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat._atomic import SYSTEM_LITTER
from riskstrat._config import ConfigError
from riskstrat.data._checks import CODED_COLUMNS, ORPHAN_PERSON_ID
from riskstrat.data._codes import ABSENT_COLUMN_MEANS, TABLE_COLUMNS, contract_columns
from riskstrat.data._crossrow import WRITTEN_ALIKE
from riskstrat.data._results import DataContractError, TableReport, ValidationReport
from riskstrat.data._row_places import Sources

logger = logging.getLogger("riskstrat.data._validate")  # one logger for validation's messages

NO_PERSON_ROWS = "table 'persons' has no rows: every other table's rows need their person"
REJECTED_WHOLE = (
    "table {table!r}: all {rows:,} rows were rejected ({checks}); quarantine sets bad rows "
    "aside, but a table rejected whole points to its format or its linkage (date or id "
    "format, delimiter), and nothing would be read from it{where}"
)
MOSTLY_REJECTED = (
    "table {table!r}: {rejected:,} of {rows:,} rows ({share}) were rejected ({checks}); "
    "quarantine sets a few bad rows aside, but a table rejected mostly points to its format "
    "or its linkage (date or id format, ids written differently), and the rest of it would "
    "be read as the whole{where}"
)
# Past this share of a table rejected, quarantine no longer sets stray rows aside: the run stops.
MOSTLY_REJECTED_SHARE = 0.5
# A dataset's hive partition keys, which reading it adds as columns (not the extract's own),
# as ``DataFrame.attrs[PARTITION_COLUMNS]``.
PARTITION_COLUMNS = "riskstrat_partition_columns"
# A share of orphan rows above this is a linkage problem more likely than stray rows.
ORPHAN_SHARE_WARNING = 0.05
# A share of a table set aside for one reason above this is a format more likely than faults.
ONE_REASON_SHARE = 0.05
ONE_REASON_ROWS = 100  # fewer rows are stray faults, whatever share of a small table


REJECTED_DIR_IN_DATA = (
    "rejected_dir {rejected}: {relation} the data {data}; the rows set aside would be written "
    "over or among the input tables; expected a folder of its own, e.g. data/rejected"
)
REJECTED_DIR_NOT_OURS = (
    "rejected_dir {rejected}: holds {found}, which no quarantine wrote; expected a new or "
    "empty folder, or one holding only <table>.parquet files of an earlier quarantine"
)


def check_rejected_dir(rejected_dir: object, data: object | None = None) -> None:
    """Refuse a folder for rejected rows that is the data or one of its table folders, or
    holds files a quarantine did not write: writing there would replace a county's tables.

    Raises ``ConfigError`` (a ValueError): the option is wrong, not the data.
    """
    from pathlib import Path

    from riskstrat.data._codes import TABLE_NAMES

    if rejected_dir is None:
        return
    target = Path(rejected_dir).resolve()
    if data is not None:
        source = Path(data).resolve()
        # Inside the data folder, a folder of its own (data/rejected) is harmless; a table's
        # dataset folder (data/encounters/) would gain parts read as that table's rows.
        inside = source in target.parents
        tables = {*TABLE_NAMES, *(f"{t}.parquet" for t in TABLE_NAMES)}
        relation = (
            "is"
            if target == source
            else "lies in a table folder of"
            if inside and target.relative_to(source).parts[0] in tables
            else None
        )
        if relation is not None:
            raise ConfigError(
                REJECTED_DIR_IN_DATA.format(rejected=rejected_dir, relation=relation, data=data)
            )
    if target.is_dir():
        ours = {f"{t}.parquet" for t in TABLE_NAMES} | SYSTEM_LITTER
        foreign = sorted(p.name for p in target.iterdir() if p.name not in ours)
        if foreign:
            found = ", ".join(foreign[:5]) + (" and more" if len(foreign) > 5 else "")
            raise ConfigError(REJECTED_DIR_NOT_OURS.format(rejected=rejected_dir, found=found))
    elif target.exists():
        raise ConfigError(REJECTED_DIR_NOT_OURS.format(rejected=rejected_dir, found="a file"))


def refuse_empty_persons(reports: Mapping[str, TableReport]) -> None:
    persons = reports.get("persons")
    if persons is not None and persons.rows_in == 0:
        raise DataContractError(
            NO_PERSON_ROWS, table="persons", column=None, check="no_rows", count=0
        )


# A column name with a date (09-MAR-21, as Oracle writes one; 9 Mar 21), a time, a number
# or four digits in a row is a record's value: a CSV without its header row names its
# columns after its first record.
_MONTH = "(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*"
_DATA_LIKE = re.compile(
    r"\d{4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{1,4}|^\s*[-+]?\d+([.,]\d+)?\s*$|\b\d{1,2}:\d{2}\b"
    rf"|\b\d{{1,2}}[-/. ]?{_MONTH}[-/. ]?\d{{2}}\b|\b{_MONTH}\.? \d{{1,2}},? \d{{2}}\b",
    re.IGNORECASE,
)
# So is a contract code (``booking``, ``ed``) in a header with no contract column name in it:
# a county's own header may well name a column ``white`` or ``other`` beside ``birth_date``.
# Single letters (sex) are left out: a one-letter name is as likely a spreadsheet's column.
_CODE_VALUES = frozenset(
    str(code).lower()
    for codes in CODED_COLUMNS.values()
    for code in codes
    if isinstance(code, str) and len(code) > 1
)


def _contract_header(name: str) -> bool:
    # A header written with another separator reads as one long name of contract names.
    contract = {c for spec in TABLE_COLUMNS.values() for c, _kind, _required in spec}
    parts = [p.strip().strip('"') for p in re.split(r"[;\t|]", name)]
    return len(parts) > 1 and all(p in contract for p in parts)


def _value_like(names: Iterable[str], header: Iterable[str] | None = None) -> bool:
    names = list(names)
    contract = {c for spec in TABLE_COLUMNS.values() for c, _kind, _required in spec}
    header = names if header is None else header
    headerless = not any(n.strip().strip('"').lower() in contract for n in header)
    return any(
        (len(n) > 40 or _DATA_LIKE.search(n) or (headerless and n.strip().lower() in _CODE_VALUES))
        and not _contract_header(n)
        for n in names
    )


def column_names(columns: Iterable[object], header: Iterable[object] | None = None) -> list[str]:
    """Column names a message may show, sorted.

    When any name looks like a record's value, the header row is likely missing and every
    name is the first record's: then only the contract's own names are shown, and the rest
    counted. ``header`` is the table's whole header when ``columns`` are some of it.
    """
    names = sorted(str(c) for c in columns)
    if not _value_like(names, None if header is None else [str(c) for c in header]):
        return names
    contract = {c for spec in TABLE_COLUMNS.values() for c, _kind, _required in spec}
    shown = [n for n in names if n in contract]
    hidden = len(names) - len(shown)
    counted = f"{hidden} that look like a record's values (not shown: is the header row missing?)"
    return [*shown, f"and {counted}" if shown else counted]


def warn_extra_columns(table: str, raw: pd.DataFrame) -> list[str]:
    """Name the columns outside the contract, which are left out: a names or SSN column in
    a pseudonymous extract is a disclosure to stop at its source, not to drop unsaid.

    Returns the names the warning shows (see :func:`column_names`): those that look like a
    record's values are counted in the warning, never listed.
    """
    outside = outside_columns(table, raw)
    # A spreadsheet's trailing commas: columns with no name (DuckDB calls them column6)
    # and no value. Left out as the others, said apart: no one's names can be in them.
    blank = [c for c in outside if _unnamed(c) and _empty_throughout(raw[c])]
    if blank:
        logger.warning(
            "%s: %d column(s) with no header and no value (trailing commas, as a spreadsheet "
            "writes them) are left out",
            table,
            len(blank),
        )
    extra = column_names([c for c in outside if c not in blank], raw.columns)
    if extra:
        logger.warning(
            "%s: columns outside the data contract are left out: %s (the tables are "
            "pseudonymous: names, SSNs and addresses do not belong in them)",
            table,
            extra,
        )
    # When some look like a record's values, none is listed: they are counted in the warning.
    outside = sorted(str(c) for c in outside_columns(table, raw))
    return [] if _value_like(outside, [str(c) for c in raw.columns]) else outside


def _unnamed(column: object) -> bool:
    """Whether a header cell was empty: DuckDB's CSV reader names it ``column<N>``."""
    return re.fullmatch(r"column\d+", str(column)) is not None


def outside_columns(table: str, raw: pd.DataFrame) -> list[object]:
    """The columns of ``raw`` outside the data contract, which validation leaves out."""
    contract = set(contract_columns(table))
    # Hive partition keys (year=2024/) are the layout's columns, not the extract's.
    partitions = set(raw.attrs.get(PARTITION_COLUMNS, ()))
    return [c for c in raw.columns if c not in contract | partitions]


def warn_missing_optional(table: str, raw: pd.DataFrame) -> tuple[str, ...]:
    """Name each optional contract column a table with rows lacks, or holds empty on every
    row, and what that does.

    An export that writes the column but fills it with nothing (every death date blank)
    reads exactly as one that leaves it out: the dead are scored as alive. Returns the
    columns named, for the report.
    """
    if raw.empty:  # no rows: nothing reads the column (warn_thin_tables says so)
        return ()
    absent = []
    for (name, column), means in ABSENT_COLUMN_MEANS.items():
        if name != table:
            continue
        if column not in raw.columns:
            logger.warning("%s: no %s column in the input: %s", table, column, means)
        elif _empty_throughout(raw[column]) and not _may_all_be_open(table, column, raw):
            logger.warning(
                "%s: the %s column is empty on all %s rows: %s",
                table,
                column,
                f"{len(raw):,}",
                means,
            )
        else:
            continue
        absent.append(column)
    return tuple(absent)


def _may_all_be_open(table: str, column: str, raw: pd.DataFrame) -> bool:
    """Whether every spell or enrolment may truly still be open: a programme begun within
    the year may have closed none. Spells begun more than a year apart have not all
    stayed open: that is an export that left the end dates out."""
    if (table, column) not in {("homelessness", "end_date"), ("enrollments", "end_date")}:
        return False
    if "start_date" not in raw:
        return True
    from riskstrat.data._normalise import _to_date

    starts = _to_date(raw["start_date"])  # as the contract reads them: yyyymmdd, offsets
    if starts.isna().all():
        return True
    return bool(starts.max() - starts.min() < pd.Timedelta(days=365))


def _empty_throughout(column: pd.Series) -> bool:
    """Null, or empty text (a CSV's ``,,``), on every row."""
    held = column.dropna()
    if held.empty:
        return True
    if not (pd.api.types.is_object_dtype(held) or pd.api.types.is_string_dtype(held)):
        return False
    # Most columns hold a value in their first row: only an empty-looking one is read whole.
    return str(held.iloc[0]) == "" and not held.astype("str").ne("").any()


def warn_parts_missing_columns(table: str, raw: pd.DataFrame, sources: Sources | None) -> None:
    """Name the contract columns some parts of a Parquet dataset lack and others have.

    Parts written at different times read as one table, a column absent from a part as
    empty on its rows: for an end date, every stay in those parts reads as still open. A
    hive partition key (``setting=ed/``) fills its column from the folder, and a part
    without rows changes nothing: neither is named.
    """
    if sources is None or sources.root is None or len(sources.files) < 2:
        return
    partitions = set(raw.attrs.get(PARTITION_COLUMNS, ()))
    columns: dict[str, tuple[set[str], int]] = {}
    for name, rows in sources.files:
        if not rows:
            continue
        try:
            columns[name] = (set(pq.read_schema(Path(sources.root) / name).names), rows)
        except (pa.ArrowException, OSError):
            continue  # not a Parquet part, or unreadable: the reader said so already
    contract = contract_columns(table)
    present = set().union(*(names for names, _rows in columns.values())) if columns else set()
    for column in (c for c in contract if c in present - partitions):
        lacking = [(name, rows) for name, (names, rows) in columns.items() if column not in names]
        if not lacking:
            continue
        logger.warning(
            "%s: %d of %d parts (%s rows, the first %s) have no %s column, which the others "
            "have: on their rows, %s",
            table,
            len(lacking),
            len(columns),
            f"{sum(rows for _name, rows in lacking):,}",
            lacking[0][0],
            column,
            ABSENT_COLUMN_MEANS.get((table, column), "the value reads as missing"),
        )


def _warn_one_reason_large(table: str, r: TableReport) -> None:
    """Warn of one reason setting aside a large share of a table (orphans aside, warned of
    below): one code written otherwise (``ED`` for ``ed``, ``SMI`` for ``smi``) drops every
    event of its kind, and a cohort drawn without them changes while the run succeeds."""
    for reason, n in sorted(r.by_reason.items()):
        if (
            n >= max(ONE_REASON_SHARE * r.rows_in, ONE_REASON_ROWS)
            and ORPHAN_PERSON_ID not in reason
        ):
            logger.warning(
                "%s: %s of %s rows (%s) were set aside for one reason, %s: one fault "
                "throughout an export (a code in another case, dates in another format) takes "
                "every row of its kind, and what is read lacks them all; expected the "
                "contract's values (docs/data-contract.md)",
                table,
                f"{n:,}",
                f"{r.rows_in:,}",
                share_text(n, r.rows_in),
                reason,
            )


def warn_thin_tables(
    reports: Mapping[str, TableReport], written_alike: Mapping[str, int] | None = None
) -> None:
    """Warn of tables empty or mostly rejected, and of orphans: many of them, or any that
    are persons' ids written differently (``written_alike``: such rows per table)."""
    for table, r in reports.items():
        if r.rows_in == 0:  # a failed export often looks like this
            logger.warning("%s: the table has no rows; it reads as no events", table)
        elif r.rejected > MOSTLY_REJECTED_SHARE * r.rows_in:
            # The commands refuse this (refuse_rejected_whole); the Python API returns
            # what is left, which an analysis would take for the whole table.
            logger.warning(
                "%s: %d of %d rows (%s) were rejected (%s); what is returned is %s",
                table,
                r.rejected,
                r.rows_in,
                share_text(r.rejected, r.rows_in),
                ", ".join(f"{c} {n:,}" for c, n in sorted(r.by_check.items())),
                "empty" if not r.accepted else "a remnant of the table",
            )
        else:
            _warn_one_reason_large(table, r)
        orphans = r.by_check.get(ORPHAN_PERSON_ID, 0)
        alike = (written_alike or {}).get(table, 0)
        if alike or (r.rows_in and orphans / r.rows_in > ORPHAN_SHARE_WARNING):
            why = (
                WRITTEN_ALIKE.format(n=alike)
                if alike
                else "ids written differently (leading zeros, '1.0', case) do this, as does a "
                "persons table filtered in memory"
            )
            logger.warning(
                "%s: %d of %d rows (%s) name a person_id the persons table does not accept; %s",
                table,
                orphans,
                r.rows_in,
                share_text(orphans, r.rows_in),
                why,
            )


def share_text(part: int, whole: int) -> str:
    """``part / whole`` as a whole percentage that never reads 100% or 0% unless it is."""
    share = 100 * part / whole
    if part < whole and share >= 99.5:
        return "over 99%"
    if part > 0 and share < 0.5:
        return "under 1%"
    return f"{share:.0f}%"


def refuse_rejected_whole(
    report: ValidationReport, rejected_dir: object = None, ignore: Sequence[str] = ()
) -> None:
    """Refuse a quarantine that emptied a table, or rejected most of it: the first such
    table, persons first.

    Every row of a table rejected (a CSV of MM/DD/YYYY dates, ids written differently from
    the persons table's) would otherwise leave a run drawn without it, and most rows
    rejected (ids upper-cased but for the all-digit ones) one drawn on a remnant of it.
    The commands call this; the Python API returns the report and leaves the call to the
    analyst.

    ``ignore`` names reasons (as in ``TableReport.by_reason``) whose rejections do not
    count towards the share: events of ids no persons row has, for tables in memory
    whose persons were filtered on purpose.

    Raises
    ------
    DataContractError
        With ``check="rejected_whole"`` or ``"mostly_rejected"``, naming the table and its
        rejected counts per check.
    """
    for table, r in report.tables.items():
        counted = r.rejected - sum(n for reason, n in r.by_reason.items() if reason in ignore)
        if not r.rows_in or counted <= MOSTLY_REJECTED_SHARE * r.rows_in:
            continue
        checks = ", ".join(f"{c} {n:,}" for c, n in sorted(r.by_check.items()))
        where = "" if rejected_dir is None else f" (rejected rows in {rejected_dir})"
        if r.accepted:
            message = MOSTLY_REJECTED.format(
                table=table,
                rejected=r.rejected,
                rows=r.rows_in,
                share=share_text(r.rejected, r.rows_in),
                checks=checks,
                where=where,
            )
        else:
            message = REJECTED_WHOLE.format(table=table, rows=r.rows_in, checks=checks, where=where)
        persons = report.tables.get("persons")
        if (
            table != "persons"
            and persons is not None
            and persons.rejected
            and (r.by_check.get(ORPHAN_PERSON_ID, 0) > r.rejected / 2)
        ):
            # Events of a rejected person are orphans: the cause is in persons.
            message += (
                f"; most are events of the {persons.rejected:,} persons rows rejected "
                f"({', '.join(f'{c} {n:,}' for c, n in sorted(persons.by_check.items()))}): "
                "look at persons first"
            )
        raise DataContractError(
            message,
            table=table,
            column=None,
            check="mostly_rejected" if r.accepted else "rejected_whole",
            count=r.rejected,
        )

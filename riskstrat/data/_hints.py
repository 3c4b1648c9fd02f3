"""What an error about a table's shape adds on its likely cause (a separator, a column
left out of the extract)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.data._checks import CODED_COLUMNS, DUPLICATE_ROW, UNKNOWN_CODE
from riskstrat.data._codes import TABLE_COLUMNS
from riskstrat.data._results import DataContractError, TableReport

logger = logging.getLogger("riskstrat.data._validate")

# Five digits, perhaps with a time as a fraction: how Excel writes a day it holds as a date
# (days since 1899-12-30) once the column loses its date format; 10000 to 99999 are the days
# from 1927 to 2173.
_SERIAL_DAY = r"^\s*[1-9]\d{4}(?:\.\d+)?\s*$"


def delimiter_hint(columns: pd.Index) -> str:
    """What a header read as one column says: the file's values are separated otherwise."""
    if len(columns) != 1:
        return ""
    header = str(columns[0])
    for name, mark in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        if header.count(mark) >= 1 and "person_id" in header:
            return (
                f"; the header is one column holding {name}s: the file looks {name}-separated, "
                "expected comma-separated values (save it as CSV with commas)"
            )
    return ""


def empty_columns_hint(table: str, df: pd.DataFrame) -> str:
    """Why rows may look alike: contract columns an extract left out, or left empty."""
    absent = [c for c, _kind, _req in TABLE_COLUMNS.get(table, ()) if c not in df.columns]
    empty = [str(c) for c in df.columns if len(df) and df[c].isna().all()]
    if not absent and not empty:
        return ""
    parts = []
    if absent:
        parts.append(f"columns {absent} are not in the table")
    if empty:
        parts.append(f"columns {empty} are empty in every row")
    return (
        f"; {' and '.join(parts)}, so rows that differ only there (two visits on one day, "
        "say) look alike: was the column left out of the extract?"
    )


def warn_alike_for_want_of_columns(table: str, df: pd.DataFrame, report: TableReport) -> None:
    """In quarantine, warn that rows set aside as exact duplicates may be distinct events
    when contract columns are absent or empty (strict mode's error says it): without
    ``paid_amount``, two visits on one day at one place are one row written twice."""
    n = report.by_check.get(DUPLICATE_ROW, 0)
    hint = empty_columns_hint(table, df) if n else ""
    if hint:
        logger.warning(
            "%s: %s row(s) set aside as exact duplicates%s",
            table,
            f"{n:,}",
            hint.replace("look alike:", "look alike and all but one is set aside:"),
        )


def serial_days(
    table: str, originals: Mapping[str, pd.Series], unparseable: Mapping[str, pd.Series]
) -> dict[str, pd.Series]:
    """Per date column, the unconverted values that are Excel serial days (``45000``).

    ``originals`` holds, per column, the text as read of the values ``unparseable`` marks.

    Not converted: a workbook may count from 1904 instead, four years later, and a date a
    county cannot check is worse than a refused one.
    """
    dates = {c for c, kind, _req in TABLE_COLUMNS[table] if kind == "date"}
    found = {}
    for column, mask in unparseable.items():
        if column not in dates or column not in originals:
            continue
        serial = originals[column].str.match(_SERIAL_DAY).fillna(False).astype(bool)
        if bool(serial.any()):
            found[column] = serial.reindex(mask.index, fill_value=False).astype(bool)
    return found


@dataclasses.dataclass
class Outside:
    """A table's columns outside the contract, kept aside when they are left out, so that
    rows set aside as duplicates of another can be told to differ there (an
    ``encounter_id``, a ``drug_name``: two visits or two fills the contract cannot tell
    apart). ``differ`` is filled in by the duplicate check."""

    frame: pd.DataFrame  # row positions as the table's
    columns: Sequence[str]  # the names a message may show (none when they look like values)
    differ: int = 0

    @classmethod
    def of(cls, raw: pd.DataFrame, outside: Sequence[object], shown: Sequence[str]):
        """None when ``raw`` has no column outside the contract."""
        if not len(outside) or raw.empty:
            return None
        return cls(raw[list(outside)].reset_index(drop=True), tuple(shown))

    def hashes(self, rows: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """One 64-bit hash per row of ``rows`` (positions) over the columns, an empty value
        read as the first value its group holds there (``groups``: the rows alike in the
        contract): only the rows a duplicate check compares are hashed.

        An empty value differs from nothing: a dataset whose newer parts add a column
        reads it empty in the older parts, and a record delivered in both is a true copy.
        """
        frame = self.frame.iloc[rows]
        filled = {}
        for column in frame.columns:
            values = frame[column].reset_index(drop=True)
            hashed = pd.Series(_hashed(values), dtype="UInt64").where(values.notna().to_numpy())
            first = hashed.groupby(groups).transform("first")  # the first value present
            filled[str(column)] = hashed.fillna(first).fillna(0).to_numpy(dtype="uint64")
        return pd.util.hash_pandas_object(pd.DataFrame(filled), index=False).to_numpy()

    def hint(self) -> str:
        """What a message about rows set aside as exact duplicates adds, if any differ."""
        if not self.differ:
            return ""
        where = f" ({', '.join(self.columns)})" if self.columns else ""
        return (
            f"; {self.differ:,} of them differ from the row they repeat in columns outside "
            f"the contract{where}, which are left out: if those tell distinct records apart "
            "(two visits, two fills on one day), the contract's columns cannot, and the "
            "records are counted once"
        )


def _hashed(values: pd.Series) -> np.ndarray:
    try:
        return pd.util.hash_pandas_object(values, index=False).to_numpy()
    except TypeError:  # a list or mapping per row (a Parquet nested column): as text
        return pd.util.hash_pandas_object(values.astype("str"), index=False).to_numpy()


def with_outside_hint(exc: DataContractError, outside: Outside | None) -> DataContractError:
    """Strict mode's duplicate-row error, saying how many differ outside the contract."""
    if outside is None or exc.check != DUPLICATE_ROW or not outside.differ:
        return exc
    return exc.extended(outside.hint())


def warn_alike_outside(table: str, outside: Outside | None) -> None:
    """In quarantine, warn of rows set aside as duplicates that differ outside the contract."""
    if outside is not None and outside.differ:
        logger.warning(
            "%s: rows set aside as exact duplicates in the contract's columns%s",
            table,
            outside.hint(),
        )


def warn_case_slips(table: str, rejected: pd.DataFrame) -> None:
    """In quarantine, warn of rows set aside as unknown codes that are a contract code in
    another case (``ED`` for ``ed``): strict mode's error says so, a reason per row does
    not, and on a small extract no share of rows set aside is large enough to warn of."""
    if rejected.empty or "check" not in rejected.columns:
        return
    unknown = rejected.loc[rejected["check"] == UNKNOWN_CODE]
    for column in (c for c in unknown.columns if c in CODED_COLUMNS):
        allowed = [str(a) for a in CODED_COLUMNS[column]]
        by_case = {a.lower(): a for a in allowed}
        values = unknown[column].dropna().astype("str")
        lowered = values.str.lower()
        slips = lowered.isin(list(by_case)) & ~values.isin(allowed)
        if slips.any():
            # The contract's codes are no one's record: named; the rows' own values are not.
            codes = sorted({by_case[v] for v in lowered[slips]})
            logger.warning(
                "%s.%s: %s row(s) set aside as unknown codes are the contract's %s written in "
                "another case: codes are matched exactly; write them as the contract does",
                table,
                column,
                f"{int(slips.sum()):,}",
                codes,
            )

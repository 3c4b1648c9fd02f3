"""What validation returns and raises: the per-table report, the loaded tables, the error."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple

import pandas as pd

NOT_RECONCILED = "table {table!r}: rows in != accepted + rejected (internal error)"


class DataContractError(ValueError):
    """Input data breaks the contract: a table, column or rows fail a check.

    Attributes ``table``, ``column``, ``check`` and ``count`` say where and how often.
    """

    def __init__(
        self, message: str, *, table: str, column: str | None, check: str, count: int
    ) -> None:
        super().__init__(message)
        self.table, self.column, self.check, self.count = table, column, check, count

    def extended(self, text: str) -> DataContractError:
        """The same error with ``text`` added to its message (a hint on its likely cause)."""
        return DataContractError(
            f"{self}{text}",
            table=self.table,
            column=self.column,
            check=self.check,
            count=self.count,
        )


@dataclasses.dataclass(frozen=True)
class TableReport:
    """Rows in, accepted and rejected for one table, with rejected counts per check and reason."""

    table: str
    rows_in: int
    accepted: int
    rejected: int
    by_check: dict[str, int]
    by_reason: dict[str, int]
    # Columns of the extract outside the contract, which validation leaves out: a run's
    # record of what it did not read (names only; see ``column_names``).
    columns_left_out: tuple[str, ...] = ()
    # Optional contract columns the extract lacks, read as never or still open (see
    # ABSENT_COLUMN_MEANS): a record that a run scored without death dates, say.
    columns_absent: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The quarantine bookkeeping must reconcile, or the report would mislead.
        if not (
            self.rows_in == self.accepted + self.rejected
            and sum(self.by_check.values()) == self.rejected
            and sum(self.by_reason.values()) == self.rejected
        ):
            raise RuntimeError(NOT_RECONCILED.format(table=self.table))


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """Per-table reconciliation of a validation run."""

    mode: str
    reference_date: dt.date
    tables: dict[str, TableReport]
    # People, not rows: distinct person_ids whose every persons row was rejected. A
    # duplicate copy of an accepted person, or a row without an id, loses nobody.
    persons_rejected: int = 0

    def __repr__(self) -> str:
        rows_in = sum(t.rows_in for t in self.tables.values())
        return (
            f"ValidationReport(mode={self.mode!r}, reference_date={self.reference_date}, "
            f"tables={len(self.tables)}, rows_in={rows_in:,}, rejected={self.rejected:,}, "
            f"persons_rejected={self.persons_rejected:,})"
        )

    @property
    def rejected(self) -> int:
        """Rows rejected over all tables."""
        return sum(t.rejected for t in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per table: rows in, accepted, rejected, then rejected rows per check.

        Counts only, never record contents; a notebook's view of ``riskstrat validate``.
        """
        checks = sorted({c for t in self.tables.values() for c in t.by_check})
        rows = [
            {
                "table": name,
                "rows_in": t.rows_in,
                "accepted": t.accepted,
                "rejected": t.rejected,
                **{check: t.by_check.get(check, 0) for check in checks},
            }
            for name, t in self.tables.items()
        ]
        columns = ["table", "rows_in", "accepted", "rejected", *checks]
        return pd.DataFrame(rows, columns=columns).set_index("table")

    def to_dict(self) -> dict:
        """A JSON-ready dict (counts only, never record contents)."""
        return {
            "mode": self.mode,
            "reference_date": self.reference_date.isoformat(),
            "rejected": self.rejected,
            "persons_rejected": self.persons_rejected,
            "tables": {name: dataclasses.asdict(t) for name, t in self.tables.items()},
        }


class LoadResult(NamedTuple):
    """Accepted tables and the report; unpacks as ``tables, report``."""

    tables: dict[str, pd.DataFrame]
    report: ValidationReport

    def __repr__(self) -> str:
        rows = {name: len(frame) for name, frame in self.tables.items()}
        return f"LoadResult(tables={rows}, report={self.report!r})"

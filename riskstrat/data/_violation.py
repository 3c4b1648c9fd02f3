"""Strict mode's error for a failed row check: where, how often, and what was expected.

Values are named only when enough people hold them to be a feed's code (see
:mod:`riskstrat.data._shown`); otherwise rows are named by number, file and line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.data._checks import DUPLICATE_ROW, RowCheck, expected_codes
from riskstrat.data._hints import empty_columns_hint
from riskstrat.data._results import DataContractError
from riskstrat.data._row_places import Sources, row_examples
from riskstrat.data._shown import MIN_SHOWN_ROWS, shown_values

VIOLATION = (
    "table {table!r}, column {column!r}: check {check!r} failed for {count} row(s) "
    "({reason}); {examples}"
)
# After a strict duplicate-row error's rows: the earlier row the first one copies.
REPEATS = "; row {row} repeats row {copied}"
# How many offending values or row numbers an error message shows.
MAX_EXAMPLES = 5


def _first_copied(df: pd.DataFrame, mask: pd.Series, files: Sources | None) -> str:
    """Which earlier row the first duplicate repeats, so both can be found and compared.

    Strict mode stops at the first failed check, so every earlier row is still accepted and
    the first row equal to the duplicate is the one it copies.
    """
    first = int(mask.to_numpy().nonzero()[0][0])
    earlier = df.iloc[:first]
    same = np.ones(first, dtype=bool)
    for column in df.columns:
        value = df[column].iat[first]
        values = earlier[column]
        if pd.isna(value):
            same &= values.isna().to_numpy(dtype=bool)
        else:
            same &= values.eq(value).fillna(False).to_numpy(dtype=bool)
    if not same.any():
        return ""
    copied = pd.Series(np.arange(len(df)) == int(same.nonzero()[0][0]), index=df.index)
    where = row_examples(copied, files).removeprefix("rows: [").removesuffix("]")
    return REPEATS.format(row=first, copied=where)


def raise_violation(
    table: str,
    check: RowCheck,
    df: pd.DataFrame,
    mask: pd.Series,
    files: Sources | None,
) -> None:
    count = int(mask.sum())
    shown: list[str] = []
    coded = check.shows_values and check.column in df.columns
    values = df.loc[mask, check.column].dropna().astype("str") if coded else pd.Series()
    if coded:
        shown, hidden = shown_values(df, df.loc[mask, check.column])
    # The codes allowed are no one's record: listed, with a count of the values not shown
    # that differ from one in case only.
    allowed = expected_codes(check, shown, values[~values.isin(shown)])
    if shown:
        listed = sorted(shown)[:MAX_EXAMPLES]
        examples = f"offending values: {listed}"
        if len(shown) > len(listed):
            examples += f" and {len(shown) - len(listed)} more"
        if hidden:
            # Their rows, by number, as when no value is shown: found again without a rerun.
            unshown = mask & df[check.column].notna() & ~df[check.column].astype("str").isin(shown)
            examples += (
                f" and {hidden} more held by fewer than {MIN_SHOWN_ROWS} people, or that look "
                f"like ids, names or free text (not shown; {row_examples(unshown, files)})"
            )
        examples += allowed
    else:
        # Person-level values stay out of messages: show row numbers instead.
        examples = row_examples(mask, files) + allowed
    if check.name == DUPLICATE_ROW:
        examples += _first_copied(df, mask, files) + empty_columns_hint(table, df)
    raise DataContractError(
        VIOLATION.format(
            table=table,
            column=check.column,
            check=check.name,
            count=count,
            reason=check.reason,
            examples=examples,
        ),
        table=table,
        column=check.column,
        check=check.name,
        count=count,
    )

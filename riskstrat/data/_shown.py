"""Which offending values an error message may show: codes a feed sends, never a record.

A mistyped code is worth naming ("urgent_care" is not a setting); a name typed into a coded
column, a note in one person's rows, an id or a date shifted in by an extract are a
person's record, which no message or log may carry.
"""

from __future__ import annotations

import re

import pandas as pd

# A value fewer people hold than this is not shown: a code a feed sends fills many people's
# rows, a note or a name typed into one person's record only theirs, however many rows that
# person has (the small-cell threshold of the tables).
MIN_SHOWN_ROWS = 11
# Longer text in a coded column is not a code mistyped; it is not shown.
MAX_CODE_LENGTH = 40
# A date, or a run of four digits (a year, an amount, an id), is a record's content.
_RECORD_LIKE = re.compile(r"\d{4}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}")
# Words in capitals, as a name is written ("Maria Lopez"): a name filled down a column
# reaches any row count, so no count makes it a code to show.
_NAME_LIKE = re.compile(r"^[A-Z][a-z'\u2019-]+(?:\s+[A-Z][a-z.'\u2019-]*)+$")
# A code is one token of letters, digits and . _ + / - ("F20.9", "urgent_care"). Words
# apart ("maria lopez", "hiv pos per partner"), a comma ("LOPEZ, MARIA") or an address's @
# are free text, whatever their case.
_CODE_SHAPED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")


def shown_values(df: pd.DataFrame, values: pd.Series) -> tuple[list[str], int]:
    """The offending values a message may show, and how many it may not.

    ``values`` holds the offending rows' values (index: their rows of ``df``). A value is
    shown only when at least ``MIN_SHOWN_ROWS`` people hold it (rows, in a table without
    ``person_id``), as a code a feed sends does, and it is shaped like a code, not like an
    id, a date, a number, a name or free text: a note or a name typed into one person's
    rows, or a column shifted by an extract, are a person's record, which no message may
    carry.
    """
    ids = set()
    if "person_id" in df.columns:
        ids = set(df["person_id"].dropna().astype(str).str.strip().str.lower())
        holders = df.loc[values.index, "person_id"].groupby(values, dropna=False).nunique()
    else:
        holders = values.value_counts(dropna=False)
    shown = [
        t
        for t, n in ((str(v), int(n)) for v, n in holders.items())
        if n >= MIN_SHOWN_ROWS
        and t.strip().lower() not in ids
        and len(t) <= MAX_CODE_LENGTH
        and _CODE_SHAPED.match(t)
        and not _RECORD_LIKE.search(t)
        and not _NAME_LIKE.match(t.strip())
    ]
    return shown, len(holders) - len(shown)

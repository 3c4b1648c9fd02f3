"""The manifest's own content, which no checksum covers: what it says must agree with itself
and with the outputs it vouches for.

A manifest edited by hand (an as-of date moved to the next quarter, a rejected count
lowered) still lists the outputs' true checksums; only its content can give it away.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def manifest_problems(folder: Path, manifest: dict, intact: set[str]) -> list[str]:
    """Each disagreement, one line each; ``intact`` names the outputs whose sha256 matched
    (only those are read: a changed one is already a problem)."""
    problems = []
    as_of = _date(manifest.get("as_of"))
    if as_of is None:
        problems.append(f"manifest as_of {manifest.get('as_of')!r}: not a date (YYYY-MM-DD)")
    else:
        problems += _as_of_problems(folder, as_of, intact)
        previous = manifest.get("previous_offers")
        before = _date(previous.get("as_of")) if isinstance(previous, dict) else None
        if isinstance(previous, dict) and (before is None or before >= as_of):
            problems.append(
                f"manifest previous_offers as of {previous.get('as_of')!r}: expected a date "
                f"before the cohort's {as_of}"
            )
    problems += _count_problems(manifest)
    return problems


def _as_of_problems(folder: Path, as_of: dt.date, intact: set[str]) -> list[str]:
    problems = []
    if "cohort.parquet" in intact:
        import pyarrow.parquet as pq

        column = pq.read_table(folder / "cohort.parquet", columns=["as_of"]).column("as_of")
        found = sorted({str(day) for day in column.unique().to_pylist()})
        if found and found != [as_of.isoformat()]:
            problems.append(
                f"manifest as_of {as_of}, but cohort.parquet's rows are as of {', '.join(found)}"
            )
    if "summary.json" in intact:
        said = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("as_of")
        if said is not None and str(said) != as_of.isoformat():
            problems.append(f"manifest as_of {as_of}, but summary.json's is {said}")
    return problems


def _count_problems(manifest: dict) -> list[str]:
    """Rows in = accepted + rejected for each table, and the totals add up."""
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        return ["manifest tables: missing; expected each table's rows in, accepted and rejected"]
    problems, counted = [], 0
    for name, counts in sorted(tables.items()):
        try:
            rows_in, accepted, rejected = (
                int(counts[k]) for k in ("rows_in", "accepted", "rejected")
            )
            by_check = sum(int(n) for n in (counts.get("rejected_by_check") or {}).values())
        except (KeyError, TypeError, ValueError, AttributeError):
            problems.append(f"manifest tables {name}: expected whole rows_in, accepted, rejected")
            continue
        counted += rejected
        if rows_in != accepted + rejected:
            problems.append(
                f"manifest tables {name}: rows_in {rows_in:,} is not accepted {accepted:,} "
                f"+ rejected {rejected:,}"
            )
        if by_check != rejected:
            problems.append(
                f"manifest tables {name}: rejected {rejected:,}, but rejected_by_check counts "
                f"{by_check:,}"
            )
    total = manifest.get("rejected_rows")
    if total != counted:
        problems.append(
            f"manifest rejected_rows {total}, but its tables' rejected add up to {counted:,}"
        )
    return problems


def _date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None

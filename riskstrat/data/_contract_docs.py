"""Generate the input data contract (``docs/data-contract.md``) from the code, so it cannot drift.

The tables, columns and coded values come from :mod:`riskstrat.data._codes` (the one
definition every stage imports) and the condition groups from ``configs/conditions.yaml``.
"""

from __future__ import annotations

from riskstrat.data import _checks, _codes, _normalise
from riskstrat.data._conditions import Conditions, load_conditions

_KINDS = {
    "id": "text id (pseudonymous)",
    "date": "date",
    "str": "text",
    "int": "whole number",
    "float": "number",
    "bool": "true/false",
}

# (table.column, values, note): the coded columns a county maps its own codes onto.
_CODED = (
    ("persons.sex", _codes.SEXES, "X nonbinary, U unknown"),
    ("persons.race_ethnicity", _codes.RACE_ETHNICITIES, ""),
    ("persons.spa", _codes.SPAS, "service planning area; null when unknown"),
    ("encounters.setting", _codes.SETTINGS, ""),
    ("encounters.dx_group", _codes.DX_GROUPS, "the encounter's primary reason"),
    ("pharmacy.drug_class", _codes.DRUG_CLASSES, "moud: buprenorphine, methadone, naltrexone"),
    ("justice.event_type", _codes.JUSTICE_EVENT_TYPES, ""),
    ("homelessness.project_type", _codes.HMIS_PROJECT_TYPES, "HMIS project types"),
    ("enrollments.program", _codes.PROGRAMS, "the programmes of configs/programs.yaml"),
    (
        "assessments.instrument",
        _codes.INSTRUMENTS,
        "a county adds others, with their score ranges, in configs/contract.yaml",
    ),
)

_HEADER = """\
# Input data contract

Generated from `riskstrat/data/_codes.py` and `configs/conditions.yaml`; a test keeps this
file in step with them (regenerate with
`python -c 'from riskstrat.data._contract_docs import contract_markdown as f; open("docs/data-contract.md", "w").write(f())'`).

Every table shares a linked, pseudonymous `person_id` (no names, SSNs or addresses). Dates are
dates: a time of day is dropped. A value that does not convert, or a code not listed below, is
rejected with the value named (or, in quarantine mode, set aside with its reason and counted).
"""


def contract_markdown(conditions: Conditions | None = None) -> str:
    """The data contract as Markdown: tables and columns, coded values, condition groups."""
    conditions = conditions or load_conditions()
    lines = [_HEADER, "## Tables", ""]
    lines += [
        "| table | column | kind | required | if the extract leaves the column out |",
        "|---|---|---|---|---|",
    ]
    for table in _codes.TABLE_NAMES:
        for name, kind, required in _codes.TABLE_COLUMNS[table]:
            absent = _codes.ABSENT_COLUMN_MEANS.get((table, name), "")
            lines.append(
                f"| {table} | `{name}` | {_KINDS[kind]} | {'yes' if required else ''} | {absent} |"
            )
    lines += [
        "",
        "An optional column left out of an extract is said with what it changes, as above, by",
        "every command that reads the data. In a CSV, a contract value holding a line break is",
        "a quote left open, which swallows the rows after it: the file is refused with the lines",
        "it spans. A free-text column outside the contract may hold line breaks; it is refused",
        "only where a line inside one of its values reads as a whole record.",
        "",
        "`persons.spa` must be present as a column, but its values may be null. A diagnosis",
        "needs `icd10` or `condition`. Without a `condition` column, the condition is derived",
        "from `icd10` by the groups below; with one, its values are used as given (each one of",
        "the condition names below, or empty) and `icd10` is checked for its shape only; a",
        "warning counts the rows left empty whose `icd10` is in a condition group.",
        "",
        "An empty field is a missing value, and so is one spelled "
        + ", ".join(f"`{v}`" for v in _normalise.NULL_SPELLINGS)
        + " (in upper, lower",
        "or title case), as exports write it.",
        "",
        "An empty `end_date` is an episode still open; so is `9999-12-31`, the warehouses' way",
        "of writing one. Dates are whole days, year first: `YYYY-MM-DD` (or `YYYY/M/D`; a time",
        "after it is dropped) or `YYYYMMDD`; a year or a month alone (`1982`, `2020-11`) is",
        "rejected, not read as its first day.",
        "",
        "`paid_amount` and `days_supply` may not be negative, nor above "
        + " and ".join(f"{v:,.0f}" for v in _checks.MAX_VALUES.values())
        + ": past those a value is another field slid into the column (a claim number), not",
        "a bill or a supply.",
        "",
        "Each event is dated by one column, checked against its person's life: an event before",
        "`birth_date` or after `death_date` is rejected (the day itself passes). A `birth_date`",
        f"more than {_checks.MAX_AGE_YEARS} years before the reference date is a placeholder,",
        "not a birth date, and its persons row is rejected.",
        "",
        "| table | event date |",
        "|---|---|",
        *(f"| {table} | `{column}` |" for table, column in _codes.EVENT_DATES.items()),
        "",
        "## Coded values",
        "",
    ]
    for column, values, note in _CODED:
        listed = ", ".join(f"`{v}`" for v in values)
        lines.append(f"- `{column}`: {listed}" + (f" ({note})" if note else ""))
    lines.append("- `diagnoses.condition`: one of the condition names below")
    ranges = ", ".join(f"{k} {lo:g}-{hi:g}" for k, (lo, hi) in _codes.INSTRUMENT_RANGES.items())
    lines += [f"- `assessments.score` ranges: {ranges} (MCAS: higher is more independent)", ""]
    lines += [
        "## Condition groups (configs/conditions.yaml)",
        "",
        "ICD-10 codes match with or without the dot and in any case; a code maps to the most",
        "specific (longest) matching prefix, and codes in no group map to null.",
        "",
        "| condition | label | family | chronic | ICD-10 |",
        "|---|---|---|---|---|",
    ]
    for name, c in conditions.conditions.items():
        codes = ", ".join(c.icd10)
        lines.append(
            f"| `{name}` | {c.label} | {c.family} | {'yes' if c.chronic else ''} | {codes} |"
        )
    return "\n".join(lines) + "\n"

"""Who is eligible for each programme and who is offered a place, by group.

The rule decides who may have a place and the model ranks them where places run short.
Leaving race/ethnicity and sex out of the model does not make that choice even-handed: a
rule that counts jail releases lists more of the people policing reaches most, and a
programme owner reading only "246 eligible, 224 offered" cannot see it. So every run counts,
for each group of race/ethnicity, sex, age band (on the as-of date) and SPA, and for each
programme and any programme: the people scored, those eligible, and those offered a place
this quarter.

Unlike the rest of the cohort summary, which gives programme staff exact counts, this table
is an aggregate to share with evaluators and the public: groups under 11 scored people are
pooled (as the training evaluation pools them), and a count of 1 to 10, or one a reader
could work out from the totals and the counts shown, is hidden
(:mod:`riskstrat.modeling._disclosure`), across programmes too (any programme less one,
one programme's list less another's that holds it). A programme with 1 to 10 eligible people
in all shows none of them by group.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskstrat.modeling._audit_groups import AGE_BAND, evaluation_groups
from riskstrat.modeling._disclosure import MIN_CELL, Derived, small_count, suppress
from riskstrat.modeling._pooled import pooled
from riskstrat.modeling._subgroup_names import ALL, POOLED, UNKNOWN
from riskstrat.modeling._subgroup_places import nested
from riskstrat.scoring._cohort import ScoredCohort
from riskstrat.scoring._selection import ProgramSlots, care_coordination_programs

ATTRIBUTES: tuple[str, ...] = ("race_ethnicity", "sex", AGE_BAND, "spa")
HIDDEN = "–"  # a count the table hides, in summary.md
ATTRIBUTE_NAMES = {"race_ethnicity": "race/ethnicity", AGE_BAND: "age band", "spa": "SPA"}
ANY_PROGRAMME = "any"  # a person eligible for (offered) at least one programme
COUNTS: tuple[str, ...] = ("scored", "eligible", "selected")
GROUP_COLUMNS: tuple[str, ...] = ("attribute", "group", "programme", *COUNTS)


def group_counts(
    scored_ids: pd.Series,
    persons: pd.DataFrame,
    cohort: pd.DataFrame,
    programmes: list[str],
    as_of: object,
    care_coordination: Sequence[str] = (),
) -> pd.DataFrame:
    """People scored, eligible and selected per attribute, group and programme, with the
    counts a reader must not see hidden.

    Parameters
    ----------
    scored_ids : Series
        person_id of everyone scored.
    persons : DataFrame
        The linked persons table (``person_id``, ``race_ethnicity``, ``sex``,
        ``birth_date``, ``spa``); an attribute it lacks is left out.
    cohort : DataFrame
        One row per eligible person and programme: ``person_id``, ``program``,
        ``selected``.
    programmes : list of str
        Every programme of the run, those with nobody eligible included.
    as_of : date
        For the age band.
    care_coordination : sequence of str
        The care-coordination programmes, of which a person holds one place at most: a
        reader who knows it can take a group's people offered any programme less those
        offered one of these, so that difference is protected too.

    Returns
    -------
    DataFrame
        Columns :data:`GROUP_COLUMNS`, whole numbers, ``NaN`` where hidden; per attribute
        the groups (pooled under 11 scored people; none where that leaves one) then
        ``all``, per group the programmes in the given order then ``any``. The ``all`` rows
        hide a total of 1 to 10 too.
        Empty when the persons table has none of the attributes.
    """
    ids = pd.Series(scored_ids, dtype="str").drop_duplicates().sort_values(ignore_index=True)
    rows = pd.DataFrame({"person_id": ids, "as_of": pd.Timestamp(as_of)})
    if "spa" in persons.columns and pd.api.types.is_float_dtype(persons["spa"]):
        # SPA 1-8 read from a file with gaps comes as floats: "1", not "1.0".
        persons = persons.assign(spa=persons["spa"].astype("Int64"))
    groups = evaluation_groups(rows, persons, ATTRIBUTES)
    if groups is None or ids.empty:
        return pd.DataFrame(columns=list(GROUP_COLUMNS))
    eligible = {p: _members(ids, cohort, p) for p in programmes}
    selected = {p: _members(ids, cohort, p, selected=True) for p in programmes}
    # Any programme shown by group: one with 1 to 10 eligible in all is left out of it too,
    # or a group's people in any, less those in the others, would bound its hidden count.
    broad = [p for p in programmes if not small_count(eligible[p].sum())]
    nobody = np.zeros(len(ids), dtype=bool)
    eligible[ANY_PROGRAMME] = functools.reduce(np.logical_or, [eligible[p] for p in broad], nobody)
    selected[ANY_PROGRAMME] = functools.reduce(np.logical_or, [selected[p] for p in broad], nobody)
    every = [*programmes, ANY_PROGRAMME]
    records = []
    for attribute in groups.columns:
        labels = pooled(groups[attribute].to_numpy())
        cells = _counts(labels, eligible, selected, list(care_coordination))
        # One group (everyone pooled, or one value) is the county: its all row says it.
        shown = cells.index if len(cells.index) > 2 else [ALL]
        for group in shown:
            for programme in every:
                record = {"attribute": attribute, "group": group, "programme": programme}
                record["scored"] = cells.loc[group, "scored"]
                for count in ("eligible", "selected"):
                    record[count] = cells.loc[group, _column(count, programme)]
                records.append(record)
    return pd.DataFrame.from_records(records, columns=list(GROUP_COLUMNS))


def _members(
    ids: pd.Series, cohort: pd.DataFrame, programme: str, *, selected: bool = False
) -> np.ndarray:
    rows = cohort.loc[cohort["program"] == programme]
    if selected:
        rows = rows.loc[rows["selected"].astype(bool)]
    return ids.isin(rows["person_id"].astype("str")).to_numpy()


def _column(count: str, programme: str) -> str:
    return f"{count}:{programme}"


def _counts(
    labels: np.ndarray,
    eligible: dict[str, np.ndarray],
    selected: dict[str, np.ndarray],
    care_coordination: list[str],
) -> pd.DataFrame:
    """Every programme's counts per group as one table (hidden cells NaN) and the ``all``
    row; columns ``scored`` and ``eligible:<programme>``, ``selected:<programme>``.

    One table, since the programmes' counts are tied: a group's people eligible for any
    programme less those eligible for one are people too, and a reader can take that
    difference as surely as one within a programme.
    """
    frame = {"scored": np.ones(len(labels), dtype=np.int64)}
    for programme in eligible:
        frame[_column("eligible", programme)] = eligible[programme].astype(np.int64)
        frame[_column("selected", programme)] = selected[programme].astype(np.int64)
    cells = pd.DataFrame(frame).groupby(labels, sort=True).sum()
    totals = cells.sum()
    # A programme with 1 to 10 eligible in all (the ones group_counts leaves out of any):
    # by group it could only give those few away, so none is shown, and its counts are
    # left out of the system below.
    few = [p for p in eligible if small_count(totals[_column("eligible", p)])]
    kept = [c for c in cells.columns if c.split(":")[-1] not in few]
    derived = _derived(eligible, few, care_coordination)
    # One programme's list within another's on this quarter (Recuperative Care's eligible
    # among HCSS's, say, which a reader who knows the rules knows): the difference is people.
    masks = {
        _column(count, p): members[p]
        for count, members in (("eligible", eligible), ("selected", selected))
        for p in eligible
        if p not in few
    }
    for inner, outer in nested(masks):
        derived.setdefault(f"{outer}-{inner}", Derived({outer: 1, inner: -1}, inner))
    # A total of 1 to 10 is hidden here, but a reader may work it out from the relations
    # (offered any programme = the care-coordination offers when nobody else is offered),
    # so no group may be shown as the only one that could hold such a total.
    hidden = suppress(cells[kept], totals[kept], derived, size="scored", under_small_totals=True)
    out = cells.astype(np.float64)
    out[kept] = out[kept].mask(hidden)
    for programme in few:
        out[[_column("eligible", programme), _column("selected", programme)]] = np.nan
    out.loc[ALL] = _shown_totals(totals)
    return out


def _shown_totals(totals: pd.Series) -> pd.Series:
    """The ``all`` row as shared: a total of 1 to 10 people hidden. A reader may still work
    one out (or a difference of two shown totals) from the relations between programmes:
    a county-wide count, never a group's (:func:`_counts` keeps every group's share of it
    open)."""
    return totals.astype(np.float64).mask(small_count(totals.to_numpy()))


def _derived(
    programmes: dict[str, np.ndarray], few: list[str], care_coordination: list[str]
) -> dict[str, Derived]:
    """The counts of people a reader can work out within a group, and the count to hide
    when one would be 1 to 10 (a programme's own, keeping the any-programme counts, the
    broadest, in view where there is a choice)."""
    derived = {}
    counted = [p for p in programmes if p not in (*few, ANY_PROGRAMME)]
    if counted and ANY_PROGRAMME not in few:
        for count in ("eligible", "selected"):
            broad = _column(count, ANY_PROGRAMME)
            # Places in the programmes less people in any: with two programmes, the people
            # in both; with more, at least as many as the people in two or more.
            coefficients = {_column(count, p): 1 for p in counted} | {broad: -1}
            derived[f"overlap_{count}"] = Derived(coefficients, broad)
        # A person holds one care-coordination place at most: those offered any programme
        # less those offered one of these are the people offered only other programmes.
        held = [_column("selected", p) for p in counted if p in care_coordination]
        if held:
            coefficients = {_column("selected", ANY_PROGRAMME): 1} | dict.fromkeys(held, -1)
            derived["selected_outside_care_coordination"] = Derived(
                coefficients, _column("selected", ANY_PROGRAMME)
            )
    for programme in programmes:
        if programme in few:
            continue
        eligible, selected = _column("eligible", programme), _column("selected", programme)
        derived[f"not_eligible:{programme}"] = Derived({"scored": 1, eligible: -1}, eligible)
        derived[f"not_selected:{programme}"] = Derived({"scored": 1, selected: -1}, selected)
        derived[f"eligible_not_selected:{programme}"] = Derived(
            {eligible: 1, selected: -1}, selected
        )
        if programme != ANY_PROGRAMME and ANY_PROGRAMME not in few:
            for count, own in (("eligible", eligible), ("selected", selected)):
                broad = _column(count, ANY_PROGRAMME)
                derived[f"other_{count}:{programme}"] = Derived({broad: 1, own: -1}, own)
    return derived


def group_records(
    scored: ScoredCohort, persons: pd.DataFrame, slots: Mapping[str, ProgramSlots], as_of: object
) -> list[dict[str, Any]]:
    """:func:`group_counts` of a run (every programme in ``slots``) for ``summary.json``:
    hidden counts as null."""
    table = group_counts(
        scored.persons["person_id"],
        persons,
        scored.cohort,
        sorted(slots),
        as_of,
        care_coordination_programs(slots),
    )
    records = []
    for row in table.itertuples(index=False):
        record: dict[str, Any] = {"attribute": row.attribute, "group": row.group}
        record["programme"] = row.programme
        for count in COUNTS:
            value = getattr(row, count)
            record[count] = None if pd.isna(value) else int(value)
        records.append(record)
    return records


def groups_markdown(records: list[dict[str, Any]]) -> list[str]:
    """The by-group section of ``summary.md``: per attribute a table of groups, with per
    programme the people eligible, their share of all eligible, and those offered."""
    if not records:
        return []
    table = pd.DataFrame.from_records(records)
    totals = table[table["group"] == ALL].drop_duplicates("programme").set_index("programme")
    shown = [p for p in totals.index if totals.loc[p, "eligible"] >= MIN_CELL]
    shown = sorted(shown, key=lambda p: p != ANY_PROGRAMME)  # any programme first
    not_shown = [p for p in totals.index if p not in shown and p != ANY_PROGRAMME]
    lines = [
        "## Who is eligible and who is offered a place, by group",
        "",
        "Per programme: the people eligible (their share of everyone eligible for it), then "
        "those offered a place this quarter; `scored` gives each group's share of everyone "
        "scored, to read the shares against. Unlike the counts above, these can be shared: "
        "groups under 11 people are pooled, and a count of 1 to 10, or one the totals and the "
        f"counts shown would give away, is hidden ({HIDDEN}). All of it is in `groups.csv`.",
        "",
    ]
    if not_shown:
        lines += [
            "Not shown by group (none or under 11 eligible in all, and left out of any "
            "programme): " + ", ".join(not_shown) + ".",
            "",
        ]
    if len(shown) <= 1:  # any programme alone: nobody is counted in it
        return lines
    for attribute, rows in table.groupby("attribute", sort=False):
        lines += [f"### By {ATTRIBUTE_NAMES.get(attribute, attribute)}", ""]
        names = ["any programme" if p == ANY_PROGRAMME else p for p in shown]
        lines += ["| group | scored | " + " | ".join(names) + " |"]
        lines += ["|---|" + "---:|" * (len(shown) + 1)]
        all_scored = totals["scored"].iloc[0]
        for group, cells in rows.groupby("group", sort=False):
            cells = cells.set_index("programme")
            scored = cells["scored"].iloc[0]
            whole = group == ALL  # its shares are all 100%
            text = [str(group), _count_share(scored, None if whole else all_scored)]
            for programme in shown:
                eligible, selected = cells.loc[programme, ["eligible", "selected"]]
                total = None if whole else totals.loc[programme, "eligible"]
                text.append(f"{_count_share(eligible, total)} · {_count(selected)}")
            lines.append("| " + " | ".join(text) + " |")
        lines.append("")
    return lines


def _count(value: object) -> str:
    return HIDDEN if value is None or pd.isna(value) else f"{int(value):,}"


def _count_share(value: object, total: object) -> str:
    if value is None or pd.isna(value):
        return HIDDEN
    if total is not None and (group_total := float(total)):
        return f"{int(value):,} ({100 * float(value) / group_total:.1f}%)"
    return f"{int(value):,}"


def most_overrepresented(records: list[dict[str, Any]]) -> str | None:
    """For the console: the named group whose share of the people eligible for any
    programme most exceeds its share of everyone scored, or None (nothing shown to say
    it with)."""
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return None
    table = table[table["programme"] == ANY_PROGRAMME].astype({"eligible": "float64"})
    whole = table[table["group"] == ALL].set_index("attribute")
    named = table[
        (table["group"] != ALL)
        & ~table["group"].str.startswith(POOLED)
        & ~table["group"].isin(list(UNKNOWN))
    ]
    eligible = named["eligible"] / named["attribute"].map(whole["eligible"])
    scored = named["scored"] / named["attribute"].map(whole["scored"])
    gap = (eligible / scored).dropna()
    if gap.empty:
        return None
    top = gap.idxmax()
    row = named.loc[top]
    name = ATTRIBUTE_NAMES.get(row["attribute"], row["attribute"])
    return (
        f"{name} {row['group']}: {eligible[top]:.1%} of those eligible for any "
        f"programme, {scored[top]:.1%} of those scored"
    )

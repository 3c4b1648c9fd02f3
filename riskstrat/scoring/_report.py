"""Run summary (counts by programme, tier and SPA; FTE; reconciliation) and its Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from riskstrat.data._coverage import LAG_WARN_DAYS
from riskstrat.scoring._cohort import ScoredCohort
from riskstrat.scoring._groups import groups_markdown, most_overrepresented
from riskstrat.scoring._ids import isin, spa_labels
from riskstrat.scoring._reading import reading_markdown
from riskstrat.scoring._reconcile import reconcile as reconcile
from riskstrat.scoring._selection import (
    STATUS_CAPACITY,
    STATUS_ENROLLED,
    STATUS_OFFERED,
    STATUS_OTHER,
    ProgramSlots,
    care_coordination_programs,
)
from riskstrat.scoring._staffing import public, staffing, staffing_total
from riskstrat.scoring._tiers import ScoringConfig


def build_summary(
    scored: ScoredCohort,
    slots: Mapping[str, ProgramSlots],
    config: ScoringConfig,
    spa: pd.Series | None = None,
    reconciliation: Mapping[str, Any] | None = None,
    header: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Counts of a run for ``summary.json`` (deterministic: no times, sorted keys).

    Parameters
    ----------
    scored : ScoredCohort
    slots : mapping of programme code to ProgramSlots
    config : ScoringConfig
    spa : Series, optional
        SPA per person, indexed by person_id (null = unknown).
    reconciliation : mapping, optional
        From :func:`reconcile`.
    header : mapping, optional
        Extra top-level facts (as-of date, model version).

    Returns
    -------
    dict
    """
    cohort, persons = scored.cohort, scored.persons
    slots = scored.slots if scored.slots is not None else slots  # caseloads as netted
    tiers = list(config.tiers.names)
    selected_rows = cohort.loc[cohort["selected"]]
    spa_of = spa_labels(spa, selected_rows["person_id"]) if spa is not None else None
    programs: dict[str, Any] = {}
    for program in sorted(slots):
        rows = cohort.loc[cohort["program"] == program]
        chosen = rows.loc[rows["selected"]]
        status = rows["status"].value_counts()
        entry: dict[str, Any] = {
            "capacity_quarter": slots[program].capacity,
            "caseload": slots[program].caseload,
            "enrolled_now": slots[program].enrolled_now,
            "offered_open": slots[program].offered_open,
            "care_coordination": slots[program].care_coordination,
            "eligible": int(rows["eligible"].sum()),
            "selected": len(chosen),
            "not_selected": {
                reason: int(status.get(reason, 0))
                for reason in (STATUS_ENROLLED, STATUS_OFFERED, STATUS_OTHER, STATUS_CAPACITY)
            },
            "selected_by_tier": _counts(chosen["tier"], tiers),
            "mean_risk_selected": round(float(chosen["risk"].mean()), 6) if len(chosen) else None,
        }
        if spa_of is not None:
            entry["selected_by_spa"] = _counts(chosen["person_id"].map(spa_of))
        programs[program] = entry

    selected_persons = persons.loc[isin(persons["person_id"], selected_rows["person_id"])]
    cc = care_coordination_programs(slots)
    cc_ids = selected_rows.loc[selected_rows["program"].isin(cc), "person_id"]
    cc_tiers = persons.loc[isin(persons["person_id"], cc_ids), "tier"]
    team = staffing(selected_rows.loc[selected_rows["program"].isin(cc)], slots, config.tiers)
    summary: dict[str, Any] = {
        **dict(header or {}),
        "scored_by_tier": _counts(persons["tier"], tiers),
        "selected_persons": len(selected_persons),
        "selected_persons_by_tier": _counts(selected_persons["tier"], tiers),
        "care_coordination": {
            "persons": len(cc_tiers),
            "by_tier": _counts(cc_tiers, tiers),
            "care_manager_fte": staffing_total(team),
            "caseload_per_fte": {level.name: level.caseload for level in config.tiers.levels},
            "by_programme": public(team),
        },
        "programs": programs,
        "explained_persons": len(scored.explained_ids),
    }
    if spa_of is not None:
        summary["selected_persons_by_spa"] = _counts(selected_persons["person_id"].map(spa_of))
    if reconciliation is not None:
        summary["reconciliation"] = dict(reconciliation)
    return summary


def screening_items(programs: Any) -> dict[str, dict[str, list[str]]]:
    """What each programme's staff screen for, for ``summary.json``.

    Parameters
    ----------
    programs : riskstrat.eligibility.Programs

    Returns
    -------
    dict
        By programme code (sorted): ``confirm``, the conditions to confirm with a listed
        person before enrolment (Medi-Cal, ...); ``routes``, the other ways in that the
        data cannot show, through which people not on the list may still qualify.
    """
    return {
        code: {
            "confirm": [item.text for item in programs.to_confirm(code)],
            "routes": [item.text for item in programs.screening_for(code) if item.route],
        }
        for code in sorted(programs)
    }


def _screening_markdown(summary: Mapping[str, Any]) -> list[str]:
    items = summary.get("screening")
    if not items:
        return []
    lines = [
        "## Screening before enrolment",
        "",
        "The linked data cannot show these conditions, and `eligible` does not test them: "
        "confirm them with each person on the list before a place is taken up.",
        "",
    ]
    lines += [f"- {code}: {'; '.join(e['confirm'])}" for code, e in items.items() if e["confirm"]]
    routes = [f"- {code}: {'; '.join(e['routes'])}" for code, e in items.items() if e["routes"]]
    if routes:
        lines += [
            "",
            "Other ways in that the data cannot show. Nobody on the list needs them; people "
            "who qualify only through them are not on it and come by referral:",
            "",
            *routes,
        ]
    return [*lines, ""]


def _counts(values: pd.Series, order: list[str] | None = None) -> dict[str, int]:
    counts = values.astype("str").value_counts()
    keys = order if order is not None else sorted(counts.index)
    return {str(k): int(counts.get(k, 0)) for k in keys}


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """Readable ``summary.md`` from :func:`build_summary` output."""
    lines = [
        f"# Cohort summary, as of {summary.get('as_of', '?')}",
        "",
        "For the programme staff who act on `cohort.csv`: the counts are exact, small ones "
        "included, and not for publication.",
        "",
    ]
    if "model" in summary:
        model = summary["model"]
        lines += [f"Model: `{model.get('version')}` (outcome `{model.get('outcome')}`)", ""]
    lines += reading_markdown(summary)
    rec = summary.get("reconciliation")
    if rec:
        lines += [
            "## Population",
            "",
            f"- population in the data: {rec['population']}",
            f"- scored: {rec['scored']}",
            f"- excluded: {rec['excluded']}",
        ]
        lines += [f"  - {k}: {v}" for k, v in rec["excluded_by_reason"].items()]
        lines += [f"- reconciles: {'yes' if rec['reconciles'] else 'NO'}"]
        history = summary.get("history")
        if history:
            lines += [
                f"- history: from {history['first_event']}, "
                f"{history['days_before_as_of']:,} days before the as-of date"
            ]
            last = history.get("last_event", {})
            gap = history.get("days_after_last_event")
            if gap is not None and last:
                text = f"data: last recorded event {max(last.values())}, {gap:,} day(s) before"
                text += " the as-of date"
                if gap <= 0:  # an extract to or past the as-of date: read up to it only
                    text = (
                        f"data: recorded events run to {max(last.values())}, on or past the "
                        "as-of date; those on or after it are not read"
                    )
                elif gap > LAG_WARN_DAYS:  # warned of too; a reader of the folder sees it here
                    text = f"**{text}**: events since are not seen, recent episodes included"
                lines += [f"- {text}"]
            behind = history.get("sources_behind", [])
            if behind:
                shown = ", ".join(f"{table} (ends {last[table]})" for table in behind)
                lines += [
                    f"- **sources behind the others: {shown}**; their events since are "
                    "missing from the features and rules"
                ]
        lines += [""]
    rejected = summary.get("rejected_rows")
    if rejected:
        lines += ["## Input rows quarantined", "", "| table | rows |", "|---|---:|"]
        lines += [f"| {table} | {n} |" for table, n in rejected.items()]
        lines += [""]
    lines += _offers_markdown(summary)
    lines += ["## Tiers", "", "| tier | scored | selected |", "|---|---:|---:|"]
    for tier, n in summary["scored_by_tier"].items():
        lines.append(f"| {tier} | {n} | {summary['selected_persons_by_tier'].get(tier, 0)} |")
    lines += ["", "## Programmes", ""]
    lines += [
        "| programme | capacity (quarter) | eligible | selected | already enrolled "
        "| offered recently | assigned other | over capacity |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for program, e in summary["programs"].items():
        cap = "no cap" if e["capacity_quarter"] is None else e["capacity_quarter"]
        if e.get("enrolled_now") is not None:
            kept = e.get("offered_open") or 0
            offers = f", less {kept} offered and not yet enrolled" if kept else ""
            cap = f"{cap} (caseload {e['caseload']} less {e['enrolled_now']} enrolled{offers})"
        ns = e["not_selected"]
        lines.append(
            f"| {program} | {cap} | {e['eligible']} | {e['selected']} | {ns[STATUS_ENROLLED]} "
            f"| {ns[STATUS_OFFERED]} | {ns[STATUS_OTHER]} | {ns[STATUS_CAPACITY]} |"
        )
    lines += [
        "",
        "Already enrolled counts eligible people enrolled in the programme (for care "
        "coordination, in any care-coordination programme); a caseload's enrolled count is "
        "everyone enrolled now, eligible or not. Offered recently: an open offer from an "
        "earlier quarter (`--previous`), not taken up since.",
    ]
    lines += ["", *_screening_markdown(summary)]
    tiers = list(summary["scored_by_tier"])
    lines += ["## Selected by programme and tier", ""]
    lines += ["| programme | " + " | ".join(tiers) + " |", "|---|" + "---:|" * len(tiers)]
    for program, e in summary["programs"].items():
        counts = " | ".join(str(e["selected_by_tier"].get(t, 0)) for t in tiers)
        lines.append(f"| {program} | {counts} |")
    lines += _staffing_markdown(summary["care_coordination"])
    if "selected_persons_by_spa" in summary:
        lines += ["", "## Selected persons by SPA", "", "| SPA | persons |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in summary["selected_persons_by_spa"].items()]
    places = sum(e["selected"] for e in summary["programs"].values())
    lines += ["", f"{summary['selected_persons']} persons selected in total, for {places} places"]
    if places != summary["selected_persons"]:
        lines[-1] += (
            ": a person holds one care-coordination place at most, and other programmes "
            "combine with it"
        )
    lines[-1] += "."
    lines += ["", *groups_markdown(summary.get("by_group", []))]
    return "\n".join(lines)


def _staffing_markdown(cc: Mapping[str, Any]) -> list[str]:
    fte = cc["care_manager_fte"]
    lines = [
        "",
        "## Care coordination staffing",
        "",
        f"{cc['persons']} persons offered a care-coordination place would need {fte['total']} "
        f"care-manager FTE ({int(fte['total_whole'])} whole FTE, each programme's team rounded "
        "up) if all enrolled, at each programme's caseload (`caseload_per_fte` in "
        "`configs/programs.yaml`; by acuity tier, `configs/tiers.yaml`, for one without), "
        "beside the staff of those enrolled now and of the offers still in outreach.",
        "",
        "| programme | persons offered | caseload per FTE | FTE | whole FTE |",
        "|---|---:|---:|---:|---:|",
    ]
    by_programme = cc.get("by_programme", {})
    tiers = "/".join(str(c) for c in cc["caseload_per_fte"].values())
    for code, e in by_programme.items():
        caseload = (
            f"{tiers} by tier" if e["caseload_per_fte"] == "tiers" else f"{e['caseload_per_fte']:g}"
        )
        lines.append(f"| {code} | {e['persons']} | {caseload} | {e['fte']} | {e['fte_whole']} |")
    for code, e in by_programme.items():
        if "by_tier" in e and e["persons"]:
            lines += ["", f"{code} by acuity tier:", "", "| tier | persons | caseload per FTE |"]
            lines += ["|---|---:|---:|"]
            lines += [
                f"| {tier} | {n} | {cc['caseload_per_fte'][tier]} |"
                for tier, n in e["by_tier"].items()
            ]
    return lines


def _offers_markdown(summary: Mapping[str, Any]) -> list[str]:
    previous = summary.get("previous_offers")
    if "previous_offers" not in summary:
        return []
    lines = ["## Earlier offers", ""]
    if previous is None:
        lines.append(
            "No earlier run was given (`--previous`): nobody was held back for an offer made "
            "in an earlier quarter, and the offer ledger starts with this one."
        )
    else:
        months = previous["reoffer_after_months"]
        taken = previous.get("offers_taken_up", 0)
        replaced = previous.get("offers_replaced", 0)
        renewed = previous.get("offers_renewed", 0)
        lines.append(
            f"The run as of {previous['as_of']} knew {previous['offers_known']} offers of a "
            f"place; {previous['offers_open'] + taken + replaced + renewed} were made less than "
            f"{months} months before this date. {taken} of those were taken up since (the "
            "person started the programme, or for care coordination another care-coordination "
            f"programme, on or after the offer) and are closed. {renewed} are closed by a new "
            "episode the programme serves since the offer (`renewed_by` in programs.yaml: a "
            "release after a Re-entry offer, a discharge after a Recuperative Care one), so the "
            f"person may be offered it again. {replaced} are replaced by a later offer "
            "(this list's or an earlier one's) of a higher-priority care-coordination "
            "programme to the same person, and keep no place. The other "
            f"{previous['offers_open']} are still "
            "open, and those people are not offered the programme again (nor, for care "
            "coordination, one after it in priority): "
            f"{previous['rows_held_back']} eligible rows here are `offered_recently`."
        )
        gone = previous.get("offers_not_eligible")
        if gone:
            lines[-1] += (
                f" {gone} of the open offers are to people who no longer meet the programme's "
                "rule in this data (or have died or left it): their outreach may stop, or "
                "check why."
            )
        lines.append("")
        lines.append(f"Offers are known from runs since {previous['offers_since']}.")
        for start, end in previous.get("offers_gaps") or ():
            lines[-1] += (
                f" The run as of {end} read the run as of {start}, two quarters or more before: "
                "offers made by any run in between are not known."
            )
        unknown = previous.get("offers_of_persons_not_in_data")
        if unknown:
            lines[-1] += f" {unknown} person(s) offered a place are not in this data."
    return [*lines, ""]


def print_summary(
    summary: Mapping[str, Any], timings: Mapping[str, float] | None = None, console: Any = None
) -> None:
    """Print the run summary (programmes, tiers, staffing, stage times) with rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    # No rules and one space between columns: the eight columns fit an 80-column terminal
    # (or cron log) without cutting programme codes short.
    table = Table(
        title=f"Cohort as of {summary.get('as_of', '?')}",
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold underline",
    )
    for column in (
        "programme",
        "capacity",
        "eligible",
        "selected",
        "enrolled",
        "held back",
        "other",
        "over cap",
    ):
        wide = column == "programme"
        table.add_column(
            column,
            justify="left" if wide else "right",
            min_width=max((len(p) for p in summary["programs"]), default=9) if wide else None,
        )
    for program, e in summary["programs"].items():
        ns = e["not_selected"]
        table.add_row(
            program,
            "-" if e["capacity_quarter"] is None else str(e["capacity_quarter"]),
            str(e["eligible"]),
            str(e["selected"]),
            str(ns[STATUS_ENROLLED]),
            str(ns[STATUS_OFFERED]),
            str(ns[STATUS_OTHER]),
            str(ns[STATUS_CAPACITY]),
        )
    console.print(table)
    console.print(
        "eligible = selected + enrolled (already) + held back (offered recently) + other (chosen"
        " for another care-coordination programme) + over cap (past the places); capacity = the"
        " places this quarter (for a caseload, those its current clients leave free)",
        highlight=False,
    )
    cc = summary["care_coordination"]
    tiers = ", ".join(f"{k} {v}" for k, v in summary["scored_by_tier"].items())
    console.print(f"scored by tier: {tiers}", highlight=False)
    console.print(
        f"selected persons: {summary['selected_persons']}; care coordination: {cc['persons']} "
        f"persons, {cc['care_manager_fte']['total']} care-manager FTE",
        highlight=False,
    )
    previous = summary.get("previous_offers")
    if previous:
        gone = previous.get("offers_not_eligible")
        console.print(
            f"offers: {previous['rows_held_back']} rows held back (offered_recently), offers "
            f"known since {previous['offers_since']}; {previous['offers_open']} still open"
            + (f", {gone} of them to people who no longer meet the rule" if gone else ""),
            highlight=False,
        )
        for start, end in previous.get("offers_gaps") or ():
            console.print(
                f"[yellow]warning:[/yellow] offers made between {start} and {end} by a run not "
                "read are not known",
                highlight=False,
            )
    elif "previous_offers" in summary:
        console.print("offers: no --previous: nobody held back for an earlier offer")
    if gap := most_overrepresented(summary.get("by_group", [])):
        console.print(f"by group (groups.csv, to share): most over-represented, {gap}")
    rec = summary.get("reconciliation")
    if rec:
        console.print(
            f"population {rec['population']} = scored {rec['scored']} + excluded "
            f"{rec['excluded']} ({'reconciles' if rec['reconciles'] else 'DOES NOT reconcile'})",
            highlight=False,
        )
    if timings:
        console.print(
            "stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()),
            highlight=False,
        )

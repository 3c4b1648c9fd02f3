"""Each programme's own rule against the model, as text rows for `riskstrat train` and the report."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

from riskstrat.modeling._disclosure import MIN_CELL
from riskstrat.modeling._metric_labels import bounds
from riskstrat.modeling._programme_rule import programme_rule_table
from riskstrat.modeling._rich import text_table

PROGRAMME_RULE_TITLE = "each programme's own rule on the places it fills"
PROGRAMME_RULE_HEADER: tuple[str, ...] = (
    "programme",
    "k",
    "eligible",
    "places the rule fills",
    "own rule precision",
    "model precision, as many places",
    "lift",
    "model within the eligible",
)
PROGRAMME_RULE_NOTE = (
    "A programme's rule offers places only to the people eligible for it: it fills "
    "min(k, eligible) places, eligible people first by criteria met. The model is measured "
    "on as many places, at the top of its whole ranking (the lift is over the rule), and at "
    "the top of the eligible, as riskstrat score selects: that one differs from the rule "
    "only where more are eligible than there are places. Counts under 11 show as <11; '-' "
    "is hidden: the eligible when 1 to 10 of them are left without a place, every "
    "precision whose places hold 1 to 10 events or non-events, and every precision on 1 to "
    "10 places more or fewer than another shown of the same ranking (the difference would "
    "give those people's outcomes)."
)
# Said only when the run drew resamples (model.metrics.n_bootstrap above 0).
LIFT_INTERVAL_NOTE = (
    " The lift's interval is a bootstrap over the same resamples of persons as the tables "
    "above, each resample filling its own min(k, eligible) places; an interval reaching 1 "
    "shows no gain over the programme's rule."
)


RANKING_CHOOSES = (
    "**Where the model's ranking chooses:** `riskstrat score` offers a programme's places to "
    "the people eligible for it, highest risk first. At the test quarter, {where} Precision "
    "at k and its lifts in the tables below rank the whole test quarter, as a programme "
    "without its eligibility rule would; *{title}*, further down, measures the choice "
    "`riskstrat score` makes"
)
CHOOSES = (
    "more were eligible than there were places for {names}: there the ranking picks who is offered."
)
CHOOSES_NONE = "no programme shown had more eligible people than places."
FITS = " For {names}, everyone eligible fits in the places, so the ranking changes no offer there."
UNSHOWN = (
    f" For {{names}}, the places are too few (under {MIN_CELL}) to show whether more were eligible."
)


def ranking_chooses(result: object) -> str | None:
    """Which programmes' places the model's ranking decides at the test quarter (more
    eligible than places) and which take everyone eligible; None without the table."""
    table = programme_rule_table(result.metrics, result.capacities)  # type: ignore[attr-defined]
    if table.empty:
        return None
    # The places (min(k, eligible)) are hidden under 11, the eligible under 11 or when 1 to
    # 10 are left without a place: shown eligible say it; hidden ones beside shown places
    # are more than the places; both hidden, fewer than k if k is 11 or more, else unknown.
    eligible, k = table["eligible"], table["k"]
    over = (eligible > k).fillna(False).astype(bool) | (eligible.isna() & table["places"].notna())
    unshown = eligible.isna() & table["places"].isna() & (k < MIN_CELL)
    chooses = [str(p) for p, yes in over.items() if yes]
    unknown = [str(p) for p, yes in unshown.items() if yes]
    fits = [str(p) for p in table.index if str(p) not in {*chooses, *unknown}]
    where = CHOOSES.format(names=", ".join(chooses)) if chooses else CHOOSES_NONE
    where += FITS.format(names=", ".join(fits)) if fits else ""
    where += UNSHOWN.format(names=", ".join(unknown)) if unknown else ""
    return RANKING_CHOOSES.format(where=where, title=PROGRAMME_RULE_TITLE)


def programme_rule_title(result: object) -> str:
    """The table's title: with an interval on the lift, or point estimates only."""
    resampled = result.config.metrics.n_bootstrap > 0  # type: ignore[attr-defined]
    return PROGRAMME_RULE_TITLE + (" (interval on the lift)" if resampled else " (point estimates)")


def programme_rule_note(result: object) -> str:
    """The note under the table, the interval's explained when there is one."""
    resampled = result.config.metrics.n_bootstrap > 0  # type: ignore[attr-defined]
    return PROGRAMME_RULE_NOTE + (LIFT_INTERVAL_NOTE if resampled else "")


def programme_rule_rows(result: object) -> list[list[str]]:
    """Per capacity: who the programme's rule can list, and its precision against the model's."""
    table = programme_rule_table(result.metrics, result.capacities)  # type: ignore[attr-defined]
    return [
        [
            str(programme),
            f"{int(row.k):,}",
            # Eligible is hidden also when those left without a place number 1 to 10.
            _count(row.eligible) if pd.notna(row.places) else f"<{MIN_CELL}",
            _count(row.places) if pd.notna(row.places) else f"<{MIN_CELL}",
            _share(row.rule_precision),
            _share(row.model_precision),
            _lift(row.lift, row.lift_lower, row.lift_upper),
            _share(row.model_within_eligible_precision),
        ]
        for programme, row in table.iterrows()
    ]


def _count(value: object) -> str:
    return f"{int(value):,}" if pd.notna(value) else "-"  # type: ignore[call-overload]


def _share(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "-"


def _lift(value: float, lower: float, upper: float) -> str:
    # No lift: the rule found no event, or filled fewer than 11 places.
    if not math.isfinite(value):
        return "-"
    if math.isnan(lower) and math.isnan(upper):  # no resamples
        return f"{value:.2f}x"
    return f"{value:.2f}x {bounds(lower, upper, digits=2, avoid=1.0)}"


def programme_rule_rich_table(result: object) -> Table:
    """The model against each programme's own rule, on the places that rule fills."""
    return text_table(
        programme_rule_title(result),
        PROGRAMME_RULE_HEADER,
        programme_rule_rows(result),
        left=("programme",),
        caption=programme_rule_note(result),
    )

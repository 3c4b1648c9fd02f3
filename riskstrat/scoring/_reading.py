"""``summary.md``'s guide to the list's columns: what risk, tier, rank and factors mean.

Programme staff read ``cohort.csv`` without the README: the guide gives the numbers behind
each column for this run (the outcome and its horizon, the tier cut-offs, how many people
share a risk) rather than general advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from riskstrat.scoring._tiers import ScoringConfig


def reading_facts(
    persons: pd.DataFrame,
    config: ScoringConfig,
    metadata: Mapping[str, Any],
    slots: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The facts the guide quotes, for ``summary.json`` (``reading``); ``slots`` (programme
    code to ProgramSlots) name the programmes whose offers a new episode renews."""
    split = metadata.get("split") or {}
    return {
        "horizon_months": split.get("horizon_months"),
        "tier_basis": config.tiers.basis,
        "tier_min": {level.name: level.min for level in config.tiers.levels},
        "scored": len(persons),
        "distinct_risks": int(persons["risk"].nunique()),
        "reoffer_after_months": config.selection.reoffer_after_months,
        "renewing": sorted(c for c, slot in (slots or {}).items() if slot.renewed_by),
    }


def reading_markdown(summary: Mapping[str, Any]) -> list[str]:
    """The "Reading the list" section, or nothing for a summary without its facts."""
    facts = summary.get("reading")
    if not facts:
        return []
    outcome = (summary.get("model") or {}).get("outcome", "?")
    horizon = facts["horizon_months"]
    window = f"in the {horizon} months after" if horizon else "after"
    levels = list(facts["tier_min"].items())
    unit = " percentile" if facts["tier_basis"] == "percentile" else " risk"
    cuts = ", ".join(
        f"{name} from{unit} {low:g}" if low > 0 else f"{name} below" for name, low in levels
    )
    cuts += " (`configs/tiers.yaml`)"
    counts = summary.get("scored_by_tier") or {}
    if counts and facts["scored"]:
        each = [
            f"{n} {counts.get(n, 0):,} ({counts.get(n, 0) / facts['scored']:.1%})"
            for n, _ in levels
        ]
        cuts += f"; this run: {', '.join(each)} of those scored"
    if facts["tier_basis"] == "percentile":
        # Ties share a percentile: 301 people at one risk straddled the demo's 95th.
        cuts += (
            ". People sharing a risk share the lowest percentile among them: a tie across a "
            "cut-off stays below it, so a tier can hold less than its share"
        )
    months = facts["reoffer_after_months"]
    # Isotonic calibration ties many people at one risk; sigmoid gives nearly everyone their own.
    shared = facts["distinct_risks"] * 2 <= facts["scored"]
    ties = (
        f"Calibration gives {facts['distinct_risks']} distinct risks among those scored, so "
        "many people share one: they are ordered by the model's uncalibrated score, then by "
        "`person_id`."
        if shared
        else "Equal risks are ordered by the model's uncalibrated score, then by `person_id`."
    )
    renewing = facts.get("renewing") or []
    if months == 0:
        held = "- Offers are not held back (`reoffer_after_months: 0`): next quarter's run may offer them again."
    else:
        held = (
            f"- Given this folder (`--previous`), next quarter's run does not offer a person "
            f"offered a place here the same programme again for {months} months unless they "
            "take it up (for care coordination, no programme after it in priority either)"
            + (
                f", or, for {', '.join(renewing)}, a new episode comes since (`renewed_by`: "
                "a release, a discharge)."
                if renewing
                else "."
            )
        )
    return [
        "## Reading the list",
        "",
        f"- `risk`: the model's calibrated probability of the outcome `{outcome}` {window} "
        f"{summary.get('as_of', 'the as-of date')} (its definition: `configs/outcomes.yaml`). "
        "Of 100 people with risk 0.30, about 30 are expected to have it.",
        f"- `percentile`: the share of the {facts['scored']} people scored whose risk is lower. "
        f"`tier`: {cuts}.",
        "- Each programme offers its places to its eligible people by risk, highest first. "
        f"{ties} `rank` is a row's place in that order among all the programme's eligible "
        "rows, those already enrolled or held back included; it is not a contact order.",
        "- `reasons` say why a person is eligible: the programme's rule, met in the data. "
        "`top_factors` say why their risk is what it is: a feature's value and how far it "
        "moves the model's score, in log-odds (+0.40 multiplies the odds by about 1.5, -0.40 "
        "divides them by as much). A factor can be an absence (no paid claims, no stays). "
        "Factors explain the risk, which orders the eligible; they make nobody eligible.",
        "- `criteria_met`: the codes of the rule's criteria the person meets, as `reasons` "
        "words them. `status`: `selected` (offered a place this quarter), `already_enrolled`, "
        "`offered_recently` (an earlier offer stands; `last_offered` is its date), "
        "`assigned_other` (given another programme's place first, by the programmes' "
        "priority) or `over_capacity` (eligible, after the places ran out). `held_by` names "
        "what holds an unselected row back (`offer isr 2025-07-01`, `enrolled sud_ens`, "
        "`selected reentry`), empty where nothing does. `model_version` is the model that "
        "gave the risk (`manifest.json` has its sha256).",
        held,
        "",
    ]

"""Care-manager FTE the persons offered care coordination would need if all enrolled.

Each programme staffs its own team at its own caseload: WPC-LA gives Re-entry's and
SUD-ENS's CHW care managers 30 clients, TOC's 25, and RBC and ISR teams whose FTE and member
months set a few clients per FTE (``caseload_per_fte`` in programs.yaml). HCSS weighs its
caseload by acuity, 20 high to 40 low clients (the tiers' caseloads in tiers.yaml), which
is what a programme without its own figure gets. A partial caseload still needs someone to
carry it, so each programme's whole FTE is its FTE rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from riskstrat.scoring._tiers import TierConfig, tier_fte


def staffing(
    offered: pd.DataFrame, slots: Mapping[str, Any], tiers: TierConfig
) -> dict[str, dict[str, Any]]:
    """Per care-coordination programme: persons offered, caseload, FTE and whole FTE.

    Parameters
    ----------
    offered : DataFrame
        One row per care-coordination place offered: ``program`` and the person's ``tier``.
    slots : mapping of programme code to ProgramSlots
    tiers : TierConfig

    Returns
    -------
    dict
        ``{programme: {"persons", "caseload_per_fte" (a number, or "tiers"), "fte",
        "fte_whole", "by_tier" (tier-weighted programmes only)}}``, in ``slots`` order.
    """
    out: dict[str, dict[str, Any]] = {}
    for code, slot in slots.items():
        if not slot.care_coordination:
            continue
        rows = offered.loc[offered["program"] == code, "tier"]
        if slot.caseload_per_fte is not None:
            fte = len(rows) / slot.caseload_per_fte
            entry: dict[str, Any] = {"caseload_per_fte": slot.caseload_per_fte}
        else:
            counts = rows.value_counts()
            by_tier = {level.name: int(counts.get(level.name, 0)) for level in tiers.levels}
            fte = tier_fte(by_tier, tiers)
            entry = {"caseload_per_fte": "tiers", "by_tier": by_tier}
        out[code] = {
            "persons": len(rows),
            **entry,
            "fte": round(fte, 2),
            "fte_whole": math.ceil(round(fte, 9)),
            "fte_exact": fte,
        }
    return out


def staffing_total(by_programme: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The FTE over the programmes, summed before rounding, and in whole FTE (each team
    rounded up)."""
    return {
        "total": round(sum(e["fte_exact"] for e in by_programme.values()), 2),
        "total_whole": float(sum(e["fte_whole"] for e in by_programme.values())),
    }


def public(by_programme: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``by_programme`` as the summary keeps it (rounded figures only)."""
    return {
        code: {k: v for k, v in entry.items() if k != "fte_exact"}
        for code, entry in by_programme.items()
    }

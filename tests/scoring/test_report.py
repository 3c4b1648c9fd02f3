from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.scoring import (
    ProgramSlots,
    ScoredCohort,
    build_summary,
    reconcile,
    summary_markdown,
)

AS_OF = pd.Timestamp("2025-10-01")


def _persons():
    return pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d", "e", "f"],
            "birth_date": pd.to_datetime(
                ["1980-01-01", "1990-01-01", "1970-01-01", "2025-10-01", "1960-01-01", "2000-01-01"]
            ),
            "death_date": pd.to_datetime([None, None, "2025-10-01", None, "2024-01-01", None]),
            "spa": [4.0, 6.0, 4.0, np.nan, 2.0, np.nan],
        }
    )


def test_reconcile_accounts_for_everyone():
    # Scored: a, f and c, who dies on as_of (alive at its start). e died before; d is born
    # on as_of; b had no contact; 2 more persons rows were rejected in validation.
    rec = reconcile(_persons(), pd.Series(["a", "c", "f"]), AS_OF, rejected_persons=2)
    assert rec == {
        "population": 8,
        "scored": 3,
        "excluded": 5,
        "excluded_by_reason": {
            "rejected_in_validation": 2,
            "died_before_as_of": 1,
            "born_on_or_after_as_of": 1,
            "no_contact_in_lookback": 1,
        },
        "reconciles": True,
    }


def test_reconcile_refuses_scored_persons_outside_persons():
    with pytest.raises(ValueError, match="1 scored person_id"):
        reconcile(_persons(), pd.Series(["a", "zz"]), AS_OF)


def test_summary_counts_tiers_programmes_spa_and_fte(scoring_config):
    persons = pd.DataFrame(
        {
            "person_id": ["a", "b", "f"],
            "risk": [0.9, 0.5, 0.1],
            "percentile": [66.7, 33.3, 0.0],
            "tier": ["high", "moderate", "low"],
        }
    )
    cohort = pd.DataFrame(
        {
            "person_id": ["a", "b", "a", "f"],
            "program": ["isr", "toc", "toc", "fsp"],
            "eligible": True,
            "risk": [0.9, 0.5, 0.9, 0.1],
            "tier": ["high", "moderate", "high", "low"],
            "selected": [True, True, False, True],
            "status": ["selected", "selected", "assigned_other", "selected"],
        }
    )
    slots = {
        "isr": ProgramSlots("isr", 255, True, 0),
        "toc": ProgramSlots("toc", 900, True, 1),
        "fsp": ProgramSlots("fsp", None, False, 2),
    }
    scored = ScoredCohort(cohort, persons, pd.DataFrame({"person_id": []}), np.array(["a", "b"]))
    spa = _persons().set_index("person_id")["spa"]
    summary = build_summary(scored, slots, scoring_config, spa, header={"as_of": "2025-10-01"})
    assert summary["scored_by_tier"] == {"high": 1, "moderate": 1, "low": 1}
    assert summary["selected_persons"] == 3
    assert summary["selected_persons_by_spa"] == {"4": 1, "6": 1, "unknown": 1}
    toc = summary["programs"]["toc"]
    assert toc["eligible"] == 2 and toc["selected"] == 1
    assert toc["not_selected"] == {
        "already_enrolled": 0,
        "offered_recently": 0,
        "assigned_other": 1,
        "over_capacity": 0,
    }
    assert summary["programs"]["fsp"]["capacity_quarter"] is None
    # Care coordination: a (high, 1/20) and b (moderate, 1/30) -> 0.05 + 0.03 = 0.08 FTE,
    # by the tiers' caseloads; each programme's team is a whole FTE at least.
    cc = summary["care_coordination"]
    assert cc["persons"] == 2
    assert cc["care_manager_fte"]["total"] == pytest.approx(0.08)
    assert cc["care_manager_fte"]["total_whole"] == 2.0
    assert cc["by_programme"]["isr"]["by_tier"] == {"high": 1, "moderate": 0, "low": 0}
    # A programme's own caseload replaces the tiers': TOC's CHWs carry 25 clients.
    slots["toc"] = ProgramSlots("toc", 900, True, 1, caseload_per_fte=25)
    own = build_summary(scored, slots, scoring_config, spa)["care_coordination"]
    assert own["by_programme"]["toc"] == {
        "persons": 1,
        "caseload_per_fte": 25,
        "fte": 0.04,
        "fte_whole": 1,
    }
    assert own["care_manager_fte"] == {"total": 0.09, "total_whole": 2.0}
    # Summed before rounding: three teams of one person at 30 each are 0.10 FTE, not 0.09.
    from riskstrat.scoring._staffing import staffing, staffing_total

    three = pd.DataFrame({"program": ["x", "y", "z"], "tier": ["low"] * 3})
    teams = {c: ProgramSlots(c, 9, True, i, caseload_per_fte=30) for i, c in enumerate("xyz")}
    by_programme = staffing(three, teams, scoring_config.tiers)
    assert [e["fte"] for e in by_programme.values()] == [0.03] * 3
    assert staffing_total(by_programme) == {"total": 0.1, "total_whole": 3.0}
    staffing_rows = summary_markdown({**summary, "care_coordination": own}).splitlines()
    assert "| toc | 1 | 25 | 0.04 | 1 |" in staffing_rows
    assert "| isr | 1 | 20/30/40 by tier | 0.05 | 1 |" in staffing_rows
    text = summary_markdown(summary)
    rows = text.splitlines()
    assert "| toc | 900 | 2 | 1 | 0 | 0 | 1 | 0 |" in rows
    assert "| fsp | no cap | 1 | 1 | 0 | 0 | 0 | 0 |" in rows
    assert "| high | moderate | low |" in text
    assert "| isr | 1 | 0 | 0 |" in text


def test_the_terminal_table_fits_80_columns_with_every_programme_code_whole():
    from rich.console import Console

    from riskstrat.data._codes import PROGRAMS
    from riskstrat.scoring import print_summary

    entry = {
        "capacity_quarter": 14420,
        "eligible": 548,
        "selected": 85,
        "not_selected": {
            "already_enrolled": 112,
            "offered_recently": 351,
            "assigned_other": 10,
            "over_capacity": 1234,
        },
    }
    summary = {
        "as_of": "2025-10-01",
        "programs": {program: entry for program in PROGRAMS},
        "scored_by_tier": {"high": 1},
        "selected_persons": 1,
        "care_coordination": {"persons": 1, "care_manager_fte": {"total": 0.05}},
    }
    console = Console(width=80, record=True)
    print_summary(summary, console=console)
    lines = console.export_text().splitlines()
    assert "held back" in lines[1] and "over cap" in lines[1]
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("eligible = selected + enrolled") for line in lines)
    for program in PROGRAMS:
        row = next(line for line in lines if line.startswith(program + " "))
        assert row.split() == [program, "14420", "548", "85", "112", "351", "10", "1234"]


def test_reconcile_fails_when_someone_scored_should_not_have_been():
    # e (dead before as_of) and d (born on it) among the scored: the counts still add up,
    # so the sum alone could never say so.
    for wrong in ("e", "d"):
        rec = reconcile(_persons(), pd.Series(["a", "f", wrong]), AS_OF)
        assert rec["population"] == rec["scored"] + rec["excluded"]
        assert rec["reconciles"] is False, wrong


def test_the_reading_guide_without_a_horizon_or_on_probabilities():
    from riskstrat.scoring._reading import reading_markdown

    facts = {
        "horizon_months": None,  # a bundle written before train recorded its split
        "tier_basis": "probability",
        "tier_min": {"high": 0.5, "low": 0.0},
        "scored": 40,
        "distinct_risks": 7,
        "reoffer_after_months": 3,
    }
    summary = {"as_of": "2025-10-01", "model": {"outcome": "death"}, "reading": facts}
    text = " ".join(" ".join(reading_markdown(summary)).split())
    assert "of the outcome `death` after 2025-10-01" in text
    assert "`tier`: high from risk 0.5, low below" in text
    assert "Calibration gives 7 distinct risks" in text and "again for 3 months" in text
    assert reading_markdown({"as_of": "2025-10-01"}) == []
    # Sigmoid calibration: nearly everyone has their own risk, and no sharing is claimed.
    own = {**facts, "distinct_risks": 39}
    text = " ".join(" ".join(reading_markdown({**summary, "reading": own})).split())
    assert "share one" not in text
    assert "Equal risks are ordered by the model's uncalibrated score" in text
    # Offers renewed by a new episode are said; a zero window holds nothing back.
    renewing = {**facts, "renewing": ["recuperative_care", "reentry"]}
    text = " ".join(" ".join(reading_markdown({**summary, "reading": renewing})).split())
    assert "or, for recuperative_care, reentry, a new episode comes since" in text
    never = {**facts, "reoffer_after_months": 0}
    text = " ".join(" ".join(reading_markdown({**summary, "reading": never})).split())
    assert "Offers are not held back (`reoffer_after_months: 0`)" in text
    assert "for 0 months" not in text
    # Each tier's people this run, and on percentiles why a tier can hold less than its share.
    counted = {**summary, "scored_by_tier": {"high": 3, "low": 37}}
    text = " ".join(" ".join(reading_markdown(counted)).split())
    assert "low below (`configs/tiers.yaml`); this run: high 3 (7.5%), low 37 (92.5%) of" in text
    assert "share the lowest percentile" not in text
    percentiles = {**facts, "tier_basis": "percentile", "tier_min": {"high": 95.0, "low": 0.0}}
    text = " ".join(" ".join(reading_markdown({**counted, "reading": percentiles})).split())
    assert (
        "`tier`: high from percentile 95, low below (`configs/tiers.yaml`); this run: high 3 "
        "(7.5%), low 37 (92.5%) of those scored. People sharing a risk share the lowest "
        "percentile among them: a tie across a cut-off stays below it, so a tier can hold "
        "less than its share." in text
    )

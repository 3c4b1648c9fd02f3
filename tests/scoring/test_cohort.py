from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.scoring import (
    COHORT_COLUMNS,
    ModelConsistencyError,
    ProgramSlots,
    build_cohort,
    cohort_schema,
    explain_persons,
    score_persons,
)

SLOTS = {
    "isr": ProgramSlots("isr", 1, care_coordination=True, priority=0),
    "toc": ProgramSlots("toc", 1, care_coordination=True, priority=1),
    "fsp": ProgramSlots("fsp", None, care_coordination=False, priority=2),
}


@pytest.fixture
def features():
    return pd.DataFrame(
        {
            "person_id": ["p01", "p02", "p03", "p04", "p05", "p06"],
            "psych_inpatient_admissions_365d": [8.0, 6.0, 0.0, 1.0, 3.0, 0.0],
            "homeless_now": [1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "age": [35.0, 50.0, 60.0, 55.0, 41.0, 70.0],
            "enrolled_toc_now": [False, False, False, False, True, False],
            "as_of": pd.Timestamp("2025-10-01"),
        }
    )


@pytest.fixture
def eligibility():
    rows = [
        ("p01", "isr", True, ["smi", "sud"]),
        ("p01", "toc", True, ["inpatient"]),
        ("p02", "toc", True, ["inpatient"]),
        ("p05", "toc", True, ["inpatient"]),
        ("p04", "toc", True, ["inpatient"]),
        ("p03", "isr", False, []),
        ("p01", "fsp", True, ["smi"]),
    ]
    return pd.DataFrame(rows, columns=["person_id", "program", "eligible", "criteria_met"])


def test_score_persons_percentiles_and_tiers(tiny_bundle, features, scoring_config):
    persons = score_persons(features, tiny_bundle, scoring_config)
    risk = tiny_bundle.predict_proba(features)
    np.testing.assert_array_equal(persons["risk"], risk)
    # Six people: percentiles are multiples of 100/6 (share strictly below); people tied at
    # the top share the lower value. p03 and p06 (no admissions, housed, oldest) are lowest.
    n_top = int((risk == risk.max()).sum())
    top = persons.loc[risk == risk.max()]
    np.testing.assert_allclose(top["percentile"], 100 * (6 - n_top) / 6)
    assert persons.set_index("person_id").loc["p06", "percentile"] == 0.0
    expected = np.where(persons["percentile"] >= 80, "high", "low").astype(object)
    expected[(persons["percentile"] >= 50) & (persons["percentile"] < 80)] = "moderate"
    assert persons["tier"].tolist() == expected.tolist()


def test_features_of_two_dates_are_refused_with_the_dates_named(
    tiny_bundle, features, scoring_config
):
    two = pd.concat([features.assign(as_of=pd.Timestamp(d)) for d in ("2025-01-01", "2025-04-01")])
    with pytest.raises(ValueError, match=r"duplicate person_id value.*hold 2 as-of dates"):
        score_persons(two, tiny_bundle, scoring_config)


def test_build_cohort_selects_explains_and_passes_schema(
    tiny_bundle, features, eligibility, scoring_config
):
    labels = {"psych_inpatient_admissions_365d": "psychiatric admissions in the last 12 months"}
    scored = build_cohort(features, eligibility, tiny_bundle, scoring_config, SLOTS, labels)
    cohort = cohort_schema(scoring_config.tiers.names).validate(scored.cohort)
    assert tuple(cohort.columns) == COHORT_COLUMNS
    chosen = cohort.loc[cohort["selected"]].set_index("program")["person_id"].to_dict()
    # p01 takes isr (priority), p05 is already in toc, so toc goes to p02; fsp has no cap.
    assert chosen == {"fsp": "p01", "isr": "p01", "toc": "p02"}
    status = cohort.set_index(["person_id", "program"])["status"]
    assert status[("p01", "toc")] == "assigned_other"
    assert status[("p05", "toc")] == "already_enrolled"
    # Each row held back names what holds it; selected and over-capacity rows name nothing.
    held_by = cohort.set_index(["person_id", "program"])["held_by"]
    assert held_by[("p01", "toc")] == "selected isr"
    assert held_by[("p05", "toc")] == "enrolled toc"
    assert held_by[("p04", "toc")] == "" and held_by[("p02", "toc")] == ""
    assert ("p03", "isr") not in status.index  # ineligible rows are not cohort rows
    assert status.index.get_level_values(0).tolist().count("p01") == 3
    assert (
        cohort.set_index(["person_id", "program"]).loc[("p01", "isr"), "criteria_met"] == "smi;sud"
    )
    # Every selected row carries readable factors, others none; both selected persons explained.
    assert (cohort.loc[cohort["selected"], "top_factors"] != "").all()
    assert (cohort.loc[~cohort["selected"], "top_factors"] == "").all()
    assert sorted(scored.explanations["person_id"].unique()) == ["p01", "p02"]
    p01 = scored.explanations.loc[scored.explanations["person_id"] == "p01"]
    assert p01["factor_rank"].tolist() == sorted(p01["factor_rank"])
    assert "8 psychiatric admissions in the last 12 months: +" in p01["text"].str.cat(sep="|")
    assert cohort["model_version"].unique().tolist() == ["test-1"]
    assert (cohort["spa"] == "").all()  # no SPA given
    spa = pd.Series([4.0, None], index=["p01", "p02"])
    regions = build_cohort(features, eligibility, tiny_bundle, scoring_config, SLOTS, spa=spa)
    by_person = regions.cohort.drop_duplicates("person_id").set_index("person_id")["spa"]
    assert by_person.to_dict() == {"p01": "4", "p02": "unknown", "p04": "unknown", "p05": "unknown"}


def test_cohort_reasons_come_from_the_eligibility_texts_or_are_empty(
    tiny_bundle, features, eligibility, scoring_config
):
    without = build_cohort(features, eligibility, tiny_bundle, scoring_config, SLOTS)
    assert (without.cohort["reasons"] == "").all()
    texts = {"smi": "serious mental illness diagnosis", "sud": "substance use disorder"}
    worded = eligibility.assign(
        reasons=[[texts.get(c, f"{c} text") for c in codes] for codes in eligibility.criteria_met]
    )
    scored = build_cohort(features, worded, tiny_bundle, scoring_config, SLOTS)
    reasons = scored.cohort.set_index(["person_id", "program"])["reasons"]
    assert reasons[("p01", "isr")] == "serious mental illness diagnosis; substance use disorder"
    assert reasons[("p02", "toc")] == "inpatient text"


def test_contributions_plus_base_value_equal_the_raw_score(tiny_bundle, features):
    contrib = tiny_bundle.contributions(features)
    np.testing.assert_allclose(
        contrib.sum(axis=1).to_numpy(), tiny_bundle.raw_score(features), rtol=0, atol=1e-9
    )


def test_explanations_rank_the_largest_contribution_first(tiny_bundle, features, scoring_config):
    ids = features["person_id"].to_numpy(dtype=str)
    out = explain_persons(features, ids, tiny_bundle, {}, scoring_config, selected_ids=ids[:2])
    contrib = tiny_bundle.contributions(features).drop(columns="base_value")
    for i, pid in enumerate(ids):
        mine = out.loc[out["person_id"] == pid]
        if mine.empty:
            assert (contrib.iloc[i] <= 0).all()
            continue
        assert mine.iloc[0]["feature"] == contrib.iloc[i].idxmax()
        assert mine.iloc[0]["contribution"] == pytest.approx(contrib.iloc[i].max())
    assert out.loc[out["person_id"].isin(ids[2:]), "audit_sample"].all()
    assert not out.loc[out["person_id"].isin(ids[:2]), "audit_sample"].any()


def test_one_id_or_unknown_ids_are_explained_or_counted(tiny_bundle, features, caplog):
    ids = features["person_id"].to_numpy(dtype=str)
    # One id as a string (an ndarray of one was the only form; a string raised in Arrow).
    one = explain_persons(features, ids[0], tiny_bundle, {}, selected_ids=ids)
    every = explain_persons(features, ids, tiny_bundle, {}, selected_ids=ids)
    pd.testing.assert_frame_equal(one, every[every["person_id"] == ids[0]].reset_index(drop=True))
    assert "not in features" not in caplog.text
    explain_persons(features, [ids[0], "nobody-1", "nobody-2"], tiny_bundle, {})
    assert "2 of the 3 person_id(s) to explain are not in features" in caplog.text
    assert "nobody" not in caplog.text


def test_scoring_takes_the_shipped_scoring_config_by_default(tiny_bundle, features):
    from riskstrat.scoring._tiers import load_scoring_config

    given = score_persons(features, tiny_bundle, load_scoring_config())
    pd.testing.assert_frame_equal(score_persons(features, tiny_bundle), given)


class _BrokenModel:
    """Wraps a bundle but returns contributions that do not add up to the raw score."""

    def __init__(self, bundle):
        self._bundle = bundle
        self.features, self.sha256, self.version = bundle.features, bundle.sha256, "broken"

    def predict_proba(self, X):
        return self._bundle.predict_proba(X)

    def raw_score(self, X):
        return self._bundle.raw_score(X) + 0.5

    def contributions(self, X):
        return self._bundle.contributions(X)


def test_inconsistent_model_is_refused(tiny_bundle, features, scoring_config):
    with pytest.raises(ModelConsistencyError, match="model broken: SHAP contributions"):
        explain_persons(features, np.array(["p01"]), _BrokenModel(tiny_bundle), {}, scoring_config)


def test_eligibility_for_unknown_person_is_a_data_error(
    tiny_bundle, features, eligibility, scoring_config
):
    extra = pd.DataFrame([("zz", "toc", True, [])], columns=eligibility.columns)
    with pytest.raises(ValueError, match="1 person_id value"):
        build_cohort(features, pd.concat([eligibility, extra]), tiny_bundle, scoring_config, SLOTS)


def test_an_open_offer_keeps_a_caseload_place_only_for_someone_still_scored(
    tiny_bundle, features, eligibility, scoring_config
):
    import datetime as dt

    slots = {**SLOTS, "fsp": ProgramSlots("fsp", 3, False, 2, caseload=3)}
    offers = pd.DataFrame(
        {
            "person_id": ["p02", "gone"],  # "gone" died or left the data since the offer
            "program": ["fsp", "fsp"],
            "offered_on": [dt.date(2025, 7, 1)] * 2,
        }
    )
    eligibility = pd.concat(
        [eligibility, pd.DataFrame([("p02", "fsp", True, ["smi"])], columns=eligibility.columns)]
    )
    scored = build_cohort(features, eligibility, tiny_bundle, scoring_config, slots, offers=offers)
    fsp = scored.slots["fsp"]
    # 3 places less p02's open offer; gone's offer keeps nothing.
    assert (fsp.capacity, fsp.enrolled_now, fsp.offered_open) == (2, 0, 1)
    assert scored.offers_open == 2
    # gone's offer is still open, but nobody eligible holds it now: outreach is told.
    assert scored.offers_not_eligible == 1
    rows = scored.cohort.set_index(["person_id", "program"])
    held = rows.loc[("p02", "fsp")]
    assert held["status"] == "offered_recently" and not held["selected"]
    assert held["held_by"] == "offer fsp 2025-07-01"
    assert held["last_offered"] == dt.date(2025, 7, 1)
    other = rows.loc[("p01", "fsp")]
    assert other["status"] == "selected" and other["held_by"] == ""
    assert pd.isna(other["last_offered"])
    # Six months on, the offer has lapsed: p02 is offered FSP again.
    later = build_cohort(
        features,
        eligibility,
        tiny_bundle,
        scoring_config,
        slots,
        offers=offers,
        as_of="2026-01-01",
    )
    again = later.cohort.set_index(["person_id", "program"]).loc[("p02", "fsp")]
    assert again["status"] == "selected" and again["last_offered"] == dt.date(2025, 7, 1)


def test_an_offer_taken_up_and_left_frees_its_caseload_place(
    tiny_bundle, features, eligibility, scoring_config
):
    import datetime as dt

    slots = {**SLOTS, "fsp": ProgramSlots("fsp", 3, False, 2, caseload=3)}
    offers = pd.DataFrame(
        {"person_id": ["p02"], "program": ["fsp"], "offered_on": [dt.date(2025, 7, 1)]}
    )
    eligibility = pd.concat(
        [eligibility, pd.DataFrame([("p02", "fsp", True, ["smi"])], columns=eligibility.columns)]
    )
    # p02 enrolled in FSP a month after the offer and left again before the as-of date (the
    # features' enrolled_fsp_now is false): the offer was taken up, so it holds nothing.
    starts = pd.DataFrame(
        {"person_id": ["p02"], "program": ["fsp"], "start_date": [pd.Timestamp("2025-08-01")]}
    )
    scored = build_cohort(
        features, eligibility, tiny_bundle, scoring_config, slots, offers=offers, enrolments=starts
    )
    fsp = scored.slots["fsp"]
    assert (fsp.capacity, fsp.offered_open) == (3, 0)
    assert (scored.offers_open, scored.offers_taken_up) == (0, 1)
    row = scored.cohort.set_index(["person_id", "program"]).loc[("p02", "fsp")]
    assert row["status"] == "selected" and row["held_by"] == ""
    assert row["last_offered"] == dt.date(2025, 7, 1)
    # An enrolment that starts on the as-of date is not seen: the offer still holds.
    starts["start_date"] = pd.Timestamp("2025-10-01")
    scored = build_cohort(
        features, eligibility, tiny_bundle, scoring_config, slots, offers=offers, enrolments=starts
    )
    assert (scored.offers_open, scored.offers_taken_up) == (1, 0)
    assert scored.slots["fsp"].capacity == 2


def test_every_cohort_row_carries_the_date_scored(
    tiny_bundle, features, eligibility, scoring_config
):
    import datetime as dt

    scored = build_cohort(features, eligibility, tiny_bundle, scoring_config, SLOTS)
    assert set(scored.cohort["as_of"]) == {dt.date(2025, 10, 1)}
    given = build_cohort(
        features.drop(columns="as_of"),
        eligibility,
        tiny_bundle,
        scoring_config,
        SLOTS,
        as_of="2025-07-01",
    )
    assert set(given.cohort["as_of"]) == {dt.date(2025, 7, 1)}
    two = features.assign(as_of=[pd.Timestamp("2025-07-01")] * 3 + [pd.Timestamp("2025-10-01")] * 3)
    with pytest.raises(ValueError, match="features holds 2 distinct as_of date"):
        build_cohort(two, eligibility, tiny_bundle, scoring_config, SLOTS)


def test_default_factor_texts_are_worded_as_riskstrat_score_words_them(
    tiny_bundle, features, eligibility, scoring_config
):
    from riskstrat.features import describe_value, load_feature_spec
    from riskstrat.scoring._explain import _tidy

    spec = load_feature_spec()
    ids = features["person_id"].to_numpy(dtype=str)
    out = explain_persons(features, ids, tiny_bundle, config=scoring_config)
    values = features.set_index("person_id")
    expected = [
        _tidy(describe_value(r.feature, values.loc[r.person_id, r.feature], spec))
        + f": {r.contribution:+.2f}"
        for r in out.itertuples()
    ]
    assert out["text"].tolist() == expected
    p01 = out.loc[out["person_id"] == "p01", "text"].str.cat(sep="|")
    assert "8 psychiatric inpatient admissions in the last 12 months: +" in p01
    # A cohort built without labels words them the same way.
    scored = build_cohort(features, eligibility, tiny_bundle, scoring_config, SLOTS)
    mine = scored.explanations.set_index(["person_id", "feature"])["text"]
    assert (
        mine.loc[("p01", "psych_inpatient_admissions_365d")]
        == out.set_index(["person_id", "feature"]).loc[
            ("p01", "psych_inpatient_admissions_365d"), "text"
        ]
    )


def test_an_offer_of_a_higher_priority_programme_replaces_an_open_one(
    tiny_bundle, features, scoring_config
):
    import datetime as dt

    from riskstrat.scoring._offers import updated_ledger

    # TOC is a caseload of 3 here (p05 in it now), below ISR in priority. p01 was offered
    # TOC last quarter and is now eligible for ISR too; p02 and p04 wait in TOC's line.
    slots = {
        "isr": ProgramSlots("isr", 1, care_coordination=True, priority=0),
        "toc": ProgramSlots("toc", 3, care_coordination=True, priority=1, caseload=3),
    }
    eligibility = pd.DataFrame(
        [
            ("p01", "isr", True, ["smi"]),
            ("p01", "toc", True, ["inpatient"]),
            ("p02", "toc", True, ["inpatient"]),
            ("p04", "toc", True, ["inpatient"]),
        ],
        columns=["person_id", "program", "eligible", "criteria_met"],
    )
    offers = pd.DataFrame(
        {"person_id": ["p01"], "program": ["toc"], "offered_on": [dt.date(2025, 7, 1)]}
    )
    scored = build_cohort(features, eligibility, tiny_bundle, scoring_config, slots, offers=offers)
    rows = scored.cohort.set_index(["person_id", "program"])
    assert rows.loc[("p01", "isr"), "status"] == "selected"
    # The TOC offer is replaced: it keeps no TOC place, so both others get one.
    assert (scored.slots["toc"].capacity, scored.slots["toc"].offered_open) == (2, 0)
    assert (scored.offers_open, scored.offers_replaced) == (0, 1)
    assert rows.loc[("p01", "toc"), "status"] == "assigned_other"
    assert rows.loc[("p01", "toc"), "held_by"] == "selected isr"
    assert rows.loc[[("p02", "toc"), ("p04", "toc")], "status"].tolist() == ["selected"] * 2
    # Next quarter the ledger holds both; the later ISR offer still replaces the TOC one,
    # which keeps no place again (and p01, in outreach for ISR, is not offered TOC).
    ledger = updated_ledger(offers, scored.cohort, dt.date(2025, 10, 1))
    mine = ledger.loc[ledger["person_id"] == "p01", ["program", "offered_on"]]
    assert mine.to_dict("records") == [
        {"program": "isr", "offered_on": dt.date(2025, 10, 1)},
        {"program": "toc", "offered_on": dt.date(2025, 7, 1)},
    ]
    later = build_cohort(
        features, eligibility, tiny_bundle, scoring_config, slots, offers=ledger, as_of="2025-12-01"
    )
    # Open: p01's ISR offer and p02's and p04's TOC ones, which keep their two places.
    assert (later.slots["toc"].offered_open, later.offers_replaced, later.offers_open) == (2, 1, 3)
    again = later.cohort.set_index(["person_id", "program"])
    assert again.loc[("p01", "toc"), "held_by"] == "offer isr 2025-10-01"


def test_a_release_on_or_after_a_reentry_offer_renews_it(
    tiny_bundle, features, eligibility, scoring_config
):
    """Offered Re-entry on 1 July, released again since: a new release, a new offer. The
    offering run read only what came before 1 July, so a release that day is new too; one
    the day before is the release the offer was for."""
    import datetime as dt

    renewing = ProgramSlots("reentry", 5, True, 3, renewed_by="days_since_release")
    offers = pd.DataFrame(
        {
            "person_id": ["p03", "p06"],
            "program": ["reentry"] * 2,
            "offered_on": [dt.date(2025, 7, 1)] * 2,
        }
    )
    # 92 days from 1 July to 1 October: p03 was released on 1 July, p06 on 30 June; the
    # others never (9999, the days_since value of no event).
    features = features.assign(days_since_release=[9999, 9999, 92, 9999, 9999, 93])
    rows = pd.DataFrame(
        [(p, "reentry", True, ["recent_release"]) for p in ("p03", "p06")],
        columns=eligibility.columns,
    )
    eligibility = pd.concat([eligibility, rows])
    scored = build_cohort(
        features,
        eligibility,
        tiny_bundle,
        scoring_config,
        {**SLOTS, "reentry": renewing},
        offers=offers,
    )
    assert (scored.offers_renewed, scored.offers_open) == (1, 1)
    got = scored.cohort.set_index(["person_id", "program"])
    assert got.loc[("p03", "reentry"), "status"] == "selected"
    assert got.loc[("p03", "reentry"), "last_offered"] == dt.date(2025, 7, 1)
    assert got.loc[("p06", "reentry"), "status"] == "offered_recently"
    assert got.loc[("p06", "reentry"), "held_by"] == "offer reentry 2025-07-01"
    # Without renewed_by every offer holds; without the feature the run says what is missing.
    plain = build_cohort(
        features,
        eligibility,
        tiny_bundle,
        scoring_config,
        {**SLOTS, "reentry": ProgramSlots("reentry", 5, True, 3)},
        offers=offers,
    )
    assert (plain.offers_renewed, plain.offers_open) == (0, 2)
    with pytest.raises(ValueError, match=r"lack \['days_since_release'\], which programs.yaml"):
        build_cohort(
            features.drop(columns="days_since_release"),
            eligibility,
            tiny_bundle,
            scoring_config,
            {**SLOTS, "reentry": renewing},
            offers=offers,
        )

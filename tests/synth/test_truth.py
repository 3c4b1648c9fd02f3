"""The oracle is calibrated against outcomes observed in the generated tables, discriminates
like a realistic best-possible model, and carries the planted label-choice bias."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.synth import OUTCOMES, synthesize

from .conftest import AS_OF, END, START, auroc, joined

BINARY = [o for o in OUTCOMES if o != "total_cost"]


def _deciles(frame: pd.DataFrame, outcome: str) -> pd.DataFrame:
    ranks = frame[outcome].rank(method="first")
    groups = pd.qcut(ranks, 10, labels=False)
    return frame.groupby(groups).agg(
        p=(outcome, "mean"), y=(f"{outcome}_obs", "mean"), n=(outcome, "size")
    )


@pytest.fixture(scope="module")
def joined_county(county) -> pd.DataFrame:
    return joined(county, AS_OF)


@pytest.mark.parametrize("outcome", BINARY)
def test_calibrated_per_decile(joined_county, outcome) -> None:
    dec = _deciles(joined_county, outcome)
    # Binomial tolerance (4 standard errors) plus a small allowance for the documented
    # approximations (readmissions, overlapping stays dropped, death at day resolution).
    tol = 4 * np.sqrt(dec["p"] * (1 - dec["p"]) / dec["n"]) + 0.1 * dec["p"] + 0.002
    assert ((dec["y"] - dec["p"]).abs() <= tol).all(), dec
    # The outcome actually varies with the truth: top decile far above the bottom one.
    assert dec["y"].iloc[-1] > 5 * max(dec["y"].iloc[0], 0.001)


def test_expected_cost_matches_observed_paid_amounts(joined_county) -> None:
    truth, obs = joined_county["total_cost"], joined_county["total_cost_obs"]
    assert obs.mean() == pytest.approx(truth.mean(), rel=0.05)
    dec = joined_county.groupby(pd.qcut(truth.rank(method="first"), 5, labels=False)).agg(
        p=("total_cost", "mean"),
        y=("total_cost_obs", "mean"),
        sd=("total_cost_obs", "std"),
        n=("total_cost_obs", "size"),
    )
    # Costs are heavy-tailed (a hospital stay is worth years of clinic visits): 4 standard
    # errors of the quintile's observed mean, plus 3% for the documented approximations.
    tol = 4 * dec["sd"] / np.sqrt(dec["n"]) + 0.03 * dec["p"]
    assert ((dec["y"] - dec["p"]).abs() <= tol).all(), dec
    assert dec["y"].iloc[-1] > 10 * dec["y"].iloc[0]


def test_oracle_auroc_is_realistic_at_20k(joined_county) -> None:
    for outcome in BINARY:
        value = auroc(joined_county[outcome].to_numpy(), joined_county[f"{outcome}_obs"].to_numpy())
        assert 0.68 <= value <= 0.94, (outcome, value)


def test_latent_need_and_alive(county) -> None:
    truth = county.truth
    # Need and cost are expected dollars; the sickest decile needs far more.
    assert (truth["need"] > 0).all()
    top = truth["need"] >= truth["need"].quantile(0.9)
    assert truth.loc[top, "need"].mean() > 5 * truth.loc[~top, "need"].mean()
    assert truth["latent_mh"].corr(truth["psych_crisis"], method="spearman") > 0.3


def test_bias_lowers_cost_at_equal_need_not_crisis(county, county_unbiased) -> None:
    biased, fair = county.truth, county_unbiased.truth
    assert biased["person_id"].equals(fair["person_id"])
    # Same latent need, same crisis risk: the bias only touches access to paid care.
    for column in ["need", "psych_crisis", "jail_booking", "frequent_ed", "death"]:
        np.testing.assert_array_equal(biased[column].to_numpy(), fair[column].to_numpy())
    race = county.tables["persons"].set_index("person_id")["race_ethnicity"]
    group = biased["person_id"].map(race).eq("Black").to_numpy()
    ratio = biased["total_cost"] / biased["need"]
    assert ratio[~group].to_numpy() == pytest.approx(1.0, rel=1e-5)
    assert ratio[group].median() < 0.9
    np.testing.assert_allclose(fair["total_cost"], fair["need"], rtol=1e-5)
    # Obermeyer's signature: ranking by cost under-selects the group at equal need.
    q1 = biased[biased["as_of"] == AS_OF]
    g1 = q1["person_id"].map(race).eq("Black")
    by_cost = g1[q1["total_cost"] >= q1["total_cost"].quantile(0.97)].mean()
    by_need = g1[q1["need"] >= q1["need"].quantile(0.97)].mean()
    assert by_cost < 0.9 * by_need


def test_bias_in_the_tables(county, county_unbiased) -> None:
    race = county.tables["persons"].set_index("person_id")["race_ethnicity"]

    def visits(c, setting):
        enc = c.tables["encounters"]
        enc = enc[enc["setting"] == setting]
        return enc["person_id"].map(race).eq("Black").sum()

    # Access-sensitive care falls to about access_factor (0.6) for the group...
    ratio = visits(county, "primary_care") / visits(county_unbiased, "primary_care")
    assert 0.55 < ratio < 0.65
    # ...while need-driven crisis care is untouched (same draws, same events).
    for setting in ["ed", "inpatient_psych", "psych_emergency"]:
        assert visits(county, setting) == visits(county_unbiased, setting)


@pytest.mark.slow
def test_oracle_auroc_at_100k() -> None:
    county = synthesize(100_000, START, END, seed=21)
    frame = joined(county, AS_OF)
    for outcome in BINARY:
        value = auroc(frame[outcome].to_numpy(), frame[f"{outcome}_obs"].to_numpy())
        assert 0.72 <= value <= 0.90, (outcome, value)

"""The evaluation report explains itself to a reader who did not run it: each term, the
oracle, each plot and what the evaluation cannot say, with this run's own figures."""

from __future__ import annotations

import dataclasses

import pytest

from riskstrat.modeling._report import evaluation_markdown
from riskstrat.modeling._report_guide import PLOT_NOTES, limitations

from .test_train import trained  # noqa: F401  (the fixture, trained once per session)


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_every_term_is_defined_with_the_runs_own_settings(trained) -> None:  # noqa: F811
    result, _, _ = trained
    text = evaluation_markdown(result)
    guide = _section(text, "How to read this report")
    for term in ("AUROC", "AUPRC", "Brier score", "ECE", "Calibration intercept and slope"):
        assert f"**{term}**" in guide
    for term in ("Precision at k", "Recall at k", "Mean risk at k", "Difference and lift"):
        assert f"**{term}**" in guide
    c = result.counts
    assert f"the event rate, {c['test_events'] / c['test_rows']:.3f} here" in guide
    assert f"into {result.config.metrics.ece_bins} bins of equal size" in guide
    assert "rounded outward" in guide and "raw score" in guide
    # Said at the top, so a reader knows to look.
    assert text.index("*How to read this report*") < text.index("## composite")


def test_each_plot_is_explained_under_it(trained) -> None:  # noqa: F811
    result, _, _ = trained
    text = evaluation_markdown(result)
    assert result.plots, "the fixture draws its plots"
    placed = [
        (text.index(f"(plots/{p.name})"), text.index(PLOT_NOTES[n]))
        for n, p in result.plots.items()
    ]
    after = [image for image, _ in placed[1:]] + [text.index("## How to read this report")]
    for (image, note), following in zip(placed, after, strict=True):
        assert image < note < following


def test_the_oracle_is_explained_and_its_gap_read_from_the_run(trained) -> None:  # noqa: F811
    result, _, _ = trained
    assert result.oracle
    text = evaluation_markdown(result)
    oracle = _section(text, "The oracle (synthetic data only)")
    gap = result.metrics.set_index(["scorer", "metric"]).loc[
        ("model_vs_oracle", "diff_auroc"), "estimate"
    ]
    assert f"an AUROC difference of {gap:.3f}" in oracle
    assert "a bound, not a target" in oracle
    assert "synthetic county" in _section(text, "Limitations")
    # A county's own data has no oracle: no such section, no claim of synthetic data.
    county = dataclasses.replace(result, oracle=None)
    text = evaluation_markdown(county)
    assert "## The oracle" not in text and "synthetic" not in _section(text, "Limitations")


@pytest.mark.parametrize(("rows", "named"), [(2_000, {"big"}), (100_000, set())])
def test_capacities_large_for_the_county_are_named_with_their_share(
    trained,  # noqa: F811
    rows: int,
    named: set[str],
) -> None:
    result, _, _ = trained
    # 200 of 2,000 rows is 10%: named; 199 is not. Nothing is at 100,000 rows.
    shaped = dataclasses.replace(
        result,
        capacities={"big": 200, "small": 199},
        counts={**result.counts, "test_rows": rows, "test_left_out": 7},
    )
    text = "\n".join(limitations(shaped))
    assert ("big 10%" in text) == ("big" in named) and "small" not in text
    assert "7 test rows are left out" in text


def test_a_truth_table_of_unknown_source_makes_no_synthetic_claim(trained) -> None:  # noqa: F811
    result, _, _ = trained
    text = evaluation_markdown(dataclasses.replace(result, oracle="unmarked"))
    assert "## The oracle" not in text and "synthetic county" not in text


@pytest.mark.parametrize(
    ("gap", "said"),
    [
        (-0.047, "correctly 4.7 times in 100 less often than the oracle"),
        (0.012, "correctly 1.2 times in 100 more often than the oracle"),
        (0.0004, "correctly as often as the oracle, to three decimals"),
    ],
)
def test_the_gap_to_the_oracle_is_read_either_way(trained, gap: float, said: str) -> None:  # noqa: F811
    result, _, _ = trained
    metrics = result.metrics.copy()
    where = (metrics["scorer"] == "model_vs_oracle") & (metrics["metric"] == "diff_auroc")
    metrics.loc[where, "estimate"] = gap
    shifted = dataclasses.replace(
        result, evaluation=dataclasses.replace(result.evaluation, metrics=metrics)
    )
    assert said in _section(evaluation_markdown(shifted), "The oracle (synthetic data only)")


def test_without_resamples_or_rows_the_guide_claims_neither(trained) -> None:  # noqa: F811
    from riskstrat.modeling._report_guide import glossary

    result, _, _ = trained
    config = result.config
    none = dataclasses.replace(config, metrics=dataclasses.replace(config.metrics, n_bootstrap=0))
    text = "\n".join(glossary(dataclasses.replace(result, config=none)))
    assert "none in this run (model.metrics.n_bootstrap is 0)" in text
    assert "paired" not in text and "shifted down" not in text
    empty = dataclasses.replace(result, counts={**result.counts, "test_rows": 0})
    assert "nan" not in "\n".join(glossary(empty))


def test_death_as_the_outcome_is_not_said_to_be_censored_by_death(trained) -> None:  # noqa: F811
    result, _, _ = trained
    shaped = dataclasses.replace(result, counts={**result.counts, "test_left_out": 5})
    assert "a death before any event" in "\n".join(limitations(shaped))
    text = "\n".join(limitations(dataclasses.replace(shaped, outcome="death")))
    assert "(the data ending inside it)" in text and "competing" not in text


def test_the_limits_of_each_programmes_own_list_are_said_with_one(trained) -> None:  # noqa: F811
    import numpy as np
    import pandas as pd

    result, _, _ = trained
    said = "not who was offered a place then"
    listed = pd.DataFrame(
        {
            "attribute": ["sex"],
            "group": ["all"],
            "scorer": ["programme_eligible"],
            "metric": ["selected_at_k_fsp"],
            "estimate": [40.0],
            "lower": [np.nan],
            "upper": [np.nan],
            "suppressed": [False],
        }
    )
    for subgroups, expected in ((listed.iloc[:0], False), (listed, True)):
        if result.subgroups is not None:
            subgroups = pd.concat([result.subgroups, subgroups], ignore_index=True)
        evaluation = dataclasses.replace(result.evaluation, subgroups=subgroups)
        text = "\n".join(limitations(dataclasses.replace(result, evaluation=evaluation)))
        assert (said in text) is expected

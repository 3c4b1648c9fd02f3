"""What an evaluator needs beside the figures: what each metric means, what the oracle is,
what each plot shows and what the evaluation cannot say.

The report goes to people who did not run it (a programme's evaluator, a county's board),
so it defines its own terms rather than point at the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskstrat.modeling._disclosure import MIN_CELL
from riskstrat.modeling._places_report import place_tables

if TYPE_CHECKING:
    from riskstrat.modeling._result import TrainResult

# A capacity past this share of the test quarter's rows was set for a larger county.
LARGE_CAPACITY_SHARE = 0.10

PLOT_NOTES = {
    "calibration": "Test rows sorted by each scorer's probability and cut into bins of equal "
    "size: each point is a bin's mean predicted probability (x) against the share of it "
    "with the outcome (y). On the dashed diagonal a scorer's probabilities are right; "
    "below it they are too high, above it too low. The bars are the model's 95% Wilson "
    "intervals: a point whose bar crosses the diagonal is within sampling noise. A bin "
    "of 1 to 10 events or non-events is pooled with its neighbour. The diamonds are the "
    "model's top k at each programme's capacity whose precision the tables show: their mean "
    "risk against the share with the outcome (mean_risk_at_k, precision_at_k), the "
    "calibration where places are filled, past the last bin.",
    "roc": "The share of people with the outcome ranked above a threshold (true positive "
    "rate) against the share of people without it (false positive rate), as the threshold "
    "falls. The dashed diagonal is a random ranking; the area under a curve is its AUROC.",
    "pr": "Precision (the share with the outcome) against recall (the share of all outcomes "
    "found) down each ranking. The dashed line is the test quarter's event rate, what a "
    "random list reaches; the area is the AUPRC (AP in the legend).",
    "precision_at_k": "Precision among the k people ranked highest (log scale), up to "
    "twice the largest capacity drawn; the dotted lines are the programmes' capacities "
    "(one past the test rows is named in a note instead). A curve is drawn at chosen "
    "numbers of people and straight between them: it skips those at which, beside a "
    "figure the tables show, 1 to 10 people's outcomes could be read, and starts where "
    "that is first safe, so it may begin past k = 11 and run straight across a capacity.",
    "importance": "The inputs that move the model's score most on the test quarter: the "
    "mean absolute SHAP contribution to the log-odds. It says what the model leans on, not "
    "what causes the outcome; the direction column of the table says which way.",
    "fairness": "Per group of each attribute, at the capacity of the tables above: its share "
    "selected, its recall, its precision and its false-positive rate over the largest group "
    "shown (the "
    "reference, at 1), with 95% intervals, on a log scale. Markers right of 1: the group gets "
    "more of the places, more of its events reached, more of its places going to people with "
    "the event, or more people without the event selected, than the reference. An interval crossing 1 shows no difference beyond chance "
    "for that group on its own. A ratio of 0 has no place on the scale: the panel's title "
    "names it.",
    "subgroups": "Per group of each attribute: the observed rate over the outcome window "
    "(square, 95% Wilson interval) beside the model's mean predicted risk (dot) and, on "
    "synthetic data, the oracle's (cross). A dot outside its group's interval suggests a "
    "group the model under- or over-predicts; with many groups some will by chance, and the "
    "line under the tables (observed over expected, adjusted for the number of groups) says "
    "which differ beyond it. The panels share one scale, so groups compare across attributes.",
}


def glossary(result: TrainResult) -> list[str]:
    """Markdown lines defining each figure of the report, as this run computed it."""
    metrics = result.config.metrics
    c = result.counts
    rate = f", {c['test_events'] / c['test_rows']:.3f} here" if c["test_rows"] else ""
    confidence = f"{metrics.confidence:.0%}"
    resampled = metrics.n_bootstrap > 0
    return [
        "## How to read this report",
        "",
        "- **AUROC**: the chance that a person with the outcome is ranked above one without "
        "it (0.5 is a random list, 1 a perfect one); ties count one half.",
        "- **AUPRC**: average precision down the ranking (scikit-learn's "
        f"`average_precision_score`); a random list scores the event rate{rate}.",
        "- **Brier score**: the mean squared difference between the probability and the "
        "outcome (1 or 0); lower is better; it mixes ranking and calibration.",
        f"- **ECE** (expected calibration error): test rows sorted by probability are cut "
        f"into {metrics.ece_bins} bins of equal size; the ECE is the size-weighted mean of "
        "|observed rate - mean probability| over the bins (0 is perfect)."
        + (
            " Its interval is shifted down by the bootstrap's bias, since a sum of absolute "
            "values is biased up."
            if resampled
            else ""
        ),
        "- **Calibration intercept and slope**: a and b of `logit P(outcome) = a + b "
        "logit(p)` fitted on the test quarter; ideal 0 and 1. A slope under 1 means the "
        "probabilities are too extreme, over 1 too timid. With a slope other than 1 the "
        "intercept is not calibration-in-the-large (the mean probability against the event "
        "rate).",
        "- **Precision at k**: the share of the k people ranked highest who have the outcome "
        "within the horizon: the share of a programme's places going to people the outcome "
        "would reach. **Recall at k**: the share of all the quarter's outcomes among those k. "
        "**Mean risk at k**: their mean probability, the precision the scorer expects there; "
        "set beside the precision, it is calibration where the places are.",
        "- **Difference and lift**: the model minus, or over, another scorer"
        + (
            ", computed on the same resamples (paired), so the interval is that of the "
            "difference itself. A lift whose interval reaches 1 shows no gain."
            if resampled
            else "."
        ),
        "- **Ranking**: by probability; equal probabilities by each scorer's own raw score "
        "(the model's, as `riskstrat score` selects): isotonic calibration gives whole "
        "ranges of scores one probability. Ties left at a capacity's cut count at their "
        "expected value. The calibration measures read the probabilities alone.",
        f"- **Intervals**: {confidence} bootstrap percentiles (see the intervals line above). "
        "Bounds are rounded outward, the lower down and the upper up, so the interval shown "
        "holds the one computed: a bound recomputed to more decimals lies inside it."
        if resampled
        else "- **Intervals**: none in this run (model.metrics.n_bootstrap is 0).",
        f"- **Hidden figures** (`-`, `<{MIN_CELL}`): a figure that would give the outcomes "
        f"of 1 to {MIN_CELL - 1} people, directly or by subtracting two shown figures, is "
        "not shown.",
        "",
    ]


def oracle_section(result: TrainResult) -> list[str]:
    """What the oracle is and how to read the model's gap to it; [] without an oracle."""
    if not result.oracle or result.oracle.startswith("unmarked"):
        return []  # a truth table of unknown source: the facts line says so, no more
    gap = result.metrics.set_index(["scorer", "metric"])
    key = ("model_vs_oracle", "diff_auroc")
    auroc = gap.loc[key] if key in gap.index else None
    lines = [
        "## The oracle (synthetic data only)",
        "",
        "The oracle is the synthetic generator's own probability of the outcome for each test "
        "row, from the state it simulated for the person, including what records show "
        "faintly or not at all (a person's persistent level of need). A county's own data "
        "has none, and this section is then left out. It is a bound, not a target: a model "
        "that reads the records cannot see the generator's state, so a gap is expected to "
        "remain (in a sample, a model can also come out ahead by chance). The gap bounds "
        "what a better model of the same records could gain, and part of it none can close.",
        "",
    ]
    if auroc is not None:
        d = float(auroc["estimate"])
        how = (
            f"correctly {abs(d) * 100:.1f} times in 100 {'less' if d < 0 else 'more'} often "
            "than the oracle"
            if round(abs(d), 3) > 0
            else "correctly as often as the oracle, to three decimals"
        )
        lines += [
            f"In the comparison table, the oracle column is the model minus the oracle (a "
            f"difference) or over it (a lift): an "
            f"AUROC difference of {d:.3f} means the model orders a random pair (one with the "
            f"outcome, one without) {how}; a "
            "precision lift under 1 means the model's places hold fewer outcomes than the "
            "oracle's would.",
            "",
        ]
    if result.oracle.startswith("as_of"):
        lines += [
            "The as-of oracle is itself estimated, by simulating each person's futures; that "
            "simulation's error is not in the intervals, which show the test sample's "
            "variation only.",
            "",
        ]
    return lines


def limitations(result: TrainResult) -> list[str]:
    """What this evaluation cannot tell, as Markdown lines; the run's own figures where
    they matter."""
    c = result.counts
    out = ["## Limitations", ""]
    if result.oracle and not result.oracle.startswith("unmarked"):
        out.append(
            "- The data are a synthetic county's (the oracle exists only there): the figures "
            "show how the method behaves, not how a model does on a county's records."
        )
    large = {
        p: k / c["test_rows"]
        for p, k in result.capacities.items()
        if c["test_rows"] and k / c["test_rows"] >= LARGE_CAPACITY_SHARE
    }
    if large:
        shares = ", ".join(f"{p} {share:.0%}" for p, share in large.items())
        out.append(
            f"- Some capacities are a large share of the test quarter's {c['test_rows']:,} "
            f"rows ({shares}): as k grows toward the rows, precision there is pulled toward "
            "the event rate and says less about the ranking. `model.metrics.capacity_scale` "
            "scales the capacities to the county."
        )
    if c.get("test_left_out"):
        # Death as the outcome is censored by the data's end only.
        death = result.outcome == "death"
        why = (
            "the data ending inside it"
            if death
            else "a death before any event, or the data ending inside it"
        )
        out.append(
            f"- {c['test_left_out']:,} test rows are left out because the outcome window was "
            f"not fully observed ({why}): the figures hold for people followed the whole "
            "horizon"
            + ("." if death else ", and a death is neither an outcome nor a competing risk here.")
        )
    out += [
        "- The outcome is what the linked records show (a booking or an emergency visit, "
        "say), not need itself: a group these services see less often has fewer "
        "recorded outcomes for the same need, which no table by group can reveal.",
        "- The intervals hold the fitted model fixed and show the test quarter's sampling "
        "only: not a refit on other data, and not another quarter (the rolling-origin table "
        "shows how the figures move from quarter to quarter).",
        "- Each programme's own rule fills only as many places as it has eligible people: "
        "where fewer than 11 are eligible, its places hold 1 to 10 events or non-events, or "
        "they differ by 1 to 10 from another capacity shown, its row shows nothing, and the "
        "rule baseline above (everyone ranked by programmes and criteria) is the comparison "
        "left.",
        "",
    ]
    if result.subgroups is not None:
        out.insert(
            -1,
            "- Observed-over-expected intervals by group are exact Poisson intervals: at "
            "least 95% coverage, so somewhat wide.",
        )
        if place_tables(result):
            out.insert(
                -1,
                "- Each programme's own list by group is who its rule lists on the test "
                "quarter and who the model would pick among them, not who was offered a place "
                "then: places already held, earlier offers and enrolment are not in the "
                "evaluation (each cohort's `groups.csv` counts those). A programme whose list "
                "would give away a count of 1 to 10 people is not shown.",
            )
    return out

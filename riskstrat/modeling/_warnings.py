"""What a training run says it should not be trusted on: capacities too large for the
test quarter or too small to publish, a baseline ahead of the model, no gain over the rule,
calibration off at the top."""

from __future__ import annotations

import math
from collections.abc import Mapping

from riskstrat.modeling._disclosure import MIN_CELL
from riskstrat.modeling._metric_labels import bound_text, bounds
from riskstrat.modeling._result import TrainResult


def baseline_warning(result: TrainResult) -> str | None:
    """Which baselines rank the test quarter better than the model (by AUROC), or None.

    Training does not stop on it (a tracked run registers the model as challenger):
    whether to promote it is the analyst's call, and this is what it should be made on.
    """
    metrics = result.metrics.set_index(["scorer", "metric"])
    behind = []
    for baseline in result.baselines:
        key = (f"model_vs_{baseline}", "diff_auroc")
        if key not in metrics.index:
            continue
        diff = metrics.loc[key]
        if diff["estimate"] < 0:
            behind.append(
                f"{baseline} by {-diff['estimate']:.3f} "
                f"(95% interval of the difference {_signed(diff['lower'], 'lower')} to "
                f"{_signed(diff['upper'], 'upper')})"
            )
    if not behind:
        return None
    return (
        "the model's AUROC on the test quarter is below the baseline "
        + "; ".join(behind)
        + ": a baseline ranks these people better; do not promote it (keep the champion), "
        "or look at the data and the features first"
    )


def lift_warning(result: TrainResult) -> str | None:
    """The capacities at which the model's precision is not shown to beat the rule's (the
    lift's interval reaches 1 or below), or None: an evaluator's sign-off turns on them."""
    metrics = result.metrics.set_index(["scorer", "metric"])
    weak, worse = [], []
    for programme, k in result.capacities.items():
        if 2 * k >= result.counts["test_rows"]:
            continue  # the capacity warning says why its precision says little
        key = ("model_vs_rule", f"lift_precision_at_k_{programme}")
        if key not in metrics.index:
            continue
        lift = metrics.loc[key]
        if math.isfinite(lift["estimate"]) and math.isfinite(lift["lower"]) and lift["lower"] <= 1:
            shown = bounds(lift["lower"], lift["upper"], 2, avoid=1.0)
            text = f"{programme} (k={k:,}) {lift['estimate']:.2f}x {shown}"
            (worse if lift["upper"] < 1 else weak).append(text)
    parts = []
    if worse:
        parts.append(
            "the model fills the places worse than the county's rule at "
            + "; ".join(worse)
            + " (model precision over the rule's, 95% interval below 1)"
        )
    if weak:
        parts.append(
            "no gain over the rule is shown at "
            + "; ".join(weak)
            + " (model precision over the rule's, 95% interval reaching 1): at those "
            "capacities the model would fill the places about as well as the rule baseline "
            "(everyone ranked by programmes and criteria met)"
        )
    return "; ".join(parts) if parts else None


# What an interval wholly above or below the ideal says, per measure.
_MEANING = {
    ("calibration_slope", False): "below 1: risks too spread, too high at the top",
    ("calibration_slope", True): "above 1: risks too narrow, too low at the top",
    ("calibration_intercept", False): "below 0: risks too high overall, with a slope near 1",
    ("calibration_intercept", True): "above 0: risks too low overall, with a slope near 1",
}


def calibration_warning(result: TrainResult) -> str | None:
    """The model's calibration slope or intercept, when its interval excludes 1 or 0.

    The equal-mass ECE averages over bins of a tenth of the rows each, where the people a
    programme selects are a few hundred at the top: a slope below 1 (risks too spread, too
    high at the top) can sit beside a small ECE.
    """
    metrics = result.metrics.set_index(["scorer", "metric"])
    found = []
    for metric, ideal in (("calibration_slope", 1.0), ("calibration_intercept", 0.0)):
        key = ("model", metric)
        if key not in metrics.index:
            continue
        row = metrics.loc[key]
        if math.isfinite(row["lower"]) and not row["lower"] <= ideal <= row["upper"]:
            above = row["lower"] > ideal  # the interval lies wholly on one side
            shown = bounds(row["lower"], row["upper"], avoid=ideal)
            found.append(
                f"{metric.replace('_', ' ')} {row['estimate']:.3f} "
                f"{shown} ({_MEANING[metric, above]})"
            )
    if not found:
        return None
    # The calibration plot's bins are a tenth of the rows each: the top one is far larger
    # than a capacity, so it cannot show the risks of the people a programme selects.
    return (
        "the model's "
        + " and ".join(found)
        + ": the ECE can be small while the risks of the people selected are off; compare "
        "the mean risk at each capacity with the precision there (the 'mean risk at' rows), "
        "or calibrate on a larger slice"
    )


def _signed(bound: float, side: str) -> str:
    text = bound_text(bound, side)
    return text if text.startswith("-") else f"+{text}"


def capacity_warning(capacities: Mapping[str, int], test_rows: int) -> str | None:
    """Which capacities are too large for the test quarter to say anything, or too small
    to be published, or None.

    Past half the rows, precision at k is mostly the event rate: little to compare. Below
    ``MIN_CELL`` places, it is the outcomes of fewer than 11 people, which no table shows.
    """
    too_big = {p: k for p, k in capacities.items() if 2 * k >= test_rows}
    too_small = {p: k for p, k in capacities.items() if 0 < k < MIN_CELL}
    parts = []
    if too_big:
        parts.append(
            f"k is at least half the test quarter's {test_rows:,} rows for "
            + ", ".join(f"{p} (k={k:,})" for p, k in too_big.items())
            + ": precision at k there is close to the event rate (the rate itself once k "
            "reaches the rows) and says little; scale the capacities to the county with "
            "model.metrics.capacity_scale"
        )
    if too_small:
        parts.append(
            f"k is below {MIN_CELL} for "
            + ", ".join(f"{p} (k={k:,})" for p, k in too_small.items())
            + f": precision and recall there would be the outcomes of fewer than {MIN_CELL} "
            "people, so they are not shown; a smaller model.metrics.capacity_scale than "
            "this county needs?"
        )
    return "; ".join(parts) if parts else None


def run_warnings(result: TrainResult) -> list[str]:
    """Every warning above that applies to ``result``, in that order."""
    found = (
        capacity_warning(result.capacities, result.counts["test_rows"]),
        baseline_warning(result),
        lift_warning(result),
        calibration_warning(result),
    )
    return [w for w in found if w]

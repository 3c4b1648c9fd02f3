"""Tables an evaluator reads name each metric in words; metrics.csv keeps the code's names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskstrat.modeling._metric_labels import bound_text, bounds, metric_label

KS = {"isr": 255, "sud_ens": 1_200}


@pytest.mark.parametrize(
    ("metric", "label"),
    [
        ("auroc", "AUROC"),
        ("calibration_slope", "calibration slope"),
        ("precision_at_k_isr", "precision at isr, k = 255"),
        ("mean_risk_at_k_sud_ens", "mean risk at sud_ens, k = 1,200"),
        ("recall_at_k_rbc", "recall at rbc"),  # a capacity not given: no k to show
        ("diff_ece", "ECE: difference"),
        ("diff_precision_at_k_isr", "precision at isr, k = 255: difference"),
        ("lift_precision_at_k_isr", "precision at isr, k = 255: lift"),
        ("observed_rate", "observed_rate"),  # not known: as it is
    ],
)
def test_a_metric_is_labelled_for_a_reader(metric: str, label: str) -> None:
    assert metric_label(metric, KS) == label


@pytest.mark.parametrize(
    ("lower", "upper", "digits", "shown"),
    [
        (0.9777, 1.2049, 2, "[0.97, 1.21]"),  # to nearest it would read [0.98, 1.20]
        (0.98, 1.2, 2, "[0.98, 1.20]"),  # a bound already at the precision stays put
        (0.12345, 0.98761, 3, "[0.123, 0.988]"),
        (-0.0001, 0.0004, 3, "[-0.001, 0.001]"),
        (0.0, 0.0, 3, "[0.000, 0.000]"),
        # Binary noise is not a step out: (35/255)/(25/255) is 1.4000000000000001, and a
        # float32 0.2 is 0.20000000298.
        ((35 / 255) / (25 / 255), (45 / 255) / (25 / 255), 2, "[1.40, 1.80]"),
        (float(np.float32(0.2)), float(np.float32(0.3)), 3, "[0.200, 0.300]"),
        (0.5, math.inf, 2, "[0.50, inf]"),  # a lift over a rule that selected no event
        (math.nan, math.nan, 3, "[nan, nan]"),
        (0.9176, 0.9176, 3, "[0.918, 0.918]"),  # no width: one value, not a grid step wide
        (0.918486171761283, 0.9184861717612841, 3, "[0.918, 0.918]"),  # no width but noise
    ],
)
def test_interval_bounds_are_rounded_outward(lower, upper, digits, shown) -> None:
    assert bounds(lower, upper, digits) == shown
    low, high = (float(x) for x in shown.strip("[]").split(", "))
    if low != high and not math.isnan(lower):  # holds the one computed, to 1/20,000 step
        slack = 10.0**-digits / 20_000
        assert low <= lower + slack and high >= upper - slack


def test_a_bound_is_never_shown_as_the_value_it_excludes() -> None:
    # A lift interval wholly below 1 must not read [0.70, 1.00], nor a slope's [0.81, 1.000].
    assert bounds(0.7, 0.996, 2, avoid=1.0) == "[0.70, 0.996]"
    assert bounds(0.814, 0.99996, 3, avoid=1.0) == "[0.814, 0.99996]"
    assert bounds(-0.2, -0.00004, 3, avoid=0.0) == "[-0.200, -0.00004]"
    assert bounds(0.7, 1.0, 2, avoid=1.0) == "[0.70, 1.00]"  # a bound that is 1 stays 1
    assert bound_text(0.99, "upper", 2, avoid=1.0) == "0.99"

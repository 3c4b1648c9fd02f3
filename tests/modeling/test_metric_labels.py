"""Tables an evaluator reads name each metric in words; metrics.csv keeps the code's names."""

from __future__ import annotations

import pytest

from riskstrat.modeling._metric_labels import metric_label

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

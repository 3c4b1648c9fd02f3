"""An outcome's label window against the splits' horizon: labels never reach the next slice."""

from __future__ import annotations

from riskstrat._config import config_error

ROOT = "model"


def check_label_window(
    name: str,
    outcome_horizon: int,
    within_horizon: bool,
    *,
    horizon_months: int,
    path: str = "model.outcome",
    source: str = "configs/outcomes.yaml",
) -> None:
    """Refuse an outcome whose labels would reach past the splits' horizon.

    Splits keep each label window before the next slice by ``horizon_months``: a longer
    outcome window would reach past it, a shorter one would waste quarters, and a
    readmission counted after the window's end would see into the next slice.
    """
    if outcome_horizon != horizon_months:
        raise config_error(
            f"{ROOT}.split.horizon_months",
            HORIZON_MISMATCH.format(
                split=horizon_months, name=name, outcome=outcome_horizon, source=source
            ),
        )
    if not within_horizon:
        raise config_error(path, LABEL_PAST_HORIZON.format(name=name, source=source))


HORIZON_MISMATCH = (
    "{split} months, but outcome {name!r} is counted over {outcome} months ({source}); "
    "expected the same horizon, or the splits would not keep label windows apart"
)
LABEL_PAST_HORIZON = (
    "outcome {name!r} counts readmissions that start after its window ends "
    "(readmit_in_window: false, {source}), so its labels reach past the as-of date plus the "
    "horizon, into the next split's months; expected readmit_in_window: true for a model's outcome"
)

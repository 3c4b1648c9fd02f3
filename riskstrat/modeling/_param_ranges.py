"""The ranges a model's hyperparameters may take, checked when the config loads.

LightGBM checked them only once the data was read and the fit began ("[LightGBM] [Fatal]
Check failed: (learning_rate) > (0.0)"), minutes into a run and without the config's name.
"""

from __future__ import annotations

import dataclasses
import math

from riskstrat._config import config_error

# name: (lowest, whether the lowest is allowed, highest or None, whether it is allowed)
RANGES: dict[str, tuple[float, bool, float | None, bool]] = {
    "n_estimators": (1, True, None, False),
    "learning_rate": (0, False, None, False),
    "num_leaves": (2, True, 131072, True),  # LightGBM's own bounds
    "min_child_samples": (0, True, None, False),
    "subsample": (0, False, 1, True),
    "subsample_freq": (0, True, None, False),
    "colsample_bytree": (0, False, 1, True),
    "reg_lambda": (0, True, None, False),
    "max_bin": (2, True, None, False),
    "C": (0, False, None, False),
    "max_iter": (1, True, None, False),
}


def check_ranges(params: object, path: str) -> None:
    """Refuse a value of ``params`` (a dataclass) outside its range, by dotted path."""
    for field in dataclasses.fields(params):  # type: ignore[arg-type]
        if field.name not in RANGES:
            continue
        value = getattr(params, field.name)
        low, low_ok, high, high_ok = RANGES[field.name]
        inside = (
            isinstance(value, int | float)
            and math.isfinite(value)
            and (value > low or (low_ok and value == low))
            and (high is None or value < high or (high_ok and value == high))
        )
        if not inside:
            lower = f">= {low}" if low_ok else f"> {low}"
            upper = "" if high is None else f" and {'<=' if high_ok else '<'} {high}"
            raise config_error(f"{path}.{field.name}", f"expected {lower}{upper}, got {value!r}")

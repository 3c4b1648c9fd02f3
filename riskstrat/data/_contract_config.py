"""County additions to the contract: assessment instruments beyond MCAS, VI-SPDAT and PHQ-9.

A county that scores, say, a local acuity tool lists it with its valid score range in
``configs/contract.yaml`` (read by every command that loads the tables); scores of
instruments not listed are rejected as ``unknown_code``.

.. code-block:: yaml

    data:
      instruments:
        LA-ACUITY: {min: 0, max: 30}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from riskstrat._config import (
    ConfigError,
    ConfigNotFoundError,
    config_error,
    default_config_path,
    load_config,
    read_yaml,
)
from riskstrat.data._codes import INSTRUMENT_RANGES

CONTRACT_FILE = "contract.yaml"
NOT_DATA_SECTION = "expected a single top-level key 'data', got {found!r}"
BAD_RANGE = "expected min <= max, got min={min} and max={max}"
REDEFINED = "{name!r} is part of the contract (range {range}); it cannot be redefined"


@dataclasses.dataclass(frozen=True)
class ScoreRange:
    """Valid scores of one instrument, both ends included."""

    min: float
    max: float


@dataclasses.dataclass(frozen=True)
class ContractConfig:
    """Additions to the input data contract (the ``data`` section)."""

    instruments: dict[str, ScoreRange] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, rng in self.instruments.items():
            if name in INSTRUMENT_RANGES:
                raise config_error(
                    f"data.instruments.{name}",
                    REDEFINED.format(name=name, range=INSTRUMENT_RANGES[name]),
                )
            if rng.min > rng.max:
                raise config_error(
                    f"data.instruments.{name}", BAD_RANGE.format(min=rng.min, max=rng.max)
                )

    def extra_instruments(self) -> dict[str, tuple[float, float]]:
        """The instruments as ``{name: (min, max)}`` for :func:`validate_tables`."""
        return {name: (r.min, r.max) for name, r in self.instruments.items()}


def load_contract_config(source: str | Path | dict) -> ContractConfig:
    """Load county additions to the contract from YAML (top-level ``data`` section).

    Parameters
    ----------
    source : str, Path or dict
        A YAML file, or the parsed mapping, with a ``data`` mapping at the top.

    Returns
    -------
    ContractConfig
        Unknown keys are rejected by dotted path (for example ``data.instruments.X.maxx``).
    """
    raw = read_yaml(source) if isinstance(source, str | Path) else source
    if not isinstance(raw, dict) or set(raw) != {"data"}:
        found = sorted(raw) if isinstance(raw, dict) else raw
        raise config_error("data", NOT_DATA_SECTION.format(found=found))
    return load_config(ContractConfig, raw["data"], root="data")


def default_extra_instruments() -> dict[str, tuple[float, float]]:
    """The instruments ``configs/contract.yaml`` adds, so every command reads the same contract.

    The file is found as every config is (``$RISKSTRAT_CONFIG_DIR``, ``./configs``, the
    package's own); without one, the contract's own instruments only.
    """
    try:
        path = default_config_path(CONTRACT_FILE)
    except ConfigNotFoundError:
        return {}
    try:
        return load_contract_config(path).extra_instruments()
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in {path})") from exc

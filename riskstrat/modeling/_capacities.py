"""How many people each programme takes a quarter: the k of precision and recall at k."""

from __future__ import annotations

import logging

from riskstrat._config import ConfigDirError, ConfigError, config_error
from riskstrat.modeling._model_config import ModelConfig

logger = logging.getLogger(__name__)

SET_BY_PROGRAMS = (
    "model.metrics.capacities.%s: %s is not used; with capacity_source: programs, "
    "configs/programs.yaml gives %s a quarter (set capacity_source: config to use the mapping)"
)
NO_CAPACITY = (
    "unknown programme {code!r}: not in configs/programs.yaml nor a key of "
    "model.metrics.capacities; expected one of {known}"
)


def programme_capacities(config: ModelConfig) -> dict[str, int]:
    """k per programme and test quarter for precision and recall at k.

    With ``metrics.capacity_source: programs`` the capacities of
    ``configs/programs.yaml`` are used where they exist (per month x 3, per year / 4, a
    total as is), the ``metrics.capacities`` mapping otherwise. Then scaled by
    ``metrics.capacity_scale`` (at least 1).

    Parameters
    ----------
    config : ModelConfig

    Returns
    -------
    dict of programme code to k
    """
    m = config.metrics
    ks = {p: m.capacities[p] for p in m.capacity_programs if p in m.capacities}
    if m.capacity_source == "programs":
        # Imported here: eligibility imports the feature stage. A broken programs config is
        # an error, never a silent switch to other capacities.
        from riskstrat.eligibility import load_programs

        programs = load_programs()
        for code in m.capacity_programs:
            cap = programs[code].capacity if code in programs.programs else None
            if cap is not None:
                per_quarter = {"month": 3.0, "year": 0.25, "total": 1.0}[cap.per]
                k = round(cap.count * per_quarter)
                if code in m.capacities and m.capacities[code] != k:
                    # An override the programmes' capacity replaces: said, not dropped.
                    logger.warning(SET_BY_PROGRAMS, code, m.capacities[code], k)
                ks[code] = k
        known = sorted({*programs.programs, *m.capacities})
    else:
        known = sorted({*_programme_codes(), *m.capacities})
    for i, code in enumerate(m.capacity_programs):
        if code not in known:  # a typo would otherwise drop the programme from every table
            raise config_error(
                f"model.metrics.capacity_programs[{i}]", NO_CAPACITY.format(code=code, known=known)
            )
    return {code: max(1, round(k * m.capacity_scale)) for code, k in ks.items()}


def _programme_codes() -> list[str]:
    """The programme codes of configs/programs.yaml, or none when it cannot be read.

    With ``capacity_source: config`` the programmes file is not needed; its codes only tell
    a programme without a configured k (skipped) from a typo (refused).
    """
    from riskstrat.eligibility import load_programs

    try:
        return list(load_programs().programs)
    except ConfigDirError:
        raise  # a mistyped config folder is no programmes file left out
    except ConfigError:
        return []

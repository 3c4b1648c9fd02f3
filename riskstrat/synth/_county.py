"""``synthesize``: the synthetic linked county, its oracle and (optionally) injected faults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from riskstrat._atomic import Replaceable, atomic_output_dir, check_replaceable_dir
from riskstrat._dates import as_date
from riskstrat.data._codes import (
    DRUG_CLASSES,
    DX_GROUPS,
    HMIS_PROJECT_TYPES,
    INSTRUMENTS,
    JUSTICE_EVENT_TYPES,
    PROGRAMS,
    RACE_ETHNICITIES,
    SETTINGS,
    SEXES,
    TABLE_COLUMNS,
    TABLE_NAMES,
)
from riskstrat.synth import _frames as fr
from riskstrat.synth._clinical import assessments, code_variants, diagnoses, pharmacy
from riskstrat.synth._encounters import provider_names, simulate_encounters
from riskstrat.synth._enrollments import enrollments
from riskstrat.synth._housing import homeless_records, simulate_chain
from riskstrat.synth._justice import simulate_justice
from riskstrat.synth._model import BiasConfig, MonthGrid, Population, make_grid, make_population
from riskstrat.synth._sampling import NO_DEATH, death_days
from riskstrat.synth._truth import truth_table

MANIFEST = "synth_manifest.json"
# Replacing a folder deletes what it holds: only an earlier synthetic county may go.
SYNTH_OUTPUT = Replaceable(
    owns=lambda folder: (folder / MANIFEST).is_file(),
    what="a synthetic county riskstrat synth wrote",
)
BAD_PERSONS = "n_persons must be a positive whole number; got {value!r}"
BAD_DIRTY = "dirty_rate must be in [0, 0.5]; got {value!r}"
NO_DIRTY_MODULE = "dirty_rate={rate} needs riskstrat.synth._dirty.inject_faults, which is missing"
STAGES: tuple[str, ...] = (
    "population",
    "deaths",
    "encounters",
    "justice",
    "homelessness",
    "clinical",
    "enrollments",
    "truth",
    "tables",
)
Progress = Callable[[str], None]


@dataclasses.dataclass
class SyntheticCounty:
    """A synthetic linked county: the eight tables, the oracle and what was injected.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The input tables of the data contract, keyed by table name.
    truth : DataFrame
        One row per person alive at each quarter start ``as_of``: the true 12-month
        probability of each outcome (``total_cost``: expected paid amount), ``alive``,
        ``need`` (expected cost under equal access) and the mean latent factors.
    injected : dict of str to dict of str to int
        Faults injected per table and kind (empty for a clean county).
    settings : dict
        The arguments the county was generated with (written to the manifest).
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    injected: dict[str, dict[str, int]]
    settings: dict

    def __repr__(self) -> str:
        rows = {name: len(frame) for name, frame in self.tables.items()}
        faults = sum(n for kinds in self.injected.values() for n in kinds.values())
        return (
            f"SyntheticCounty(rows={rows}, truth_rows={len(self.truth):,}, "
            f"injected_faults={faults:,}, seed={self.settings.get('seed')!r})"
        )

    def write(self, out_dir: str | Path) -> Path:
        """Write ``<out>/<table>.parquet``, ``<out>/truth/truth.parquet`` and the manifest.

        The folder is written aside and moved into place whole, so it never holds one
        county's tables beside another's. An existing folder is replaced only if it is
        empty or an earlier synthetic county (it holds ``synth_manifest.json``): a folder
        of real records given by mistake is never overwritten.

        Parameters
        ----------
        out_dir : str or Path
            Output folder, created if missing.

        Returns
        -------
        Path
            The manifest path (``<out>/synth_manifest.json``).

        Raises
        ------
        FileExistsError
            ``out_dir`` holds files and no ``synth_manifest.json``, or is a file.
        """
        out = Path(out_dir)
        with atomic_output_dir(out, overwrite=True, replaceable=SYNTH_OUTPUT) as tmp:
            for name in TABLE_NAMES:
                date_cols = {c for c, kind, _ in TABLE_COLUMNS[name] if kind == "date"}
                fr.write_parquet(self.tables[name], tmp / f"{name}.parquet", date_cols)
            # The path oracle carries its county's identity, as the as-of oracle does, so
            # that training refuses a truth.parquet copied from another county before
            # matching rows.
            mark = {"county": arguments_identity(self.settings)}
            fr.write_parquet(self.truth, tmp / "truth" / "truth.parquet", {"as_of"}, mark)
            manifest = {
                "arguments": self.settings,
                "row_counts": {name: len(self.tables[name]) for name in TABLE_NAMES},
                "truth_rows": len(self.truth),
                "injected": self.injected,
                "bias": self.settings["bias"],
            }
            fr.write_json(manifest, tmp / MANIFEST)
        return out / MANIFEST


def synthesize(
    n_persons: int,
    start: dt.date | str,
    end: dt.date | str,
    seed: int = 0,
    bias: BiasConfig = BiasConfig(),
    dirty_rate: float = 0.0,
    progress: Progress | None = None,
) -> SyntheticCounty:
    """Generate a synthetic linked county with the true risks that generated it.

    Parameters
    ----------
    n_persons : int
        Number of people (Medi-Cal members in contact with county systems).
    start, end : date or ISO string
        Events fall in ``[start, end)``; truth rows exist for each quarter start in it.
    seed : int
        Seed of every random draw: the same arguments give the same county.
    bias : BiasConfig
        The planted label-choice bias (``BiasConfig(enabled=False)`` for none).
    dirty_rate : float
        Share of rows to damage after generation (``riskstrat.synth._dirty``), 0 for clean.
    progress : callable, optional
        Called with each stage name of ``STAGES`` as it starts.

    Returns
    -------
    SyntheticCounty
    """
    if isinstance(n_persons, bool) or not isinstance(n_persons, int | np.integer) or n_persons < 1:
        raise ValueError(BAD_PERSONS.format(value=n_persons))
    if isinstance(dirty_rate, bool) or not 0 <= dirty_rate <= 0.5:
        raise ValueError(BAD_DIRTY.format(value=dirty_rate))
    start_d, end_d = as_date(start, "start"), as_date(end, "end")
    step = progress or (lambda _stage: None)
    grid = make_grid(start_d, end_d)
    access = bias.access_factor if bias.enabled else 1.0
    step("population")
    pop = make_population(int(n_persons), grid, bias, seed)
    step("deaths")
    death = county_deaths(pop, grid, seed)
    step("encounters")
    enc = simulate_encounters(pop, grid, death, access, seed)
    step("justice")
    jus = simulate_justice(pop, grid, death, seed)
    step("homelessness")
    chain = simulate_chain(pop, grid, seed)
    born = birth_days(pop, int(grid.first[0]))
    hmis, spells = homeless_records(chain, grid, born, death, seed)
    step("clinical")
    rng = np.random.default_rng([seed, 60])
    dxs = diagnoses(rng, pop, enc)
    rx = pharmacy(pop, grid, death, seed)
    asm = assessments(rng, pop, enc, spells, grid, death)
    step("enrollments")
    enr = enrollments(rng, pop, grid, death, enc, jus, hmis)
    step("truth")
    truth_idx = truth_table(pop, grid, death, chain, access)
    # The latent state is no longer needed: free it before the string tables are built.
    del chain
    pop.latent = np.empty((4, 0, 0), dtype=np.float32)
    step("tables")
    all_ids = county_ids(pop.n, seed)
    truth = _truth_frame(truth_idx, all_ids)
    del truth_idx
    arrays = {"encounters": enc, "justice": jus, "homelessness": hmis, "diagnoses": dxs}
    arrays |= {"pharmacy": rx, "assessments": asm, "enrollments": enr}
    del enc, jus, hmis, dxs, rx, asm, enr
    tables = _tables(pop, int(grid.first[0]), death, all_ids, arrays)
    settings = {
        "n_persons": int(n_persons),
        "start": start_d.isoformat(),
        "end": end_d.isoformat(),
        "seed": int(seed),
        "dirty_rate": float(dirty_rate),
        "bias": dataclasses.asdict(bias),
    }
    injected: dict[str, dict[str, int]] = {}
    if dirty_rate > 0:
        try:
            dirty = importlib.import_module("riskstrat.synth._dirty")
        except ModuleNotFoundError as exc:
            raise RuntimeError(NO_DIRTY_MODULE.format(rate=dirty_rate)) from exc
        tables, injected = dirty.inject_faults(tables, dirty_rate, seed)
    # Marked as the written file is, so training names it the path oracle in memory too.
    truth.attrs.update(riskstrat_oracle="path", county=arguments_identity(settings))
    return SyntheticCounty(tables=tables, truth=truth, injected=injected, settings=settings)


# The seeds of the draws the as-of oracle regenerates (``_asof``): one place, so that a
# regeneration can never drift from what ``synthesize`` drew.
def county_deaths(pop: Population, grid: MonthGrid, seed: int) -> np.ndarray:
    """Day of death per person, as :func:`synthesize` draws it."""
    return death_days(np.random.default_rng([seed, 2]), pop, grid)


def county_ids(n_persons: int, seed: int) -> np.ndarray:
    """Pseudonymous person ids in person-index order, as :func:`synthesize` draws them."""
    return fr.person_ids(np.random.default_rng([seed, 3]), n_persons)


def arguments_identity(arguments: dict) -> str:
    """sha256 of the arguments a county was generated with (``SyntheticCounty.settings``).

    Parameters
    ----------
    arguments : dict
        The arguments as ``synth_manifest.json`` records them (JSON values only).

    Returns
    -------
    str
        64 hex digits; the same for the in-memory settings and the manifest read back,
        since the JSON is written with sorted keys and reads back to equal values.
    """
    return hashlib.sha256(json.dumps(arguments, sort_keys=True).encode()).hexdigest()


def write_county(
    out_dir: str | Path,
    n_persons: int,
    start: dt.date | str,
    end: dt.date | str,
    seed: int = 0,
    bias: BiasConfig = BiasConfig(),
    dirty_rate: float = 0.0,
    progress: Progress | None = None,
) -> SyntheticCounty:
    """Generate a county with :func:`synthesize` and write it to ``out_dir``.

    Parameters are those of :func:`synthesize`; ``progress`` also receives ``"write"``.
    ``out_dir`` is checked first, as :meth:`SyntheticCounty.write` checks it.

    Returns
    -------
    SyntheticCounty
    """
    if Path(out_dir).exists():  # refused before generating, not after
        check_replaceable_dir(out_dir, SYNTH_OUTPUT)
    county = synthesize(n_persons, start, end, seed, bias, dirty_rate, progress)
    if progress:
        progress("write")
    county.write(out_dir)
    return county


def _date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def birth_days(pop: Population, first_day: int) -> np.ndarray:
    """Day of birth per person: ages count from the grid's first month, born strictly before it."""
    return first_day - 1 - np.floor(pop.age0 * 365.25).astype(np.int32)


def _tables(pop, first_day, death, all_ids, arrays: dict[str, dict[str, np.ndarray]]) -> dict:
    """Build the string tables one at a time, releasing each table's arrays once used."""
    birth = birth_days(pop, first_day)
    death_col = np.where(death == NO_DEATH, fr.NULL_DAY, death)
    spa = pd.array(np.where(pop.spa == 0, pd.NA, pop.spa).astype(object), dtype="Int64")
    tables = {
        "persons": fr.frame(
            "persons",
            {
                "person_id": fr.ids(np.arange(pop.n, dtype=np.int32), all_ids),
                "birth_date": fr.dates(birth),
                "sex": fr.strings(pop.sex, SEXES),
                "race_ethnicity": fr.strings(pop.race, RACE_ETHNICITIES),
                "spa": pd.Series(spa),
                "death_date": fr.dates(death_col),
            },
        )
    }
    for name in TABLE_NAMES[1:]:
        cols = arrays.pop(name)
        # Encounters keep every event (the oracle counts them); other tables drop twins.
        if name == "encounters":
            cols = fr.separate_twins(cols, "paid")
        else:
            cols = fr.drop_duplicates(cols)
        tables[name] = fr.frame(name, _BUILDERS[name](cols, all_ids))
        del cols
    return tables


def _encounter_columns(a, ids):
    return {
        "person_id": fr.ids(a.pop("person"), ids),
        "start_date": fr.dates(a.pop("start")),
        "end_date": fr.dates(a.pop("end")),
        "setting": fr.strings(a.pop("setting"), SETTINGS),
        "dx_group": fr.strings(a.pop("dx_group"), DX_GROUPS),
        "avoidable": a.pop("avoidable"),
        "paid_amount": a.pop("paid"),
        "provider_id": fr.strings(a.pop("provider"), provider_names()),
    }


_BUILDERS = {
    "encounters": _encounter_columns,
    "diagnoses": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "dx_date": fr.dates(a["day"]),
        "icd10": fr.strings(a["code"], code_variants()),
    },
    "pharmacy": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "fill_date": fr.dates(a["day"]),
        "drug_class": fr.strings(a["drug"], DRUG_CLASSES),
        "days_supply": a["supply"].astype(np.int64),
    },
    "justice": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "event_date": fr.dates(a["day"]),
        "event_type": fr.strings(a["event_type"], JUSTICE_EVENT_TYPES),
    },
    "homelessness": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "start_date": fr.dates(a["start"]),
        "end_date": fr.dates(a["end"]),
        "project_type": fr.strings(a["type"], HMIS_PROJECT_TYPES),
    },
    "enrollments": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "program": fr.strings(a["program"], PROGRAMS),
        "provider_id": fr.strings(a["provider"], [f"CBO{i:04d}" for i in range(1, 61)]),
        "start_date": fr.dates(a["start"]),
        "end_date": fr.dates(a["end"]),
    },
    "assessments": lambda a, ids: {
        "person_id": fr.ids(a["person"], ids),
        "assessed_date": fr.dates(a["day"]),
        "instrument": fr.strings(a["instrument"], INSTRUMENTS),
        "score": a["score"],
    },
}


def _truth_frame(truth: dict[str, np.ndarray], all_ids) -> pd.DataFrame:
    # Rows come per quarter in person-index order, and person indices follow the sorted ids,
    # so the frame is already sorted by (as_of, person_id).
    cols = {"person_id": fr.ids(truth.pop("person"), all_ids)}
    cols["as_of"] = fr.dates(truth.pop("as_of"))
    cols |= truth
    return pd.DataFrame(cols)

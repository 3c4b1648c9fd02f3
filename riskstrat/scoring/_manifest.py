"""``manifest.json``: what a cohort was computed from, to reproduce or audit it.

Only content-derived facts are recorded (hashes, counts, versions, the as-of date): no run
time and no local paths, so the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from riskstrat._atomic import SYSTEM_LITTER, Replaceable
from riskstrat._config import config_origin
from riskstrat._provenance import code_sha256, package_versions
from riskstrat.data._files import dataset_files, table_sources
from riskstrat.data._load import read_relation
from riskstrat.scoring._write import sha256_file

MANIFEST_VERSION = 1


def input_files(data_dir: str | Path) -> dict[str, dict[str, Any]]:
    """sha256 and row count of each contract table file in ``data_dir`` (or the database file).

    Parameters
    ----------
    data_dir : str or Path
        Folder of ``<table>.parquet`` / ``<table>.csv`` files or ``<table>/`` Parquet
        datasets, or a DuckDB database file.

    Returns
    -------
    dict
        ``{file name: {"sha256": ..., "rows": ...}}`` sorted by name; rows is null for a
        database file (its tables are counted in the validation report).
    """
    path = Path(data_dir)
    if path.is_file():
        return {path.name: {"sha256": sha256_file(path), "rows": None}}
    files = {
        name: {"sha256": sha256_file(file), "rows": _row_count(file)}
        for name, file in _input_paths(path).items()
    }
    return dict(sorted(files.items()))


INPUTS_CHANGED = (
    "{data}: {names} changed while this run read the data (size, time or file changed): "
    "the cohort may mix two extracts, and the manifest's checksums would describe files "
    "the run did not read; nothing written; run again when the extract is complete"
)


class InputsChangedError(ValueError):
    """An input file changed between the start of a run and its manifest."""


def input_stats(data_dir: str | Path) -> dict[str, tuple[int, ...]]:
    """Each input file's size, modification and change times and inode, by name.

    Taken before a run reads its data and again after its manifest hashes the files: any
    write to a file, or a file put in its place, changes one of them (the change time
    cannot be set back, as ``cp -p`` sets back the modification time).
    """
    path = Path(data_dir)
    files = {path.name: path} if path.is_file() else _input_paths(path)
    out = {}
    for name, file in files.items():
        try:
            st = file.stat()
        except FileNotFoundError:
            continue  # gone: missing from the later snapshot, so a change
        out[name] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return out


def check_unchanged(data_dir: str | Path, before: Mapping[str, tuple[int, ...]]) -> None:
    """Raise :class:`InputsChangedError` if the input files differ from ``before``."""
    after = input_stats(data_dir)
    changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    if changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        raise InputsChangedError(INPUTS_CHANGED.format(data=data_dir, names=shown))


def _input_paths(path: Path) -> dict[str, Path]:
    files = {}
    for kind, where in table_sources(path).values():
        # A dataset folder is every Parquet file it holds, each named by its path.
        for file in dataset_files(where) if kind == "dataset" else [where]:
            files[file.relative_to(path).as_posix()] = file
    return files


def _row_count(file: Path) -> int:
    if file.suffix == ".parquet":
        return int(pq.ParquetFile(file).metadata.num_rows)
    # Read by the loader's own reader, so the count matches its rows_in.
    with duckdb.connect() as con:
        counted = read_relation(con, ("csv", file), say=False)
        return int(counted.aggregate("count(*)").fetchall()[0][0])


def build_manifest(
    *,
    data_dir: str | Path,
    as_of: dt.date,
    report: Any,
    configs: Mapping[str, str | Path],
    model: Any,
    model_ref: str,
    mode: str,
    out_dir: str | Path,
    output_files: Sequence[str],
    previous: Mapping[str, Any] | None = None,
    registered: Mapping[str, str] | None = None,
    offers_since: dt.date | None = None,
    offers_gaps: Sequence[tuple[dt.date, dt.date]] = (),
    unread_beside: dt.date | None = None,
    rejected_dir: str | Path | None = None,
    rejected_folder: str | None = None,
) -> dict[str, Any]:
    """Assemble the manifest of one run.

    Parameters
    ----------
    data_dir : str or Path
        The input folder (hashed file by file).
    as_of : date
    report : riskstrat.data.ValidationReport
        Rows in, accepted and rejected per table and check.
    configs : mapping of name to path
        Configuration files (hashed).
    model : ModelBundle
        Loaded model (version, sha256, outcome, kind).
    model_ref : str
        How the model was asked for (``registry:champion`` or ``bundle:<folder name>``).
    mode : str
        Validation mode.
    out_dir : str or Path
        Folder holding the already-written outputs (hashed).
    output_files : sequence of str
        Output file names to hash.
    previous : mapping, optional
        The earlier run whose offers were read (``as_of`` and the ``offers.parquet``
        sha256); None when none was.
    registered : mapping, optional
        For a registry reference, the registered model ``name`` and ``version`` it resolved
        to (an alias moves on promotion; these do not); None for a bundle folder.
    offers_since : date, optional
        The as-of date of the first run of the offer ledger's chain (this run's when no
        earlier run was read): offers made before it are not known.
    offers_gaps : sequence of (date, date)
        Steps of that chain that read a run two quarters or more earlier: offers made in
        between by a run not read are not known. Carried on by every later run.
    unread_beside : date, optional
        With ``--new-chain``: the as-of date of the earlier run beside the output that this
        run did not read, its offer chain started again here by choice.
    rejected_dir : str or Path, optional
        Where this run's rejected rows were written (``--rejected-dir``, or its work
        folder): each ``<table>.parquet``'s sha256 goes in ``rejected_files``.
    rejected_folder : str, optional
        That folder's name (not its path: a manifest names no machine path), so a rerun
        replaces only rows its own run wrote there.

    Returns
    -------
    dict
    """
    import riskstrat
    from riskstrat.modeling._model_config import protected_inputs

    out_dir = Path(out_dir)
    tables = {
        name: {
            "rows_in": t.rows_in,
            "accepted": t.accepted,
            "rejected": t.rejected,
            "rejected_by_check": dict(sorted(t.by_check.items())),
            # What the run did not read: a column renamed upstream shows here first.
            "columns_left_out": list(t.columns_left_out),
            # What it read as never or still open: a run without death dates, say.
            "optional_columns_absent": list(t.columns_absent),
        }
        for name, t in sorted(report.tables.items())
    }
    return {
        "manifest_version": MANIFEST_VERSION,
        "riskstrat_version": riskstrat.__version__,
        # The version string does not change with every commit; this does.
        "riskstrat_code_sha256": code_sha256(),
        "packages": package_versions(),
        "as_of": as_of.isoformat(),
        "validation_mode": mode,
        # Dates after it fail the contract's future_date check: a run on another day can
        # quarantine other rows of the same files.
        "validation_reference_date": report.reference_date.isoformat(),
        "inputs": input_files(data_dir),
        "tables": tables,
        "rejected_rows": int(sum(t["rejected"] for t in tables.values())),
        "configs": {name: sha256_file(path) for name, path in sorted(configs.items())},
        # Where each was found ($RISKSTRAT_CONFIG_DIR, ./configs, riskstrat's defaults or
        # given), as a label: no local path, so a manifest stays the same elsewhere.
        "config_origins": {name: config_origin(path) for name, path in sorted(configs.items())},
        "model": {
            "ref": model_ref,
            "version": str(model.version),
            "sha256": str(model.sha256),
            "outcome": str(getattr(model, "outcome", "")),
            "kind": str(getattr(model, "kind", "")),
            "n_features": len(model.features),
            # Inputs that are, derive from or stand in for race/ethnicity or sex: an
            # evaluator sees from the manifest alone whether the scores used them.
            "protected_inputs": protected_inputs(list(model.features)),
            "registered": None if registered is None else dict(registered),
        },
        "outputs": {name: sha256_file(out_dir / name) for name in output_files},
        # The rows set aside, kept beside the cohort (--rejected-dir): tied to it by hash.
        "rejected_files": None
        if rejected_dir is None
        else {p.name: sha256_file(p) for p in sorted(Path(rejected_dir).glob("*.parquet"))},
        "rejected_folder": rejected_folder,
        "previous_offers": None if previous is None else dict(previous),
        "offers_since": None if offers_since is None else offers_since.isoformat(),
        "offers_gaps": [[a.isoformat(), b.isoformat()] for a, b in offers_gaps],
        # Only with --new-chain beside an earlier run: a first quarter's manifest as before.
        **({} if unread_beside is None else {"new_chain_beside": unread_beside.isoformat()}),
    }


def is_cohort_run(folder: Path) -> bool:
    """Whether ``folder`` is an output ``riskstrat score`` wrote: a scoring manifest, and
    nothing beside it but the outputs it lists (so replacing it loses nothing else)."""
    return _not_written(folder) == []


def _not_written(folder: Path) -> list[str] | None:
    """The entries of ``folder`` its scoring manifest does not list (a note someone saved in
    a cohort folder), sorted; None when it holds no scoring manifest."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "manifest_version" not in manifest:
        return None
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict):
        return None
    known = {*outputs, "manifest.json", *SYSTEM_LITTER}
    return sorted(p.name for p in folder.iterdir() if p.name not in known)


OTHER_QUARTER = (
    "out (--out) {path}: holds the cohort as of {found}, not {as_of}; overwrite (--overwrite) "
    "replaces a run of the same as-of date only, since this one's offers ledger is what the "
    "next quarter's previous (--previous) reads; expected the folder of the {as_of} run, or a "
    "new one"
)


def run_as_of(folder: Path) -> str | None:
    """The as-of date (ISO) in the manifest of a cohort folder, or None if it has none."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = manifest.get("as_of") if isinstance(manifest, dict) else None
    return found if isinstance(found, str) else None


CHAIN_DROPPED = (
    "--overwrite: the run replaced in {path} read the run as of {previous} (--previous); "
    "this one reads none, so nobody is held back for an earlier offer and the offer chain "
    "starts again here"
)


def chain_dropped(folder: Path, previous: object) -> str | None:
    """The warning for replacing a run that read an earlier one by a run that reads none."""
    if previous is not None:
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        earlier = manifest["previous_offers"]["as_of"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return CHAIN_DROPPED.format(path=folder, previous=earlier)


def cohort_run_of(as_of: str) -> Replaceable:
    """What --overwrite may replace: last run's cohort as of ``as_of`` (ISO date), never a
    folder that is not one."""
    return Replaceable(
        owns=lambda folder: is_cohort_run(folder) and run_as_of(folder) == as_of,
        what=f"a cohort folder an earlier `riskstrat score` wrote as of {as_of}",
        strangers=lambda folder: _not_written(folder) or [],
    )


def run_line(manifest: dict, out: Path, model_given: object) -> str:
    """One line for a batch log: where the cohort went and which model scored it (the
    registered version an alias named, or the bundle folder given)."""
    model = manifest["model"]
    registered = model.get("registered")
    which = (
        f"registered model {registered['name']} version {registered['version']} ({model_given})"
        if registered
        else f"the bundle {model_given}"
    )
    return f"wrote {out}: scored by {which}, bundle sha256 {model['sha256']}"

"""Check a cohort folder against its manifest: the outputs, and the inputs and model it names.

An auditor (or the next quarter's operator) asks whether the cohort in hand is the one
the run wrote, from the data and the model its manifest says. The manifest records every
output's sha256, each input file's sha256 and row count, and the bundle's sha256; this
recomputes them. The manifest itself is covered by nothing inside the folder, so its own
sha256 is given, to be kept beside the cohort's sign-off, and its content is checked against
itself and the outputs (``_verify_manifest``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from riskstrat._provenance import code_sha256
from riskstrat.scoring._errors import ScoringConfigError
from riskstrat.scoring._manifest import _input_paths, _not_written
from riskstrat.scoring._verify_manifest import manifest_problems
from riskstrat.scoring._write import sha256_file

NOT_A_COHORT = (
    "{folder}: {problem}; expected a folder riskstrat score wrote (a manifest.json listing "
    "its outputs)"
)


@dataclasses.dataclass(frozen=True)
class CohortCheck:
    """What :func:`verify_cohort` found.

    Attributes
    ----------
    folder : Path
    as_of : str
        The cohort's as-of date, from its manifest.
    manifest_sha256 : str
        sha256 of ``manifest.json`` itself, which no file in the folder covers.
    outputs : int
        Outputs the manifest lists (all checked).
    inputs, model, rejected : bool
        Whether the inputs, the model and the rejected rows were checked (given).
    problems : list of str
        Each difference, one line each: a changed, missing or unlisted output; a manifest
        disagreeing with itself or its outputs; a changed, missing or new input file; another
        model. Empty when everything checked matches.
    notes : list of str
        What could not be checked and is no difference (a manifest from before riskstrat
        recorded the rejected rows).
    code_differs : bool
        The installed riskstrat's code sha256 is not the one that wrote the cohort (a
        note: re-running with the same inputs may then give other bytes).
    """

    folder: Path
    as_of: str
    manifest_sha256: str
    outputs: int
    inputs: bool
    model: bool
    rejected: bool
    problems: list[str]
    notes: list[str]
    code_differs: bool

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_cohort(
    folder: str | Path,
    data_dir: str | Path | None = None,
    model: str | Path | None = None,
    rejected_dir: str | Path | None = None,
) -> CohortCheck:
    """Recompute a cohort folder's checksums against its manifest.

    Parameters
    ----------
    folder : str or Path
        A cohort folder ``riskstrat score`` wrote.
    data_dir : str or Path, optional
        The data the run read: each input file's sha256 is compared with the manifest's
        (a file added to or missing from the folder counts too).
    model : str or Path, optional
        A bundle folder: verified (:meth:`ModelBundle.load`) and its sha256 compared with
        the one that scored the cohort.
    rejected_dir : str or Path, optional
        The run's ``--rejected-dir``: each ``<table>.parquet``'s sha256 against the
        manifest's ``rejected_files``.

    Returns
    -------
    CohortCheck

    Raises
    ------
    ScoringConfigError
        ``folder`` holds no scoring manifest, or a place given is not there (``model``
        no bundle folder). A bundle failing its own checks is a difference.
    """
    folder = Path(folder)
    manifest = _manifest(folder)
    _check_given(data_dir, model, rejected_dir)
    problems, intact = _output_problems(folder, manifest["outputs"])
    problems += manifest_problems(folder, manifest, intact)
    if data_dir is not None:
        problems += _input_problems(Path(data_dir), manifest.get("inputs") or {})
    notes: list[str] = []
    recorded = manifest.get("rejected_files")
    if rejected_dir is not None and recorded is None:
        notes.append(
            f"rejected {rejected_dir}: not checked, the manifest records no rejected "
            "files (a run without --rejected-dir, or one older than the record)"
        )
    elif rejected_dir is not None:
        problems += _rejected_problems(Path(rejected_dir), recorded)
    if model is not None:
        problems += _model_problems(Path(model), (manifest.get("model") or {}).get("sha256"))
    return CohortCheck(
        folder=folder,
        as_of=str(manifest.get("as_of")),
        manifest_sha256=sha256_file(folder / "manifest.json"),
        outputs=len(manifest["outputs"]),
        inputs=data_dir is not None,
        model=model is not None,
        rejected=rejected_dir is not None and recorded is not None,
        problems=problems,
        notes=notes,
        code_differs=manifest.get("riskstrat_code_sha256") != code_sha256(),
    )


def _check_given(data_dir: object, model: object, rejected_dir: object) -> None:
    """A place given that is not there is a slip in the command (exit 2), not a difference:
    a scheduler reads exit 1 as a changed cohort."""
    from riskstrat.modeling._bundle_files import CHECKSUMS_FILE

    if data_dir is not None and not Path(str(data_dir)).exists():
        raise ScoringConfigError(f"data (--data) {data_dir}: no such folder or file")
    if model is not None and not (Path(str(model)) / CHECKSUMS_FILE).is_file():
        raise ScoringConfigError(
            f"model (--model) {model}: not a bundle folder (no {CHECKSUMS_FILE}); expected "
            "a folder riskstrat train or riskstrat models export wrote (a registered model: "
            "riskstrat models export NAME@champion --out DIR first)"
        )
    if rejected_dir is not None and not Path(str(rejected_dir)).is_dir():
        raise ScoringConfigError(f"rejected_dir (--rejected-dir) {rejected_dir}: no such folder")


def _model_problems(model: Path, recorded: object) -> list[str]:
    """The bundle failing its own checks, or another bundle than the one that scored."""
    from riskstrat.modeling import BundleError, ModelBundle

    try:
        actual = ModelBundle.load(model).sha256
    except BundleError as exc:  # one difference among the others, not the end of the check
        return [f"model {model}: {exc}"]
    if actual == recorded:
        return []
    was = "not recorded" if recorded is None else recorded
    return [f"model {model}: bundle sha256 {actual}, the cohort's was {was}"]


def _manifest(folder: Path) -> dict:
    if not folder.is_dir():
        problem = "a file, not a folder" if folder.exists() else "no such folder"
        raise ScoringConfigError(NOT_A_COHORT.format(folder=folder, problem=problem))
    path = folder / "manifest.json"
    if path.exists() and not path.is_file():
        problem = "manifest.json is not a file"
        raise ScoringConfigError(NOT_A_COHORT.format(folder=folder, problem=problem))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        manifest = None
    except ValueError as exc:
        problem = f"manifest.json is not JSON ({exc})"
        raise ScoringConfigError(NOT_A_COHORT.format(folder=folder, problem=problem)) from exc
    outputs = manifest.get("outputs") if isinstance(manifest, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        problem = "manifest.json lists no outputs" if manifest is not None else "no manifest.json"
        raise ScoringConfigError(NOT_A_COHORT.format(folder=folder, problem=problem))
    return manifest


def _output_problems(folder: Path, outputs: dict) -> tuple[list[str], set[str]]:
    """The differences, and the outputs whose sha256 matched."""
    problems, intact = [], set()
    for name, expected in sorted(outputs.items()):
        path = folder / name
        # A run writes plain files into its folder: a name reaching elsewhere, or a link,
        # would let the folder vouch for bytes it does not hold.
        if Path(name).name != name or name in ("", ".", ".."):
            problems.append(f"{name}: not a file name of the folder; the manifest is not a run's")
        elif path.is_symlink():
            problems.append(f"{name}: a symbolic link, not a file the run wrote")
        elif not path.is_file():
            problems.append(f"{name}: missing; the manifest records sha256 {expected}")
        elif (actual := sha256_file(path)) != expected:
            problems.append(f"{name}: sha256 {actual}, the manifest records {expected}")
        else:
            intact.add(name)
    # What replacing a cohort folder checks too: anything beside the outputs it lists.
    problems += [
        f"{name}: not written by the run (the manifest does not list it)"
        for name in _not_written(folder) or []
    ]
    return problems, intact


def _input_problems(data_dir: Path, recorded: dict) -> list[str]:
    # Hashed, not read: a damaged file is a changed input, not a reader's error.
    try:
        paths = {data_dir.name: data_dir} if data_dir.is_file() else _input_paths(data_dir)
    except ValueError as exc:  # a table stored twice, an empty table folder: not as read
        return [f"data {data_dir}: {exc}"]
    problems = [
        f"input {name}: a symbolic link; a run reads no table behind one"
        for name, path in sorted(paths.items())
        if path.is_symlink()
    ]
    for name in sorted(set(recorded) | set(paths)):
        was = recorded.get(name)
        if name not in paths:
            problems.append(f"input {name}: missing from {data_dir}; the run read it")
        elif was is None:
            problems.append(f"input {name}: in {data_dir}, but the run did not read it")
        elif (now := sha256_file(paths[name])) != was.get("sha256"):
            problems.append(f"input {name}: sha256 {now}, the run read {was.get('sha256')}")
    return problems


def _rejected_problems(folder: Path, recorded: dict) -> list[str]:
    found = {p.name: p for p in folder.glob("*.parquet")} if folder.is_dir() else {}
    problems = []
    for name in sorted(set(recorded) | set(found)):
        if name not in found:
            problems.append(f"rejected {name}: missing from {folder}; the run wrote it")
        elif name not in recorded:
            problems.append(f"rejected {name}: in {folder}, but not written by the run")
        elif (actual := sha256_file(found[name])) != recorded[name]:
            problems.append(f"rejected {name}: sha256 {actual}, the run wrote {recorded[name]}")
    return problems

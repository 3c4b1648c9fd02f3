"""``riskstrat models``: the model registry (list, promote, export, verify)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from riskstrat._commands._app import EXIT_DATA, EXIT_USAGE, app

models_app = typer.Typer(
    help="Model bundles in the MLflow registry (embedded sqlite by default): list, promote, "
    "export and verify. The tracking URI comes from --tracking-uri, then MLFLOW_TRACKING_URI, "
    "then model.tracking.tracking_uri in configs/model.yaml (as for riskstrat score), then "
    "sqlite:///mlruns.db in the working directory.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

_TRACKING_URI_HELP = (
    "MLflow tracking URI (default: $MLFLOW_TRACKING_URI, then model.tracking.tracking_uri "
    "in configs/model.yaml, then sqlite:///mlruns.db)."
)


def _project_tracking() -> object:
    """configs/model.yaml's tracking section; an invalid file is a usage error (exit 2)."""
    from riskstrat._config import ConfigError
    from riskstrat.modeling._model_config import configured_tracking

    try:
        return configured_tracking()
    except ConfigError as exc:
        raise _models_fail(exc) from exc


def _models_fail(exc: Exception) -> typer.Exit:
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.markup import escape

    from riskstrat.modeling import BundleError, BundleOutputError
    from riskstrat.modeling._tracking_uri import masked, refusal

    # MLflow's own refusal (a store of another schema version, a server that is not
    # MLflow's) in its words, as score says it: a usage error, not a traceback.
    refused_by_mlflow = isinstance(exc, MlflowException)
    # MLflow's words may hold the tracking URI, password and all.
    text = (
        f"the model registry refused the request: {refusal(exc)}"
        if refused_by_mlflow
        else masked(str(exc))
    )
    # Paths and names may hold brackets, which rich would read as markup.
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(text)}", highlight=False)
    # A refused bundle (tampered, missing file) is a data failure; a bad reference or an
    # --out that is taken is usage, as for every command.
    refused = isinstance(exc, BundleError) and not isinstance(exc, BundleOutputError)
    return typer.Exit(EXIT_DATA if refused else EXIT_USAGE)


@models_app.command("list")
def models_list(
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """List registered model versions: version, aliases (champion, challenger), kind, test quarter, the model's AUROC and ECE on it, the bundle's sha256 (first 8 digits) and when it was registered.

    AUROC and ECE come from each version's own training run. Versions tested on different quarters are not comparable by them; retrain the champion's configuration on the new data for a like-for-like comparison.
    """
    from mlflow.exceptions import MlflowException
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from riskstrat.modeling import TrackingError, list_models, resolve_tracking_uri
    from riskstrat.modeling._tracking import sqlite_database

    tracking = _project_tracking()
    # Opening a sqlite store creates it: listing must leave a folder as it was.
    uri = resolve_tracking_uri(tracking_uri, tracking)
    database = sqlite_database(uri)
    if database is not None and not database.exists():
        # Exit 2, as score and promote: a pre-flight `models list` in a job must catch a
        # mistyped store, which an empty listing and exit 0 would pass.
        raise _models_fail(
            TrackingError(
                f"no model registry at {database.resolve()} (tracking URI {uri}); expected "
                "an existing store (none is created by looking)"
            )
        )

    try:
        frame = list_models(tracking_uri=tracking_uri, config=tracking)
    except (TrackingError, MlflowException) as exc:
        raise _models_fail(exc) from exc
    if frame.empty:
        Console().print("No registered models.")
        return
    console = Console()
    for name, versions in frame.groupby("name", sort=True):
        # One outcome per registered name is the rule (riskstrat-<outcome>): then it goes in
        # the title and the table fits an 80-column terminal.
        outcomes = versions["outcome"].unique()
        one = len(outcomes) == 1
        title = f"{name} (outcome {outcomes[0]})" if one and outcomes[0] else name
        table = Table(
            title=title,
            caption=LIST_CAPTION,
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 1, 0, 0),
        )
        columns = ["version", "aliases", *([] if one else ["outcome"]), "kind", "test as-of"]
        for column in [*columns, "AUROC", "ECE", "sha256", "created"]:
            table.add_column(column, justify="right" if column in ("AUROC", "ECE") else "left")
        for row in versions.itertuples(index=False):
            table.add_row(
                str(row.version),
                row.aliases.replace(",", ", "),
                *([] if one else [row.outcome]),
                row.kind,
                row.test_as_of or "-",
                _figure(row.auroc),
                _figure(row.ece),
                row.bundle_sha256[:8],
                f"{row.created:%Y-%m-%d}",
            )
        console.print(table)


LIST_CAPTION = (
    "AUROC and ECE: the model on its test quarter, from the version's training run "
    "(riskstrat train prints them with intervals and the baselines)."
)


def _figure(value: float) -> str:
    return "-" if value != value else f"{value:.3f}"  # NaN: not logged, or the run deleted


@models_app.command("promote")
def models_promote(
    name: str = typer.Argument(
        ...,
        help="Registered model name, riskstrat-<outcome>, e.g. riskstrat-composite_adverse (`riskstrat models list` shows them).",
    ),
    version: int = typer.Argument(..., help="Model version to make the champion."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """Make VERSION of model NAME the champion (it stops being the challenger).

    The version's bundle is verified first: a changed or missing file refuses the promotion (exit 1), as does a version predicting another outcome than the champion's (exit 2). To step back, promote the version to return to.

    Warns when a baseline (the rule or the single feature) ranked that version's test quarter better than the model did, as its training run found; the promotion still happens. Scoring jobs that name NAME@champion score this version from their next run.
    """
    from mlflow.exceptions import MlflowException
    from rich.console import Console

    from riskstrat.modeling import BundleError, TrackingError, promote

    tracking = _project_tracking()
    try:
        previous = promote(name, version, tracking_uri=tracking_uri, config=tracking)
    except (TrackingError, BundleError, MlflowException) as exc:
        raise _models_fail(exc) from exc
    if previous == str(version):
        Console().print(f"{name}: version {version} was already champion.", highlight=False)
        return
    was = f" (was version {previous})" if previous else ""
    Console().print(f"{name}: version {version} is now champion{was}.", highlight=False)


@models_app.command("export")
def models_export(
    ref: str = typer.Argument(
        ...,
        help="champion, challenger, NAME@ALIAS, NAME/VERSION, a version number or a bundle folder.",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the bundle to, e.g. models/NAME."),
    name: str | None = typer.Option(
        None, "--name", help="Registered model name for a bare alias or version."
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an existing bundle folder (never a folder that is not a bundle).",
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """Export a registered model as a verified, pickle-free bundle folder."""
    from mlflow.exceptions import MlflowException
    from rich.console import Console

    from riskstrat._os_errors import unusable_path
    from riskstrat.modeling import BundleError, TrackingError
    from riskstrat.modeling._tracking_registry import exported

    tracking = _project_tracking()
    try:
        bundle, registered = exported(
            ref,
            out,
            tracking_uri=tracking_uri,
            model_name=name,
            overwrite=overwrite,
            config=tracking,
        )
    except (TrackingError, BundleError, MlflowException) as exc:
        raise _models_fail(exc) from exc
    except OSError as exc:  # an --out inside a file, or where this account may not write
        refused = unusable_path(exc) or (
            f"--out {out}: {exc.strerror or exc}; expected a folder path under folders this "
            "account can write"
        )
        raise _models_fail(OSError(refused)) from exc
    source = (
        "" if registered is None else f"registered model {registered[0]} version {registered[1]}, "
    )
    Console(soft_wrap=True).print(f"Exported {source}{bundle!r} to {out}.", highlight=False)


@models_app.command("verify")
def models_verify(
    path: Path = typer.Argument(..., help="A bundle folder, e.g. models/NAME."),
    sha256: str | None = typer.Option(None, "--sha256", help="Expected bundle sha256."),
) -> None:
    """Check a bundle folder's checksums and consistency, and print what it holds.

    Exit 0 when the bundle verifies (and matches --sha256 if given), 1 when it does not: a
    file changed, missing or added, or another bundle's hash; 2 when the folder is not there
    or --sha256 is not 64 hex digits.
    """
    from rich.console import Console
    from rich.markup import escape

    from riskstrat.modeling import BundleError, ModelBundle

    # As score's --model-sha256: a hash in either case; a malformed one or a folder that is
    # not there is a slip in the runbook (exit 2), not a changed bundle (exit 1).
    if sha256 is not None and re.fullmatch(r"[0-9a-fA-F]{64}", sha256) is None:
        raise _models_fail(ValueError(f"--sha256: expected 64 hex digits, got {sha256!r}"))
    if not path.is_dir():
        raise _models_fail(FileNotFoundError(f"{path}: no such bundle folder"))
    try:
        bundle = ModelBundle.load(path, expected_sha256=None if sha256 is None else sha256.lower())
    except BundleError as exc:
        # One line however long (no wrapping), and brackets in paths or feature lists
        # printed as they are rather than read as rich markup.
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error:[/red] {escape(str(exc))}", highlight=False
        )
        raise typer.Exit(EXIT_DATA) from exc
    # A bundle's own version label only when it has one: the sha256 prefix it falls back to
    # reads like a registry version number.
    label = bundle.metadata.get("version")
    # One line however long: a runbook copies the sha256 into --model-sha256.
    Console(soft_wrap=True).print(
        f"OK {path}: kind={bundle.kind} outcome={bundle.outcome} "
        f"features={len(bundle.features)} calibration={bundle.calibration_method} "
        + (f"label={label} " if label else "")
        + f"sha256={bundle.sha256}",
        highlight=False,
    )
    for line in _provenance_lines(bundle.metadata):
        Console(soft_wrap=True).print(f"  {line}", highlight=False, markup=False)


def _provenance_lines(meta: Mapping[str, Any]) -> list[str]:
    """What an auditor checks before trusting a bundle: when it learnt, how it tested, and
    the software that trained it (each only when the metadata records it)."""
    lines = []
    split = meta.get("split") or {}
    if split.get("test_as_of"):
        lines.append(
            f"trained on as-of {', '.join(split.get('train_as_of', []))}; calibrated on "
            f"{', '.join(split.get('calibration_as_of', []))}; tested on {split['test_as_of']} "
            f"(horizon {split.get('horizon_months')} months, data end {split.get('data_end')})"
        )
    metrics = meta.get("metrics") or {}
    shown = [f"{m} {metrics[m]:.3f}" for m in ("auroc", "ece") if isinstance(metrics.get(m), float)]
    if shown:
        lines.append(
            "test quarter: " + ", ".join(shown) + " (riskstrat train's report has intervals)"
        )
    packages = dict(meta.get("packages") or {})
    if packages:
        code = packages.pop("riskstrat_code_sha256", None)
        software = ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))
        lines.append(
            f"trained with {software}" + (f" (riskstrat code sha256 {code[:12]})" if code else "")
        )
    return lines

"""``riskstrat cohorts``: check a cohort folder against its manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._commands._app import EXIT_DATA, EXIT_USAGE, app

cohorts_app = typer.Typer(
    help="Cohort folders riskstrat score wrote: verify one against its manifest.",
    no_args_is_help=True,
)
app.add_typer(cohorts_app, name="cohorts")


@cohorts_app.command("verify")
def cohorts_verify(
    folder: Path = typer.Argument(..., help="A cohort folder, e.g. cohorts/2025Q4."),
    data: Path | None = typer.Option(
        None, "--data", help="The data the run read: each input file's sha256 is checked too."
    ),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="A bundle folder (e.g. one riskstrat models export wrote): verified, and its "
        "sha256 checked against the one that scored the cohort.",
    ),
    rejected_dir: Path | None = typer.Option(
        None,
        "--rejected-dir",
        help="The run's --rejected-dir: each file's sha256 checked against the manifest.",
    ),
) -> None:
    """Check that a cohort folder is what its run wrote: every output's sha256, nothing added, and (when given) the inputs, the model and the rejected rows its manifest names.

    Prints the manifest's own sha256, which no file in the folder covers: keep it with the cohort's sign-off. Exit 0 when everything checked matches; 1 when an output, input, rejected file or the model differs, or the bundle fails its own checks (each listed); 2 when the folder is no cohort, or --data, --model (a bundle folder: export a registered model first) or --rejected-dir is not there.
    """
    from rich.console import Console
    from rich.markup import escape

    from riskstrat.modeling import BundleError
    from riskstrat.scoring import ScoringConfigError
    from riskstrat.scoring._verify import verify_cohort

    err = Console(stderr=True, soft_wrap=True)
    try:
        check = verify_cohort(folder, data, model, rejected_dir)
    except ScoringConfigError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except BundleError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_DATA) from exc
    out = Console(soft_wrap=True)
    checked = [f"{check.outputs} outputs"]
    checked += ["the inputs"] if check.inputs else []
    checked += ["the model"] if check.model else []
    checked += ["the rejected rows"] if check.rejected else []
    verdict = "OK" if check.ok else "CHANGED"
    out.print(
        f"{verdict} {folder} (as of {check.as_of}): checked {', '.join(checked)}; manifest "
        f"sha256 {check.manifest_sha256}",
        highlight=False,
        markup=False,
    )
    for problem in check.problems:
        out.print(f"  {problem}", highlight=False, markup=False)
    for note in check.notes:
        out.print(f"  note: {note}", highlight=False, markup=False)
    if check.code_differs:
        out.print(
            "  note: the installed riskstrat's code is not the code that wrote it (its "
            "riskstrat_code_sha256); a re-run may give other bytes",
            highlight=False,
            markup=False,
        )
    if not check.ok:
        raise typer.Exit(EXIT_DATA)

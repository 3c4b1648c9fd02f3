"""Where a cohort's rejected rows may go: beside ``--out``, never inside it (it is written
whole), and never over the rows another run set aside."""

from __future__ import annotations

from pathlib import Path

from riskstrat.scoring._errors import ScoringConfigError

REJECTED_IN_OUT = (
    "rejected_dir (--rejected-dir) {rejected} is inside out (--out) {out}, which is written "
    "whole and holds the cohort's outputs only; expected a folder beside it, such as "
    "{out}-rejected"
)

REJECTED_HELD = (
    "rejected_dir (--rejected-dir) {rejected} holds rows a run set aside ({held}), which "
    "this run would replace; expected a folder of this cohort's own, such as {out}-rejected, "
    "or --overwrite to replace them"
)


def check_rejected_beside(out: Path, rejected_dir: object, *, overwrite: bool) -> None:
    """Refuse a ``--rejected-dir`` inside ``out``, or one holding rows a run set aside
    (unless ``overwrite``): a folder shared by the quarters lost each quarter's rejected
    rows to the next, without a word."""
    rejected = Path(str(rejected_dir)).resolve()
    if Path(out).resolve() in (rejected, *rejected.parents):
        raise ScoringConfigError(REJECTED_IN_OUT.format(rejected=rejected_dir, out=out))
    held = sorted(p.name for p in rejected.glob("*.parquet")) if rejected.is_dir() else []
    if held and not overwrite:
        raise ScoringConfigError(
            REJECTED_HELD.format(rejected=rejected_dir, held=", ".join(held), out=out)
        )

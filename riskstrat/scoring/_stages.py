"""The scorer's stages: a progress bar over them, and the wall time of each."""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Iterator

from riskstrat._signals import check_stopped

STAGES: tuple[str, ...] = (
    "configs",
    "model",
    "validate",
    "features",
    "eligibility",
    "risk",
    "selection",
    "explanations",
    "write",
)


def _console(console_class: type) -> object:
    """A console on stderr; in a notebook without ipywidgets, a plain one.

    rich draws live bars in Jupyter through ipywidgets, and without them warned at every
    refresh (15 warnings a run) and drew nothing; a plain console prints the bar once, at
    the end.
    """
    console = console_class(stderr=True)
    if console.is_jupyter and importlib.util.find_spec("ipywidgets") is None:
        console = console_class(stderr=True, force_jupyter=False)
    return console


class _Stages:
    """Progress bar (rich) over the named stages, recording each stage's wall time."""

    def __init__(self, show: bool) -> None:
        self.timings: dict[str, float] = {}
        self._progress = None
        if show:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<24}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                # stderr: stdout stays for the summary, so cron can capture one or the other.
                console=_console(Console),
                transient=False,
            )
            self._task = self._progress.add_task("scoring", total=len(STAGES))

    def __enter__(self) -> _Stages:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        check_stopped()  # a stop a callback swallowed ends the run here, not at its end
        if self._progress is not None:
            self._progress.update(self._task, description=f"scoring: {name}")
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        if self._progress is not None:
            self._progress.advance(self._task)

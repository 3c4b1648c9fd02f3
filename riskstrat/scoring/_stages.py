"""The scorer's stages: a progress bar over them, and the wall time of each."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

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
                console=Console(stderr=True),
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
        if self._progress is not None:
            self._progress.update(self._task, description=f"scoring: {name}")
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        if self._progress is not None:
            self._progress.advance(self._task)

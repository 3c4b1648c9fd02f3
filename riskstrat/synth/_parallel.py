"""Run independent, separately seeded work units on a few threads, results in input order.

NumPy releases the GIL in its array loops and random fills, so two threads use the two
cores of a small machine. Every unit draws from its own seeded generator and results are
returned in input order: the output does not depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
THREADS_ENV = "RISKSTRAT_SYNTH_THREADS"


def n_threads() -> int:
    """Threads to use: ``$RISKSTRAT_SYNTH_THREADS`` or min(2, CPUs)."""
    if os.environ.get(THREADS_ENV):
        return max(1, int(os.environ[THREADS_ENV]))
    return max(1, min(2, os.cpu_count() or 1))


def ordered_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, on ``n_threads()`` threads, in input order."""
    items = list(items)
    workers = n_threads()
    if workers == 1 or len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))

"""DuckDB settings a caller passes (threads, memory limit, batches), checked before any
data is read: DuckDB's own refusal would come after validation, as a SQL error."""

from __future__ import annotations

from numbers import Integral

import duckdb

BAD_MEMORY_LIMIT = (
    "memory_limit: expected a size DuckDB reads, such as 2GB, 512MB or 80%, got {value!r}"
)
BAD_BATCHES = "batches: expected a whole number of at least 1, got {value!r}"
BAD_THREADS = "threads: expected a whole number of at least 1, got {value!r}"


def check_memory_limit(value: object) -> str:
    """``value`` if DuckDB takes it as a memory limit (``2GB``, ``80%``), else ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(BAD_MEMORY_LIMIT.format(value=value))
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{value.replace(chr(39), chr(39) * 2)}'")
    except duckdb.Error:
        raise ValueError(BAD_MEMORY_LIMIT.format(value=value)) from None
    finally:
        con.close()
    return value


def check_engine_settings(threads: object, memory_limit: object, batches: object) -> None:
    """Raise ValueError naming the first setting DuckDB would refuse."""
    if not _whole_at_least_one(threads):
        raise ValueError(BAD_THREADS.format(value=threads))
    check_memory_limit(memory_limit)
    if batches is not None and not _whole_at_least_one(batches):
        raise ValueError(BAD_BATCHES.format(value=batches))


def _whole_at_least_one(value: object) -> bool:
    # numpy's integers are whole numbers too; True is not a count.
    return isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= 1

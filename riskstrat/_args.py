"""Arguments of the Python API checked where they arrive, so a slip reads as itself.

A DataFrame passed where a path goes (arguments swapped, say) failed deep in pathlib:
"expected str, bytes or os.PathLike object, not DataFrame".
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

NOT_A_PATH = "{name}: expected {expected}, got a {kind}"
NOT_A_FRAME = "{name}: expected a pandas DataFrame, got a {kind}"


def as_path(value: object, name: str, expected: str = "a path (str or Path)") -> Path:
    """``value`` as a Path, or a TypeError naming the argument and what it takes."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError(NOT_A_PATH.format(name=name, expected=expected, kind=type(value).__name__))
    return Path(value)


def check_frame(value: object, name: str) -> pd.DataFrame:
    """``value`` if it is a DataFrame, else a TypeError naming the argument."""
    if not isinstance(value, pd.DataFrame):
        raise TypeError(NOT_A_FRAME.format(name=name, kind=type(value).__name__))
    return value

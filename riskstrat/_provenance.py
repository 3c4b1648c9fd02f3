"""What code and libraries made an output: shared by model bundles and cohort manifests."""

from __future__ import annotations

import hashlib
import platform
from importlib.metadata import version
from pathlib import Path

# The libraries the bytes depend on: the SQL engine, the readers and the model.
PACKAGES = ("duckdb", "lightgbm", "numpy", "pandas", "pyarrow", "scikit-learn")


def code_sha256() -> str:
    """sha256 over riskstrat's own source files (their paths and bytes, in path order): two
    runs with the same digest ran the same code, whatever version string it carries."""
    import riskstrat

    root = Path(riskstrat.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Python's and each of ``PACKAGES``' version: the same inputs give the same bytes on
    the same versions, and an audit can tell which."""
    return {"python": platform.python_version(), **{p: version(p) for p in PACKAGES}}

"""riskstrat: risk stratification and eligibility scoring for county health and social services."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskstrat")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]

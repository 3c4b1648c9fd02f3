"""What a scoring run raises, and the exit code ``riskstrat score`` gives each."""

from __future__ import annotations

EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_MODEL = 3


class ScoringError(RuntimeError):
    """A scoring run failed; ``exit_code`` is what ``riskstrat score`` exits with."""

    exit_code = EXIT_DATA


class ScoringDataError(ScoringError):
    """The input data is missing or breaks the data contract (exit code 1)."""

    exit_code = EXIT_DATA


class TablesRejectedError(ScoringDataError):
    """A table quarantine rejected whole or mostly (exit code 1): its rejected rows,
    written to ``--rejected-dir``, say why, so they are kept though no cohort is."""


class ScoringConfigError(ScoringError):
    """A configuration or option is invalid, or the output folder exists (exit code 2)."""

    exit_code = EXIT_USAGE


def registry_refused(exc: Exception) -> ScoringConfigError:
    """MLflow's refusal of a registry lookup, in its words with any password masked (they
    may name the tracking URI): a usage error, as a mistyped store is."""
    from riskstrat.modeling._tracking_uri import refusal

    return ScoringConfigError(f"model registry: {refusal(exc)}")


class ModelVerificationError(ScoringError):
    """The model fails its checksums, its pin or its consistency checks (exit code 3).

    A model that is not there is a :class:`ScoringConfigError`: a typo, not tampering.
    """

    exit_code = EXIT_MODEL

"""``configs/model.yaml`` as frozen dataclasses, checked at load time.

The model kind is a ``Literal`` of the fixed lookup table in
:mod:`riskstrat.modeling._estimators`; a kind that is not in the table fails at load
with its dotted path (``model.kind``), never by importing a class named in the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from riskstrat._config import (
    ConfigError,
    ConfigNotFoundError,
    ReadOnlyMap,
    config_error,
    default_config_path,
    load_config,
)
from riskstrat.data._codes import PROGRAMS
from riskstrat.modeling._param_ranges import check_ranges
from riskstrat.modeling._plain_config import merged, plain_config

ModelKind = Literal["lightgbm", "logistic", "rule", "single_feature"]
BaselineKind = Literal["rule", "single_feature"]
ROOT = "model"
_SOURCE_FILE = "_riskstrat_source_file"

BAD_FEATURE_NAME = "feature name {name!r} must be lower_snake_case"
SENSITIVE_SELECTED = (
    "feature {name!r} {what}; it may be a model input only with use_sensitive_features: true"
)
PROTECTED_ATTRIBUTES: tuple[str, ...] = ("race_ethnicity", "sex")
# What the evaluation may also report by: coded persons columns and the age band.
AUDIT_GROUPS: tuple[str, ...] = ("age_band", "spa", "sex", "race_ethnicity")
# Features that stand for a protected attribute, withheld with it. A pregnancy diagnosis is
# recorded for women only, and California counts pregnancy as sex (Government Code 12926,
# applied to state-funded programmes by 11135).
PROTECTED_PROXIES: tuple[str, ...] = ("is_pregnant",)
PROTECTED_DROPPED = (
    "must list {missing}: a config may add sensitive attributes, never drop these "
    "(to use them as inputs set use_sensitive_features: true); got {got}"
)
PROXY_DROPPED = (
    "must list {missing}: a config may add features that stand for a sensitive attribute, "
    "never drop these (to use them as inputs set use_sensitive_features: true); got {got}"
)
BAD_OUTCOME_NAME = "outcome name {name!r} must be lower_snake_case"
BAD_PROBABILITY = "expected a number in (0, 1), got {value!r}"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class LightGBMParams:
    """Hyperparameters of ``lightgbm.LGBMClassifier`` (a fixed, documented subset)."""

    n_estimators: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 100
    subsample: float = 0.8
    subsample_freq: int = 1
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    max_bin: int = 255
    n_jobs: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, f"{ROOT}.lightgbm")


@dataclasses.dataclass(frozen=True)
class LogisticParams:
    """StandardScaler + L2 ``LogisticRegression`` (missing values median-imputed first)."""

    C: float = 1.0
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_ranges(self, f"{ROOT}.logistic")


@dataclasses.dataclass(frozen=True)
class SplitConfig:
    """Temporal split settings (see :mod:`riskstrat.modeling._timechop`).

    ``data_end`` None means: the day after the latest event date in the data.
    ``first_as_of`` None means: the first quarter start at least ``min_history_days``
    after the earliest event date, so that lookback features have history.
    """

    horizon_months: int = 12
    n_test: int = 1
    test_step_quarters: int = 1
    n_calibration: int = 1
    n_train: int | None = 4
    data_end: dt.date | None = None
    first_as_of: dt.date | None = None
    min_history_days: int = 365

    def __post_init__(self) -> None:
        # Checked here too for a config changed by dataclasses.replace, which skips the loader.
        for name in ("horizon_months", "n_test", "test_step_quarters", "n_calibration"):
            if not _whole_at_least_one(getattr(self, name)):
                raise config_error(
                    f"{ROOT}.split.{name}",
                    f"expected a whole number >= 1, got {getattr(self, name)!r}",
                )
        if self.n_train is not None and not _whole_at_least_one(self.n_train):
            raise config_error(
                f"{ROOT}.split.n_train",
                f"expected a whole number >= 1 or null, got {self.n_train!r}",
            )
        first = self.first_as_of
        if first is not None and (first.day != 1 or first.month not in (1, 4, 7, 10)):
            # The panel's as-of dates are quarter starts: another day would be moved to the
            # next one without a word.
            raise config_error(
                f"{ROOT}.split.first_as_of",
                f"expected a quarter start (YYYY-01-01, -04-01, -07-01 or -10-01) or null, "
                f"got {first}",
            )


def _whole_at_least_one(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclasses.dataclass(frozen=True)
class MetricsConfig:
    """Evaluation settings.

    ``capacities`` are the k of precision / recall at k per programme and test quarter;
    with ``capacity_source: programs`` they come from ``configs/programs.yaml`` when it
    can be read (capacity per month x 3, per year / 4) and the mapping here is the
    fallback. ``capacity_scale`` multiplies them (e.g. for a synthetic county smaller
    than the population the capacities were set for).
    """

    # Percentile intervals rest on the resamples in their tails: 1,000 leaves 25 in each
    # 2.5% tail (200 left 5), the usual count for intervals that are published.
    n_bootstrap: int = 1000
    seed: int = 0
    ece_bins: int = 10
    confidence: float = 0.95
    capacity_source: Literal["programs", "config"] = "programs"
    capacity_programs: tuple[str, ...] = ("isr", "toc", "reentry", "rbc", "sud_ens", "fsp")
    capacities: dict[str, int] = dataclasses.field(
        default_factory=lambda: ReadOnlyMap({"isr": 255, "toc": 900})
    )
    capacity_scale: float = 1.0
    baselines: tuple[BaselineKind, ...] = ("rule", "single_feature")
    plots: bool = True
    # Reported by group besides the sensitive attributes, not withheld: any of
    # AUDIT_GROUPS (age_band is the age on the as-of date).
    audit_groups: tuple[str, ...] = ("age_band", "spa")

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0:
            raise config_error(f"{ROOT}.metrics.n_bootstrap", "expected a whole number >= 0")
        if self.ece_bins < 2:
            raise config_error(f"{ROOT}.metrics.ece_bins", "expected a whole number >= 2")
        if not 0 < self.confidence < 1:
            raise config_error(
                f"{ROOT}.metrics.confidence", BAD_PROBABILITY.format(value=self.confidence)
            )
        for name, k in self.capacities.items():
            # A typo's k was never used; a programme left out of capacity_programs may be.
            if name not in self.capacity_programs and name not in PROGRAMS:
                close = difflib.get_close_matches(name, self.capacity_programs, n=1)
                hint = f"did you mean {close[0]!r}, or " if close else ""
                raise config_error(
                    f"{ROOT}.metrics.capacities.{name}",
                    f"not in {ROOT}.metrics.capacity_programs {list(self.capacity_programs)}, "
                    f"so never used; {hint}add it there",
                )
            if k < 1:
                raise config_error(f"{ROOT}.metrics.capacities.{name}", "expected k >= 1")
        if self.capacity_scale <= 0:
            raise config_error(f"{ROOT}.metrics.capacity_scale", "expected a number > 0")
        for i, name in enumerate(self.audit_groups):
            # A fixed list: a column such as birth_date or person_id would make groups of
            # one, whose values the pooled group's name would then print.
            if name not in AUDIT_GROUPS:
                raise config_error(
                    f"{ROOT}.metrics.audit_groups[{i}]",
                    f"expected one of {list(AUDIT_GROUPS)}, got {name!r}",
                )


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking (see :mod:`riskstrat.modeling._tracking`)."""

    enabled: bool = False
    tracking_uri: str | None = None
    experiment: str = "riskstrat"
    registered_name: str | None = None
    artifact_dir: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The whole ``model:`` section of ``configs/model.yaml``.

    ``features`` None means every feature of the feature spec. Features named in
    ``sensitive_features`` or ``proxy_features`` (or prefixed ``<name>_``) are dropped
    unless ``use_sensitive_features`` is true, even when listed in ``features``.
    """

    outcome: str = "composite_adverse"
    kind: ModelKind = "lightgbm"
    calibration: Literal["isotonic", "sigmoid"] = "isotonic"
    seed: int = 0
    lightgbm: LightGBMParams = dataclasses.field(default_factory=LightGBMParams)
    logistic: LogisticParams = dataclasses.field(default_factory=LogisticParams)
    single_feature: str = "psych_inpatient_admissions_365d"
    features: tuple[str, ...] | None = None
    exclude_features: tuple[str, ...] = ()
    sensitive_features: tuple[str, ...] = PROTECTED_ATTRIBUTES
    proxy_features: tuple[str, ...] = PROTECTED_PROXIES
    use_sensitive_features: bool = False
    split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
    metrics: MetricsConfig = dataclasses.field(default_factory=MetricsConfig)
    tracking: TrackingConfig = dataclasses.field(default_factory=TrackingConfig)

    def __post_init__(self) -> None:
        if not _NAME.match(self.outcome):
            raise config_error(f"{ROOT}.outcome", BAD_OUTCOME_NAME.format(name=self.outcome))
        missing = [a for a in PROTECTED_ATTRIBUTES if a not in self.sensitive_features]
        if missing:
            # Otherwise emptying the list would make race and sex inputs while the run
            # still records use_sensitive_features: false.
            raise config_error(
                f"{ROOT}.sensitive_features",
                PROTECTED_DROPPED.format(missing=missing, got=list(self.sensitive_features)),
            )
        dropped = [p for p in PROTECTED_PROXIES if p not in self.proxy_features]
        if dropped:
            raise config_error(
                f"{ROOT}.proxy_features",
                PROXY_DROPPED.format(missing=dropped, got=list(self.proxy_features)),
            )
        for key in ("features", "exclude_features", "sensitive_features", "proxy_features"):
            for i, name in enumerate(getattr(self, key) or ()):
                if not _NAME.match(name):
                    raise config_error(f"{ROOT}.{key}[{i}]", BAD_FEATURE_NAME.format(name=name))
        if not _NAME.match(self.single_feature):
            raise config_error(
                f"{ROOT}.single_feature", BAD_FEATURE_NAME.format(name=self.single_feature)
            )
        if not self.use_sensitive_features:
            listed = [(f"{ROOT}.features[{i}]", name) for i, name in enumerate(self.features or ())]
            # The single-feature baseline is scored and reported too, so it is an input.
            listed.append((f"{ROOT}.single_feature", self.single_feature))
            for where, name in listed:
                if is_sensitive(name, self.withheld):
                    raise config_error(
                        where, SENSITIVE_SELECTED.format(name=name, what=self._what(name))
                    )

    def _what(self, name: str) -> str:
        """How a withheld feature is withheld: an attribute itself, or a stand-in for one."""
        if is_sensitive(name, self.sensitive_features):
            base = next(s for s in self.sensitive_features if is_sensitive(name, (s,)))
            return "is a sensitive attribute" if name == base else f"is derived from {base!r}"
        return "stands in for a sensitive attribute (model.proxy_features)"

    @property
    def withheld(self) -> tuple[str, ...]:
        """Sensitive attributes and the features standing for them: not inputs by default."""
        return (*self.sensitive_features, *self.proxy_features)

    def updated(self, changes: Mapping) -> ModelConfig:
        """This config with ``changes`` (nested as in ``configs/model.yaml``'s ``model:``
        section) laid over it, checked as a loaded file is.

        ``config.updated({"metrics": {"n_bootstrap": 50}})`` keeps every other setting;
        unlike ``dataclasses.replace``, a misspelled key or a wrong type is refused with
        its dotted name (``model.metrics.n_bootstraps``). Mappings are merged key by key,
        so an entry (of ``metrics.capacities``, say) cannot be removed this way: load a
        file or a whole mapping for that.
        """
        if not isinstance(changes, Mapping):
            raise TypeError(
                f"changes: expected a mapping nested as configs/model.yaml's model: section, "
                f"got a {type(changes).__name__}"
            )
        return load_model_config(merged(plain_config(self), changes))


def is_sensitive(name: str, sensitive: tuple[str, ...]) -> bool:
    """Whether a feature name is, or is derived from, a sensitive attribute."""
    return any(name == s or name.startswith(f"{s}_") for s in sensitive)


def protected_inputs(features: tuple[str, ...] | list[str]) -> list[str]:
    """The inputs of a model that are, derive from, or stand in for a protected attribute.

    Read from the feature names alone, so it holds for any bundle, including one trained
    before a proxy was withheld (``is_pregnant`` was an input until 2026-12-05).
    """
    return [f for f in features if is_sensitive(f, (*PROTECTED_ATTRIBUTES, *PROTECTED_PROXIES))]


def load_model_config(source: str | Path | Mapping | None = None) -> ModelConfig:
    """Load ``configs/model.yaml`` (or a mapping) into a :class:`ModelConfig`.

    Parameters
    ----------
    source : path, mapping or None
        A YAML file whose top-level key is ``model``, the mapping under that key, or
        None for the default ``configs/model.yaml``.

    Returns
    -------
    ModelConfig

    Raises
    ------
    riskstrat._config.ConfigError
        Naming the dotted key (``model.split.n_train``) of a wrong or unknown value, and
        the file when loaded from one.
    """
    from riskstrat._config import read_yaml

    if source is None:
        source = default_config_path("model.yaml")
    data = read_yaml(source) if isinstance(source, str | Path) else dict(source)
    if isinstance(data, dict) and set(data) == {ROOT}:
        data = data[ROOT]
    if data is None:
        data = {}
    if not isinstance(source, str | Path):
        return load_config(ModelConfig, data, root=ROOT)
    try:
        config = load_config(ModelConfig, data, root=ROOT)
    except ConfigError as exc:
        # The dotted key says where in the file; say which file too.
        raise ConfigError(f"{exc} (in {source})") from exc
    # Kept with the config, not as a field (it is no setting), so that a run trained on it
    # in a notebook logs the file it came from as the CLI's does, even if the file has
    # changed since. A config from updated() or dataclasses.replace no longer is that file.
    object.__setattr__(config, _SOURCE_FILE, (Path(source).name, Path(source).read_bytes()))
    return config


def config_source(config: ModelConfig) -> tuple[str, bytes] | None:
    """The name and bytes of the file ``config`` was loaded from unchanged, or None."""
    return getattr(config, _SOURCE_FILE, None)


def configured_tracking() -> TrackingConfig | None:
    """The ``tracking`` section of ``configs/model.yaml`` (the working directory's, else the
    shipped one), or None when there is none: where the project keeps its registry, for
    every command that looks a model up, so that ``riskstrat models`` and ``riskstrat score``
    open the same store.

    Raises
    ------
    ConfigError
        The file is there but invalid: read past, a typo would switch registries unsaid.
    """
    try:
        path = default_config_path("model.yaml")
    except ConfigNotFoundError:
        return None
    return load_model_config(path).tracking

"""Load YAML configuration into frozen dataclasses, rejecting unknown keys by dotted path.

Every configuration in ``configs/`` goes through :func:`load_config`: components never
receive raw dicts, and a typo such as ``programs.isr.criteria.all[0].valeu`` fails at
load time with that exact path instead of being silently ignored.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``datetime.date``,
``Literal[...]``, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]`` and nested frozen
dataclasses. A dataclass may define ``__post_init__`` for cross-field checks; raise
:class:`ConfigError` from it (use :func:`config_error`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import types
import typing
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import yaml

T = TypeVar("T")

UNKNOWN_KEY = "{path}: unknown key {key!r}; expected one of {expected}"
MISSING_KEY = "{path}: required key {key!r} is missing"
WRONG_TYPE = "{path}: expected {expected}, got {value!r}"
NOT_ALLOWED = "{path}: {value!r} is not one of {allowed}"


class ReadOnlyMap(Mapping[Any, Any]):
    """A read-only mapping for config values.

    ``types.MappingProxyType`` cannot be pickled, so a config (and a training result
    holding one) could not be cached with joblib or sent to a worker process.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[Any, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[type[ReadOnlyMap], tuple[dict[Any, Any]]]:
        return (type(self), (self._data,))


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong kind.

    The message starts with the dotted path of the offending key.
    """


class ConfigDirError(ConfigError):
    """``$RISKSTRAT_CONFIG_DIR`` names no usable folder: never a file left out, so never
    caught as one."""


class ConfigNotFoundError(ConfigError):
    """No file of that name in any config folder: what a caller that treats the file as
    optional catches, and nothing else (a ``$RISKSTRAT_CONFIG_DIR`` that is no folder is
    not a file left out)."""


def config_error(path: str, message: str) -> ConfigError:
    """Build a :class:`ConfigError` for ``path`` (used by ``__post_init__`` checks)."""
    return ConfigError(f"{path}: {message}")


class _DuplicateKey(yaml.YAMLError):
    """A mapping key given twice, or one no mapping can hold: said with its line."""


class _ConfigLoader(yaml.SafeLoader):
    """The safe loader, with dates left as text and a key given twice refused.

    YAML's own date reading fails on ``2025-13-01`` with Python's bare "month must be in
    1..12" before any field is known; as text, the field's check names its dotted key. A
    key given twice would otherwise keep its last value without a word.
    """

    yaml_implicit_resolvers = {
        first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults`: merged keys may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise _DuplicateKey(
                    f"line {key_node.start_mark.line + 1}: a key that is a list or a mapping; "
                    "expected a name"
                )
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(
                    f"line {line}: key {key!r} is given twice (first on line {seen[key]}); "
                    "expected each key once in a mapping"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file with the safe loader (never constructs Python objects)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    with path.open(encoding="utf-8") as handle:
        try:
            return yaml.load(handle, Loader=_ConfigLoader)  # a SafeLoader: no Python objects
        except _DuplicateKey as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc


def load_config(cls: type[T], source: str | Path | dict, root: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a YAML file or an already-parsed mapping.

    Parameters
    ----------
    cls : type
        A frozen dataclass describing the configuration.
    source : str, Path or dict
        A YAML file path, or a mapping (as parsed from YAML).
    root : str
        Dotted prefix for error messages (for example the file's top-level section).

    Returns
    -------
    instance of ``cls``
    """
    if not isinstance(source, str | Path):
        return _build(cls, source, root or cls.__name__)
    try:
        return _build(cls, read_yaml(source), root or cls.__name__)
    except ConfigError as exc:
        # The dotted key says where in the file; say which file too (a working folder's
        # configs/ is read before the shipped ones).
        raise ConfigError(f"{exc} (in {source})") from exc


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _build(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(NOT_ALLOWED.format(path=path, value=value, allowed=list(allowed)))
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        non_null = [a for a in args if a is not type(None)]
        errors = []
        for arg in non_null:
            try:
                return _build(arg, value, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: {'; '.join(errors)}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="a list", value=value))
        (item_tp, *_rest) = get_args(tp)
        return tuple(_build(item_tp, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="a mapping", value=value))
        key_tp, val_tp = get_args(tp)
        return ReadOnlyMap(
            {
                _build(key_tp, k, path): _build(val_tp, v, _join(path, str(k)))
                for k, v in value.items()
            }
        )
    return _build_scalar(tp, value, path)


def _build_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="true or false", value=value))
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="a whole number", value=value))
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="a number", value=value))
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(WRONG_TYPE.format(path=path, expected="a string", value=value))
        return value
    if tp is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError as exc:
            raise ConfigError(
                WRONG_TYPE.format(path=path, expected="a date YYYY-MM-DD", value=value)
            ) from exc
    raise TypeError(f"{path}: unsupported configuration type {tp!r}")


def _build_dataclass(cls: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(WRONG_TYPE.format(path=path, expected="a mapping", value=value))
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ConfigError(
            UNKNOWN_KEY.format(
                path=_join(path, str(unknown[0])), key=unknown[0], expected=sorted(fields)
            )
        )
    hints = get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        if name in value:
            kwargs[name] = _build(hints[name], value[name], _join(path, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(MISSING_KEY.format(path=path, key=name))
    return cls(**kwargs)


CONFIG_DIR_ENV = "RISKSTRAT_CONFIG_DIR"


PACKAGE_CONFIGS = Path(__file__).resolve().parent / "configs"


def default_config_path(name: str) -> Path:
    """Where the default ``configs/<name>`` lives.

    Looked up in order: ``$RISKSTRAT_CONFIG_DIR``, ``./configs`` in the working
    directory, and riskstrat's own defaults (``riskstrat/configs/``, installed with the
    package; ``configs/`` in a checkout links to it).
    """
    candidates = []
    if os.environ.get(CONFIG_DIR_ENV):
        candidates.append(_config_dir(os.environ[CONFIG_DIR_ENV]) / name)
    candidates.append(Path.cwd() / "configs" / name)
    candidates.append(PACKAGE_CONFIGS / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigNotFoundError(
        f"configs/{name}: not found (looked in {', '.join(map(str, candidates))})"
    )


NO_CONFIG_DIR = (
    "${env}={value}: {problem}; expected a folder of riskstrat's config files "
    "(programs.yaml, tiers.yaml, ...), or ${env} unset to use ./configs and riskstrat's defaults"
)


def _config_dir(value: str) -> Path:
    """``$RISKSTRAT_CONFIG_DIR`` checked: a scheduled job with a mistyped folder would
    otherwise score on riskstrat's defaults (Los Angeles's capacities and rules) and say
    nothing."""
    # crontab and systemd pass "~" through unexpanded; a shell would have expanded it.
    folder = Path(value).expanduser()
    if not folder.is_dir():
        problem = "not a folder" if folder.exists() else "no such folder"
        raise ConfigDirError(NO_CONFIG_DIR.format(env=CONFIG_DIR_ENV, value=value, problem=problem))
    if not any(folder.glob("*.yaml")):
        problem = "the folder holds no .yaml file (a .yml one is not read)"
        raise ConfigDirError(NO_CONFIG_DIR.format(env=CONFIG_DIR_ENV, value=value, problem=problem))
    return folder


DEFAULTS_ORIGIN = "riskstrat's defaults"
CONFIGS_MIXED = (
    "configs: the files looked up come from more than one place ({origins}); a configs/ "
    "folder in the working directory (or ${env}) overrides only the files it holds, the "
    "rest are riskstrat's defaults: check that this is the set meant"
)


def config_origin(path: str | Path) -> str:
    """Where :func:`default_config_path` found ``path``: a label, never a machine path."""
    parent = Path(path).resolve().parent
    env = os.environ.get(CONFIG_DIR_ENV)
    if env and parent == Path(env).expanduser().resolve():
        return f"${CONFIG_DIR_ENV}"
    if parent == PACKAGE_CONFIGS:  # also ./configs in a checkout, which links to it
        return DEFAULTS_ORIGIN
    if parent == (Path.cwd() / "configs").resolve():
        return "./configs"
    return "given"


def mixed_origins(paths: Mapping[str, str | Path]) -> str | None:
    """A warning when the config files looked up came from more than one place, else None.

    A county's ``configs/`` holding only its ``programs.yaml`` would otherwise run with
    that file and riskstrat's other defaults, saying nothing of which was which.
    """
    origins = {name: config_origin(path) for name, path in paths.items()}
    if len(set(origins.values())) < 2:
        return None
    by_origin: dict[str, list[str]] = {}
    for name, origin in sorted(origins.items()):
        by_origin.setdefault(origin, []).append(name)
    listed = "; ".join(f"{', '.join(names)} from {o}" for o, names in sorted(by_origin.items()))
    return CONFIGS_MIXED.format(origins=listed, env=CONFIG_DIR_ENV)

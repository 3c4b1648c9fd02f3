"""Configs as the plain dicts and lists the loader reads, and changes laid over them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


def merged(base: object, changes: Mapping) -> dict:
    """``changes`` laid over ``base``, mapping by mapping (a value replaces a value)."""
    out = dict(base) if isinstance(base, Mapping) else {}
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def plain_config(value: object) -> object:
    """A config (or any part of it) as plain dicts and lists, as the loader reads them."""
    # dataclasses.asdict would deep-copy the config's read-only mappings, which fails.
    if dataclasses.is_dataclass(value):
        return {f.name: plain_config(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain_config(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_config(v) for v in value]
    if hasattr(value, "items"):  # read-only mappings from the config loader
        return {str(k): plain_config(v) for k, v in value.items()}
    return value

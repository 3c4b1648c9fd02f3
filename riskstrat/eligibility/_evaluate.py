"""Evaluate programme rules on a feature frame, vectorised: one boolean mask per leaf.

The list columns (``criteria_met``, ``reasons``, ``needs_screening``) are built as Arrow
list arrays from flat values and offsets, so a million persons times nine programmes
never creates a Python list per row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.eligibility._programs import Programs, Rule, iter_leaves, load_programs

MISSING_FEATURE = (
    "features: column {feature!r} is missing (needed by {path}); "
    "build features with the spec the programmes were checked against"
)
MISSING_KEY_COLUMN = "features: column {column!r} is missing; expected person_id and as_of"
NOT_COMPARABLE = "{path}: feature {feature!r} of dtype {dtype} cannot be compared with {value!r}"

_COMPARE: dict[str, Callable] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_STR_TYPES = {pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}


def _leaf_mask(features: pd.DataFrame, leaf: Rule, path: str) -> np.ndarray:
    column = features[leaf.feature]
    try:
        if leaf.op == "in":
            result = column.isin(list(leaf.value))
        elif leaf.op == "within_months":
            result = column <= months_back_in_days(features["as_of"], int(leaf.value))
        else:
            result = _COMPARE[str(leaf.op)](column, leaf.value)
    except TypeError as exc:
        raise TypeError(
            NOT_COMPARABLE.format(
                path=path, feature=leaf.feature, dtype=column.dtype, value=leaf.value
            )
        ) from exc
    # A missing value never meets a criterion (null compares as "not met").
    mask = result.to_numpy(dtype=bool, na_value=False)
    if leaf.op == "!=":
        # Not in place: pandas may hand back a read-only view of its own data.
        mask = mask & column.notna().to_numpy()
    return mask


def months_back_in_days(as_of: pd.Series, months: int) -> np.ndarray:
    """Days from the same day ``months`` calendar months before each as-of date to it
    (the month's last day where it has no such day: 31 May less 3 months is 28 February)."""
    days = pd.to_datetime(as_of).dt.normalize()
    return (days - (days - pd.DateOffset(months=months))).dt.days.to_numpy()


def _combine(rule: Rule, masks: dict[str, np.ndarray], n: int) -> np.ndarray:
    if rule.kind == "leaf":
        return masks[str(rule.code)]
    parts = [_combine(child, masks, n) for child in rule.children]
    if rule.kind == "all":
        return np.logical_and.reduce(parts)
    met_any = np.logical_or.reduce(parts)
    return met_any if rule.kind == "any" else ~met_any


def _format_values(column: pd.Series) -> pa.Array:
    """The person's values as short readable strings ("unknown" when missing)."""
    values = pa.array(column, from_pandas=True)
    if pa.types.is_boolean(values.type):
        text = pc.if_else(values, "yes", "no")
    elif pa.types.is_floating(values.type):
        # Whole numbers print without decimals (6, not 6.0); others with one decimal.
        whole = pc.equal(values, pc.floor(values))
        as_int = pc.cast(pc.cast(values, pa.int64(), safe=False), pa.string())
        text = pc.if_else(whole, as_int, pc.cast(pc.round(values, 1), pa.string()))
    else:
        text = pc.cast(values, pa.string())
    return pc.fill_null(text, "unknown")


def _render(template: str, threshold: object, values: pa.Array) -> pa.Array:
    if isinstance(threshold, list | tuple):
        threshold = ", ".join(map(str, threshold))
    elif isinstance(threshold, bool):
        threshold = "yes" if threshold else "no"
    # {threshold} is fixed per rule; {value} varies per person and is spliced in.
    pieces = template.replace("{threshold}", str(threshold)).split("{value}")
    if len(pieces) == 1:
        return pa.repeat(pa.scalar(pieces[0]), len(values))
    args: list[object] = [pieces[0]]
    for piece in pieces[1:]:
        args += [values, piece]
    return pc.binary_join_element_wise(*args, "")


def _list_array(offsets: np.ndarray, flat: pa.Array) -> pa.Array:
    if offsets[-1] < 2**31 - 1:
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), flat)
    # More than 2**31 list items in one programme: 64-bit offsets.
    return pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), flat)


def _tiled(texts: list[str], n: int) -> pa.Array:
    """``texts`` repeated ``n`` times, built straight from buffers (no per-item copies)."""
    encoded = [t.encode("utf-8") for t in texts]
    block = b"".join(encoded)
    local = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    offsets = (np.arange(n, dtype=np.int64)[:, None] * len(block) + local[None, :-1]).ravel()
    offsets = np.append(offsets, n * len(block))
    kind = pa.string() if offsets[-1] < 2**31 - 1 else pa.large_string()
    width = np.int32 if kind == pa.string() else np.int64
    array = pa.Array.from_buffers(
        kind,
        n * len(texts),
        [None, pa.py_buffer(offsets.astype(width)), pa.py_buffer(block * n)],
    )
    return array if kind == pa.string() else array.cast(pa.string())


def _evaluate_one(features: pd.DataFrame, code: str, programs: Programs) -> dict[str, object]:
    program = programs[code]
    n = len(features)
    leaves: dict[str, tuple[Rule, str]] = {}
    for leaf, path in iter_leaves(program.criteria, f"programs.{code}.criteria"):
        leaves.setdefault(str(leaf.code), (leaf, path))
    masks = {c: _leaf_mask(features, leaf, path) for c, (leaf, path) in leaves.items()}
    eligible = _combine(program.criteria, masks, n)

    matrix = np.column_stack(list(masks.values()))
    rows, cols = np.nonzero(matrix)  # row-major: each person's codes stay in config order
    offsets = np.concatenate([[0], np.cumsum(np.count_nonzero(matrix, axis=1))])
    codes = pa.array(list(masks), type=pa.string()).take(pa.array(cols))

    # Texts are rendered leaf by leaf (only where met), then reordered to row-major.
    texts = []
    for j, (leaf, _path) in enumerate(leaves.values()):
        met = matrix[:, j]
        template = leaf.text or f"{leaf.feature} = {{value}} ({leaf.op} {{threshold}})"
        values = _format_values(features.loc[met, leaf.feature])
        texts.append(_render(template, leaf.value, values))
    # Entry (row r, leaf j) sits at start_j + (rank of r among leaf j's met rows).
    counts = np.count_nonzero(matrix, axis=0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.cumsum(matrix, axis=0, dtype=np.int32)[rows, cols] - 1
    order = starts[cols] + rank
    reasons = pa.concat_arrays(texts).take(pa.array(order)) if texts else pa.array([], pa.string())

    screening = [s.text for s in programs.to_confirm(code)]
    k = len(screening)
    return {
        "eligible": eligible,
        "criteria_met": _list_array(offsets, codes),
        "reasons": _list_array(offsets, reasons),
        "needs_screening": _list_array(np.arange(n + 1, dtype=np.int64) * k, _tiled(screening, n)),
    }


NOT_A_FEATURE_TABLE = (
    "features: expected the DataFrame build_features returns, got a {kind}; for a folder of "
    "tables, pass build_features(folder, as_of)"
)
NOT_PROGRAMS = (
    "programs: expected the rules load_programs returns (or a path or mapping it reads), "
    "got a {kind}"
)


def evaluate_programs(
    features: pd.DataFrame, programs: Programs | str | Path | Mapping | None = None
) -> pd.DataFrame:
    """Evaluate every programme's rule for every row of ``features``.

    Parameters
    ----------
    features : DataFrame
        One row per person and as-of date: ``person_id``, ``as_of`` and the features the
        rules name (as built by :func:`riskstrat.features.build_features`).
    programs : Programs, path, mapping or None
        Rules from :func:`load_programs`, or what it reads (None: ``configs/programs.yaml``).

    Returns
    -------
    DataFrame
        Long format, one row per input row and programme (grouped by programme in config
        order, rows in the order of ``features``): ``person_id``, ``as_of``, ``program``,
        ``eligible`` (bool, from data only), ``criteria_met`` (codes of the leaves met, in
        config order), ``reasons`` (readable texts of those leaves with the person's
        values) and ``needs_screening`` (conditions to confirm at the point of care; they
        never change ``eligible``; a screening item that is another route in, not a
        condition, is not listed). List columns are Arrow ``list<string>``; reading a
        cell gives a Python list.

    Notes
    -----
    A missing feature value never meets a leaf, so a ``none`` group over it is met.
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(NOT_A_FEATURE_TABLE.format(kind=type(features).__name__))
    if programs is None or isinstance(programs, str | Path | Mapping):
        programs = load_programs(programs)
    elif not isinstance(programs, Programs):
        raise TypeError(NOT_PROGRAMS.format(kind=type(programs).__name__))
    for column in ("person_id", "as_of"):
        if column not in features.columns:
            raise ValueError(MISSING_KEY_COLUMN.format(column=column))
    for code in programs:
        for leaf, path in iter_leaves(programs[code].criteria, f"programs.{code}.criteria"):
            if leaf.feature not in features.columns:
                raise ValueError(MISSING_FEATURE.format(feature=leaf.feature, path=path))
    features = features.reset_index(drop=True)
    codes = list(programs)
    parts = [_evaluate_one(features, code, programs) for code in codes]
    n = len(features)
    person_id = features["person_id"].astype("str")
    as_of = pd.to_datetime(features["as_of"])
    program = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(codes), dtype=np.int32), n)),
        pa.array(codes, type=pa.string()),
    ).cast(pa.string())
    columns = {
        "person_id": pd.concat([person_id] * len(codes), ignore_index=True),
        "as_of": pd.concat([as_of] * len(codes), ignore_index=True),
        "program": program.to_pandas(types_mapper=_STR_TYPES.get),
        "eligible": np.concatenate([p["eligible"] for p in parts]) if parts else [],
    }
    long = pd.DataFrame(columns)
    for name in ("criteria_met", "reasons", "needs_screening"):
        chunks = pa.chunked_array([p[name] for p in parts], type=pa.list_(pa.string()))
        long[name] = pd.arrays.ArrowExtensionArray(chunks)
    long["eligible"] = long["eligible"].astype(bool)
    return long


def eligibility_wide(long: pd.DataFrame) -> pd.DataFrame:
    """One row per person and as-of date with an ``eligible_<program>`` column each.

    Parameters
    ----------
    long : DataFrame
        The output of :func:`evaluate_programs`.

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of``, then boolean ``eligible_<program>`` columns in programme
        order, plus ``n_eligible``; sorted by (``as_of``, ``person_id``).
    """
    order = list(dict.fromkeys(long["program"]))
    wide = long.pivot(index=["as_of", "person_id"], columns="program", values="eligible")
    wide = wide[order].astype(bool)
    wide.columns = [f"eligible_{c}" for c in order]
    wide["n_eligible"] = wide.sum(axis=1).astype("int64")
    wide = wide.reset_index()[["person_id", "as_of", *wide.columns]]
    return wide.sort_values(["as_of", "person_id"], ignore_index=True)

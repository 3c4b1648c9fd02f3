"""Checking a LightGBM text model's structure before LightGBM parses it.

LightGBM trusts its own files. Handed a tree whose arrays disagree with ``num_leaves``,
or a ``tree_sizes`` header that no longer matches the trees, it parses them on several
threads and the whole process aborts; a child index out of range crashes it, and a split
on a feature number past ``max_feature_idx`` reads past the row and predicts quietly. So
a bundle's model is held to what ``Booster.model_to_string`` writes for a binary model
without categorical or linear trees, which is every model riskstrat trains:

- the header's counts agree with each other and with the trees that follow;
- each tree's arrays have the lengths its ``num_leaves`` implies and hold finite numbers;
- each tree's children form one tree over its nodes and leaves, reached from the root;
- the file is printable ASCII with values separated by single spaces, as LightGBM splits.

Models riskstrat does not train are refused too, not misread: random forests
(``average_output``), objectives other than binary, categorical splits, linear trees and
interaction constraints (a ``[interaction_constraints: [0,1]]`` parameter line).

A bundle pinned by its sha256 is refused before this runs when it differs
(:meth:`ModelBundle.load`); this is what stands between LightGBM and an unpinned bundle
edited together with its checksums.
"""

from __future__ import annotations

import math
import re

TREE_KEYS = (
    "num_leaves",
    "num_cat",
    "split_feature",
    "split_gain",
    "threshold",
    "decision_type",
    "left_child",
    "right_child",
    "leaf_value",
    "leaf_weight",
    "leaf_count",
    "internal_value",
    "internal_weight",
    "internal_count",
    "is_linear",
    "shrinkage",
)
NODE_ARRAYS = ("split_gain", "threshold", "internal_value", "internal_weight")
NODE_COUNTS = ("split_feature", "decision_type", "left_child", "right_child", "internal_count")
HEADER_KEYS = {
    "version",
    "num_class",
    "num_tree_per_iteration",
    "label_index",
    "max_feature_idx",
    "objective",
    "feature_names",
    "feature_infos",
    "tree_sizes",
    "monotone_constraints",  # written only when the model was trained with some
}
OPTIONAL_HEADER_KEYS = {"tree_sizes", "monotone_constraints"}
# decision_type packs: bit 0 categorical (never written here), bit 1 default-left,
# bits 2-3 the missing-value type (0 none, 1 zero, 2 NaN; 3 is undefined).
DECISION_TYPES = frozenset(flags | missing << 2 for flags in (0, 2) for missing in (0, 1, 2))
_TREE_LINE = re.compile(r"^Tree=(\d+)\n", re.MULTILINE)
# Python's int() and float() also read "1_0", " 5" and "infinity", which LightGBM's
# parser reads differently or not at all; only the forms LightGBM writes pass.
_INTEGER = re.compile(r"-?[0-9]+")
# LightGBM splits on single spaces and reads ASCII digits; Python's split() and isdigit()
# also take tabs, no-break spaces and other scripts' digits, which LightGBM reads otherwise.
_NOT_WRITTEN = re.compile(r"[^\x20-\x7e\n]")
_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_OBJECTIVE = re.compile(r"^binary sigmoid:(\S+)$")
END_OF_TREES = "end of trees\n"
# After the trees, model_to_string writes the importances, then the training parameters
# (LightGBM parses those back, and a malformed line crashes it), then pandas' categories.
_TAIL = re.compile(
    r"end of trees\n\n"
    r"feature_importances:\n(?:[^\n=]+=[0-9]+\n)*\n"
    r"(?:parameters:\n(?:\[[a-z0-9_]+: [^\[\]\n]*\]\n)*\nend of parameters\n\n)?"
    r"pandas_categorical:[^\n]*\n?"
)
BAD_TAIL = (
    "the sections after the trees are not as model_to_string writes them; expected "
    "'feature_importances:' with 'name=count' lines, 'parameters:' with '[key: value]' lines "
    "up to 'end of parameters', and a last 'pandas_categorical:' line"
)


class _Problem(Exception):
    """What is wrong, worded for the reader of the bundle error."""


def lightgbm_text_problem(text: str) -> str | None:
    """What keeps ``text`` from being a LightGBM binary model LightGBM can parse, or None.

    Whether its features are the bundle's is checked after parsing, against the metadata.

    Parameters
    ----------
    text : str
        The model file, already known to have LightGBM's sections (``tree`` first,
        ``end of trees``, a last ``pandas_categorical:`` line).
    """
    try:
        _check(text)
    except _Problem as exc:
        return str(exc)
    return None


def _check(text: str) -> None:
    odd = _NOT_WRITTEN.search(text)
    if odd is not None:
        line = text.count("\n", 0, odd.start()) + 1
        raise _Problem(
            f"line {line} holds character {odd.group()!r}; expected only printable ASCII, "
            "tokens separated by single spaces, as model_to_string writes"
        )
    trees_end = text.index("\n" + END_OF_TREES) + 1
    first = _TREE_LINE.search(text, 0, trees_end)
    header_end = first.start() if first else trees_end
    header = _header(text[len("tree\n") : header_end])
    n_features = _check_header(header)
    starts = [m.start() for m in _TREE_LINE.finditer(text, header_end, trees_end)]
    if not starts:
        raise _Problem("no trees between the header and 'end of trees'; expected at least one")
    bounds = list(zip(starts, [*starts[1:], trees_end], strict=True))
    for number, (begin, end) in enumerate(bounds):
        _check_tree(text[begin:end], number, n_features)
    _check_tree_sizes(header, text, bounds)
    if not _TAIL.fullmatch(text, trees_end):
        raise _Problem(BAD_TAIL)


def _header(block: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in block.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or key not in HEADER_KEYS:
            raise _Problem(
                f"header line {_shown(line)} is not one LightGBM writes for this model; "
                f"expected keys {sorted(HEADER_KEYS)}"
            )
        if key in values:
            raise _Problem(f"header key {key!r} appears twice")
        values[key] = value
    missing = sorted(HEADER_KEYS - OPTIONAL_HEADER_KEYS - set(values))
    if missing:
        raise _Problem(f"header lacks {missing}")
    return values


def _check_header(header: dict[str, str]) -> int:
    """The number of features the header declares, once its fields agree."""
    expected = {
        "version": "v4",
        "num_class": "1",
        "num_tree_per_iteration": "1",
        "label_index": "0",
    }
    for key, value in expected.items():
        if header[key] != value:
            raise _Problem(f"header {key}={_shown(header[key])}; expected {key}={value}")
    last = header["max_feature_idx"]
    if not _INTEGER.fullmatch(last) or int(last) < 0:
        raise _Problem(f"header max_feature_idx={_shown(last)}; expected a whole number >= 0")
    n_features = int(last) + 1
    sigmoid = _OBJECTIVE.match(header["objective"])
    if sigmoid is None or not _finite(sigmoid.group(1)):
        raise _Problem(
            f"objective {_shown(header['objective'])}; expected 'binary sigmoid:<number>'"
        )
    for key in ("feature_names", "feature_infos"):
        n = len(_tokens(header[key], f"header {key}"))
        if n != n_features:
            raise _Problem(
                f"header {key} has {n} entries; max_feature_idx={last} implies {n_features}"
            )
    if "monotone_constraints" in header:
        constraints = _tokens(header["monotone_constraints"], "header monotone_constraints")
        if len(constraints) != n_features or not set(constraints) <= {"-1", "0", "1"}:
            raise _Problem(
                f"header monotone_constraints has {len(constraints)} entries; expected "
                f"{n_features}, each -1, 0 or 1"
            )
    return n_features


def _check_tree_sizes(header: dict[str, str], text: str, bounds: list[tuple[int, int]]) -> None:
    # LightGBM cuts the trees apart at these byte sizes and parses them in parallel; a
    # wrong size makes it parse a fragment, and a fragment aborts the process.
    if "tree_sizes" not in header:
        return
    sizes = _tokens(header["tree_sizes"], "header tree_sizes")
    if len(sizes) != len(bounds):
        raise _Problem(f"header tree_sizes lists {len(sizes)} sizes for {len(bounds)} trees")
    for number, (size, (begin, end)) in enumerate(zip(sizes, bounds, strict=True)):
        actual = len(text[begin:end].encode())
        if size != str(actual):
            raise _Problem(
                f"header tree_sizes gives Tree={number} {_shown(size)} bytes, but it has "
                f"{actual}; expected the sizes model_to_string writes (was the tree edited?)"
            )


def _check_tree(block: str, number: int, n_features: int) -> None:
    where = f"Tree={number}"
    lines = block.rstrip("\n").split("\n")
    if lines[0] != where:
        raise _Problem(f"trees out of order: found {_shown(lines[0])} where {where} belongs")
    keys = [line.partition("=")[0] for line in lines[1:]]
    if keys != list(TREE_KEYS):
        raise _Problem(f"{where} has keys {keys}; expected {list(TREE_KEYS)}")
    fields = {key: line.partition("=")[2] for key, line in zip(keys, lines[1:], strict=True)}
    scalars = {k: fields[k] for k in ("num_leaves", "num_cat", "is_linear")}
    if not _INTEGER.fullmatch(scalars["num_leaves"]) or int(scalars["num_leaves"]) < 1:
        raise _Problem(f"{where} num_leaves={_shown(scalars['num_leaves'])}; expected >= 1")
    if scalars["num_cat"] != "0" or scalars["is_linear"] != "0":
        raise _Problem(f"{where} has categorical or linear parts; expected num_cat=0, is_linear=0")
    if not _finite(fields["shrinkage"]):
        raise _Problem(f"{where} shrinkage={_shown(fields['shrinkage'])}; expected a number")
    leaves = int(scalars["num_leaves"])
    nodes = leaves - 1
    lengths = {key: nodes for key in (*NODE_ARRAYS, *NODE_COUNTS)}
    lengths |= {"leaf_value": leaves, "leaf_count": leaves, "leaf_weight": leaves}
    arrays = {key: _tokens(fields[key], f"{where} {key}") for key in lengths}
    if leaves == 1 and not arrays["leaf_weight"]:
        lengths["leaf_weight"] = 0  # a one-leaf tree is written without it
    for key, n in lengths.items():
        if len(arrays[key]) != n:
            raise _Problem(
                f"{where} {key} has {len(arrays[key])} values; num_leaves={leaves} implies {n}"
            )
    for key in (*NODE_ARRAYS, "leaf_value", "leaf_weight"):
        for i, value in enumerate(arrays[key]):
            if not _finite(value):
                raise _Problem(f"{where} {key}[{i}] is {_shown(value)}; expected a finite number")
    ints = {key: _integers(arrays[key], f"{where} {key}") for key in (*NODE_COUNTS, "leaf_count")}
    for i, feature in enumerate(ints["split_feature"]):
        if not 0 <= feature < n_features:
            raise _Problem(
                f"{where} split_feature[{i}] is {feature}; expected a feature number "
                f"from 0 to {n_features - 1}"
            )
    for i, kind in enumerate(ints["decision_type"]):
        if kind not in DECISION_TYPES:
            raise _Problem(
                f"{where} decision_type[{i}] is {kind}; expected one of {sorted(DECISION_TYPES)} "
                "(numerical splits)"
            )
    _check_shape(ints["left_child"], ints["right_child"], leaves, where)


def _check_shape(left: list[int], right: list[int], leaves: int, where: str) -> None:
    """Children must form one tree: every node and leaf reached once, from node 0."""
    nodes = leaves - 1
    seen_nodes, seen_leaves = {0} if nodes else set(), set()
    stack = [0] if nodes else []
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= nodes or child in seen_nodes:
                    raise _Problem(_not_a_tree(where, f"node {child}", node, nodes, leaves))
                seen_nodes.add(child)
                stack.append(child)
            else:
                leaf = -child - 1
                if leaf >= leaves or leaf in seen_leaves:
                    raise _Problem(_not_a_tree(where, f"leaf {leaf}", node, nodes, leaves))
                seen_leaves.add(leaf)
    if len(seen_nodes) != nodes or (nodes and len(seen_leaves) != leaves):
        raise _Problem(
            f"{where}: node 0 reaches {len(seen_nodes)} of {nodes} nodes and "
            f"{len(seen_leaves)} of {leaves} leaves; expected every one"
        )


def _not_a_tree(where: str, child: str, parent: int, nodes: int, leaves: int) -> str:
    return (
        f"{where}: node {parent} points to {child}, which is out of range or already "
        f"reached; expected each of {nodes} nodes and {leaves} leaves reached once from node 0"
    )


def _tokens(value: str, where: str) -> list[str]:
    """A line's values, split as LightGBM splits them: on single spaces."""
    if not value:
        return []
    tokens = value.split(" ")
    if "" in tokens:
        raise _Problem(f"{where} has an empty value (two spaces, or one at an end)")
    return tokens


def _integers(values: list[str], where: str) -> list[int]:
    for i, value in enumerate(values):
        if not _INTEGER.fullmatch(value):
            raise _Problem(f"{where}[{i}] is {_shown(value)}; expected a whole number")
    return [int(value) for value in values]


def _finite(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value)) and math.isfinite(float(value))


def _shown(value: str) -> str:
    """A value for a message, cut short: a model file holds no personal data, but a long
    line would bury the message."""
    return repr(value if len(value) <= 40 else value[:37] + "...")

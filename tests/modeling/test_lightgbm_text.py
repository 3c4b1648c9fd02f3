"""A LightGBM text model is checked before LightGBM parses it, so edits never crash."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from riskstrat.modeling._lightgbm_text import BAD_TAIL, lightgbm_text_problem


def _model_text(
    n_estimators: int = 6, num_leaves: int = 7, min_child_samples: int = 20, **params: object
) -> str:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 5))
    X[rng.random(X.shape) < 0.1] = np.nan  # splits that send missing values either way
    y = (rng.random(1500) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    model = lgb.LGBMClassifier(
        n_estimators=n_estimators,
        num_leaves=num_leaves,
        min_child_samples=min_child_samples,
        verbose=-1,
        n_jobs=1,
        **params,
    )
    return model.fit(X, y).booster_.model_to_string()


@pytest.fixture(scope="module")
def text() -> str:
    return _model_text()


def _in_first_tree(text: str, pattern: str, replacement: str) -> str:
    begin, end = text.index("Tree=0\n"), text.index("Tree=1\n")
    edited = re.sub(pattern, replacement, text[begin:end], count=1, flags=re.MULTILINE)
    assert edited != text[begin:end], pattern
    return text[:begin] + edited + text[end:]


def test_what_lightgbm_writes_passes(text: str) -> None:
    assert lightgbm_text_problem(text) is None
    # A tree that could not split is written with one leaf and no leaf weights.
    stump = _model_text(n_estimators=2, min_child_samples=5000)
    assert "num_leaves=1\n" in stump
    assert lightgbm_text_problem(stump) is None
    constrained = _model_text(monotone_constraints=[1, 0, 0, -1, 0])
    assert "\nmonotone_constraints=1 0 0 -1 0\n" in constrained
    assert lightgbm_text_problem(constrained) is None
    problem = lightgbm_text_problem(constrained.replace("=1 0 0 -1 0\n", "=1 0 0 -1 2\n"))
    assert problem == "header monotone_constraints has 5 entries; expected 5, each -1, 0 or 1"


# Each of these edits aborted or crashed the Python process inside LightGBM 4.7 (or, for
# the split on a feature past the last one, predicted from memory past the row).
EDITS = [
    (r"^num_leaves=\d+", "num_leaves=300", "Tree=0 split_gain has 6 values; num_leaves=300"),
    (r"^num_leaves=\d+", "num_leaves=2", "Tree=0 split_gain has 6 values; num_leaves=2 implies 1"),
    (r"^left_child=\S+", "left_child=999", "node 0 points to node 999"),
    (r"^right_child=\S+", "right_child=-999", "node 0 points to leaf 998"),
    (r"^left_child=(\S+) (\S+)", r"left_child=\2 \1", "nodes and 5 of 7 leaves; expected every"),
    (r"^split_feature=\S+", "split_feature=500", "split_feature[0] is 500; expected a feature"),
    (r"^leaf_value=\S+ ", "leaf_value=", "Tree=0 leaf_value has 6 values; num_leaves=7 implies 7"),
    (r"^leaf_value=\S+", "leaf_value=abc", "Tree=0 leaf_value[0] is 'abc'; expected a finite"),
    (r"^threshold=\S+", "threshold=nan", "Tree=0 threshold[0] is 'nan'; expected a finite"),
    (r"^threshold=\S+", "threshold=1_0", "Tree=0 threshold[0] is '1_0'; expected a finite"),
    (r"^decision_type=\S+", "decision_type=255", "decision_type[0] is 255; expected one of"),
    (r"^decision_type=\S+", "decision_type=1", "decision_type[0] is 1; expected one of"),
    (r"^num_cat=\d+", "num_cat=5", "expected num_cat=0, is_linear=0"),
    (r"^shrinkage=\S+", "shrinkage=inf", "Tree=0 shrinkage='inf'; expected a number"),
    (r"^is_linear=0\n", "", "Tree=0 has keys"),
    # LightGBM splits on single spaces and reads ASCII digits; Python reads more. A tab kept
    # tree_sizes right and aborted LightGBM, or hung it in left_child, or shifted splits.
    (r"^leaf_value=(\S+) ", r"leaf_value=\1\t", "holds character '\\t'; expected only"),
    (r"^left_child=(\S+) ", "left_child=\\1\u00a0", "holds character '\\xa0'"),
    (r"^num_leaves=7", "num_leaves=\u0667", "holds character '\u0667'"),
    (r"^split_feature=(\S+) ", r"split_feature=\1  ", "split_feature has an empty value"),
]


@pytest.mark.parametrize(("pattern", "replacement", "expected"), EDITS)
def test_an_edited_tree_is_named(text: str, pattern: str, replacement: str, expected: str) -> None:
    problem = lightgbm_text_problem(_in_first_tree(text, pattern, replacement))
    assert problem is not None and expected in problem, problem


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("num_class=1", "num_class=2", "header num_class='2'; expected num_class=1"),
        ("max_feature_idx=4", "max_feature_idx=x", "max_feature_idx='x'; expected a whole"),
        ("max_feature_idx=4", "max_feature_idx=3", "feature_names has 5 entries; max_feature_idx"),
        ("objective=binary sigmoid:1", "objective=regression", "objective 'regression'"),
        ("version=v4", "version=v4\nversion=v4", "header key 'version' appears twice"),
        ("version=v4", "version=v4\ncode=1", "header line 'code=1' is not one LightGBM"),
        ("tree_sizes=", "tree_sizes=5 ", "header tree_sizes lists 7 sizes for 6 trees"),
        ("shrinkage=1\n", "shrinkage=1.0\n", "header tree_sizes gives Tree=0 "),
        ("Tree=1\n", "Tree=2\n", "trees out of order: found 'Tree=2' where Tree=1 belongs"),
        ("[num_class: 1]", "1] [num_class:", BAD_TAIL),
        ("feature_importances:\n", "feature_importances:\nx\n", BAD_TAIL),
    ],
)
def test_an_edited_header_or_tail_is_named(text: str, old: str, new: str, expected: str) -> None:
    assert old in text
    problem = lightgbm_text_problem(text.replace(old, new, 1))
    assert problem is not None and expected in problem, problem


def test_a_model_without_trees_is_named(text: str) -> None:
    header = text[: text.index("Tree=0\n")].replace(re.search(r"tree_sizes=.*\n", text)[0], "")
    problem = lightgbm_text_problem(header + text[text.index("end of trees\n") :])
    assert problem == "no trees between the header and 'end of trees'; expected at least one"


def _mutations(text: str, n: int, seed: int) -> list[str]:
    """Small random edits of the kinds a hand or a disk makes: bytes, lines, tokens."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lines = text.split("\n")
        j = rng.randrange(len(lines))
        tokens = lines[j].split(" ")
        op = rng.randrange(5)
        if op == 0:
            k = rng.randrange(len(lines[j]) + 1)
            lines[j] = (
                lines[j][:k] + rng.choice("0123456789-.e =x\t\u00a0\u0663") + lines[j][k + 1 :]
            )
        elif op == 1:
            del lines[j]
        elif op == 2:
            lines.insert(j, lines[j])
        elif op == 3:
            a, b = rng.randrange(len(tokens)), rng.randrange(len(tokens))
            tokens[a], tokens[b] = tokens[b], tokens[a]
            lines[j] = " ".join(tokens)
        else:
            tokens[rng.randrange(len(tokens))] = str(rng.choice([-40, -1, 0, 1, 3, 9, 300]))
            lines[j] = " ".join(tokens)
        out.append("\n".join(lines))
    return out


def test_random_edits_either_are_named_or_load_without_crashing(text: str, tmp_path: Path) -> None:
    passed = [m for m in _mutations(text, 600, seed=0) if lightgbm_text_problem(m) is None]
    assert 0 < len(passed) < 600  # some edits are harmless (a gain, a count); most are named
    for i, mutated in enumerate(passed):
        (tmp_path / f"{i}.txt").write_text(mutated)
    # LightGBM's crashes kill the process, so the edits that pass are loaded in a child.
    child = (
        "import sys, lightgbm as lgb, numpy as np\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        booster = lgb.Booster(model_str=open(path).read())\n"
        "        booster.predict(np.full((2, booster.num_feature()), np.nan))\n"
        "        booster.predict(np.zeros((2, booster.num_feature())))\n"
        "    except (lgb.basic.LightGBMError, ValueError):\n"
        "        pass\n"
    )
    paths = [str(tmp_path / f"{i}.txt") for i in range(len(passed))]
    result = subprocess.run([sys.executable, "-c", child, *paths], capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-2000:]

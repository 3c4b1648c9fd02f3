"""docs/features.md is generated from the spec and must match it."""

from __future__ import annotations

from pathlib import Path

from riskstrat.features import expand_features, features_markdown, load_feature_spec

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_doc_is_up_to_date() -> None:
    expected = features_markdown(load_feature_spec())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/features.md is stale: regenerate with "
        "python -c 'from riskstrat.features import features_markdown as f; "
        'open("docs/features.md", "w").write(f())\''
    )


def test_every_feature_has_a_row_with_its_empty_value() -> None:
    text = features_markdown(load_feature_spec())
    for feature in expand_features(load_feature_spec()):
        assert f"| `{feature.name}` | {feature.label} |" in text
    assert "| `days_since_release` | days since last jail release | justice |" in text
    assert "| 9999 |" in text
    assert "| null (null when never assessed; see has_mcas) |" in text

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


def test_the_rules_own_counts_are_marked_as_no_model_input() -> None:
    rows = {
        line.split(" | ")[0].strip("| `"): line
        for line in features_markdown(load_feature_spec()).splitlines()
        if line.startswith("| `")
    }
    marked = {name for name, row in rows.items() if row.endswith("| no (`rule_only`) |")}
    assert marked == {f.name for f in expand_features(load_feature_spec()) if f.rule_only}
    assert len(marked) == 17 and "ed_visits_12m" in marked
    assert rows["psych_inpatient_admissions_365d"].endswith("| yes |")

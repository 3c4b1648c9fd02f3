"""docs/data-contract.md is generated from the contract's code and must match it."""

from __future__ import annotations

from pathlib import Path

from riskstrat.data import load_conditions
from riskstrat.data._codes import PROGRAMS, TABLE_COLUMNS
from riskstrat.data._contract_docs import contract_markdown

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "data-contract.md"


def _markdown() -> str:
    # The repository's own condition groups, whatever $RISKSTRAT_CONFIG_DIR points to.
    return contract_markdown(load_conditions(ROOT / "configs" / "conditions.yaml"))


def test_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == _markdown(), (
        "docs/data-contract.md is stale: regenerate with "
        "python -c 'from riskstrat.data._contract_docs import contract_markdown as f; "
        'open("docs/data-contract.md", "w").write(f())\''
    )


def test_every_column_and_programme_is_listed() -> None:
    text = _markdown()
    for table, columns in TABLE_COLUMNS.items():
        for name, _kind, _required in columns:
            assert f"| {table} | `{name}` |" in text
    assert "| enrollments | `start_date` | date | yes |" in text
    assert "| persons | `death_date` | date |  |" in text
    for program in PROGRAMS:
        assert f"`{program}`" in text
    assert "| `smi` | Serious mental illness | smi | yes | F20-F29, F31, F32.3, F33.3 |" in text

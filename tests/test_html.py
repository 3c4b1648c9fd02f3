"""The reports' HTML: one page, tables and plots in it, and no markup from the data."""

from __future__ import annotations

import base64

from riskstrat._html import markdown_html


def test_a_report_page_holds_its_tables_and_plots(tmp_path) -> None:
    (tmp_path / "plots").mkdir()
    png = b"\x89PNG\r\n\x1a\nnot really"
    (tmp_path / "plots" / "roc.png").write_bytes(png)
    text = "# Model evaluation: x\n\n| group | people |\n|---|---:|\n| F | 9,909 |\n\n![ROC](plots/roc.png)\n"
    page = markdown_html(text, "Model evaluation: x", tmp_path)
    assert page.startswith("<!DOCTYPE html>") and "<title>Model evaluation: x</title>" in page
    assert '<td style="text-align: right;">9,909</td>' in page
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page
    assert "plots/roc.png" not in page  # embedded: the page travels alone


def test_markup_in_the_text_is_shown_not_run(tmp_path) -> None:
    outside = tmp_path.parent / "secret.png"
    outside.write_bytes(b"\x89PNG elsewhere")
    text = (
        "| group | people |\n|---|---|\n| <script>alert(1)</script> | 12 |\n\n"
        f"![x](../{outside.name})\n"
    )
    page = markdown_html(text, "<b>t</b>", tmp_path)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    # An image outside the report's folder is never read into it.
    assert f'src="../{outside.name}"' in page and "base64" not in page

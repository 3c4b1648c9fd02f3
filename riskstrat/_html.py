"""Self-contained HTML of the Markdown reports, for readers without a Markdown viewer.

An evaluator opens ``report.html`` in a browser, or sends it on, and sees the tables and the
plots in one file: images under the report's folder are embedded as data URIs. Text in the
reports comes from configs and data (feature labels, group names), so raw HTML in it is shown
as text, never interpreted.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1150px;"
    "margin:2em auto;padding:0 1em;line-height:1.45;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}"
    "th{background:#f2f2f2}tbody tr:nth-child(even){background:#fafafa}"
    "img{max-width:100%;height:auto;display:block;margin:1em 0}"
    "code{background:#f4f4f4;padding:0 .2em}"
)
_IMG = re.compile(r'<img alt="([^"]*)" src="([^"]+)"\s*/?>')


def markdown_html(text: str, title: str, folder: str | Path | None = None) -> str:
    """One HTML page of Markdown ``text`` (tables included), images embedded.

    Parameters
    ----------
    text : str
        Markdown; raw HTML in it is escaped.
    title : str
        The page title.
    folder : str or Path, optional
        Where relative image paths are read from. An image outside it, or missing, keeps
        its link and is not read.

    Returns
    -------
    str
    """
    converter = markdown.Markdown(extensions=["tables"], output_format="html")
    # No raw HTML: a label or a group name holding markup is text.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    body = converter.convert(text)
    if folder is not None:
        root = Path(folder).resolve()
        body = _IMG.sub(lambda match: _embedded(match, root), body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def _embedded(match: re.Match[str], root: Path) -> str:
    alt, src = match.group(1), html.unescape(match.group(2))
    path = (root / src).resolve()
    if path.suffix.lower() != ".png" or not path.is_relative_to(root) or not path.is_file():
        return match.group(0)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{alt}" src="data:image/png;base64,{data}">'

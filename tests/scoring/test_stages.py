"""The scorer's progress bar: drawn on stderr, and quiet in a notebook it cannot draw in."""

from __future__ import annotations

import importlib.util
import warnings

import rich.console

from riskstrat.scoring._stages import STAGES, _Stages


def test_a_notebook_without_ipywidgets_gets_a_plain_bar_and_no_warnings(monkeypatch) -> None:
    # rich warned 'install "ipywidgets" for Jupyter support' at every refresh of the bar.
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "ipywidgets" else find_spec(name)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with _Stages(True) as stage:
            assert not stage._progress.console.is_jupyter
            for name in STAGES:
                with stage(name):
                    pass
    assert list(stage.timings) == list(STAGES)


def test_a_notebook_with_ipywidgets_keeps_rich_s_own_display(monkeypatch) -> None:
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: object() if name == "ipywidgets" else find_spec(name),
    )
    assert _Stages(True)._progress.console.is_jupyter

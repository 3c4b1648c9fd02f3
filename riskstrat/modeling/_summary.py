"""Readable summaries of a training run (rich tables for the ``train`` command).

Only aggregate figures are shown: metrics, intervals, counts and file locations.
"""

from __future__ import annotations

import pandas as pd
from rich.table import Table
from rich.text import Text

from riskstrat.modeling._direction import BINS, MAX_STEP_BACK, MIN_BIN_ROWS, MIN_FIT, MIN_SPREAD
from riskstrat.modeling._disclosure import small_count
from riskstrat.modeling._importance import HIGHEST, LOWEST, MAX_ROWS, MIXED, UNUSED
from riskstrat.modeling._metric_labels import interval_rows
from riskstrat.modeling._programme_rule import SCORERS as PROGRAMME_RULE_SCORERS
from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._rich import text_table
from riskstrat.modeling._warnings import (
    baseline_warning,
    calibration_warning,
    capacity_warning,
    lift_warning,
)

HEADLINE_METRICS: tuple[str, ...] = (
    "auroc",
    "auprc",
    "brier",
    "ece",
    "calibration_intercept",
    "calibration_slope",
)

ORACLE_TEXT = {
    "as_of": "the generator's probability given each person's state on the as-of date "
    "(the path oracle's exact probability averaged over futures of the episode simulated "
    "from that state, in antithetic pairs)",
    "path": "the generator's probability given the latent path over the whole outcome "
    "window (clairvoyant: it sees episodes after the as-of date)",
    "unmarked": "from a truth table without riskstrat's mark: which oracle it holds, and "
    "for which county, is not known",
}


COMPARISON_TITLE = "model compared (difference = model - other; lift = model / other)"
ROLLING_TITLE = "rolling-origin test quarters (point estimates)"
ROLLING_COLUMNS: tuple[str, ...] = (
    "test as-of",
    "trained on",
    "calibrated on",
    "scorer",
    "rows",
    "auroc",
    "ece",
    "brier",
)
ROLLING_NOTE = (
    "Each origin refits and recalibrates on the quarters before it. Consecutive test "
    "quarters share most of their outcome months and most of their people, so they show "
    "how stable the figures are, not independent replications."
)
IMPORTANCE_HEADER: tuple[str, ...] = (
    "rank",
    "feature",
    "mean |contribution|",
    "share",
    "direction",
)


def registered_line(registered: tuple[str, str] | None) -> str:
    """Which registered version the run made, and how it becomes the champion."""
    if registered is None:
        return ""
    name, version = registered
    return (
        f"; registered as {name} version {version}, the challenger "
        f"(`riskstrat models promote {name} {version}` makes it the champion)"
    )


def metric_order(result: TrainResult) -> list[str]:
    kinds = ("precision", "mean_risk", "recall")
    ks = [f"{kind}_at_k_{p}" for p in result.capacities for kind in kinds]
    return [*HEADLINE_METRICS, *ks]


def metric_scorers(result: TrainResult) -> list[str]:
    """Scorers of the metrics table: model, the baselines, oracle (when present)."""
    return [s for s in _scorers(result) if "_vs_" not in s]


def comparison_scorers(result: TrainResult) -> list[str]:
    """The ``model_vs_<other>`` scorers, in table order."""
    return [s for s in _scorers(result) if "_vs_" in s]


def _scorers(result: TrainResult) -> list[str]:
    # Each programme's own rule has a table of its own (programme_rule_rows).
    return [s for s in dict.fromkeys(result.metrics["scorer"]) if s not in PROGRAMME_RULE_SCORERS]


def comparison_metrics(result: TrainResult) -> list[str]:
    """Differences of the headline metrics, then precision lift per capacity."""
    wanted = [f"diff_{m}" for m in ("auroc", "auprc", "brier", "ece")]
    return wanted + [f"lift_precision_at_k_{p}" for p in result.capacities]


def intervals_label(result: TrainResult) -> str:
    """What the bracketed figures are: the interval's level, or that there are none."""
    if result.config.metrics.n_bootstrap == 0:
        return "no intervals: model.metrics.n_bootstrap is 0"
    return f"{int(round(result.config.metrics.confidence * 100))}% intervals"


def metrics_title(result: TrainResult) -> str:
    return f"{result.outcome}: test quarter {result.split.test_as_of} ({intervals_label(result)})"


def metrics_rich_table(result: TrainResult, scorers: list[str] | None = None) -> Table:
    """Metric rows, one column per scorer, each cell ``estimate [lower, upper]``.

    Parameters
    ----------
    result : TrainResult
    scorers : list of str, optional
        Default: model, the baselines, oracle (when present).

    Returns
    -------
    rich.table.Table
    """
    scorers = scorers or metric_scorers(result)
    table = Table(title=Text(metrics_title(result)))
    order = metric_order(result)
    table.add_column("metric", no_wrap=True)
    for s in scorers:
        table.add_column(s, justify="right")
    for row in interval_rows(result.metrics, order, scorers, result.capacities):
        table.add_row(*(Text(cell) for cell in row))
    return table


def comparison_rich_table(result: TrainResult) -> Table:
    """Model minus each baseline / the oracle, and precision-at-k lift, with intervals."""
    comparisons = comparison_scorers(result)
    table = Table(title=Text(COMPARISON_TITLE))
    wanted = comparison_metrics(result)
    table.add_column("metric", no_wrap=True)
    for s in comparisons:
        table.add_column(s.removeprefix("model_vs_"), justify="right")
    for row in interval_rows(result.metrics, wanted, comparisons, result.capacities):
        table.add_row(*(Text(cell) for cell in row))
    return table


def lift_ceilings(result: TrainResult) -> dict[str, float]:
    """Per programme, the precision lift over the rule that a perfect ranking would reach.

    A perfect ranking puts every event first, so its precision at k is
    ``min(1, events / k)``: where the rule is already precise, or k exceeds the test
    quarter's events, no scorer can lift it far. The bound puts a lift target in context.
    """
    lookup = result.metrics.set_index(["scorer", "metric"])["estimate"]
    events, rows = result.counts.get("test_events"), result.counts.get("test_rows")
    out = {}
    for programme, k in result.capacities.items():
        key = ("rule", f"precision_at_k_{programme}")
        if key in lookup.index and lookup[key] > 0 and events is not None and rows:
            best = min(1.0, events / min(k, rows))
            out[programme] = best / float(lookup[key])
    return out


def rolling_rows(rolling: pd.DataFrame) -> list[list[str]]:
    """AUROC, ECE and Brier per rolling-origin test quarter and scorer, as text."""
    return [
        [
            str(r.test_as_of),
            str(getattr(r, "train_as_of", "")),  # results saved before these had none
            str(getattr(r, "calibration_as_of", "")),
            r.scorer,
            f"{r.n:,}",
            f"{r.auroc:.3f}",
            f"{r.ece:.3f}",
            f"{r.brier:.3f}",
        ]
        for r in rolling.itertuples(index=False)
    ]


def rolling_rich_table(rolling: pd.DataFrame) -> Table:
    """AUROC, ECE and Brier per rolling-origin test quarter and scorer."""
    return text_table(
        ROLLING_TITLE,
        ROLLING_COLUMNS,
        rolling_rows(rolling),
        left=("scorer",),
        caption=ROLLING_NOTE,
    )


def importance_rows(importance: pd.DataFrame, top: int) -> list[list[str]]:
    """The ``top`` features by mean absolute contribution, as text."""
    return [
        [str(r.rank), r.label, f"{r.mean_abs_contribution:.3f}", f"{r.share:.1%}", r.direction]
        for r in importance.head(top).itertuples(index=False)
    ]


def importance_title(importance: pd.DataFrame, top: int) -> str:
    shown = min(top, len(importance))
    return f"what drives the score: top {shown} feature{'s' if shown != 1 else ''}"


def importance_note(result: TrainResult) -> str:
    """How the importance was measured: which rows, which units, what the direction means."""
    n = result.counts.get("test_rows", 0)
    rows = (
        f"a seeded sample of {MAX_ROWS:,} of the test quarter's {n:,} rows"
        if n > MAX_ROWS
        else f"the test quarter's {n:,} rows"
    )
    return (
        f"Mean absolute SHAP contribution to the score (log-odds) over {rows}. Direction: "
        f"the mean contribution over up to {BINS} bins of the feature's value (missing values "
        f"left out; bins of {MIN_BIN_ROWS}+ rows): rising or falling when the bins never step "
        f"back by more than {MAX_STEP_BACK:.0%} of their range, '{HIGHEST} A to B' or "
        f"'{LOWEST} A to B' when a fit with a single turn explains {MIN_FIT:.0%} of their "
        f"variance, and '{MIXED}' otherwise or when they differ by less than {MIN_SPREAD:.0%} "
        "of the feature's mean |contribution| (its effect then depends on the other features); "
        f"'{UNUSED}' for a feature the model "
        "never uses. Paid amounts and service counts measure care received as well as need: "
        "a group that gets less care for the same need is scored lower through them, which "
        "the by-group tables' O/E shows."
    )


def importance_rich_table(importance: pd.DataFrame, top: int = 10, caption: str = "") -> Table:
    """The ``top`` features by mean absolute contribution on the test quarter."""
    return text_table(
        importance_title(importance, top),
        IMPORTANCE_HEADER,
        importance_rows(importance, top),
        left=("feature", "direction"),
        caption=caption,
    )


def _people(count: int) -> str:
    """A count of people as the summary, which may leave the staff circle, shows it: 1 to 10
    is not written exactly (those left out are mostly the dead; metadata.json and the
    tracking store keep the exact counts)."""
    return "1 to 10" if small_count(count) else f"{count:,}"


def run_facts(result: TrainResult) -> dict[str, str]:
    """One-line facts about a run, keyed ``split``, ``rows``, ``input``, ``input_warning``,
    ``warning``, ``baselines``, ``intervals``, ``fingerprint``, ``oracle`` and ``ceiling`` (the ones that
    do not apply are left out)."""
    split, c = result.split, result.counts
    facts = {
        "split": f"split: train {', '.join(d.isoformat() for d in split.train_as_of)}; "
        f"calibration {', '.join(d.isoformat() for d in split.calibration_as_of)}; "
        f"test {split.test_as_of.isoformat()} (horizon {split.horizon_months} months, "
        f"data end {split.data_end.isoformat()})",
        "rows": f"rows (events): train {c['train_rows']:,} ({_people(c['train_events'])}), "
        f"calibration {c['calibration_rows']:,} ({_people(c['calibration_events'])}), test "
        f"{c['test_rows']:,} ({_people(c['test_events'])}); k (a programme's places a quarter; a caseload held at a "
        "time counts whole): " + ", ".join(f"{p}={k:,}" for p, k in result.capacities.items()),
    }
    if "test_left_out" in c:  # results saved before these counts existed lack them
        facts["rows"] += (
            "; left out, their window not fully observed (a death before any event, or the "
            f"data ending inside it): train {_people(c['train_left_out'])}, "
            f"calibration {_people(c['calibration_left_out'])}, test {_people(c['test_left_out'])}"
        )
    warning = capacity_warning(result.capacities, c["test_rows"])
    if warning:
        facts["warning"] = f"warning: {warning}"
    behind = baseline_warning(result)
    if behind:
        facts["baseline_warning"] = f"warning: {behind}"
    weak = lift_warning(result)
    if weak:
        facts["lift_warning"] = f"warning: {weak}"
    miscalibrated = calibration_warning(result)
    if miscalibrated:
        facts["calibration_warning"] = f"warning: {miscalibrated}"
    facts |= _input_facts(result.inputs)
    baselines = baseline_text(result)
    if baselines:
        facts["baselines"] = baselines
    facts["intervals"] = interval_method(result)
    if result.data_fingerprint:
        facts["fingerprint"] = (
            f"data fingerprint (sha256 of the tables as loaded): {result.data_fingerprint}"
        )
    software = _software(result.bundle)
    if software:
        facts["software"] = software
    if result.configs:  # the rules and capacities the baselines read: not in the code digest
        facts["configs"] = "configs read (sha256): " + ", ".join(
            f"{name} {digest[:12]}" for name, digest in result.configs.items()
        )
    if result.oracle:
        facts["oracle"] = (
            f"oracle: {result.oracle}, "
            f"{ORACLE_TEXT.get(result.oracle.split()[0], 'from the truth table given')}"
        )
    ceiling = lift_ceilings(result)
    if ceiling:
        facts["ceiling"] = (
            "largest precision lift over the rule any scorer can reach (a perfect ranking's "
            "precision, min(1, events / k), over the rule's): "
            + ", ".join(f"{p} {v:.2f}x" for p, v in ceiling.items())
        )
    return facts


def _software(bundle: object | None) -> str | None:
    """The code and libraries that trained the bundle, as its metadata records them."""
    packages = dict(getattr(bundle, "metadata", {}).get("packages", {}))
    if not packages:
        return None
    code = packages.pop("riskstrat_code_sha256", None)
    version = packages.pop("riskstrat", "?")
    head = f"software: riskstrat {version}" + (f" (code sha256 {code[:12]})" if code else "")
    return head + ", " + ", ".join(f"{name} {v}" for name, v in sorted(packages.items()))


BASELINE_TEXT = {
    "rule": "rule = programmes a person is eligible for, then distinct criteria met "
    "(1,000 x programmes + criteria), the county's own heuristic: what the model must beat "
    "to be worth using; its many ties at a capacity's cut count at their expected value",
    "single_feature": "single_feature = {feature} alone, a floor rather than a rival: "
    "beating it shows only that the model reads more than one input",
}


def baseline_text(result: TrainResult) -> str | None:
    """What each baseline of the run ranks by, and what beating it shows; None without any."""
    parts = [
        BASELINE_TEXT[b].format(feature=result.config.single_feature)
        for b in result.baselines
        if b in BASELINE_TEXT
    ]
    return "baselines (calibrated like the model): " + "; ".join(parts) if parts else None


def interval_method(result: TrainResult) -> str:
    """How the run's intervals were made, in one line."""
    m = result.config.metrics
    level = int(round(m.confidence * 100))
    if m.n_bootstrap == 0:
        return "intervals: none (model.metrics.n_bootstrap is 0)"
    return (
        f"intervals: {level}% percentile bootstrap over {m.n_bootstrap} resamples of the test "
        "quarter's persons (a person's rows are drawn together; the fitted model is held "
        "fixed, so they show the test sample's variation, not a refit's); the ECE's is "
        "shifted down by the bootstrap's bias and floored at 0; a lift's takes resampled "
        "values as they are, so a bound can be infinite"
    )


def _input_facts(inputs: dict | None) -> dict[str, str]:
    """``input``: rows used and set aside; ``input_warning``: what the sources leave out."""
    if not inputs:
        return {}
    used = sum(inputs["rows_used"].values())
    if not inputs["validated"]:
        text = f"input: {used:,} rows, as given in memory (not validated by this run)"
    else:
        set_aside = inputs["rows_set_aside"]
        text = f"input: {used:,} rows used"
        if set_aside:
            text += (
                f"; {sum(set_aside.values()):,} set aside by the data contract ("
                + ", ".join(f"{t} {n:,}" for t, n in set_aside.items())
                + "; `riskstrat validate --mode quarantine` lists them with their reasons)"
            )
        else:
            text += ", none set aside by the data contract"
    facts = {"input": text}
    if inputs["warnings"]:
        facts["input_warning"] = "warning: " + "; ".join(inputs["warnings"])
    return facts

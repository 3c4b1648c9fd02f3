"""A small person x quarter panel from a known logistic data-generating process."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling._estimators import RULE_SCORE
from riskstrat.modeling._panel import FEATURES_ATTR, OUTCOMES_ATTR
from riskstrat.modeling._timechop import quarter_starts

DATA_END = dt.date(2024, 1, 1)
AS_OF = quarter_starts(dt.date(2020, 1, 1), dt.date(2023, 1, 2))  # 2020-01-01 .. 2023-01-01
FEATURES = [
    "age",
    "psych_inpatient_admissions_365d",
    "ed_visits_365d",
    "bookings_365d",
    "homeless_now",
    "has_smi",
    "has_sud",
    "days_since_release",
    "mcas_latest",
    "race_ethnicity_black",
]


def make_panel(n_persons: int = 2500, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel and truth: the true probability is a known logistic function with interactions.

    ``race_ethnicity_black`` drives the outcome too, so a model that used it would gain
    from it; the default config must still leave it out.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for as_of in AS_OF:
        n = n_persons
        psych = rng.poisson(0.3, n)
        ed = rng.poisson(1.2, n)
        bookings = rng.poisson(0.25, n)
        homeless = rng.random(n) < 0.12
        smi = rng.random(n) < 0.15
        sud = rng.random(n) < 0.2
        age = rng.integers(18, 85, n)
        release = np.where(rng.random(n) < 0.2, rng.integers(1, 400, n), 9999)
        mcas = np.where(rng.random(n) < 0.1, rng.integers(17, 86, n).astype(float), np.nan)
        black = rng.random(n) < 0.3
        logit = (
            -2.6
            + 0.55 * np.minimum(psych, 3)
            + 0.35 * np.minimum(ed, 5)
            + 0.5 * bookings
            + 0.7 * homeless
            + 0.4 * smi
            + 0.4 * sud
            + 0.9 * (smi & sud)  # interaction a tree model can find
            - 0.015 * (age - 45)
            + 0.6 * (release < 90)
            + 0.3 * black
        )
        p = 1 / (1 + np.exp(-logit))
        frames.append(
            pd.DataFrame(
                {
                    "person_id": [f"p{i:05d}" for i in range(n)],
                    "as_of": pd.Timestamp(as_of),
                    "age": age,
                    "psych_inpatient_admissions_365d": psych,
                    "ed_visits_365d": ed,
                    "bookings_365d": bookings,
                    "homeless_now": homeless,
                    "has_smi": smi,
                    "has_sud": sud,
                    "days_since_release": release,
                    "mcas_latest": mcas,
                    "race_ethnicity_black": black,
                    "composite_adverse": (rng.random(n) < p).astype(float),
                    "composite_adverse_censored": rng.random(n) < 0.02,
                    "_p": p,
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    panel["as_of"] = panel["as_of"].astype("datetime64[us]")
    truth = panel[["person_id", "as_of", "_p"]].rename(columns={"_p": "composite_adverse"})
    truth.attrs["riskstrat_oracle"] = "path"  # the probability that drew each outcome
    panel = panel.drop(columns="_p")
    # A county-style rule on these few columns: one point per acute-need flag.
    flags = (
        (panel["psych_inpatient_admissions_365d"] >= 1).astype(int)
        + (panel["ed_visits_365d"] >= 4)
        + (panel["bookings_365d"] >= 1)
        + panel["homeless_now"].astype(int)
        + panel["has_smi"].astype(int)
        + panel["has_sud"].astype(int)
    )
    panel[RULE_SCORE] = flags.astype("float64").to_numpy()
    panel.attrs[FEATURES_ATTR] = list(FEATURES)
    panel.attrs[OUTCOMES_ATTR] = {
        "composite_adverse": {"horizon_months": 12, "within_horizon": True}
    }
    panel.attrs["data_end"] = DATA_END
    return panel, truth


@pytest.fixture(scope="session")
def dgp_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_panel()


DIFFERENCES = {
    "n-e": {"n": 1, "e": -1},
    "n-s": {"n": 1, "s": -1},
    "s-h": {"s": 1, "h": -1},
    "e-h": {"e": 1, "h": -1},
    "n-s-e+h": {"n": 1, "s": -1, "e": -1, "h": 1},
}


def _published(part: pd.DataFrame) -> tuple[pd.Series, list[str], str | None, list[str]]:
    """One attribute's shown figures, its groups, the capacity's programme and the scorers."""
    shown = part[~part["suppressed"]].set_index(["group", "scorer", "metric"])["estimate"]
    groups = [g for g in dict.fromkeys(part["group"]) if g != "all"]
    metrics = part["metric"]
    programme = next(
        (m.removeprefix("selected_at_k_") for m in metrics if m.startswith("selected_at_k_")),
        None,
    )
    scorers = [s for s in dict.fromkeys(part["scorer"]) if s != "observed" and "_vs_" not in s]
    return shown, groups, programme, scorers


def _recovered(shown: pd.Series, group: str, scorer: str, programme: str | None) -> dict:
    """A group's counts as a reader recovers them from the figures shown for it."""

    def get(metric: str, who: str = scorer) -> float | None:
        value = shown.get((group, who, metric))
        return None if value is None or not np.isfinite(value) else float(value)

    figures = {
        "n": get("n", "observed"),
        "e": get("events", "observed"),
        "rate": get("observed_rate", "observed"),
        "oe_risk": None,
    }
    oe, risk = get("observed_to_expected"), get("mean_risk")
    if oe is not None and risk is not None:
        figures["oe_risk"] = oe * risk  # = events / people
    if programme is not None:
        figures |= {
            "s": get(f"selected_at_k_{programme}"),
            "h": get(f"selected_events_at_k_{programme}"),
            "sel": _rate(shown, group, scorer, "selection_rate", programme),
            "rec": _rate(shown, group, scorer, "recall", programme),
            "prec": _rate(shown, group, scorer, "precision", programme),
            "fpr": _rate(shown, group, scorer, "false_positive_rate", programme),
        }
    c = {k: figures[k] for k in ("n", "e", "s", "h") if figures.get(k) is not None}
    for _ in range(4):  # each recovery can enable another
        for share in ("rate", "oe_risk"):  # e = share x n
            if figures[share] is not None:
                if "n" in c:
                    c.setdefault("e", figures[share] * c["n"])
                if "e" in c and figures[share]:
                    c.setdefault("n", c["e"] / figures[share])
        for part, whole, share in (("s", "n", "sel"), ("h", "e", "rec"), ("h", "s", "prec")):
            if figures.get(share) is not None:
                if whole in c:
                    c.setdefault(part, figures[share] * c[whole])
                if part in c and figures[share]:
                    c.setdefault(whole, c[part] / figures[share])
        # False positives over non-events: (s - h) = fpr x (n - e).
        if figures.get("fpr") is not None and all(k in c for k in ("n", "e", "h")):
            c.setdefault("s", c["h"] + figures["fpr"] * (c["n"] - c["e"]))
        if figures.get("fpr") and all(k in c for k in ("s", "h", "e")):
            c.setdefault("n", c["e"] + (c["s"] - c["h"]) / figures["fpr"])
    c = {k: round(v) for k, v in c.items()}
    for name, parts in DIFFERENCES.items():
        if all(k in c for k in parts):
            c[name] = sum(w * c[k] for k, w in parts.items())
    return c


def _rate(shown: pd.Series, group: str, scorer: str, rate: str, programme: str) -> float | None:
    """A group's rate at k as shown, or worked out from ratios to the reference group: the
    reference's rate is any group's shown rate over its shown ratio, and a group's rate is
    its ratio times that (the reference is named in the table, and follows from its rule)."""
    value = shown.get((group, scorer, f"{rate}_at_k_{programme}"))
    if value is not None and np.isfinite(value):
        return float(value)
    try:
        rates = shown.xs((scorer, f"{rate}_at_k_{programme}"), level=("scorer", "metric"))
        ratios = shown.xs((scorer, f"{rate}_ratio_at_k_{programme}"), level=("scorer", "metric"))
    except KeyError:
        return None
    both = pd.concat([rates, ratios], axis=1, keys=["rate", "ratio"]).dropna()
    both = both[(both["ratio"] > 0) & (both.index != "all")]
    if both.empty:
        return None
    base = float(both["rate"].iloc[0] / both["ratio"].iloc[0])
    flags = shown.xs(("observed", "reference_group"), level=("scorer", "metric"))
    if flags.get(group) == 1:
        return base
    ratio = ratios.get(group)
    return None if ratio is None or not np.isfinite(ratio) else float(ratio * base)


def readable_small_counts(table: pd.DataFrame, min_cell: int = 11) -> list[str]:
    """Every count of 1 to ``min_cell - 1`` people a reader can work out of a published
    subgroup table, each as a line saying where.

    Per attribute and scorer it recovers each group's people ``n``, events ``e``, selected
    ``s`` and selected events ``h`` from the figures shown (directly, or a share times a
    count: observed rate, O/E x mean risk, selection rate, recall), takes every difference
    within a group (n-e, n-s, s-h, e-h, n-s-e+h), and, with the ``all`` row, what the
    unknown cells of each column add up to (unless that is the whole quarter's total).
    """
    found = []
    for attribute, part in table.groupby("attribute"):
        shown, groups, programme, scorers = _published(part)
        for scorer in scorers:
            cells = {g: _recovered(shown, g, scorer, programme) for g in [*groups, "all"]}
            for group in groups:
                for name, value in cells[group].items():
                    if 0 < value < min_cell:
                        found.append(f"{attribute}/{group}/{scorer}: {name} = {value}")
            for name, total in cells["all"].items():
                unknown = [g for g in groups if name not in cells[g]]
                rest = total - sum(cells[g][name] for g in groups if name in cells[g])
                # rest == total: the unknown cells hold the whole test quarter's count,
                # which the all row (and metrics.csv) publish anyway.
                if unknown and 0 < rest < min_cell and rest != total:
                    found.append(f"{attribute}/{scorer}: {name} of {unknown} adds up to {rest}")
    return found


def pinned_small_counts(table: pd.DataFrame, min_cell: int = 11) -> list[str]:
    """Counts a reader can pin between 1 and ``min_cell - 1`` by integer programming.

    Independent of the suppression code: from the published table alone, every count not
    shown (people, events, and per scorer selected and selected events) is an unknown
    whole number; the ``all`` row gives each column's total, and every count and every
    difference within a group (n-e, n-s, s-h, e-h, n-s-e+h) is at least zero. The least
    and greatest value of each unknown and each difference follow from two integer
    programs; a range inside 1 to ``min_cell - 1`` is a disclosure.
    """
    return [
        line
        for attribute, part in table.groupby("attribute")
        for line in _pinned_in(attribute, part, min_cell)
    ]


def _pinned_in(attribute: str, part: pd.DataFrame, min_cell: int) -> list[str]:
    from scipy.optimize import Bounds, LinearConstraint, milp

    found = []
    shown, groups, programme, scorers = _published(part)
    where = {"n": ("observed", "n"), "e": ("observed", "events")}
    if programme is not None:
        for s in scorers:
            where[f"s:{s}"] = (s, f"selected_at_k_{programme}")
            where[f"h:{s}"] = (s, f"selected_events_at_k_{programme}")
    value = {(g, c): shown.get((g, *where[c])) for g in [*groups, "all"] for c in where}
    unknown = [k for k, v in value.items() if k[0] != "all" and (v is None or np.isnan(v))]
    if not unknown:
        return found
    index = {k: i for i, k in enumerate(unknown)}
    rows, low, high = [], [], []

    def linear(terms: dict) -> tuple[np.ndarray, float]:
        row, constant = np.zeros(len(unknown)), 0.0
        for k, w in terms.items():
            if k in index:
                row[index[k]] += w
            else:
                constant += w * value[k]
        return row, constant

    def add(terms: dict, lo: float, hi: float) -> None:
        row, constant = linear(terms)
        rows.append(row)
        low.append(lo - constant)
        high.append(hi - constant)

    for c in where:
        total = value[("all", c)]
        add({(g, c): 1 for g in groups}, total, total)
    differences = {"n-e": {"n": 1, "e": -1}}
    for s in scorers if programme is not None else []:
        S, H = f"s:{s}", f"h:{s}"
        differences |= {
            f"n-{S}": {"n": 1, S: -1},
            f"{S}-{H}": {S: 1, H: -1},
            f"e-{H}": {"e": 1, H: -1},
            f"rest:{s}": {"n": 1, "e": -1, S: -1, H: 1},
        }
    targets = {(g, c): {(g, c): 1} for g, c in unknown}
    for g in groups:
        for name, terms in differences.items():
            keyed = {(g, c): w for c, w in terms.items()}
            add(keyed, 0, np.inf)
            if any(k in index for k in keyed):
                targets[(g, name)] = keyed
    constraints = LinearConstraint(np.array(rows), low, high)
    bounds = Bounds(0, value[("all", "n")])
    integral = np.ones(len(unknown))
    for (group, name), terms in targets.items():
        objective, constant = linear(terms)
        least = milp(objective, constraints=constraints, bounds=bounds, integrality=integral)
        most = milp(-objective, constraints=constraints, bounds=bounds, integrality=integral)
        lo, hi = round(least.fun + constant), round(-most.fun + constant)
        # Under a published total below min_cell every cell is small: the all row says so.
        total = sum(w * value[("all", c)] for (_, c), w in terms.items())
        if lo >= 1 and hi < min_cell and total >= min_cell:
            found.append(f"{attribute}/{group}: {name} is between {lo} and {hi}")
    return found

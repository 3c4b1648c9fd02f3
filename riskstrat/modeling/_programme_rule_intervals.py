"""Bootstrap intervals for each programme's own rule against the model on its places.

Each programme's rule fills ``min(k, eligible)`` places, a number that moves with the
resample: a resample drawing more eligible people fills more places (up to k). So every
resample recomputes the eligible, the places and the events among the top of each
ranking at its own number of places, on the same resamples of persons for the rule and
the model, and the lift's interval is the paired one of the ratio. Ties at a cut count at
their expected value, as in the point estimates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from riskstrat.modeling._metrics import _CHUNK_CELLS, _resample_weights

# Up to this many distinct scores, a ranking's tie groups are summed by matrix product.
_FEW_GROUPS = 64
# The three rankings compared, in the point table's names.
RULE, MODEL_ALL, MODEL_ELIGIBLE = "rule", "model", "model_within_eligible"


@dataclasses.dataclass(frozen=True)
class _Ranking:
    """Rows in ranking order (higher key first) and where each run of tied keys starts."""

    order: np.ndarray
    starts: np.ndarray
    y: np.ndarray  # outcomes in that order
    # A rule score takes a few dozen values: its groups' sums are one matrix product with
    # a row-to-group indicator, not a reordering of every resample's weights.
    indicator: sparse.csr_array | None = None

    @classmethod
    def of(cls, y: np.ndarray, key: np.ndarray) -> _Ranking:
        order = np.argsort(-key, kind="stable")
        ranked = key[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        indicator = None
        if len(starts) <= _FEW_GROUPS:
            group = np.empty(len(key), dtype=np.int64)
            group[order] = np.cumsum(np.r_[False, ranked[1:] != ranked[:-1]])
            # Sparse: one entry per row, where a dense one held rows x groups.
            shape = (len(key), len(starts))
            rows = np.arange(len(key))
            ones = sparse.csr_array((np.ones(len(key)), (rows, group)), shape=shape)
            indicator = sparse.hstack([ones, ones.multiply(y[:, None])]).tocsr()
        return cls(order, starts, y[order], indicator)

    def cumulated(self, W: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per resample, each tie group's weight and events, and their running sums."""
        if self.indicator is not None:
            group_w, group_e = np.hsplit(W @ self.indicator, 2)
        else:
            w = W[:, self.order]
            group_w = np.add.reduceat(w, self.starts, axis=1)
            group_e = np.add.reduceat(w * self.y, self.starts, axis=1)
        return group_w, group_e, np.cumsum(group_w, axis=1), np.cumsum(group_e, axis=1)


def _hits_at(cumulated: tuple[np.ndarray, ...], k: np.ndarray) -> np.ndarray:
    """Expected events among the top ``k[b]`` weight, the tie group at the cut shared in
    proportion."""
    group_w, group_e, cum_w, cum_e = cumulated
    # The group the cut falls in: the first whose running weight reaches k.
    at = np.minimum((cum_w < k[:, None] - 1e-9).sum(axis=1), group_w.shape[1] - 1)
    rows = np.arange(len(k))
    before_w = cum_w[rows, at] - group_w[rows, at]
    before_e = cum_e[rows, at] - group_e[rows, at]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip((k - before_w) / group_w[rows, at], 0.0, 1.0)
    return before_e + np.nan_to_num(share) * group_e[rows, at]


def weighted_hits(y: np.ndarray, key: np.ndarray, W: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Expected events among the top ``k[b]`` weight of rows by ``key`` (higher first),
    per resample ``b`` (a row of case weights ``W``), ties sharing the cut in proportion."""
    return _hits_at(_Ranking.of(y, key).cumulated(W), k)


def resampled_programme_rules(
    y: np.ndarray,
    model_rank: np.ndarray,
    rule_scores: Mapping[str, np.ndarray],
    ks: Mapping[str, int],
    *,
    eligible_score: float,
    n_bootstrap: int,
    seed: int,
    clusters: np.ndarray | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Per programme, each resample's precision and recall of the three rankings on the
    rule's places, and the lift (model over the rule): ``{programme: {name: values}}``
    with names ``precision_<ranking>``, ``recall_<ranking>`` and ``lift``.

    The resamples are drawn as :func:`riskstrat.modeling.bootstrap_metrics` draws them
    (the same seed and clusters give the same resamples).
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if clusters is not None:
        clusters = pd.factorize(np.asarray(clusters))[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    parts: dict[str, dict[str, list[np.ndarray]]] = {p: {} for p in rule_scores}
    # Ranked once: the model's whole ranking serves every programme, at its own places.
    eligible = {
        p: s >= eligible_score for p, s in rule_scores.items() if (s >= eligible_score).any()
    }
    model = _Ranking.of(y, model_rank)
    rules = {p: _Ranking.of(y, rule_scores[p]) for p in eligible}
    within = {p: _Ranking.of(y[e], model_rank[e]) for p, e in eligible.items()}
    done = 0
    while done < n_bootstrap:
        size = min(chunk, n_bootstrap - done)
        W = _resample_weights(rng, n, size, clusters)
        events = W @ y
        model_cumulated = model.cumulated(W)
        for programme, is_eligible in eligible.items():
            places = np.minimum(float(ks[programme]), W @ is_eligible.astype(np.float64))
            hits = {
                RULE: _hits_at(rules[programme].cumulated(W), places),
                MODEL_ALL: _hits_at(model_cumulated, places),
                MODEL_ELIGIBLE: _hits_at(within[programme].cumulated(W[:, is_eligible]), places),
            }
            with np.errstate(invalid="ignore", divide="ignore"):
                found = {
                    f"precision_{who}": np.where(places > 0, h / places, np.nan)
                    for who, h in hits.items()
                }
                found |= {
                    f"recall_{who}": np.where(events > 0, h / events, np.nan)
                    for who, h in hits.items()
                }
                # A resample in which neither finds an event has no ratio (NaN).
                found["lift"] = hits[MODEL_ALL] / hits[RULE]
            for name, values in found.items():
                parts[programme].setdefault(name, []).append(values)
        done += size
    return {p: {m: np.concatenate(v) for m, v in got.items()} for p, got in parts.items()}

"""Closed forms for the oracle: one-month transition terms and forward recursions.

Within a month every rate is constant. A stream in a shock group has its rate multiplied by
the month's shock G (gamma, mean 1, variance ``theta``); integrating G out turns Poisson
probabilities into their mixed forms:

* P(no event) = ``L(mu) = (1 + theta mu)^(-1/theta)`` (``exp(-mu)`` when ``theta = 0``);
* P(j events) = negative binomial with mean ``lam`` and shape ``1/theta``.

Death (hazard ``h``) competes with the events. Surviving the month has probability
``exp(-h)`` and the month's events are independent of it, which is exact. For people who
die in the month, ``integral_0^1 h e^(-h s) P(events by s) ds`` is taken by two-point
Gauss-Legendre quadrature (error of order ``h mu^4 / 4000``, negligible for the model).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, roots_genlaguerre


def fraction_alive(h: np.ndarray) -> np.ndarray:
    """E[fraction of the month alive | alive at its start] = (1 - e^-h) / h."""
    return np.where(h > 1e-12, -np.expm1(-h) / np.maximum(h, 1e-300), 1.0 - h / 2)


def laplace(mu: np.ndarray, theta: float) -> np.ndarray:
    """P(no event) of a stream with monthly mean ``mu`` mixed over its shock."""
    if theta == 0:
        return np.exp(-mu)
    return np.exp(np.log1p(theta * mu) * (-1.0 / theta))  # faster than a float32 power


def nb_pmf(lam: np.ndarray, theta: float, k: int) -> np.ndarray:
    """P(j events) for j < k, stacked on a new first axis: shape ``(k, *lam.shape)``."""
    out = np.empty((k, *lam.shape), dtype=lam.dtype)
    out[0] = laplace(lam, theta)
    if k > 1:
        ratio = lam if theta == 0 else theta * lam / (1.0 + theta * lam)
    for j in range(1, k):
        growth = 1.0 / j if theta == 0 else (j - 1 + 1.0 / theta) / j
        np.multiply(out[j - 1], ratio * growth, out=out[j])
    return out


# Two-point Gauss-Legendre rule on [0, 1] for the month-of-death integral.
_DEATH_NODES = tuple(
    (float((x + 1) / 2), float(w / 2))
    for x, w in zip(*np.polynomial.legendre.leggauss(2), strict=True)
)


def month_terms(
    h: np.ndarray,
    events: list[tuple[np.ndarray, float]],
    counted: tuple[np.ndarray, float] | None = None,
    k: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Per month: P(survive, no event, j counted) and P(die before any event, j counted).

    Inputs are shaped (months, n); both outputs ``(k, months, n)`` (people last, so every
    step of the recursions reads contiguous vectors).
    """

    def at(s: float) -> tuple[np.ndarray, np.ndarray]:
        # P(no event by time s of the month), P(j counted by s), shock integrated out.
        no_event = np.ones_like(h)
        for mu, theta in events:
            no_event *= laplace(mu * s, theta)
        if counted is None:
            return no_event, np.ones((1, *h.shape), dtype=h.dtype)
        return no_event, nb_pmf(counted[0] * s, counted[1], k)

    no_event, pmf = at(1.0)
    stay = (np.exp(-h) * no_event)[None] * pmf
    die = np.zeros_like(stay)
    for s, w in _DEATH_NODES:
        no_event, pmf = at(s)
        die += (w * h * np.exp(-h * s) * no_event)[None] * pmf
    return stay, die


def passage(stay: np.ndarray, die: np.ndarray) -> np.ndarray:
    """P(an event, or k counted events, before death) over the months; arrays (k, months, n)."""
    k, months, n = stay.shape
    if k == 1:
        # Survival without event to the start of each month, then the month's hazard.
        surv = np.cumprod(stay[0], axis=0)
        before = np.vstack([np.ones((1, n), dtype=surv.dtype), surv[:-1]])
        return np.clip((before * (1.0 - stay[0] - die[0])).sum(axis=0), 0.0, 1.0)
    mass = np.zeros((k, n), dtype=stay.dtype)  # alive, no event yet, c counted (c < k)
    mass[0] = 1.0
    hit = np.zeros(n, dtype=stay.dtype)
    for m in range(months):
        st, dt = stay[:, m], die[:, m]
        left = [1.0 - st[0] - dt[0]]  # left[j]: neither k-c counted nor an event, j = k-1-c
        for j in range(1, k):
            left.append(left[-1] - st[j] - dt[j])
        new = np.zeros_like(mass)
        for c in range(k):
            hit += mass[c] * left[k - 1 - c]
            for j in range(k - c):
                new[c + j] += mass[c] * st[j]
        mass = new
    return np.clip(hit, 0.0, 1.0)


def homeless_entry(
    h: np.ndarray,
    p_in: np.ndarray,
    p_out: np.ndarray,
    homeless_before: np.ndarray,
    exited_before: np.ndarray | None = None,
    merged: np.ndarray | None = None,
) -> np.ndarray:
    """P(a homeless spell starts before death, and is no return within the outcome's gap).

    ``h``, ``p_in`` and ``p_out`` are (months, n). ``exited_before`` marks people whose
    spell ended in the month before the first; ``merged[m]`` is the chance that an entry in
    month ``m`` by someone who left in month ``m - 1`` starts within the gap of that exit
    (``gap_merge_share``). The outcome reads such an entry as the same episode, so it is
    not counted, and the person is homeless again.

    An entry falls on a uniform day of its month, so it precedes death with probability
    ``(1 - e^-h) / h`` (exact for an exponential death time).
    """
    n = h.shape[1]
    if exited_before is None:
        exited_before = np.zeros(n, dtype=bool)
    if merged is None:
        merged = np.zeros(h.shape[0])
    homeless = homeless_before.astype(h.dtype)
    fresh = (~homeless_before & exited_before).astype(h.dtype)  # left last month
    housed = (~homeless_before & ~exited_before).astype(h.dtype)
    hit = np.zeros(n, dtype=h.dtype)
    for m in range(h.shape[0]):
        surv = np.exp(-h[m])
        back = fresh * p_in[m] * merged[m]
        hit += ((housed + fresh) * p_in[m] - back) * fraction_alive(h[m])
        housed, fresh, homeless = (
            (housed + fresh) * (1 - p_in[m]) * surv,
            homeless * p_out[m] * surv,
            (homeless * (1 - p_out[m]) + back) * surv,
        )
    return hit


def gap_merge_share(length: np.ndarray, gap_nights: int) -> np.ndarray:
    """Per month t: P(start - exit < ``gap_nights``) for an exit on a uniform day of month
    t - 1 and an entry on a uniform day of month t (0 for the first month).

    With ``a`` days from the exit to its month's end (0 to L - 1) and the entry on day ``b``
    (0-based), the entry is ``a + 1 + b`` nights after the exit: ``gap (gap - 1) / 2`` of
    the ``L(t-1) L(t)`` equally likely pairs fall short of the gap.
    """
    length = np.asarray(length, dtype=np.float64)
    if not 1 <= gap_nights <= 29:  # the pairs below assume the gap fits in any month
        raise ValueError(f"gap_nights must be 1 to 29, got {gap_nights}")
    pairs = gap_nights * (gap_nights - 1) / 2
    out = np.zeros(len(length))
    out[1:] = pairs / (length[:-1] * length[1:])
    return out


_U_NODES, _U_WEIGHTS = np.polynomial.legendre.leggauss(2)


def readmission_month(
    lam: np.ndarray, lam_next: np.ndarray, los: np.ndarray, theta: float, days: float = 30.0
) -> np.ndarray:
    """Approximate P(an admission this month is followed by another 1-``days`` days later).

    Given the month's shock G, admissions are Poisson(``lam`` G); an admission on a uniform
    day with mean length of stay ``los`` leaves ``a`` of the follow-up days in this month
    and the rest in the next (shock integrated out). Pairs are treated as a thinned Poisson
    count given G, then G is integrated by generalised Gauss-Laguerre quadrature. An index
    stay starting while another is open is dropped by the generator, so it counts only
    with probability ``exp(-lam G los / month)``.
    """
    month_len = np.float32(30.44)
    if theta < 1e-3:  # no shock: a single node at G = 1
        nodes, weights = np.ones(1), np.ones(1)
    else:
        shape = 1.0 / theta
        x, w = roots_genlaguerre(6, shape - 1)
        nodes, weights = theta * x, w / np.exp(gammaln(shape))
    lam = lam.astype(np.float32)
    share_zero = np.clip(los / month_len, 0.0, 1.0).astype(np.float32)
    span = np.maximum(month_len - los, 0.0).astype(np.float32)
    # Days of the follow-up window left in this month: 0 (discharge next month) or a
    # Gauss-Legendre node of the uniform part; the next month's share does not depend on G.
    parts = [(share_zero, np.zeros_like(lam))]
    for u, uw in zip((_U_NODES + 1) / 2, _U_WEIGHTS / 2, strict=True):
        parts.append(((1 - share_zero) * np.float32(uw), np.minimum(np.float32(u) * span, days)))
    later = [laplace(lam_next * ((days - a) / month_len), theta) for _w, a in parts]
    p_no_pair = np.zeros_like(lam)
    for g_node, g_weight in zip(nodes, weights, strict=True):
        lam_g = lam * np.float32(g_node / month_len)
        q = np.zeros_like(lam)
        for (w_a, a), next_part in zip(parts, later, strict=True):
            q += w_a * (1 - np.exp(-lam_g * a) * next_part)
        # The index stay itself is dropped when it starts during an open stay.
        kept = np.exp(-lam_g * los)
        p_no_pair += np.float32(g_weight) * np.exp(-lam_g * month_len * kept * q)
    return 1.0 - p_no_pair

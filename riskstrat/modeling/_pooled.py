"""Groups under 11 people merged, so that none shown is small and the pool gives none away."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.modeling._disclosure import MIN_CELL
from riskstrat.modeling._subgroup_names import POOLED


def pooled(groups: np.ndarray, min_cell: int = MIN_CELL) -> np.ndarray:
    """Groups under ``min_cell`` people merged, with the smallest other groups, into one
    named ``"pooled: A, B"``.

    A group hidden for its size would tell a reader it has 1 to 10 people, and with the
    total that narrows it to a count. Pooled, every group shown has 11 or more. But a
    reader who knows the categories and this rule knows the pool holds every small group
    (1 to ``min_cell - 1`` each) and the smallest of the others (each at least
    ``min_cell`` and at most the smallest group shown). So the pool takes the next
    smallest group until those bounds leave the small groups' total as open as it was:
    from their number to ``min_cell - 1`` times it.
    """
    counts = pd.Series(groups).value_counts().sort_values(kind="stable")
    small = list(counts.index[counts < min_cell])
    if not small:
        return groups
    others = [g for g in counts.index if g not in small]
    members = small + others[:1]
    for taken in range(1, len(others) + 1):
        members = small + others[:taken]
        rest = others[taken:]
        if not rest:
            break
        size = counts[members].sum()
        # Small groups' total between len(small) and (min_cell - 1) x len(small) whatever
        # the large ones in the pool hold (min_cell up to the smallest group shown).
        least = size - taken * counts[rest[0]]
        most = size - taken * min_cell
        if least <= len(small) and most >= (min_cell - 1) * len(small):
            break
    name = POOLED + ", ".join(sorted(members))
    return np.where(np.isin(groups, members), name, groups)

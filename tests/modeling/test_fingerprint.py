"""The data fingerprint: equal tables agree in any row order; a changed value, row or column
shows."""

from __future__ import annotations

import pandas as pd

from riskstrat.modeling._fingerprint import data_fingerprint


def _tables() -> dict[str, pd.DataFrame]:
    persons = pd.DataFrame(
        {
            "person_id": ["p1", "p2"],
            "birth_date": pd.to_datetime(["1980-01-01", "1990-06-30"]),
            "sex": pd.Categorical(["F", "M"]),
        }
    )
    encounters = pd.DataFrame({"person_id": ["p1"], "paid_amount": [120.5]})
    return {"persons": persons, "encounters": encounters}


def test_equal_tables_give_equal_fingerprints() -> None:
    first, second = _tables(), _tables()
    assert data_fingerprint(first) == data_fingerprint(second)
    assert len(data_fingerprint(first)) == 64
    # Mapping order does not matter; the index is not part of the data.
    reordered = {"encounters": second["encounters"], "persons": second["persons"]}
    reordered["persons"].index = [10, 11]
    assert data_fingerprint(reordered) == data_fingerprint(first)
    # Nor does the order rows were read in (hive partitions return them by partition).
    flipped = {**second, "persons": second["persons"].iloc[::-1]}
    assert data_fingerprint(flipped) == data_fingerprint(first)


def test_any_change_changes_the_fingerprint() -> None:
    base = data_fingerprint(_tables())
    changes = []
    t = _tables()
    t["encounters"].loc[0, "paid_amount"] = 120.51
    changes.append(t)
    t = _tables()
    t["persons"] = pd.concat([t["persons"], t["persons"].iloc[:1]])  # a row twice
    changes.append(t)
    t = _tables()
    t["persons"] = t["persons"].iloc[:1]
    changes.append(t)
    t = _tables()
    t["persons"] = t["persons"].rename(columns={"sex": "gender"})
    changes.append(t)
    t = _tables()
    t["encounters"]["paid_amount"] = t["encounters"]["paid_amount"].astype("float32")
    changes.append(t)
    t = _tables()
    t["claims"] = t.pop("encounters")
    changes.append(t)
    fingerprints = {data_fingerprint(t) for t in changes}
    assert base not in fingerprints
    assert len(fingerprints) == len(changes)

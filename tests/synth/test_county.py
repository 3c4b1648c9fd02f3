"""synthesize / write_county / the synth command: contract shape, determinism, manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskstrat.cli import app
from riskstrat.data import validate_tables
from riskstrat.data._codes import (
    DRUG_CLASSES,
    DX_GROUPS,
    EVENT_DATES,
    HMIS_PROJECT_TYPES,
    INSTRUMENT_RANGES,
    JUSTICE_EVENT_TYPES,
    PROGRAMS,
    RACE_ETHNICITIES,
    SETTINGS,
    SEXES,
    SPAS,
    TABLE_COLUMNS,
    TABLE_NAMES,
)
from riskstrat.synth import OUTCOMES, BiasConfig, synthesize, write_county
from riskstrat.synth._county import BAD_DIRTY, BAD_PERSONS

from .conftest import END, START

CODES = {
    ("persons", "sex"): SEXES,
    ("persons", "race_ethnicity"): RACE_ETHNICITIES,
    ("encounters", "setting"): SETTINGS,
    ("encounters", "dx_group"): DX_GROUPS,
    ("pharmacy", "drug_class"): DRUG_CLASSES,
    ("justice", "event_type"): JUSTICE_EVENT_TYPES,
    ("homelessness", "project_type"): HMIS_PROJECT_TYPES,
    ("enrollments", "program"): PROGRAMS,
    ("assessments", "instrument"): tuple(INSTRUMENT_RANGES),
}
DATE_PAIRS = {"encounters": "start_date", "homelessness": "start_date", "enrollments": "start_date"}


def test_tables_follow_the_contract(county) -> None:
    tables = county.tables
    assert list(tables) == list(TABLE_NAMES)
    ids = set(tables["persons"]["person_id"])
    assert tables["persons"]["person_id"].is_unique
    for name, frame in tables.items():
        expected = [c for c, _kind, _req in TABLE_COLUMNS[name] if c in frame.columns]
        assert list(frame.columns) == expected, name
        required = [c for c, _kind, req in TABLE_COLUMNS[name] if req]
        assert set(required) <= set(frame.columns), name
        assert frame["person_id"].dtype == "str"
        assert set(frame["person_id"]) <= ids, name
        assert len(frame) > 0, name
        for col, kind, _req in TABLE_COLUMNS[name]:
            if kind == "date" and col in frame:
                assert frame[col].dtype.kind == "M", (name, col)
    for (name, col), allowed in CODES.items():
        assert set(tables[name][col].dropna()) <= set(allowed), (name, col)
    # Every coded value is used somewhere (the contract vocabulary is exercised).
    for key in [("encounters", "setting"), ("justice", "event_type"), ("pharmacy", "drug_class")]:
        assert set(tables[key[0]][key[1]]) == set(CODES[key]), key
    assert set(tables["enrollments"]["program"]) == set(PROGRAMS)
    spa = tables["persons"]["spa"]
    assert set(spa.dropna()) == set(SPAS) and spa.isna().any()
    for name, start in DATE_PAIRS.items():
        frame = tables[name]
        ended = frame["end_date"].notna()
        assert (frame.loc[ended, "end_date"] >= frame.loc[ended, start]).all(), name
    assert (tables["encounters"]["paid_amount"] >= 0).all()
    assert (tables["pharmacy"]["days_supply"] > 0).all()
    for instrument, (lo, hi) in INSTRUMENT_RANGES.items():
        scores = tables["assessments"].query("instrument == @instrument")["score"]
        assert scores.between(lo, hi).all(), instrument


def test_no_event_outside_a_life_or_the_data_range(county) -> None:
    persons = county.tables["persons"].set_index("person_id")
    start, end = pd.Timestamp(START), pd.Timestamp(END)
    for name, col in EVENT_DATES.items():
        frame = county.tables[name]
        death = frame["person_id"].map(persons["death_date"])
        birth = frame["person_id"].map(persons["birth_date"])
        assert not (frame[col] > death).any(), name
        assert not (frame[col] < birth).any(), name
        if name != "homelessness":  # HMIS spells ongoing at the start began before it
            assert frame[col].between(start, end, inclusive="left").all(), name
    assert (persons["birth_date"] < start).all()


def test_an_infant_homeless_at_the_start_entered_on_or_after_birth() -> None:
    import datetime as dt

    from riskstrat.synth._housing import homeless_records
    from riskstrat.synth._model import make_grid
    from riskstrat.synth._sampling import NO_DEATH

    grid = make_grid(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    n = 400
    # Everyone is homeless in the first month, so every spell is backdated up to a year
    # before the data begin; the first 200 were born 1 to 200 days before that.
    state = np.zeros((n, grid.n_data + 13), dtype=bool)
    state[:, :3] = True
    first = int(grid.first[0])
    birth = np.concatenate([first - 1 - np.arange(200), np.full(200, first - 20_000)])
    birth = birth.astype(np.int32)
    death = np.full(n, NO_DEATH, dtype=np.int32)
    _records, spells = homeless_records(state, grid, birth, death, seed=3)
    born = birth[spells["person"]]
    assert (spells["start"] < first).all()
    assert (spells["start"] >= born).all()
    infants = spells["person"] < 200
    # Most infants' draws fell before their birth and were moved to it; the adults' were not.
    assert (spells["start"][infants] == born[infants]).sum() > 100
    assert (spells["start"][~infants] < first - 1).all()


def test_tables_pass_the_data_contract(county) -> None:
    result = validate_tables(county.tables, mode="strict", reference_date=END)
    assert result.report.rejected == 0


def test_truth_shape(county) -> None:
    truth = county.truth
    assert list(truth.columns[:3]) == ["person_id", "as_of", "alive"]
    assert set(OUTCOMES) <= set(truth.columns)
    assert {"need", "latent_mh", "latent_sud", "latent_med", "latent_soc"} <= set(truth.columns)
    assert truth["as_of"].nunique() == 20
    assert truth["alive"].all()
    assert not truth.duplicated(["person_id", "as_of"]).any()
    assert truth.equals(truth.sort_values(["as_of", "person_id"], ignore_index=True))
    probs = truth[[o for o in OUTCOMES if o != "total_cost"]]
    assert ((probs >= 0) & (probs <= 1)).all().all()
    # Only people alive at as_of: the first quarter has everybody.
    first = truth[truth["as_of"] == pd.Timestamp(START)]
    assert len(first) == len(county.tables["persons"])
    deaths = county.tables["persons"]["death_date"]
    last_asof = pd.Timestamp("2023-10-01")
    assert (truth["as_of"] == last_asof).sum() == (deaths.isna() | (deaths >= last_asof)).sum()


def test_same_arguments_give_identical_bytes(tmp_path) -> None:
    args = (1_500, START, "2021-01-01")
    a = write_county(tmp_path / "a", *args, seed=11)
    write_county(tmp_path / "b", *args, seed=11)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == len(TABLE_NAMES) + 2
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    other = synthesize(*args, seed=12)
    assert not other.tables["persons"]["person_id"].equals(a.tables["persons"]["person_id"])


def test_manifest(tmp_path) -> None:
    bias = BiasConfig(group="White", access_factor=0.7)
    county = write_county(tmp_path, 800, START, "2020-07-01", seed=2, bias=bias)
    manifest = json.loads((tmp_path / "synth_manifest.json").read_text())
    assert manifest["arguments"] == {
        "n_persons": 800,
        "start": START,
        "end": "2020-07-01",
        "seed": 2,
        "dirty_rate": 0.0,
        "bias": {"enabled": True, "group": "White", "access_factor": 0.7},
    }
    assert manifest["row_counts"] == {n: len(f) for n, f in county.tables.items()}
    assert manifest["truth_rows"] == len(county.truth)
    assert manifest["injected"] == {}
    truth = pd.read_parquet(tmp_path / "truth" / "truth.parquet")
    assert len(truth) == len(county.truth)


def test_dirty_county_records_injected_faults(tmp_path) -> None:
    county = write_county(tmp_path, 1_000, START, "2020-01-01", seed=4, dirty_rate=0.02)
    assert county.injected and sum(sum(k.values()) for k in county.injected.values()) > 0
    manifest = json.loads((tmp_path / "synth_manifest.json").read_text())
    assert manifest["injected"] == county.injected
    clean = synthesize(1_000, START, "2020-01-01", seed=4)
    assert len(county.tables["encounters"]) >= len(clean.tables["encounters"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_persons": 0}, BAD_PERSONS.format(value=0)),
        ({"dirty_rate": 0.9}, BAD_DIRTY.format(value=0.9)),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    args = {"n_persons": 10, "start": START, "end": END, **kwargs}
    with pytest.raises(ValueError) as info:
        synthesize(**args)
    assert str(info.value) == message


def test_cli_synth(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "county"
    result = runner.invoke(
        app,
        ["synth", "--persons", "300", "--start", START, "--end", "2020-01-01"]
        + ["--seed", "5", "--out", str(out), "--no-bias"],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.glob("*.parquet")} == {f"{t}.parquet" for t in TABLE_NAMES}
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert manifest["bias"]["enabled"] is False
    assert "persons" in result.output
    bad = runner.invoke(
        app,
        ["synth", "--persons", "3", "--start", "2020-13-01"]
        + ["--end", END, "--out", str(tmp_path / "x")],
    )
    assert bad.exit_code == 2
    bad = runner.invoke(
        app,
        ["synth", "--persons", "3", "--start", START, "--end", END]
        + ["--out", str(tmp_path / "x"), "--bias-group", "Martian"],
    )
    assert bad.exit_code == 2
    assert "bias.group" in bad.output


def test_people_ids_are_pseudonymous(county) -> None:
    ids = county.tables["persons"]["person_id"]
    assert ids.str.fullmatch(r"[0-9a-f]{12}").all()
    assert np.all(ids.to_numpy()[:-1] < ids.to_numpy()[1:])


def test_thread_count_does_not_change_the_county(monkeypatch) -> None:
    from riskstrat.synth._parallel import THREADS_ENV

    args = (2_000, START, "2020-07-01")
    monkeypatch.setenv(THREADS_ENV, "1")
    one = synthesize(*args, seed=9)
    monkeypatch.setenv(THREADS_ENV, "2")
    two = synthesize(*args, seed=9)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(one.tables[name], two.tables[name])
    pd.testing.assert_frame_equal(one.truth, two.truth)


def test_a_folder_of_other_files_is_refused_before_generating(tmp_path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    (records / "persons.csv").write_text("person_id\nx\n")
    stages = []
    with pytest.raises(FileExistsError, match="is not a synthetic county riskstrat synth wrote"):
        write_county(records, 50, START, "2020-07-01", progress=stages.append)
    assert stages == []  # refused before any work
    assert sorted(p.name for p in records.iterdir()) == ["persons.csv"]
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "--persons",
            "50",
            "--start",
            START,
            "--end",
            "2020-07-01",
            "--out",
            str(records),
        ],
    )
    assert result.exit_code == 2
    assert "error: --out " in result.output and "(it holds persons.csv)" in result.output


def test_an_earlier_county_is_replaced_whole(tmp_path) -> None:
    out = tmp_path / "county"
    write_county(out, 50, START, "2020-07-01", seed=1)
    (out / "encounters.csv").write_text("person_id\n")  # would be a second encounters table
    write_county(out, 60, START, "2020-07-01", seed=2)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{t}.parquet" for t in TABLE_NAMES] + ["synth_manifest.json", "truth"])
    assert len(pd.read_parquet(out / "persons.parquet")) == 60
    assert not list(tmp_path.glob(".county.*"))  # no work folder left beside it

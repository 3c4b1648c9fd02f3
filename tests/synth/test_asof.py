"""The as-of oracle sees nothing on or after as_of, is the path oracle's conditional mean,
is calibrated, and refuses a county this generator did not write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from riskstrat.cli import app
from riskstrat.outcomes import build_outcomes
from riskstrat.synth import OUTCOMES, as_of_truth, county_identity, write_county
from riskstrat.synth._asof import (
    BAD_DRAWS,
    CountyMismatchError,
    as_of_probabilities,
    path_probabilities,
)
from riskstrat.synth._housing import simulate_chain
from riskstrat.synth._model import BiasConfig, make_grid, make_population
from riskstrat.synth._sampling import death_days
from riskstrat.synth._truth import truth_table

from .conftest import AS_OF

ACCESS = 0.6
VALUES = [*OUTCOMES, "need", "latent_mh", "latent_sud", "latent_med", "latent_soc"]


@pytest.fixture(scope="module")
def world():
    """A small population with its deaths and housing chain, drawn as synthesize does."""
    grid = make_grid(dt.date(2019, 1, 1), dt.date(2022, 1, 1))
    pop = make_population(4_000, grid, BiasConfig(), seed=3)
    death = death_days(np.random.default_rng([3, 2]), pop, grid)
    chain = simulate_chain(pop, grid, 3)
    return pop, grid, death, chain


def _asof(world, q, draws=4, seed=1, pop=None):
    base, grid, death, chain = world
    pop = base if pop is None else pop
    return as_of_probabilities(pop, grid, death, chain, ACCESS, [q], draws, seed)


def test_frailty_is_the_persistent_part_of_the_latent_state(world) -> None:
    pop = world[0]
    assert pop.frailty.shape == (4, pop.n) and pop.frailty.dtype == np.float32
    episode = pop.latent - pop.frailty[:, :, None]
    # The episodic AR(1) part has the stationary sd and lag-1 correlation of the model.
    assert episode.std() == pytest.approx(0.7, rel=0.03)
    lag = np.corrcoef(episode[0, :, 1:].ravel(), episode[0, :, :-1].ravel())[0, 1]
    assert lag == pytest.approx(0.8, abs=0.02)


def test_nothing_on_or_after_as_of_is_read(world) -> None:
    pop, grid = world[0], world[1]
    q = int(grid.quarters[4])
    base = _asof(world, q)
    future = pop.latent.copy()
    future[:, :, q:] = 5.0
    same = _asof(world, q, pop=dataclasses.replace(pop, latent=future))
    for key in base:
        np.testing.assert_array_equal(same[key], base[key], err_msg=key)
    # ...while the path oracle reads the window, and the as-of one the month before it.
    idx = base["person"]
    path = path_probabilities(
        dataclasses.replace(pop, latent=future), grid, q, idx, *world[2:], ACCESS
    )
    assert path["psych_crisis"].mean() > 2 * base["psych_crisis"].mean()
    before = pop.latent.copy()
    before[:, :, q - 1] += 1.0
    moved = _asof(world, q, pop=dataclasses.replace(pop, latent=before))
    assert moved["psych_crisis"].mean() > 1.2 * base["psych_crisis"].mean()


def test_as_of_oracle_is_the_conditional_mean_of_the_path_oracle(world) -> None:
    pop, grid, death, chain = world
    q = int(grid.quarters[4])
    asof = _asof(world, q, draws=64)
    path = path_probabilities(pop, grid, q, asof["person"], death, chain, ACCESS)
    np.testing.assert_array_equal(path["person"], asof["person"])
    n = len(asof["person"])
    for key in VALUES:
        # Law of total expectation: equal population means, up to the per-person spread
        # of the path around its conditional mean (Monte Carlo error included).
        diff = path[key].astype(np.float64) - asof[key]
        assert abs(diff.mean()) <= 4 * diff.std() / np.sqrt(n), key
        # Law of total variance: the as-of oracle is less dispersed.
        assert asof[key].var() < path[key].var(), key


def test_the_windowed_path_oracle_is_the_stored_truth_after_a_recent_exit(world) -> None:
    """The window cut out at a later quarter still knows who left homelessness the month
    before, so a return within the gap is merged as the stored truth merges it."""
    pop, grid, death, chain = world
    q = int(grid.quarters[4])
    truth = truth_table(pop, grid, death, chain, ACCESS)
    at_q = truth["as_of"] == grid.first[q]
    idx = truth["person"][at_q]
    exited = chain[idx, q - 1] & ~chain[idx, q]
    assert exited.sum() >= 10
    path = path_probabilities(pop, grid, q, idx, death, chain, ACCESS)
    for key in VALUES:
        want = truth[key][at_q].astype(np.float64)
        got = path[key].astype(np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=key)


def test_the_first_month_of_the_grid_starts_from_the_stationary_episode(world) -> None:
    pop, grid, death, chain = world
    asof = _asof(world, 0, draws=64)
    path = path_probabilities(pop, grid, 0, asof["person"], death, chain, ACCESS)
    diff = path["composite_adverse"].astype(np.float64) - asof["composite_adverse"]
    assert abs(diff.mean()) <= 4 * diff.std() / np.sqrt(len(diff))
    assert asof["composite_adverse"].var() < path["composite_adverse"].var()


def test_same_seed_same_columns_and_draws_come_in_pairs(world) -> None:
    q = int(world[1].quarters[2])
    first, again, other = _asof(world, q), _asof(world, q), _asof(world, q, seed=2)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)
    assert not np.array_equal(first["psych_crisis"], other["psych_crisis"])
    for draws in (3, 0, 2.0):
        with pytest.raises(ValueError, match=re.escape(BAD_DRAWS.format(value=draws))):
            _asof(world, q, draws=draws)


# --- a written county -------------------------------------------------------------------


@pytest.fixture(scope="module")
def county_dir(county, tmp_path_factory):
    out = tmp_path_factory.mktemp("asof_county")
    county.write(out)
    return out


@pytest.fixture(scope="module")
def asof_frame(county_dir):
    return as_of_truth(county_dir, [AS_OF.date()], draws=16)


def test_as_of_truth_has_the_truth_rows_and_columns(county, asof_frame) -> None:
    path = county.truth[county.truth["as_of"] == AS_OF]
    assert list(asof_frame.columns) == list(county.truth.columns)
    assert asof_frame.dtypes.equals(county.truth.dtypes)
    assert asof_frame["person_id"].tolist() == path["person_id"].tolist()
    assert (asof_frame["as_of"] == AS_OF).all()
    assert set(asof_frame.attrs) == {"riskstrat_oracle", "draws", "county"}
    assert asof_frame.attrs["riskstrat_oracle"] == "as_of" and asof_frame.attrs["draws"] == 16
    assert re.fullmatch(r"[0-9a-f]{64}", asof_frame.attrs["county"])


def test_the_path_oracle_carries_the_identity_of_its_county(county_dir) -> None:
    # The same mark as the as-of oracle's, so training can refuse a copied truth.parquet;
    # nothing else, so that it still reads as the path oracle.
    meta = pq.read_schema(county_dir / "truth" / "truth.parquet").metadata
    assert meta == {b"county": county_identity(county_dir).encode()}


def test_as_of_composite_is_calibrated_against_observed_labels(county, asof_frame) -> None:
    labels = build_outcomes(county.tables, AS_OF)
    frame = asof_frame.merge(labels, on="person_id", suffixes=("", "_obs"), validate="1:1")
    # A censored label (death in the window, no event) is "no event before death", which
    # is what the oracle's competing-risk probability counts.
    y = frame["composite_adverse_obs"].fillna(0).astype(float)
    p = frame["composite_adverse"].astype(float)
    bins = pd.qcut(p.rank(method="first"), 5, labels=False)
    table = (
        pd.DataFrame({"p": p, "y": y})
        .groupby(bins)
        .agg(p=("p", "mean"), y=("y", "mean"), n=("p", "size"))
    )
    tol = 4 * np.sqrt(table["p"] * (1 - table["p"]) / table["n"])
    assert ((table["y"] - table["p"]).abs() <= tol).all(), table
    assert table["y"].iloc[-1] > 10 * table["y"].iloc[0]


def _copy(county_dir, tmp_path):
    out = tmp_path / "copy"
    (out / "truth").mkdir(parents=True)
    for name in ("synth_manifest.json", "persons.parquet", "truth/truth.parquet"):
        shutil.copy(county_dir / name, out / name)
    return out


def test_a_tampered_truth_is_refused(county_dir, tmp_path) -> None:
    out = _copy(county_dir, tmp_path)
    table = pq.read_table(out / "truth" / "truth.parquet")
    i = table.schema.get_field_index("frequent_ed")
    scaled = pc.multiply(table.column(i), pa.scalar(1.01, pa.float32()))
    pq.write_table(table.set_column(i, "frequent_ed", scaled), out / "truth" / "truth.parquet")
    with pytest.raises(CountyMismatchError, match=r"truth\.parquet: .*'frequent_ed'"):
        as_of_truth(out, [AS_OF.date()], draws=2)


def test_a_manifest_with_another_seed_is_refused(county_dir, tmp_path) -> None:
    out = _copy(county_dir, tmp_path)
    manifest = json.loads((out / "synth_manifest.json").read_text())
    manifest["arguments"]["seed"] += 1
    (out / "synth_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CountyMismatchError, match=r"persons\.parquet: the county was not gen"):
        as_of_truth(out, [AS_OF.date()], draws=2)


def test_a_dirty_county_is_accepted(tmp_path) -> None:
    # Faults null, orphan and garble some persons rows; the well-formed ids still match.
    write_county(tmp_path, 2_000, "2019-01-01", "2021-01-01", seed=4, dirty_rate=0.05)
    frame = as_of_truth(tmp_path, ["2019-10-01"], draws=2)
    assert len(frame) > 1_900 and frame["person_id"].is_unique


@pytest.mark.parametrize("day", ["2021-02-01", "2018-10-01", "2024-01-01"])
def test_an_as_of_outside_the_quarters_names_the_date_and_range(county_dir, day) -> None:
    with pytest.raises(ValueError, match=f"as_of {day}: .*one of 2019-01-01 ... 2023-10-01"):
        as_of_truth(county_dir, [day], draws=2)


runner = CliRunner()


def test_oracle_command_help() -> None:
    result = runner.invoke(app, ["oracle", "--help"])
    assert result.exit_code == 0, result.output
    assert "--draws" in result.output and "as-of oracle" in result.output


def test_oracle_command_writes_the_api_rows_with_metadata(county_dir, tmp_path) -> None:
    out = tmp_path / "oracle.parquet"
    args = ["oracle", "--data", str(county_dir), "--as-of", "2021-01-01", "--draws", "4"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = pq.read_schema(out).metadata
    assert meta[b"riskstrat_oracle"] == b"as_of" and meta[b"draws"] == b"4"
    assert meta[b"county"].decode() == county_identity(county_dir)
    written = pq.read_table(out)
    assert (
        written.schema.remove_metadata()
        == pq.read_schema(county_dir / "truth" / "truth.parquet").remove_metadata()
    )
    api = as_of_truth(county_dir, ["2021-01-01"], draws=4)
    got = written.to_pandas()
    got["as_of"] = pd.to_datetime(got["as_of"]).astype(api["as_of"].dtype)
    pd.testing.assert_frame_equal(got, api, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == ["oracle.parquet"]  # no temp file left


def test_oracle_command_exit_codes(county_dir, tmp_path) -> None:
    out = str(tmp_path / "o.parquet")
    bad_date = runner.invoke(
        app, ["oracle", "--data", str(county_dir), "--as-of", "2021-02-01", "--out", out]
    )
    assert bad_date.exit_code == 2 and "as_of 2021-02-01" in bad_date.output
    odd = runner.invoke(
        app,
        ["oracle", "--data", str(county_dir), "--as-of", "2021-01-01", "--draws", "3"]
        + ["--out", out],
    )
    assert odd.exit_code == 2 and "even" in odd.output
    copy = _copy(county_dir, tmp_path)
    manifest = json.loads((copy / "synth_manifest.json").read_text())
    manifest["arguments"]["seed"] += 1
    (copy / "synth_manifest.json").write_text(json.dumps(manifest))
    mismatch = runner.invoke(
        app, ["oracle", "--data", str(copy), "--as-of", "2021-01-01", "--out", out]
    )
    assert mismatch.exit_code == 1 and "not generated by this version" in mismatch.output

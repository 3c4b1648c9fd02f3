"""End to end on a small synthetic county: outputs, determinism, atomicity, exit codes."""

from __future__ import annotations

import datetime as dt
import errno
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from riskstrat._config import default_config_path
from riskstrat.cli import app
from riskstrat.modeling._subgroup_names import ALL
from riskstrat.scoring import (
    COHORT_COLUMNS,
    ModelVerificationError,
    ScoringConfigError,
    ScoringDataError,
    score_cohort,
)
from riskstrat.scoring._cohort import NO_RAISING_FACTOR
from riskstrat.scoring._groups import COUNTS
from riskstrat.scoring._run import OUTPUT_FILES

AS_OF = "2025-01-01"
AS_OF_Q3 = "2025-04-01"
OUTPUTS = (*OUTPUT_FILES, "manifest.json")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """600 synthetic persons on disk and a small LightGBM bundle trained a year earlier."""
    import lightgbm as lgb

    from riskstrat.data import load_tables
    from riskstrat.features import build_features
    from riskstrat.features._digest import definition_digests
    from riskstrat.modeling import ModelBundle
    from riskstrat.outcomes import build_outcomes
    from riskstrat.synth import write_county

    root = tmp_path_factory.mktemp("county")
    write_county(root / "data", 600, "2021-01-01", "2025-04-01", seed=3)
    tables, _ = load_tables(root / "data", mode="quarantine")
    features = build_features(tables, "2024-01-01")
    labels = build_outcomes(tables, "2024-01-01")[["person_id", "psych_crisis"]]
    train = features.merge(labels, on="person_id").dropna(subset=["psych_crisis"])
    names = [c for c in features.columns if c not in ("person_id", "as_of")]
    model = lgb.LGBMClassifier(
        n_estimators=15, num_leaves=7, min_child_samples=5, verbose=-1, n_jobs=1, random_state=0
    ).fit(train[names].astype(float), train["psych_crisis"].astype(bool))
    definitions = {n: d for n, d in definition_digests().items() if n in names}
    metadata = {
        "version": "e2e-1",
        "feature_definitions": definitions,
        "split": {"horizon_months": 12},  # as train writes it
    }
    bundle = ModelBundle.from_calibrated(model, "lightgbm", names, "psych_crisis", metadata)
    bundle.save(root / "bundle")
    return root


def _run(county, out, **kwargs):
    kwargs.setdefault("mode", "quarantine")
    return score_cohort(county / "data", AS_OF, county / "bundle", out, **kwargs)


@pytest.fixture(scope="module")
def first_run(county, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "2025Q1"
    return _run(county, out)


def test_outputs_exist_and_match_the_result(first_run):
    out = first_run.out
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    cohort = pd.read_parquet(out / "cohort.parquet")
    assert tuple(cohort.columns) == COHORT_COLUMNS
    assert set(cohort["as_of"]) == {dt.date(2025, 1, 1)}  # Parquet date32, read back as dates
    assert len(cohort) == len(first_run.cohort) > 0
    csv = pd.read_csv(out / "cohort.csv", keep_default_na=False)
    assert csv["person_id"].tolist() == cohort["person_id"].tolist()
    # The CSV is for people: risk to 4 places, percentile to 1; the Parquet keeps every digit.
    assert csv["risk"].tolist() == cohort["risk"].round(4).tolist()
    assert csv["percentile"].tolist() == cohort["percentile"].round(1).tolist()
    assert csv["risk"].astype(str).str.len().max() <= len("0.1234")
    assert json.loads((out / "summary.json").read_text()) == first_run.summary
    assert "# Cohort summary, as of 2025-01-01" in (out / "summary.md").read_text()
    page = (out / "summary.html").read_text()
    assert "<title>Cohort summary, as of 2025-01-01</title>" in page and "<table>" in page


def test_selected_persons_hold_one_care_coordination_place_and_have_reasons(first_run):
    cohort = first_run.cohort
    cc = ["hcss", "reentry", "rbc", "isr", "sud_ens", "toc"]
    held = cohort.loc[cohort["selected"] & cohort["program"].isin(cc), "person_id"]
    assert held.is_unique
    reasons = cohort.loc[cohort["selected"], "top_factors"]
    assert (reasons.str.len() > 0).all()
    # Explanations cover the selected persons only (no audit sample configured); a person
    # without any risk-raising factor has no factor rows and says so in top_factors.
    explained = set(first_run.explanations["person_id"])
    selected = set(cohort.loc[cohort["selected"], "person_id"])
    assert explained <= selected
    without = cohort.loc[cohort["selected"] & ~cohort["person_id"].isin(explained)]
    assert (without["top_factors"] == NO_RAISING_FACTOR).all()
    assert not reasons.str.contains(NO_RAISING_FACTOR).all()


def test_each_eligible_row_words_every_criterion_it_met(first_run, county):
    from riskstrat.data import load_tables
    from riskstrat.eligibility import evaluate_programs
    from riskstrat.features import build_features

    cohort = first_run.cohort
    codes = cohort["criteria_met"].str.split(";")
    texts = cohort["reasons"].str.split("; ")
    assert (codes.str.len() == texts.str.len()).all()
    # The texts are the eligibility stage's own, values included, row for row.
    tables, _ = load_tables(county / "data", mode="quarantine")
    eligibility = evaluate_programs(build_features(tables, AS_OF))
    expected = eligibility.loc[eligibility["eligible"]].set_index(["person_id", "program"])
    got = cohort.set_index(["person_id", "program"])["reasons"]
    assert got.to_dict() == {k: "; ".join(v) for k, v in expected["reasons"].loc[got.index].items()}
    assert cohort["reasons"].str.contains(r"\d", regex=True).any()


def test_each_row_carries_its_persons_spa(first_run, county):
    persons = pd.read_parquet(county / "data" / "persons.parquet")
    expected = {
        str(pid): "unknown" if pd.isna(spa) else str(int(spa))
        for pid, spa in zip(persons["person_id"], persons["spa"], strict=True)
    }
    cohort = first_run.cohort
    assert cohort["spa"].tolist() == cohort["person_id"].map(expected).tolist()
    assert set(cohort["spa"]) <= {*map(str, range(1, 9)), "unknown"}
    # The summary's count of selected persons by SPA is the cohort's, person by person.
    chosen = cohort.loc[cohort["selected"]].drop_duplicates("person_id")
    counts = chosen["spa"].value_counts().to_dict()
    assert {k: v for k, v in first_run.summary["selected_persons_by_spa"].items() if v} == counts


def test_summary_lists_what_to_screen_before_enrolment(first_run):
    lines = (first_run.out / "summary.md").read_text().splitlines()
    assert "## Screening before enrolment" in lines
    screening = first_run.summary["screening"]
    assert screening["toc"] == {
        "confirm": [
            "Medi-Cal beneficiary",
            "living in the county",
            "discharging hospital is a WPC-LA eligible general acute care hospital",
        ],
        "routes": [],
    }
    assert "- isr: Medi-Cal beneficiary; living in the county" in lines
    # A route in is not a condition: it is listed apart, never as one to confirm.
    assert screening["hcss"]["routes"] == ["physical or mental disability"]
    assert "- hcss: Medi-Cal beneficiary; living in the county" in lines
    routes = lines.index("- hcss: physical or mental disability")
    assert routes > lines.index("- hcss: Medi-Cal beneficiary; living in the county")
    # FSP is DMH's: no Medi-Cal condition.
    assert screening["fsp"]["confirm"] == ["living in the county"]


def test_a_pinned_bundle_is_refused_before_its_files_are_parsed(county, tmp_path):
    import hashlib
    import shutil

    from riskstrat.modeling import ModelBundle

    sha = ModelBundle.load(county / "bundle").sha256
    forged = tmp_path / "forged"
    shutil.copytree(county / "bundle", forged)
    # Junk for LightGBM's parser and a format no reader knows, re-checksummed so the folder
    # is consistent with itself: the pin is what refuses it, before either is parsed.
    (forged / "model.txt").write_text("tree\nnot a model\n")
    metadata = json.loads((forged / "metadata.json").read_text())
    (forged / "metadata.json").write_text(json.dumps({**metadata, "format_version": 999}))
    checksums = json.loads((forged / "checksums.json").read_text())
    for name in ("model.txt", "metadata.json"):
        checksums[name] = hashlib.sha256((forged / name).read_bytes()).hexdigest()
    (forged / "checksums.json").write_text(json.dumps(checksums, indent=2, sort_keys=True))
    with pytest.raises(ModelVerificationError, match=f"differs from the expected {sha}"):
        score_cohort(county / "data", AS_OF, forged, tmp_path / "out", model_sha256=sha)
    assert not (tmp_path / "out").exists()


def test_counts_reconcile(first_run):
    rec = first_run.summary["reconciliation"]
    assert rec["population"] == 600
    assert rec["scored"] + rec["excluded"] == rec["population"]
    assert rec["excluded"] == sum(rec["excluded_by_reason"].values())
    assert rec["reconciles"] is True
    # Everyone scored is in scores.parquet, and the counts by tier come from it.
    scores = pd.read_parquet(first_run.out / "scores.parquet")
    assert len(scores) == rec["scored"] and scores["person_id"].is_unique
    by_tier = scores["tier"].value_counts().to_dict()
    assert {t: by_tier.get(t, 0) for t in first_run.summary["scored_by_tier"]} == (
        first_run.summary["scored_by_tier"]
    )
    cohort = first_run.cohort.merge(scores, on="person_id", suffixes=("", "_scored"))
    assert len(cohort) == len(first_run.cohort)
    assert (cohort["risk"] == cohort["risk_scored"]).all()
    programs = first_run.summary["programs"]
    for program, entry in programs.items():
        rows = first_run.cohort.loc[first_run.cohort["program"] == program]
        assert entry["eligible"] == len(rows)
        assert entry["selected"] + sum(entry["not_selected"].values()) == len(rows)


def test_groups_table_is_written_and_reconciles_with_the_summary(first_run):
    written = pd.read_csv(first_run.out / "groups.csv", keep_default_na=False, dtype=str)
    assert list(written.columns) == ["attribute", "group", "programme", *COUNTS]
    programs = first_run.summary["programs"]
    whole = written[written["group"] == ALL]
    for attribute, programme in itertools.product(written["attribute"].unique(), programs):
        row = whole[(whole["attribute"] == attribute) & (whole["programme"] == programme)]
        for count in ("eligible", "selected"):
            # summary.json's exact total, or empty where it is 1 to 10 people.
            total = programs[programme][count]
            assert row[count].iloc[0] == ("" if 1 <= total <= 10 else str(total))
        assert int(row["scored"].iloc[0]) == first_run.summary["reconciliation"]["scored"]
    assert (
        "## Who is eligible and who is offered a place, by group"
        in (first_run.out / "summary.md").read_text()
    )
    assert "groups.csv" in first_run.manifest["outputs"]


def test_manifest_contents(first_run, county):
    manifest = json.loads((first_run.out / "manifest.json").read_text())
    assert manifest["as_of"] == AS_OF
    assert manifest["model"]["version"] == "e2e-1"
    assert manifest["model"]["ref"] == "bundle:bundle"
    from riskstrat.modeling import ModelBundle

    assert manifest["model"]["sha256"] == ModelBundle.load(county / "bundle").sha256
    # The test bundle was trained on every feature, sex, race and pregnancy included.
    protected = manifest["model"]["protected_inputs"]
    assert {"is_pregnant", "sex_female", "race_ethnicity_black"} <= set(protected)
    assert not {"age", "has_smi"} & set(protected)
    persons = manifest["inputs"]["persons.parquet"]
    assert persons["rows"] == 600
    import hashlib

    digest = hashlib.sha256((county / "data" / "persons.parquet").read_bytes()).hexdigest()
    assert persons["sha256"] == digest
    assert set(manifest["configs"]) == {
        "conditions.yaml",
        "contract.yaml",
        "features.yaml",
        "programs.yaml",
        "tiers.yaml",
    }
    tiers_hash = hashlib.sha256(Path("configs/tiers.yaml").read_bytes()).hexdigest()
    assert manifest["configs"]["tiers.yaml"] == tiers_hash
    for name in OUTPUT_FILES:
        expected = hashlib.sha256((first_run.out / name).read_bytes()).hexdigest()
        assert manifest["outputs"][name] == expected
    tables = manifest["tables"]
    assert manifest["rejected_rows"] == sum(t["rejected"] for t in tables.values())
    for name, t in tables.items():
        assert t["rows_in"] == t["accepted"] + t["rejected"]
        assert first_run.summary["rejected_rows"][name] == t["rejected"]
    # No machine paths in any output.
    text = "".join((first_run.out / name).read_text() for name in ("manifest.json", "summary.json"))
    assert str(county) not in text


def test_rerun_is_byte_identical(first_run, county, tmp_path):
    again = _run(county, tmp_path / "again")
    for name in OUTPUTS:
        assert (first_run.out / name).read_bytes() == (again.out / name).read_bytes(), name


def test_existing_out_is_refused_then_overwritten(first_run, county, tmp_path):
    import shutil

    out = tmp_path / "cohort"
    shutil.copytree(first_run.out, out)
    (out / "cohort.csv").write_text("last run's, to be replaced")
    (out / ".DS_Store").write_text("a file browser's")
    with pytest.raises(ScoringConfigError, match="already exists"):
        _run(county, out)
    _run(county, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    assert (out / "cohort.csv").read_bytes() == (first_run.out / "cohort.csv").read_bytes()


def test_overwrite_never_deletes_a_folder_no_run_wrote(first_run, county, tmp_path):
    import shutil

    # The data folder given as --out, a folder of notes, a cohort folder with a file added.
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "budget.xlsx").write_text("important")
    added = tmp_path / "added"
    shutil.copytree(first_run.out, added)
    (added / "review.docx").write_text("a caseworker's notes")
    for folder in (county / "data", notes, added):
        before = sorted(p.name for p in folder.iterdir())
        with pytest.raises(ScoringConfigError) as info:
            _run(county, folder, overwrite=True)
        assert "refusing to replace it" in str(info.value)
        assert sorted(p.name for p in folder.iterdir()) == before
    # The one file that stops it is named first, not lost among the run's own.
    assert f"(it holds review.docx, which no run wrote, beside {len(OUTPUTS)} of its files)" in (
        str(info.value)
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    _run(county, empty, overwrite=True)
    assert sorted(p.name for p in empty.iterdir()) == sorted(OUTPUTS)


def test_overwrite_never_replaces_another_quarters_cohort(first_run, county, tmp_path):
    import shutil

    # A cron folder name typed wrong: last quarter's cohort and its offers ledger, which the
    # next quarter's --previous reads, would go.
    out = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # Without --overwrite too: "pass --overwrite" would only lead to this refusal.
    for overwrite in (True, False):
        with pytest.raises(ScoringConfigError) as info:
            score_cohort(
                county / "data",
                "2025-04-01",
                county / "bundle",
                out,
                mode="quarantine",
                overwrite=overwrite,
            )
        assert str(info.value).startswith(
            f"out (--out) {out}: holds the cohort as of 2025-01-01, not 2025-04-01; overwrite "
            "(--overwrite) replaces a run of the same as-of date only"
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_rejected_dir_inside_the_out_folder_is_refused_before_any_work(county, tmp_path):
    out = tmp_path / "2025Q1"
    with pytest.raises(ScoringConfigError, match=r"is inside out \(--out\)") as info:
        score_cohort(
            county / "data",
            AS_OF,
            county / "bundle",
            out,
            mode="quarantine",
            rejected_dir=out / "rejected",
            progress=False,
        )
    assert f"such as {out}-rejected" in str(info.value)
    assert not out.exists()


def test_rows_another_run_set_aside_are_never_replaced(county, tmp_path):
    # One folder for every quarter lost each quarter's rejected rows to the next, exit 0,
    # and a job passing --overwrite to every run would lose them all the same.
    rejected = tmp_path / "rejected"
    args = (county / "data", AS_OF, county / "bundle")
    first = tmp_path / "first"
    score_cohort(*args, first, mode="quarantine", rejected_dir=rejected)
    kept = {p.name: p.read_bytes() for p in rejected.iterdir()}
    assert "persons.parquet" in kept
    for overwrite in (False, True):
        with pytest.raises(
            ScoringConfigError, match=r"holds the rejected-row files of a run \("
        ) as info:
            score_cohort(
                *args,
                tmp_path / "second",
                mode="quarantine",
                rejected_dir=rejected,
                overwrite=overwrite,
            )
        assert f"such as {tmp_path / 'second'}-rejected" in str(info.value)
        assert {p.name: p.read_bytes() for p in rejected.iterdir()} == kept
        assert not (tmp_path / "second").exists()
    # Re-running the run that wrote them, with --overwrite, replaces them: its own rows.
    score_cohort(*args, first, mode="quarantine", rejected_dir=rejected, overwrite=True)
    assert {p.name: p.read_bytes() for p in rejected.iterdir()} == kept  # the same bytes
    # The same bytes in another folder are not its rows: another quarter's, say.
    import shutil

    shutil.copytree(rejected, tmp_path / "other")
    with pytest.raises(ScoringConfigError, match=r"holds the rejected-row files of a run"):
        score_cohort(
            *args, first, mode="quarantine", rejected_dir=tmp_path / "other", overwrite=True
        )


def test_an_out_folder_another_run_wrote_meanwhile_is_named_so(county, tmp_path, monkeypatch):
    import shutil

    from riskstrat.scoring import _run as run_module

    out = tmp_path / "2025Q1"
    checked = run_module.check_inputs

    def raced(tables, *args):
        shutil.copytree(county / "data", out)  # the other run's folder, landed first
        return checked(tables, *args)

    monkeypatch.setattr(run_module, "check_inputs", raced)
    with pytest.raises(ScoringConfigError, match="written by another run while this one worked"):
        _run(county, out)


def test_failure_mid_write_leaves_no_out_dir(county, tmp_path, monkeypatch):
    import riskstrat.scoring._outputs as outputs_module

    def boom(*_args, **_kwargs):
        raise OSError("disk full (injected)")

    # summary.md is written after the Parquet and CSV files: a crash there is mid-write.
    monkeypatch.setattr(outputs_module, "write_text", boom)
    with pytest.raises(OSError, match="injected"):
        _run(county, tmp_path / "cohort")
    assert list(tmp_path.iterdir()) == []


def test_tampered_bundle_is_a_model_failure(county, tmp_path):
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(county / "bundle", bundle)
    with (bundle / "model.txt").open("a") as handle:
        handle.write("\n")
    with pytest.raises(ModelVerificationError, match="does not match its sha256"):
        score_cohort(county / "data", AS_OF, bundle, tmp_path / "out", mode="quarantine")
    assert not (tmp_path / "out").exists()


def test_a_model_whose_inputs_were_redefined_is_a_model_failure(county, tmp_path):
    # A consistent writer (checksums re-signed): only the recorded definition is off.
    import json
    import shutil

    from riskstrat.modeling._bundle_files import _checksums

    bundle = tmp_path / "bundle"
    shutil.copytree(county / "bundle", bundle)
    meta = json.loads((bundle / "metadata.json").read_text())
    assert "ed_visits_365d" in meta["feature_definitions"]
    meta["feature_definitions"]["ed_visits_365d"] = "0" * 64
    (bundle / "metadata.json").write_text(json.dumps(meta))
    files = {p.name: p.read_bytes() for p in bundle.iterdir() if p.name != "checksums.json"}
    (bundle / "checksums.json").write_bytes(_checksums(files))
    with pytest.raises(
        ModelVerificationError, match=r"1 of its input features .*: ed_visits_365d;"
    ) as info:
        score_cohort(county / "data", AS_OF, bundle, tmp_path / "out", mode="quarantine")
    assert not (tmp_path / "out").exists()
    # The spec this run read is named: $RISKSTRAT_CONFIG_DIR, ./configs or the package's.
    spec_file = default_config_path("features.yaml")
    assert f"(restore them in {spec_file}, the feature spec this run read, or retrain)" in str(
        info.value
    )


def test_missing_data_is_a_usage_error(county, tmp_path):
    # A mistyped path, as in every other command: said before the model is loaded.
    with pytest.raises(ScoringConfigError, match="nope: no such folder or DuckDB database"):
        score_cohort(tmp_path / "nope", AS_OF, tmp_path / "no-model", tmp_path / "out")
    # Tables in memory: named, not a TypeError from deep in the path handling.
    with pytest.raises(ScoringConfigError, match=r"^data_dir: expected the path .*, got a dict"):
        score_cohort({"persons": pd.DataFrame()}, AS_OF, tmp_path / "no-model", tmp_path / "out")


def test_audit_sample_is_explained_and_flagged(county, tmp_path):
    tiers = tmp_path / "tiers.yaml"
    text = Path("configs/tiers.yaml").read_text().replace("audit_sample: 0", "audit_sample: 7")
    tiers.write_text(text)
    result = _run(county, tmp_path / "out", tiers=tiers)
    audit = result.explanations.loc[result.explanations["audit_sample"], "person_id"].unique()
    # A sampled person whose contributions are all below the minimum lists no factor.
    assert 1 <= len(audit) <= 7
    selected = set(result.cohort.loc[result.cohort["selected"], "person_id"])
    assert not selected & set(audit)
    assert result.summary["explained_persons"] == len(selected) + 7


runner = CliRunner()


def test_cli_exit_codes(county, tmp_path):
    from riskstrat.modeling import ModelBundle

    base = ["score", "--as-of", AS_OF, "--data", str(county / "data")]
    base += ["--model", str(county / "bundle"), "--mode", "quarantine"]
    ok = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--quiet"])
    assert ok.exit_code == 0, ok.output
    # Quiet: no bar and no summary; a warning still reaches the log, each said as one line
    # (this county's data, as of today, also has a booking over 3 years old, unreleased).
    assert ok.output.startswith("warning: model bundle:bundle takes sex_female")
    assert all(line.startswith("warning: ") for line in ok.output.splitlines())
    again = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--quiet"])
    assert again.exit_code == 2
    bad_mode = runner.invoke(app, [*base[:-2], "--mode", "lenient", "--out", str(tmp_path / "b")])
    assert bad_mode.exit_code == 2
    no_model = runner.invoke(
        app, [*base[:5], "--model", str(tmp_path), "--out", str(tmp_path / "c"), "--quiet"]
    )
    assert no_model.exit_code == 2  # a folder with no bundle files: named, not "tampered"
    # A typo is not tampering: a folder that is not there is a usage error.
    typo = runner.invoke(
        app, [*base[:5], "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "c")]
    )
    assert typo.exit_code == 2
    assert "nope: no such bundle folder" in " ".join(typo.output.split())
    for uri in ("mlruns.db", "file:///tmp/store"):  # not a URI; a file store MLflow refuses
        bad_store = runner.invoke(
            app, [*base[:5], "--model", "champion", "--tracking-uri", uri, "--out", "x"]
        )
        assert bad_store.exit_code == 2, bad_store.output
    shown = runner.invoke(app, [*base, "--out", str(tmp_path / "d")])
    assert shown.exit_code == 0
    assert "care-manager FTE" in shown.output
    said = " ".join(shown.output.split())
    # A batch log says where the cohort went and which bundle scored it.
    sha = ModelBundle.load(county / "bundle").sha256
    bundle = county / "bundle"
    assert f"wrote {tmp_path / 'd'}: scored by the bundle {bundle}, bundle sha256 {sha}" in said
    assert "offers: no --previous: nobody held back for an earlier offer" in said
    assert "beside --out" not in said  # "a", beside it, is of the same quarter
    assert np.isin(["a", "d"], [p.name for p in tmp_path.iterdir()]).all()
    # A batch job can pin the bundle it means: any other is a model failure, before any data.
    pinned = runner.invoke(app, [*base, "--model-sha256", sha, "--out", str(tmp_path / "e")])
    assert pinned.exit_code == 0, pinned.output
    upper = runner.invoke(app, [*base, "--model-sha256", sha.upper(), "--out", str(tmp_path / "u")])
    assert upper.exit_code == 0, upper.output  # a hash is a hash in either case
    other = runner.invoke(app, [*base, "--model-sha256", "0" * 64, "--out", str(tmp_path / "f")])
    assert other.exit_code == 3
    assert f"bundle sha256 {sha} differs from the expected {'0' * 64}" in " ".join(
        other.output.split()
    )
    assert not (tmp_path / "f").exists()
    # A typo in the job is a usage error (2), not the alarm of a changed bundle (3).
    typo = runner.invoke(app, [*base, "--model-sha256", "deadbeef", "--out", str(tmp_path / "g")])
    assert typo.exit_code == 2
    assert "expected 64 hexadecimal digits" in " ".join(typo.output.split())
    base_without_model = [a for a in base if a not in ("--model", str(county / "bundle"))]
    for folder in (county / "data", tmp_path / "d"):  # the data, a cohort: no bundle files
        wrong = runner.invoke(
            app, [*base_without_model, "--model", str(folder), "--out", str(tmp_path / "h")]
        )
        assert wrong.exit_code == 2, wrong.output
        assert f"{folder}: not a model bundle" in " ".join(wrong.output.split())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"as_of": "not-a-date"}, "as_of: expected a date"), ({"mode": "lenient"}, "mode: expected")],
)
def test_bad_options_are_usage_errors(tmp_path, kwargs, message):
    args = {"as_of": AS_OF, "mode": "strict", **kwargs}
    with pytest.raises(ScoringConfigError, match=message):
        score_cohort(tmp_path, args["as_of"], tmp_path, tmp_path / "out", mode=args["mode"])
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_rerun_in_fresh_processes_is_byte_identical(county, tmp_path):
    """Two command runs with different string-hash seeds give the same bytes."""
    import os
    import subprocess
    import sys

    entry = Path(sys.executable).with_name("riskstrat")
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        cmd = [str(entry), "score", "--as-of", AS_OF, "--data", str(county / "data")]
        cmd += ["--model", str(county / "bundle"), "--out", str(out), "--mode", "quarantine"]
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([*cmd, "--quiet"], env=env, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in OUTPUTS:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


@pytest.mark.parametrize("how", ["absent", "empty"])
def test_data_without_a_column_the_model_reads_is_refused(county, tmp_path, how):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    encounters = pd.read_parquet(data / "encounters.parquet")
    if how == "absent":
        encounters = encounters.drop(columns="paid_amount")
    else:
        encounters["paid_amount"] = np.nan
    encounters.to_parquet(data / "encounters.parquet", index=False)
    with pytest.raises(ScoringDataError) as info:
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    message = str(info.value)
    assert message.startswith("data: encounters.paid_amount hold no value")
    assert "paid_amount_365d" in message and "paid_amount_1095d" in message
    assert not (tmp_path / "out").exists()


def test_a_csv_county_gives_the_parquet_countys_cohort(first_run, county, tmp_path):
    data = tmp_path / "csv"
    data.mkdir()
    for path in (county / "data").glob("*.parquet"):
        frame = pd.read_parquet(path)
        frame.to_csv(data / f"{path.stem}.csv", index=False, date_format="%Y-%m-%d")
    result = score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    for name in ("cohort.parquet", "explanations.parquet"):
        assert (result.out / name).read_bytes() == (first_run.out / name).read_bytes(), name
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["inputs"]["encounters.csv"]["rows"] == len(
        pd.read_parquet(county / "data" / "encounters.parquet")
    )


def test_an_as_of_date_a_quarter_past_the_data_is_refused(county, tmp_path):
    from riskstrat.data import last_covered_day, load_tables

    last = last_covered_day(load_tables(county / "data", mode="quarantine").tables)
    beyond = (last + pd.Timedelta(days=93)).date().isoformat()
    with pytest.raises(ScoringDataError) as info:
        score_cohort(
            county / "data", beyond, county / "bundle", tmp_path / "out", mode="quarantine"
        )
    assert str(info.value).startswith(
        f"as_of {beyond} is 93 days after the data's last recorded event ({last.date()})"
    )
    assert not (tmp_path / "out").exists()
    # A quarter's lag is the usual extract: scored.
    within = (last + pd.Timedelta(days=92)).date().isoformat()
    score_cohort(county / "data", within, county / "bundle", tmp_path / "ok", mode="quarantine")
    assert (tmp_path / "ok" / "cohort.parquet").exists()


def test_a_registered_model_is_found_in_the_store_named_by_tracking_uri(
    first_run, county, tmp_path, monkeypatch
):
    from riskstrat.modeling import ModelBundle, log_training_run

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    bundle = ModelBundle.load(county / "bundle")
    log_training_run(bundle, model_name="e2e", tracking_uri=uri, artifact_dir=tmp_path / "art")
    args = ["score", "--as-of", AS_OF, "--data", str(county / "data"), "--mode", "quarantine"]
    args += ["--model", "e2e/1", "--out", str(tmp_path / "out"), "--quiet"]
    result = runner.invoke(app, [*args, "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    cohort = (tmp_path / "out" / "cohort.parquet").read_bytes()
    assert cohort == (first_run.out / "cohort.parquet").read_bytes()
    # The manifest names the version an alias pointed to: the alias moves on promotion.
    from riskstrat.modeling._registry_promote import promote

    promote("e2e", "1", tracking_uri=uri)
    args[args.index("e2e/1")] = "e2e@champion"
    result = runner.invoke(app, [*args[:-3], "--out", str(tmp_path / "b"), "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    model = json.loads((tmp_path / "b" / "manifest.json").read_text())["model"]
    assert model["ref"] == "registry:e2e@champion"
    assert model["registered"] == {"name": "e2e", "version": "1"}
    assert model["sha256"] == bundle.sha256
    assert json.loads((first_run.out / "manifest.json").read_text())["model"]["registered"] is None
    # So does the batch log: the version the alias stood for when this quarter was scored.
    said = " ".join(result.output.split())
    assert (
        f"scored by registered model e2e version 1 (e2e@champion), bundle sha256 {bundle.sha256}"
        in said
    )


def test_the_summary_says_why_places_outnumber_persons(first_run):
    text = (first_run.out / "summary.md").read_text()
    places = sum(e["selected"] for e in first_run.summary["programs"].values())
    persons = first_run.summary["selected_persons"]
    line = f"{persons} persons selected in total, for {places} places"
    assert line in text
    assert ("combine with it" in text) == (places != persons)


def test_the_summary_explains_the_columns_with_this_runs_numbers(first_run):
    reading = first_run.summary["reading"]
    scores = pd.read_parquet(first_run.out / "scores.parquet")
    assert reading["scored"] == len(scores) == first_run.summary["reconciliation"]["scored"]
    assert reading["distinct_risks"] == scores["risk"].nunique() < len(scores)
    assert reading["horizon_months"] == 12
    text = " ".join((first_run.out / "summary.md").read_text().split())
    assert "outcome `psych_crisis` in the 12 months after 2025-01-01" in text
    assert f"Calibration gives {reading['distinct_risks']} distinct risks" in text
    assert "`tier`: high from percentile 95, moderate from percentile 80, low below" in text
    assert "in log-odds (+0.40 multiplies the odds by about 1.5" in text
    assert text.index("## Reading the list") < text.index("## Population")


def test_a_persons_table_rejected_whole_is_named(county, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    persons = pd.read_parquet(data / "persons.parquet").assign(sex="ZZ")
    persons.to_parquet(data / "persons.parquet", index=False)
    # Named as the table rejected whole, with the check that emptied it: every event would
    # otherwise be an orphan, and a later message would blame the events.
    rejected = tmp_path / "rejected"
    with pytest.raises(
        ScoringDataError, match=r"^table 'persons': all 600 rows were rejected \(unknown_code 600\)"
    ):
        score_cohort(
            data,
            AS_OF,
            county / "bundle",
            tmp_path / "out",
            mode="quarantine",
            rejected_dir=rejected,
        )
    # The rows explain the refusal: kept, though no cohort was written.
    assert len(pd.read_parquet(rejected / "persons.parquet")) == 600
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "rejected"]  # no work folder


def test_a_refused_rerun_keeps_its_rows_beside_those_of_the_cohort_still_standing(county, tmp_path):
    import shutil

    from riskstrat.scoring._verify import verify_cohort

    # The quarter's extract delivered again, broken: the rerun is refused and the cohort it
    # was to replace stands, so the rows that cohort set aside must stand with it.
    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    out, rejected = tmp_path / "2025Q1", tmp_path / "2025Q1-rejected"
    args = (data, AS_OF, county / "bundle", out)
    score_cohort(*args, mode="quarantine", rejected_dir=rejected, progress=False)
    standing = {p.name: p.read_bytes() for p in [*out.iterdir(), *rejected.iterdir()]}
    persons = pd.read_parquet(data / "persons.parquet").assign(sex="ZZ")
    persons.to_parquet(data / "persons.parquet", index=False)
    refused = tmp_path / "2025Q1-rejected-refused"
    with pytest.raises(ScoringDataError, match=r"all 600 rows were rejected") as info:
        score_cohort(
            *args, mode="quarantine", rejected_dir=rejected, overwrite=True, progress=False
        )
    assert f"(rejected rows in {refused})" in str(info.value)
    assert {p.name: p.read_bytes() for p in [*out.iterdir(), *rejected.iterdir()]} == standing
    assert len(pd.read_parquet(refused / "persons.parquet")) == 600
    shutil.copytree(county / "data", data, dirs_exist_ok=True)  # the extract as it was
    assert verify_cohort(out, data_dir=data, rejected_dir=rejected).problems == []


def test_the_manifest_names_the_columns_the_run_left_out(county, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    encounters = pd.read_parquet(data / "encounters.parquet")
    encounters.assign(facility_name="General").to_parquet(data / "encounters.parquet", index=False)
    result = score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    tables = json.loads((result.out / "manifest.json").read_text())["tables"]
    assert tables["encounters"]["columns_left_out"] == ["facility_name"]
    assert tables["persons"]["columns_left_out"] == []
    assert tables["persons"]["optional_columns_absent"] == []
    # An extract without death dates scores the dead as alive: the manifest keeps that.
    persons = pd.read_parquet(data / "persons.parquet")
    persons.drop(columns="death_date").to_parquet(data / "persons.parquet", index=False)
    result = score_cohort(data, AS_OF, county / "bundle", tmp_path / "out2", mode="quarantine")
    tables = json.loads((result.out / "manifest.json").read_text())["tables"]
    assert tables["persons"]["optional_columns_absent"] == ["death_date"]


def test_data_without_encounter_end_dates_is_refused(county, tmp_path):
    # A missing end date reads as a stay still open: years in hospital for everyone.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    encounters = pd.read_parquet(data / "encounters.parquet").drop(columns="end_date")
    encounters.to_parquet(data / "encounters.parquet", index=False)
    with pytest.raises(ScoringDataError, match="encounters.end_date hold no value") as info:
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    assert "inpatient_days_365d" in str(info.value)


def test_paid_amounts_missing_from_the_last_months_are_warned_of(county, tmp_path, caplog):
    # A claims lag: the last 90 days' encounters not yet paid read as $0 of care.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    encounters = pd.read_parquet(data / "encounters.parquet")
    day = pd.to_datetime(encounters["start_date"])
    late = (day >= pd.Timestamp(AS_OF) - pd.Timedelta(days=60)) & (day < pd.Timestamp(AS_OF))
    encounters.loc[late, "paid_amount"] = np.nan
    encounters.to_parquet(data / "encounters.parquet", index=False)
    with caplog.at_level("WARNING"):
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    said = " ".join(caplog.text.split())
    assert "data: encounters.paid_amount is empty on " in said
    assert "of the rows of the 90 days before the as-of date, against 0% before (a claims" in said
    assert "every paid amount reads as $0" in said
    caplog.clear()
    with caplog.at_level("WARNING"):  # the data as extracted: no such warning
        score_cohort(county / "data", AS_OF, county / "bundle", tmp_path / "out2")
    assert "claims lag" not in caplog.text


@pytest.fixture(scope="module")
def next_quarter(first_run, county, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "2025Q2"
    result = score_cohort(
        county / "data",
        "2025-04-01",
        county / "bundle",
        out,
        mode="quarantine",
        previous=first_run.out,
    )
    return result


CARE_COORDINATION = {"hcss", "reentry", "rbc", "isr", "sud_ens", "toc"}


def _taken_up_since(county, offers, start, end):
    """The offered pairs whose programme (any care coordination, for one) started in [start, end)."""
    enrollments = pd.read_parquet(county / "data" / "enrollments.parquet")
    starts = pd.to_datetime(enrollments["start_date"])
    window = enrollments.loc[(starts >= pd.Timestamp(start)) & (starts < pd.Timestamp(end))]
    started = {
        (p, "cc" if g in CARE_COORDINATION else g)
        for p, g in window[["person_id", "program"]].itertuples(index=False)
    }
    return {
        (p, g)
        for p, g in offers[["person_id", "program"]].itertuples(index=False)
        if (p, "cc" if g in CARE_COORDINATION else g) in started
    }


def _renewed_since(county, offers, start, end):
    """The offered Re-entry pairs whose person was released from custody in [start, end):
    a new release renews the offer (``renewed_by`` in programs.yaml)."""
    justice = pd.read_parquet(county / "data" / "justice.parquet")
    dates = pd.to_datetime(justice["event_date"])
    released = set(
        justice.loc[
            (justice["event_type"] == "release")
            & (dates >= pd.Timestamp(start))
            & (dates < pd.Timestamp(end)),
            "person_id",
        ]
    )
    return {
        (p, g)
        for p, g in offers[["person_id", "program"]].itertuples(index=False)
        if g == "reentry" and p in released
    }


def test_last_quarters_offers_are_held_back_and_their_places_pass_on(
    first_run, next_quarter, county
):
    before = first_run.cohort.loc[first_run.cohort["selected"], ["person_id", "program"]]
    now = next_quarter.cohort.merge(before, on=["person_id", "program"])
    assert len(now) > 0
    assert (now["last_offered"] == dt.date(2025, 1, 1)).all()
    # Offered three months ago, inside the six-month window: still in outreach, unless the
    # offer was taken up (an enrolment started since). Taken up and still enrolled is
    # already_enrolled; taken up and left again, the person may be offered it again.
    taken = _taken_up_since(county, before, "2025-01-01", "2025-04-01")
    # Or renewed: released from custody again since a Re-entry offer, offered it again.
    renewed = _renewed_since(county, before, "2025-01-01", "2025-04-01") - taken
    pairs = list(zip(now["person_id"], now["program"], strict=True))
    open_rows = now.loc[[pair not in taken | renewed for pair in pairs]]
    assert len(open_rows) > 0
    # Or the person is offered a higher-priority care-coordination programme now, which
    # replaces the open offer: the row is assigned_other, naming that programme.
    replaced = open_rows["status"] == "assigned_other"
    priority = ["isr", "rbc", "toc", "reentry", "sud_ens", "hcss"]
    for row in open_rows.loc[replaced].itertuples():
        now_in = row.held_by.removeprefix("selected ")
        assert priority.index(now_in) < priority.index(row.program), row
    assert set(open_rows.loc[~replaced, "status"]) <= {"offered_recently", "already_enrolled"}
    assert not open_rows["selected"].any()
    closed_rows = now.loc[[pair in taken for pair in pairs]]
    assert (closed_rows["status"] != "offered_recently").all()
    held = next_quarter.cohort["status"] == "offered_recently"
    assert held.sum() == sum(
        e["not_selected"]["offered_recently"] for e in next_quarter.summary["programs"].values()
    )
    previous = next_quarter.summary["previous_offers"]
    assert previous["as_of"] == AS_OF and previous["reoffer_after_months"] == 6
    assert previous["offers_known"] == len(before)
    renewed_rows = now.loc[[pair in renewed for pair in pairs]]
    assert previous["offers_renewed"] == len(renewed) > 0
    assert (renewed_rows["status"] != "offered_recently").all() and len(renewed_rows) > 0
    # Every offer is inside the window: each is still open, taken up, renewed or replaced.
    closed = previous["offers_taken_up"] + previous["offers_renewed"] + previous["offers_replaced"]
    assert previous["offers_open"] + closed == len(before)
    assert previous["offers_replaced"] == replaced.sum() > 0
    assert previous["rows_held_back"] == held.sum()
    # Open offers whose pair has no eligible row now: the person no longer meets the rule.
    eligible_now = set(
        zip(next_quarter.cohort["person_id"], next_quarter.cohort["program"], strict=True)
    )
    still_open = [
        pair
        for pair in zip(before["person_id"], before["program"], strict=True)
        if pair not in taken | renewed and pair not in eligible_now
    ]
    assert 0 < previous["offers_not_eligible"] <= len(still_open)
    text = " ".join((next_quarter.out / "summary.md").read_text().split())
    assert f"{held.sum()} eligible rows here are `offered_recently`" in text
    assert f"{previous['offers_not_eligible']} of the open offers are to people who" in text


def test_an_offer_taken_up_and_left_since_no_longer_holds(
    first_run, next_quarter, county, tmp_path
):
    import shutil

    held = next_quarter.cohort.loc[next_quarter.cohort["status"] == "offered_recently"]
    person, program = held.iloc[0][["person_id", "program"]]
    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    enrollments = pd.read_parquet(data / "enrollments.parquet")
    # Enrolled a month after the offer of 2025-01-01 and left before 2025-04-01.
    stay = enrollments.iloc[:1].assign(
        person_id=person,
        program=program,
        start_date=pd.Timestamp("2025-02-01"),
        end_date=pd.Timestamp("2025-03-01"),
    )
    pd.concat([enrollments, stay]).to_parquet(data / "enrollments.parquet", index=False)
    again = score_cohort(
        data,
        "2025-04-01",
        county / "bundle",
        tmp_path / "out",
        mode="quarantine",
        previous=first_run.out,
    )
    row = again.cohort.set_index(["person_id", "program"]).loc[(person, program)]
    assert row["status"] != "offered_recently"
    assert row["last_offered"] == dt.date(2025, 1, 1)
    before, after = next_quarter.summary["previous_offers"], again.summary["previous_offers"]
    assert after["offers_taken_up"] > before["offers_taken_up"]
    assert after["offers_open"] < before["offers_open"]
    text = " ".join((again.out / "summary.md").read_text().split())
    assert f"{after['offers_taken_up']} of those were taken up since" in text


def test_the_offer_ledger_carries_every_offer_on(first_run, next_quarter):
    first = pd.read_parquet(first_run.out / "offers.parquet")
    second = pd.read_parquet(next_quarter.out / "offers.parquet")
    chosen = first_run.cohort.loc[first_run.cohort["selected"]]
    assert len(first) == len(chosen)
    assert set(first["offered_on"]) == {dt.date(2025, 1, 1)}
    new = next_quarter.cohort.loc[next_quarter.cohort["selected"], ["person_id", "program"]]
    pairs = set(map(tuple, first[["person_id", "program"]].to_numpy()))
    pairs |= set(map(tuple, new.to_numpy()))
    assert set(map(tuple, second[["person_id", "program"]].to_numpy())) == pairs
    # A pair offered again (its offer taken up and left since) takes this quarter's date.
    again = len(first.merge(new, on=["person_id", "program"]))
    assert second.groupby("offered_on").size().tolist() == [len(first) - again, len(new)]
    manifest = json.loads((next_quarter.out / "manifest.json").read_text())
    first_manifest = json.loads((first_run.out / "manifest.json").read_text())
    assert manifest["previous_offers"] == {
        "as_of": AS_OF,
        "sha256": first_manifest["outputs"]["offers.parquet"],
    }
    assert first_manifest["previous_offers"] is None


def test_a_zero_window_offers_again_as_if_no_earlier_run(first_run, county, tmp_path):
    tiers = tmp_path / "tiers.yaml"
    text = Path("configs/tiers.yaml").read_text()
    tiers.write_text(text.replace("reoffer_after_months: 6", "reoffer_after_months: 0"))
    kwargs = {"mode": "quarantine", "tiers": tiers}
    with_previous = score_cohort(
        county / "data",
        "2025-04-01",
        county / "bundle",
        tmp_path / "a",
        previous=first_run.out,
        **kwargs,
    )
    without = score_cohort(
        county / "data", "2025-04-01", county / "bundle", tmp_path / "b", **kwargs
    )
    columns = ["person_id", "program", "status", "selected"]
    pd.testing.assert_frame_equal(with_previous.cohort[columns], without.cohort[columns])
    assert with_previous.cohort["last_offered"].notna().any()
    assert without.cohort["last_offered"].isna().all()


def test_last_quarters_run_beside_the_output_is_not_left_unread_unsaid(first_run, county, tmp_path):
    # Quarters kept side by side: leaving out --previous would offer again the places
    # last quarter's offers hold. Refused, unless --new-chain says a new chain is meant.
    import shutil

    shutil.copytree(first_run.out, tmp_path / "2025Q1")
    (tmp_path / "2025Q1" / "notes.txt").write_text("sent to the programmes on 2025-01-06")
    # Beside it, what --previous would refuse: a run less than a quarter before, and a
    # manifest copied without its run.
    manifest = json.loads((first_run.out / "manifest.json").read_text())
    shutil.copytree(first_run.out, tmp_path / "adhoc-march")
    (tmp_path / "adhoc-march" / "manifest.json").write_text(
        json.dumps({**manifest, "as_of": "2025-03-01"})
    )
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "manifest.json").write_text(
        json.dumps({**manifest, "as_of": "2025-01-02"})
    )
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "latest").symlink_to(tmp_path / "2025Q1")  # of one date, the folder is named
    base = ["score", "--as-of", "2025-04-01", "--data", str(county / "data")]
    base += ["--model", str(county / "bundle"), "--mode", "quarantine"]
    unread = runner.invoke(app, [*base, "--out", str(tmp_path / "2025Q2")])
    assert unread.exit_code == 2, unread.output
    said = " ".join(unread.output.split())
    assert (
        f"error: no --previous: {tmp_path / '2025Q1'}, beside --out, is the run as of "
        f"2025-01-01; without it nobody is held back for its offers, and the places its "
        f"offers hold would be offered again; expected --previous {tmp_path / '2025Q1'}, or "
        "--new-chain (new_chain=True) if the offer chain is meant to start again here" in said
    )
    assert not (tmp_path / "2025Q2").exists()
    new = runner.invoke(app, [*base, "--new-chain", "--out", str(tmp_path / "2025Q2")])
    assert new.exit_code == 0, new.output
    said = " ".join(new.output.split())
    assert (
        f"warning: --new-chain: {tmp_path / '2025Q1'}, beside --out, is the run as of "
        "2025-01-01; its offers are not read" in said
    )
    assert "offers: no --previous: nobody held back for an earlier offer" in said
    # The manifest says the chain was started again by choice, and beside which run.
    manifest = json.loads((tmp_path / "2025Q2" / "manifest.json").read_text())
    assert manifest["new_chain_beside"] == "2025-01-01" and manifest["previous_offers"] is None
    assert "new_chain_beside" not in json.loads((first_run.out / "manifest.json").read_text())
    both = [*base, "--new-chain", "--previous", str(tmp_path / "2025Q1")]
    refused = runner.invoke(app, [*both, "--out", str(tmp_path / "2025Q2c")])
    assert refused.exit_code == 2, refused.output
    assert "error: --previous and --new-chain: pass one" in " ".join(refused.output.split())
    read = runner.invoke(
        app,
        [*base, "--previous", str(tmp_path / "2025Q1"), "--out", str(tmp_path / "2025Q2b")],
    )
    assert read.exit_code == 0, read.output
    said = " ".join(read.output.split())
    assert "beside --out" not in said
    summary = json.loads((tmp_path / "2025Q2b" / "summary.json").read_text())
    previous = summary["previous_offers"]
    line = (
        f"offers: {previous['rows_held_back']} rows held back (offered_recently), offers known "
        f"since 2025-01-01; {previous['offers_open']} still open"
    )
    assert line in said
    gone = previous["offers_not_eligible"]
    assert (f", {gone} of them to people who no longer meet the rule" in said) == (gone > 0)


def test_cli_previous_exit_codes(first_run, county, tmp_path):
    base = ["score", "--as-of", "2025-04-01", "--data", str(county / "data")]
    base += ["--model", str(county / "bundle"), "--mode", "quarantine", "--quiet"]
    ok = runner.invoke(app, [*base, "--previous", str(first_run.out), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.output
    earlier = runner.invoke(
        app,
        [
            *base[:2],
            AS_OF,
            *base[3:],
            "--previous",
            str(tmp_path / "a"),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert earlier.exit_code == 2
    assert "expected a date before 2025-01-01" in " ".join(earlier.output.split())
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(first_run.out, copy)
    ledger = pd.read_parquet(copy / "offers.parquet").iloc[1:]
    ledger.to_parquet(copy / "offers.parquet", index=False)
    changed = runner.invoke(app, [*base, "--previous", str(copy), "--out", str(tmp_path / "c")])
    assert changed.exit_code == 1
    assert "changed after that run" in " ".join(changed.output.split())
    assert not (tmp_path / "c").exists()
    # --previous as --out would replace last quarter's folder: refused before anything runs.
    same = [*base, "--previous", str(tmp_path / "a"), "--out", str(tmp_path / "a")]
    replaced = runner.invoke(app, [*same, "--overwrite"])
    assert replaced.exit_code == 2
    assert "is the same folder as --out" in " ".join(replaced.output.split())
    assert (tmp_path / "a" / "offers.parquet").exists()
    parent = [*base, "--previous", str(tmp_path / "a"), "--out", str(tmp_path), "--overwrite"]
    result = runner.invoke(app, parent)
    assert result.exit_code == 2
    assert "lies inside --out" in " ".join(result.output.split())
    inside = [*base, "--previous", str(tmp_path / "a"), "--out", str(tmp_path / "a" / "next")]
    result = runner.invoke(app, inside)
    assert result.exit_code == 2
    assert "mixing the two runs" in " ".join(result.output.split())
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(OUTPUTS)


def test_a_rerun_with_previous_is_byte_identical(first_run, next_quarter, county, tmp_path):
    again = score_cohort(
        county / "data",
        "2025-04-01",
        county / "bundle",
        tmp_path / "again",
        mode="quarantine",
        previous=first_run.out,
    )
    for name in OUTPUTS:
        assert (next_quarter.out / name).read_bytes() == (again.out / name).read_bytes(), name


def test_offers_lapse_and_are_made_again_over_three_quarters(county, tmp_path):
    """Q1 offers are held in Q2 (inside a 4-month window) and may be made again in Q3."""
    tiers = tmp_path / "tiers.yaml"
    text = Path("configs/tiers.yaml").read_text()
    tiers.write_text(text.replace("reoffer_after_months: 6", "reoffer_after_months: 4"))
    runs = {}
    previous = None
    for quarter, as_of in (("q1", "2024-10-01"), ("q2", "2025-01-01"), ("q3", "2025-04-01")):
        runs[quarter] = score_cohort(
            county / "data",
            as_of,
            county / "bundle",
            tmp_path / quarter,
            mode="quarantine",
            tiers=tiers,
            previous=previous,
        )
        previous = runs[quarter].out
    pairs = ["person_id", "program"]

    def chosen(run):
        return run.cohort.loc[run.cohort["selected"], pairs]

    q1, q2, q3 = (runs[q].cohort for q in ("q1", "q2", "q3"))
    held_q2 = q2.merge(chosen(runs["q1"]), on=pairs)
    statuses = {"offered_recently", "already_enrolled", "assigned_other"}  # or replaced
    # A release since renews a Re-entry offer: that person may be selected again.
    renewed = _renewed_since(county, chosen(runs["q1"]), "2024-10-01", "2025-01-01")
    keys = list(zip(held_q2["person_id"], held_q2["program"], strict=True))
    unrenewed = held_q2.loc[[key not in renewed for key in keys]]
    assert len(unrenewed) and set(unrenewed["status"]) <= statuses
    # Q3: Q1's offers have lapsed (1 Oct + 4 months = 1 Feb); Q2's still hold until 1 May.
    again = q3.merge(chosen(runs["q1"]), on=pairs).merge(
        chosen(runs["q2"]), on=pairs, how="left", indicator=True
    )
    again = again.loc[again["_merge"] == "left_only"]
    assert len(again) and (again["last_offered"] == dt.date(2024, 10, 1)).all()
    # Lapsed offers are made again (uncapped programmes and open caps take them all).
    assert again["selected"].any()
    assert not again["held_by"].str.endswith("2024-10-01").any()  # no lapsed offer holds
    held_q3 = q3.merge(chosen(runs["q2"]), on=pairs)
    # Held, unless taken up since: the person started the programme (for care coordination,
    # any care-coordination programme) after the Q2 offer, and has left it again.
    starts = pd.read_parquet(county / "data" / "enrollments.parquet")
    dates = pd.to_datetime(starts["start_date"])
    since = starts.loc[(dates >= "2025-01-01") & (dates < AS_OF_Q3)]
    cc = {"isr", "rbc", "toc", "reentry", "sud_ens", "hcss"}
    again = held_q3.loc[~held_q3["status"].isin(["offered_recently", "already_enrolled"])]
    renewed = _renewed_since(county, chosen(runs["q2"]), "2025-01-01", AS_OF_Q3)
    for row in again.itertuples():
        theirs = set(since.loc[since["person_id"] == row.person_id, "program"])
        taken = row.program in theirs or (row.program in cc and theirs & cc)
        assert taken or (row.person_id, row.program) in renewed, row
    assert (held_q3["last_offered"] == dt.date(2025, 1, 1)).all()
    # Every held row names the offer holding it, and it is one still open.
    held = q3.loc[q3["status"] == "offered_recently", "held_by"]
    assert held.str.endswith("2025-01-01").all()
    # The Q3 ledger holds every pair ever offered, each at its latest offer.
    ledger = pd.read_parquet(runs["q3"].out / "offers.parquet")
    every = pd.concat([chosen(runs[q]).assign(q=q) for q in ("q1", "q2", "q3")])
    assert len(ledger) == len(every.drop_duplicates(pairs))
    latest = every.drop_duplicates(pairs, keep="last").set_index(pairs)["q"]
    dates = {"q1": dt.date(2024, 10, 1), "q2": dt.date(2025, 1, 1), "q3": dt.date(2025, 4, 1)}
    expected = latest.map(dates).sort_index()
    assert ledger.set_index(pairs)["offered_on"].sort_index().equals(expected)
    manifest = json.loads((runs["q3"].out / "manifest.json").read_text())
    assert manifest["offers_since"] == "2024-10-01"


def test_a_skipped_quarter_is_said_and_carried_on(county, tmp_path, caplog):
    """A run two quarters back: offers made by a run in between are not known. Refused
    unless allowed (the wrong folder would offer again everyone just offered); allowed,
    every later run of the chain says so."""
    first = score_cohort(
        county / "data", "2024-07-01", county / "bundle", tmp_path / "q3", mode="quarantine"
    )
    with pytest.raises(ScoringConfigError, match=r"is 184 days earlier, two quarters or more"):
        score_cohort(
            county / "data",
            "2025-01-01",
            county / "bundle",
            tmp_path / "refused",
            mode="quarantine",
            previous=first.out,
        )
    assert not (tmp_path / "refused").exists()
    # A quarter's run a few days late is no gap: no run fits between.
    late = score_cohort(
        county / "data",
        "2024-10-08",
        county / "bundle",
        tmp_path / "late",
        mode="quarantine",
        previous=first.out,
    )
    assert late.summary["previous_offers"]["offers_gaps"] == []
    previous = None
    for as_of in ("2024-07-01", "2025-01-01", "2025-04-01"):
        result = score_cohort(
            county / "data",
            as_of,
            county / "bundle",
            tmp_path / as_of,
            mode="quarantine",
            previous=previous,
            allow_gap=True,
        )
        previous = result.out
        if as_of == "2025-01-01":
            assert result.summary["previous_offers"]["days_before"] == 184
            assert "184 days earlier" in caplog.text
            # Every run says the model takes sensitive inputs (the test bundle does).
            assert "bundle:" in caplog.text and "is_pregnant" in caplog.text
    facts = result.summary["previous_offers"]
    assert facts["days_before"] == 90 and facts["offers_since"] == "2024-07-01"
    assert facts["offers_gaps"] == [["2024-07-01", "2025-01-01"]]
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["offers_gaps"] == [["2024-07-01", "2025-01-01"]]
    text = " ".join((result.out / "summary.md").read_text().split())
    assert (
        "The run as of 2025-01-01 read the run as of 2024-07-01, two quarters or more before: "
        "offers made by any run in between are not known." in text
    )


def test_a_broken_contract_file_is_a_configuration_error(county, tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "contract.yaml").write_text("data:\n  instruments: [MCAS]\n")
    monkeypatch.setenv("RISKSTRAT_CONFIG_DIR", str(tmp_path / "configs"))
    with pytest.raises(ScoringConfigError, match=r"data.instruments.*contract.yaml"):
        _run(county, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _justice_extracted_early(county, tmp_path, days: int) -> Path:
    """The county's tables with justice cut off ``days`` before the as-of date."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    justice = pd.read_parquet(data / "justice.parquet")
    cut = pd.to_datetime(justice["event_date"]) < pd.Timestamp(AS_OF) - pd.Timedelta(days=days)
    justice[cut].to_parquet(data / "justice.parquet", index=False)
    return data


def test_a_source_that_stopped_is_refused_even_when_another_runs_on(county, tmp_path):
    data = _justice_extracted_early(county, tmp_path, 183)  # half a year before the rest
    with pytest.raises(ScoringDataError) as info:
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    message = str(info.value)
    assert message.startswith("data: justice ends ")
    assert "before 2024-12-31, the day before the as-of date" in message
    assert "the sources do not end together" in message
    assert not (tmp_path / "out").exists()


def test_a_booking_released_after_the_as_of_date_is_counted_as_then_unclosed(
    county, tmp_path, caplog
):
    # Scored as of a quarter: the features read custody from the events before it, so the
    # doubtful-term warning counts as of then, not as of the day the run is made.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    justice = pd.read_parquet(data / "justice.parquet")
    persons = pd.read_parquet(data / "persons.parquet")
    person = persons.loc[persons["death_date"].isna(), "person_id"].iloc[0]
    added = justice.iloc[[0, 0]].reset_index(drop=True)
    added["person_id"] = person
    added["event_type"] = ["booking", "release"]
    added["event_date"] = pd.to_datetime(["2019-06-01", "2025-02-01"]).astype(
        justice["event_date"].dtype
    )
    justice = justice.loc[justice["person_id"] != person]
    pd.concat([justice, added], ignore_index=True).to_parquet(data / "justice.parquet", index=False)
    with caplog.at_level("WARNING", logger="riskstrat.data._unclosed"):
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    said = " ".join(caplog.text.split())
    assert f"more than 3 years before the as-of date {AS_OF} with no release after it by" in said
    assert "before the reference date" not in said


def test_a_source_a_month_or_two_behind_is_scored_with_a_warning(county, tmp_path, caplog):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    encounters = pd.read_parquet(data / "encounters.parquet")
    start = pd.to_datetime(encounters["start_date"])
    cut = start < pd.Timestamp(AS_OF) - pd.Timedelta(days=45)
    encounters[cut].to_parquet(data / "encounters.parquet", index=False)
    last = start[cut].max().date()
    result = score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    lag = (dt.date(2024, 12, 31) - last).days
    assert lag > 31
    assert (
        f"data: encounters ends {last}, {lag} days before 2024-12-31, the day before the "
        "as-of date: a silence its own rate of events makes improbable" in caplog.text
    )
    history = result.summary["history"]
    assert history["sources_behind"] == ["encounters"]
    assert history["last_event"]["encounters"] == last.isoformat()
    text = (result.out / "summary.md").read_text()
    assert f"sources behind the others: encounters (ends {last})" in text


def test_a_source_ending_shortly_before_the_as_of_date_is_scored(county, tmp_path):
    # Justice extracted three weeks before the as-of date, the rest running on past it:
    # scoring reads nothing on or after the as-of date, so justice covers what it needs.
    data = _justice_extracted_early(county, tmp_path, 21)
    result = score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    assert (result.out / "cohort.parquet").exists()
    assert result.summary["history"]["sources_behind"] == []


def test_a_quarter_nobody_is_eligible_in_writes_an_empty_cohort_of_the_same_shape(
    first_run, county, tmp_path
):
    # The data begin on 2021-01-01: as of that day nobody has a history to be eligible by.
    empty = score_cohort(county / "data", "2021-01-01", county / "bundle", tmp_path / "empty")
    for name in ("cohort.parquet", "offers.parquet", "explanations.parquet"):
        got = pq.read_schema(empty.out / name)
        assert pq.read_table(empty.out / name).num_rows == 0, name
        assert got.equals(pq.read_schema(first_run.out / name)), name
    # And the next quarter reads it as an earlier run with no offers.
    after = score_cohort(
        county / "data",
        "2021-04-01",
        county / "bundle",
        tmp_path / "after",
        previous=tmp_path / "empty",
    )
    assert (after.out / "manifest.json").exists()


def test_a_memory_limit_duckdb_cannot_read_is_a_usage_error_before_any_work(county, tmp_path):
    with pytest.raises(ScoringConfigError) as info:
        _run(county, tmp_path / "out", memory_limit="lots")
    assert str(info.value).startswith("memory_limit (--memory-limit): expected a size DuckDB")
    assert info.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_runs_less_than_a_quarter_apart_are_refused(first_run, next_quarter, county, tmp_path):
    # first_run is as of 2025-01-01, and 2025-04-01 (next_quarter) is a quarter on: scored;
    # 2025-03-22, ten days early, would be too; 2025-03-21 is not.
    assert (next_quarter.out / "manifest.json").exists()
    with pytest.raises(ScoringConfigError) as info:
        score_cohort(
            county / "data",
            "2025-03-21",
            county / "bundle",
            tmp_path / "soon",
            mode="quarantine",
            previous=first_run.out,
        )
    message = str(info.value)
    assert "less than a quarter before 2025-03-21" in message
    assert "expected an as-of date on or after 2025-04-01 (or up to 10 days before it)" in message
    assert not (tmp_path / "soon").exists()


def test_the_manifest_names_the_library_versions_the_bytes_depend_on(first_run):
    from importlib.metadata import version

    manifest = json.loads((first_run.out / "manifest.json").read_text())
    assert manifest["packages"]["duckdb"] == version("duckdb")
    assert set(manifest["packages"]) == {
        "python",
        "duckdb",
        "lightgbm",
        "numpy",
        "pandas",
        "pyarrow",
        "scikit-learn",
    }


def test_rows_set_aside_can_be_written_beside_the_cohort(county, tmp_path, caplog):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    justice = pd.read_parquet(data / "justice.parquet")
    justice.loc[:2, "event_type"] = "arrest"  # three codes outside the contract
    justice.to_parquet(data / "justice.parquet", index=False)
    bundle = county / "bundle"
    out, rejected_dir = tmp_path / "out", tmp_path / "rejected"
    result = score_cohort(data, AS_OF, bundle, out, mode="quarantine", rejected_dir=rejected_dir)
    assert result.out.exists()
    rejected = pd.read_parquet(rejected_dir / "justice.parquet")
    assert rejected["check"].tolist() == ["unknown_code"] * 3
    # Said as a warning, which --quiet does not silence: the rows left out change the list.
    assert (
        "quarantined 3 input row(s) that failed the data contract (justice 3); the cohort is "
        f"chosen without them. Their checks are counted in manifest.json and in {rejected_dir}"
        in caplog.text
    )
    # Strict mode sets no row aside: the option is refused before any work.
    with pytest.raises(ScoringConfigError, match=r"rejected_dir \(--rejected-dir\) needs mode"):
        score_cohort(data, AS_OF, bundle, tmp_path / "o2", rejected_dir=tmp_path / "r2")
    assert not (tmp_path / "r2").exists()


def test_a_result_prints_without_its_rows(first_run) -> None:
    text = repr(first_run)
    assert text.startswith("CohortResult(out=") and f"cohort_rows={len(first_run.cohort):,}" in text
    assert not any(pid in text for pid in first_run.cohort["person_id"].head(50))


def test_less_history_than_the_lookback_is_named_and_recorded(county, first_run, tmp_path, caplog):
    from riskstrat.data import load_tables
    from riskstrat.data._coverage import occurrences

    tables = load_tables(county / "data", mode="quarantine").tables
    found = occurrences(tables)
    first = min(o.first for o in found.values())
    history = first_run.summary["history"]
    assert history == {
        "first_event": first.date().isoformat(),
        "days_before_as_of": (pd.Timestamp(AS_OF) - first).days,
        "last_event": {t: o.last.date().isoformat() for t, o in sorted(found.items())},
        "days_after_last_event": (pd.Timestamp(AS_OF) - max(o.last for o in found.values())).days,
        "sources_behind": [],
    }
    assert history["days_before_as_of"] >= 1095
    assert "earliest recorded event" not in caplog.text
    summary = (first_run.out / "summary.md").read_text()
    assert f"- history: from {first.date()}" in summary
    # This county's extract runs on past the as-of date: no negative gap, but that.
    last = max(o.last for o in found.values()).date()
    assert last > dt.date.fromisoformat(AS_OF)
    assert f"- data: recorded events run to {last}, on or past the as-of date; those on" in summary
    early = (first + pd.Timedelta(days=1094)).date().isoformat()
    result = score_cohort(
        county / "data", early, county / "bundle", tmp_path / "early", mode="quarantine"
    )
    assert result.summary["history"]["days_before_as_of"] == 1094
    expected = (
        f"data: the earliest recorded event is {first.date()}, 1,094 days before "
        f"as_of {early}, and the features look back 1,095 days"
    )
    assert expected in caplog.text


def test_a_table_the_model_counts_with_no_rows_is_refused(county, tmp_path):
    import shutil

    # A failed export writes a header and no rows: re-entry and FSP eligibility, and every
    # justice input, would read "no events" for everyone. (No file at all is refused too.)
    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    justice = pd.read_parquet(data / "justice.parquet")
    (data / "justice.parquet").unlink()
    justice.iloc[:0].to_csv(data / "justice.csv", index=False)
    with pytest.raises(ScoringDataError) as info:
        score_cohort(data, AS_OF, county / "bundle", tmp_path / "out", mode="quarantine")
    message = str(info.value)
    assert message.startswith("data: justice: no rows (a file with a header only, or no file)")
    assert "bookings_90d" in message
    assert not (tmp_path / "out").exists()


def _refused_out(county, out) -> str:
    """Run ``score`` on the test county into ``out``, which it cannot write: exit 2, no
    traceback; returns the message on one line."""
    result = runner.invoke(
        app,
        ["score", "--as-of", AS_OF, "--data", str(county / "data"), "--model"]
        + [str(county / "bundle"), "--mode", "quarantine", "--out", str(out), "--quiet"],
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_an_out_folder_that_cannot_be_written_is_a_usage_error(county, tmp_path, monkeypatch):
    from riskstrat import _atomic

    # A read-only parent (permission bits do not stop root, who runs CI, so the refusal is
    # made where the work folder is created).
    out = tmp_path / "locked" / "2025Q1"

    def refused(parent, *_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(parent))

    monkeypatch.setattr(_atomic, "work_path", refused)
    message = _refused_out(county, out)
    assert f"error: {out.parent}: Permission denied; expected the data" in message
    assert "--previous" not in message  # none was given: not a place to look


def test_an_input_refused_in_a_librarys_words_is_named_not_out(tmp_path) -> None:
    from riskstrat.scoring._out_errors import output_refused

    # pyarrow names the file in its text only: --out was named as the unreadable place.
    said = PermissionError(
        "Failed to open local file 'county/encounters.parquet'. Detail: "
        "[errno 13] Permission denied"
    )
    message = str(output_refused(said, tmp_path / "out", None))
    assert message.startswith("county/encounters.parquet: Failed to open local file")
    assert (
        "expected the data (data_dir, --data), the model (--model), the configs readable" in message
    )
    quote = PermissionError(
        "Failed to open local file '/data/o'brien/x.parquet'. Detail: [errno 13]"
    )
    assert str(output_refused(quote, tmp_path / "out", None)).startswith("/data/o'brien/x.parquet:")
    # A full disk met spilling to the system's temporary folder: that file is gone by the
    # time the message is read, so the run's folder is named.
    import tempfile

    spill = f"{tempfile.gettempdir()}/duckdb_temp_storage-0.tmp"
    full = OSError(errno.ENOSPC, f"Could not write file '{spill}': No space left on device")
    assert str(output_refused(full, tmp_path / "out", None)).startswith(f"{tmp_path / 'out'}:")
    bare = str(output_refused(PermissionError("Permission denied"), tmp_path / "out", None))
    assert bare.startswith(f"{tmp_path / 'out'}: Permission denied")  # nothing else to name


def test_a_full_disk_met_in_the_work_folder_names_the_folder_of_out(county, tmp_path, monkeypatch):
    from riskstrat.scoring import _outputs

    out = tmp_path / "cohorts" / "2025Q1"

    def full(_frame, path, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))  # inside .2025Q1.tmp-*

    monkeypatch.setattr(_outputs, "write_parquet", full)
    message = _refused_out(county, out)
    # The hidden work folder is gone by the time the message is read: its folder is named.
    assert f"error: {out.parent}: No space left on device; expected the folder of out" in message
    assert ".tmp-" not in message


def test_a_full_temporary_folder_under_duckdbs_spill_is_not_blamed_on_out(
    county, tmp_path, monkeypatch, capsys
):
    import tempfile

    import duckdb

    import riskstrat.features._engine as engine

    def full(con, *_args, **_kwargs):
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        raise duckdb.IOException(
            f'IO Error: Could not write file "{spill}/block": No space left on device'
        )

    import riskstrat.cli as cli

    monkeypatch.setattr(engine, "_run_batched", full)
    out = tmp_path / "cohorts" / "2025Q1"
    argv = ["score", "--as-of", AS_OF, "--data", str(county / "data"), "--model"]
    argv += [str(county / "bundle"), "--mode", "quarantine", "--out", str(out), "--quiet"]
    monkeypatch.setattr("sys.argv", ["riskstrat", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()  # the command line turns the refusal into one line
    message = capsys.readouterr().err.splitlines()[-1]  # after the test model's warning
    assert info.value.code == 2
    assert message.startswith(f"error: {tempfile.gettempdir()}: No space left on device, spilling")
    assert "the folder of out" not in message  # another disk than --out's, maybe
    assert not out.exists()


@pytest.mark.parametrize(
    ("where", "code", "reason"),
    [
        ("work folder", errno.EROFS, "Read-only file system"),
        ("cohort file", errno.ENOSPC, "No space left on device"),
    ],
)
def test_a_read_only_or_full_disk_under_out_is_a_usage_error(
    county, tmp_path, monkeypatch, where, code, reason
):
    from riskstrat import _atomic
    from riskstrat.scoring import _outputs

    out = tmp_path / "cohorts" / "2025Q1"
    if where == "work folder":

        def refused(parent, *_args, **_kwargs):
            raise OSError(code, reason, str(parent))

        monkeypatch.setattr(_atomic, "work_path", refused)
    else:

        def full(_frame, path, **_kwargs):
            raise OSError(code, reason)  # a library's writer names no file

        monkeypatch.setattr(_outputs, "write_parquet", full)
    message = _refused_out(county, out)
    assert f"{reason}; expected the folder of out (--out)" in message
    assert "None:" not in message  # the run's folder when the error names no file
    assert "--rejected-dir" not in message  # not given: not the cause
    # Nothing left behind: no work folder, and not the folders the run made for --out.
    assert not out.parent.exists()


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGSTOP"), reason="POSIX signals")
@pytest.mark.parametrize(
    ("signal_name", "code", "said"),
    [("SIGTERM", 143, "terminated (SIGTERM)"), ("SIGINT", 130, "interrupted (Ctrl-C)")],
)
def test_a_signal_mid_run_exits_with_its_code_says_so_and_leaves_nothing(
    county, tmp_path, signal_name, code, said
):
    import shutil
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "cohorts" / "2025Q1"
    out.parent.mkdir()
    # The installed command's entry point, as a scheduler runs it, with Ctrl-C heard as a
    # terminal's shell lets it be: a script's background job (a test run started with `&`)
    # passes it on ignored, and the run then rightly goes on to its end.
    start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    command = [sys.executable, "-c", start + "from riskstrat.cli import main; main()", "score"]
    command += ["--as-of", AS_OF, "--data", str(county / "data"), "--model"]
    command += [str(county / "bundle"), "--mode", "quarantine", "--out", str(out), "--quiet"]
    for _attempt in range(5):
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        # Sent once the run's work folder exists: under way, with something to undo.
        while not list(out.parent.glob(".2025Q1.tmp-*")) and run.poll() is None:
            assert time.monotonic() < deadline, "the run never started its work folder"
            time.sleep(0.02)
        # Held still first, so the signal lands mid-run however long a loaded machine kept
        # this test from sending it; a run that had finished by then is started again.
        run.send_signal(signal.SIGSTOP)
        if _stopped(run) and not out.exists():
            break
        run.send_signal(signal.SIGCONT)
        run.communicate(timeout=120)
        shutil.rmtree(out, ignore_errors=True)
    else:
        pytest.fail("each run finished before it could be stopped")
    run.send_signal(getattr(signal, signal_name))
    run.send_signal(signal.SIGCONT)  # the signal waits, and is handled as the run goes on
    _, stderr = run.communicate(timeout=120)
    text = stderr.decode()
    assert run.returncode == code, text
    assert "Traceback" not in text
    # The log's last line says why the run stopped (a scheduler sees only this).
    assert text.strip().splitlines()[-1] == f"error: {said}; nothing of this run is written"
    assert list(out.parent.iterdir()) == []


def _stopped(run) -> bool:
    """Wait until ``run`` is stopped (SIGSTOP takes effect as the kernel gets to it); False
    if it has exited."""
    import time

    stat = Path(f"/proc/{run.pid}/stat")
    deadline = time.monotonic() + 30
    while run.poll() is None and time.monotonic() < deadline:
        # The state follows the command's name in parentheses: T when stopped.
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("T", "t"):
            return True
        time.sleep(0.01)
    return False


def test_an_as_of_date_before_the_data_begin_is_refused():
    from riskstrat.scoring._preflight import check_coverage

    days = pd.date_range("2019-01-05", "2019-12-31", freq="D")
    tables = {
        "encounters": pd.DataFrame({"person_id": [f"p{i}" for i in range(len(days))]}).assign(
            start_date=days
        )
    }
    # A mistyped year: a cohort with no history would be written, and the job exit 0.
    with pytest.raises(ScoringDataError) as info:
        check_coverage(tables, pd.Timestamp("2015-01-01"), lookback_days=1095)
    message = str(info.value)
    assert "earliest recorded event is 2019-01-05, on or after as_of 2015-01-01" in message
    assert "days before as_of" not in message  # not "-1,465 days before"
    # The day after the first event is a history of one day: scored, with a warning.
    assert check_coverage(tables, pd.Timestamp("2019-01-06"))["days_before_as_of"] == 1


def test_data_ending_a_month_before_the_as_of_date_is_scored_with_a_warning(caplog):
    """Every source cut on one day, weeks before the as-of date: none is behind the others,
    but the cohort misses the episodes of those weeks, which a scheduler would publish."""
    from riskstrat.scoring._preflight import check_coverage

    days = pd.date_range("2019-01-01", "2025-07-15", freq="D")
    ids = [f"p{i % 500}" for i in range(len(days))]
    tables = {
        "encounters": pd.DataFrame({"person_id": ids, "start_date": days}),
        "justice": pd.DataFrame({"person_id": ids, "start_date": days}),
    }
    # 2025-07-15 is 31 days before 2025-08-15 (as-of days are not checked here): not warned.
    assert check_coverage(tables, pd.Timestamp("2025-08-15"))["days_after_last_event"] == 31
    assert "the last recorded event in any source" not in caplog.text
    history = check_coverage(tables, pd.Timestamp("2025-08-16"))
    assert history["days_after_last_event"] == 32
    assert (
        "data: the last recorded event in any source is 2025-07-15, 32 days before as_of "
        "2025-08-16: the events of those days are not seen" in caplog.text
    )


def test_an_as_of_date_after_today_is_a_usage_error(tmp_path):
    from riskstrat.scoring._preflight import check_arguments

    today = dt.datetime.now(dt.UTC).date()
    as_of, reference = check_arguments(tmp_path, today, "strict", None, "2GB")
    assert as_of.date() == today and reference in (today, today + dt.timedelta(days=1))
    later = today + dt.timedelta(days=2)  # after today even if the test runs over midnight
    with pytest.raises(ScoringConfigError) as info:
        check_arguments(tmp_path, later, "strict", None, "2GB")
    assert str(info.value).startswith(f"as_of {later} is after today (")
    # A reference date stands for today, for reproducing a run on a later day.
    with pytest.raises(ScoringConfigError) as info:
        check_arguments(tmp_path, "2025-04-01", "strict", None, "2GB", None, "2025-03-31")
    assert "is after today (2025-03-31, the reference date)" in str(info.value)
    with pytest.raises(ScoringConfigError, match=r"--reference-date\): expected a date"):
        check_arguments(tmp_path, "2025-04-01", "strict", None, "2GB", None, "March")
    # A reference date cannot itself be in the future: a pinned quarter end or a mistyped
    # year would score days that have not happened.
    ahead = today + dt.timedelta(days=3)
    with pytest.raises(ScoringConfigError) as info:
        check_arguments(tmp_path, today, "strict", None, "2GB", None, ahead.isoformat())
    said = str(info.value)
    assert said.startswith(f"reference_date (--reference-date) {ahead} is after today (")
    # Today as the check read the clock: the next day if the test ran over midnight.
    assert said.split("is after today (", 1)[1][:10] in (
        str(today),
        str(today + dt.timedelta(days=1)),
    )


def test_a_mistyped_reference_date_is_named_as_itself(tmp_path):
    result = runner.invoke(
        app,
        ["score", "--as-of", AS_OF, "--reference-date", "March", "--data", str(tmp_path)]
        + ["--model", "champion", "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 2
    assert "--reference-date: expected" in " ".join(result.output.split())


def test_the_reference_date_is_recorded_and_reproduces_a_run(first_run, county, tmp_path):
    manifest = json.loads((first_run.out / "manifest.json").read_text())
    assert len(manifest["riskstrat_code_sha256"]) == 64
    recorded = manifest["validation_reference_date"]
    assert dt.date.fromisoformat(recorded) <= dt.datetime.now(dt.UTC).date()
    again = _run(county, tmp_path / "again", reference_date=recorded)
    for name in OUTPUTS:
        assert (again.out / name).read_bytes() == (first_run.out / name).read_bytes(), name
    earlier = _run(county, tmp_path / "earlier", reference_date="2025-03-01")
    manifest = json.loads((earlier.out / "manifest.json").read_text())
    assert manifest["validation_reference_date"] == "2025-03-01"


def test_an_as_of_date_inside_a_quarter_is_warned_of(tmp_path, caplog):
    from riskstrat.scoring._preflight import check_arguments

    check_arguments(tmp_path, "2025-07-01", "strict", None, "2GB")
    assert "not the first day of a quarter" not in caplog.text
    check_arguments(tmp_path, "2025-08-15", "strict", None, "2GB")
    assert "as_of 2025-08-15 is not the first day of a quarter" in caplog.text


def test_overwriting_a_chained_run_without_previous_warns(next_quarter, county, tmp_path, caplog):
    import shutil

    out = tmp_path / "2025Q2"
    shutil.copytree(next_quarter.out, out)
    kwargs = {"mode": "quarantine", "overwrite": True, "progress": False}
    score_cohort(county / "data", "2025-04-01", county / "bundle", out, **kwargs)
    said = " ".join(caplog.text.split())
    assert "read the run as of 2025-01-01 (--previous); this one reads none" in said
    # The replaced run read none itself: nothing to say again.
    caplog.clear()
    score_cohort(county / "data", "2025-04-01", county / "bundle", out, **kwargs)
    assert "reads none" not in caplog.text


def test_an_extract_refreshed_during_the_run_is_refused(county, tmp_path, monkeypatch):
    import shutil

    from riskstrat.scoring import _run as run_module
    from riskstrat.scoring._errors import ScoringDataError

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    checked = run_module.check_inputs

    def refreshed(tables, *args):
        # The scheduler's copy of next month's extract lands after validation read it.
        (data / "justice.parquet").write_bytes((county / "data" / "justice.parquet").read_bytes())
        return checked(tables, *args)

    monkeypatch.setattr(run_module, "check_inputs", refreshed)
    out, rejected = tmp_path / "2025Q1", tmp_path / "rejected"
    with pytest.raises(ScoringDataError, match=r"justice.parquet changed while this run read"):
        score_cohort(data, AS_OF, county / "bundle", out, mode="quarantine", rejected_dir=rejected)
    assert not out.exists()
    assert not rejected.exists()  # a refused run leaves no record-level rows either
    monkeypatch.setattr(run_module, "check_inputs", checked)
    score_cohort(data, AS_OF, county / "bundle", out)  # unchanged since it started: written
    assert (out / "manifest.json").is_file()


def test_configs_from_two_places_are_warned_of_and_recorded(county, tmp_path, monkeypatch, caplog):
    import shutil

    from riskstrat._config import PACKAGE_CONFIGS

    # The job's working folder holds the county's programs.yaml only: the other configs
    # are riskstrat's defaults, which the run must say.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKSTRAT_CONFIG_DIR", raising=False)
    (tmp_path / "configs").mkdir()
    shutil.copy(PACKAGE_CONFIGS / "programs.yaml", tmp_path / "configs" / "programs.yaml")
    result = _run(county, tmp_path / "2025Q1")
    assert "programs.yaml from ./configs; conditions.yaml" in caplog.text
    origins = result.manifest["config_origins"]
    assert origins["programs.yaml"] == "./configs"
    assert origins["tiers.yaml"] == "riskstrat's defaults"


def test_overwriting_a_quarter_that_changes_its_offers_is_warned_of(
    first_run, county, tmp_path, caplog
):
    import shutil

    out = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, out)
    _run(county, out, overwrite=True)  # the same inputs: the same offers, nothing to say
    assert "replaces the offers" not in caplog.text
    # Corrected data that moves people on the lists: the replaced run's offers were made.
    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    persons = pd.read_parquet(data / "persons.parquet")
    offered = set(first_run.cohort.loc[first_run.cohort["selected"], "person_id"])
    gone = sorted(offered)[:12]
    persons[~persons["person_id"].isin(gone)].to_parquet(data / "persons.parquet")
    score_cohort(data, AS_OF, county / "bundle", out, mode="quarantine", overwrite=True)
    assert "replaces the offers of the run it overwrites: " in caplog.text
    assert "are not made again" in caplog.text


def test_a_run_stopped_after_validation_leaves_no_rejected_rows(county, tmp_path, monkeypatch):
    import shutil

    from riskstrat.scoring import _run as run_module

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    justice = pd.read_parquet(data / "justice.parquet")
    justice.loc[justice.index[:3], "event_type"] = "parole"
    justice.to_parquet(data / "justice.parquet", index=False)

    def stopped(*_args):
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM's exit, once validation wrote its rows

    monkeypatch.setattr(run_module, "check_inputs", stopped)
    rejected, out = tmp_path / "kept" / "2025Q1" / "rejected", tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        score_cohort(data, AS_OF, county / "bundle", out, mode="quarantine", rejected_dir=rejected)
    # Nor the folders made for it.
    # Record-level rows tied to no cohort and no manifest: none are left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize("given", ["programs", "tiers"])
def test_a_config_object_is_refused_with_the_way_to_change_it(given, tmp_path) -> None:
    from riskstrat.eligibility import load_programs

    # Passing load_programs() failed deep in pathlib: "expected str, bytes or os.PathLike".
    value = load_programs() if given == "programs" else {"tiers": []}
    with pytest.raises(ScoringConfigError, match=rf"^{given}: expected the path of a YAML file"):
        score_cohort(tmp_path, "2025-07-01", tmp_path / "m", tmp_path / "out", **{given: value})
    assert not (tmp_path / "out").exists()

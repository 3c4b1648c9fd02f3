import dataclasses

from riskstrat.features import expand_features, load_feature_spec
from riskstrat.features._digest import changed_definitions, definition_digests


def _edit(spec, name, **changes):
    """``spec`` with the first definition called ``name`` changed (a rule's calendar-month
    counts are a second definition of the same name)."""
    index = next(i for i, d in enumerate(spec.definitions) if d.name == name)
    definitions = tuple(
        dataclasses.replace(d, **changes) if i == index else d
        for i, d in enumerate(spec.definitions)
    )
    return dataclasses.replace(spec, definitions=definitions)


def test_digests_follow_what_a_feature_computes_not_its_words() -> None:
    spec = load_feature_spec()
    digests = definition_digests(spec)
    assert definition_digests(spec) == digests  # stable
    name = next(d.name for d in spec.definitions if d.windows)
    relabelled = _edit(spec, name, label="another label", note="reworded")
    assert changed_definitions(digests, relabelled) == []
    # Same names, other rows counted: ED visits that also count psychiatric emergencies.
    ed = next(d for d in spec.definitions if d.where.setting in ("ed", ("ed",)) and d.windows)
    wider = dataclasses.replace(ed.where, setting=("ed", "psych_emergency"))
    changed = changed_definitions(digests, _edit(spec, ed.name, where=wider))
    index = spec.definitions.index(ed)
    assert changed == sorted(f.name for f in expand_features(spec) if f.index == index)
    assert len(changed) == len(ed.windows)  # every window of it, nothing else
    gap = dataclasses.replace(spec, episode_gap_days=spec.episode_gap_days + 1)
    assert changed_definitions(digests, gap) == sorted(digests)  # a setting every feature shares


def test_the_icd10_mapping_is_part_of_what_diagnosis_features_count(monkeypatch) -> None:
    from riskstrat.data import Conditions
    from riskstrat.features import _checks

    spec = load_feature_spec()
    digests = definition_digests(spec)
    current = _checks.cached_conditions()
    name, smi = next((n, c) for n, c in current.conditions.items() if c.family == "smi")
    wider = dataclasses.replace(smi, icd10=(*smi.icd10, "F30"))  # mania now counts as SMI too
    conditions = Conditions({**current.conditions, name: wider})
    monkeypatch.setattr(_checks, "cached_conditions", lambda: conditions)
    changed = changed_definitions(digests, spec)
    diagnosis = sorted(f.name for f in expand_features(spec) if f.source == "diagnoses")
    assert changed == diagnosis and diagnosis

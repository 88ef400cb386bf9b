"""The compact storage model: folding probes into runs, incrementally and in bulk."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportdesk.availability import (
    ProbeOrderError,
    ProbeRun,
    fold_probe,
    fold_probes,
    runs_from_probes,
)
from supportdesk.availability.tests.examples import FAST
from supportdesk.availability.tests.strategies import Scenario, scenarios


@FAST
@given(scenarios(max_probes=80))
def test_incremental_and_bulk_folds_agree(s: Scenario) -> None:
    assert fold_probes(s.probes, max_gap=s.max_gap) == runs_from_probes(
        s.times, s.oks, max_gap=s.max_gap
    )


@FAST
@given(scenarios(max_probes=80), st.integers(0, 80))
def test_folding_in_two_sittings_equals_folding_at_once(s: Scenario, split: int) -> None:
    """The worker folds onto stored runs; where the history was cut must not matter."""
    earlier = fold_probes(s.probes[:split], max_gap=s.max_gap)
    assert fold_probes(s.probes[split:], max_gap=s.max_gap, runs=earlier) == fold_probes(
        s.probes, max_gap=s.max_gap
    )


@FAST
@given(scenarios(max_probes=80))
def test_runs_are_maximal_and_lose_no_probe(s: Scenario) -> None:
    runs = runs_from_probes(s.times, s.oks, max_gap=s.max_gap)
    assert sum(r.count for r in runs) == len(s.probes)
    for before, after in itertools.pairwise(runs):
        assert before.ok != after.ok or after.first_t - before.last_t > s.max_gap
    for run in runs:
        inside = [t for t in s.times if run.first_t <= t <= run.last_t]
        assert len(inside) == run.count
        steps = [b - a for a, b in itertools.pairwise(inside)]
        assert run.max_step == max(steps, default=0) <= s.max_gap


def test_fold_probe_extends_or_starts_a_run() -> None:
    first = fold_probe(None, 100, True, max_gap=180)
    assert first == fold_probe(None, 100, True, max_gap=180)
    assert not first.extends_last
    same = fold_probe(first.run, 160, True, max_gap=180)
    assert same.extends_last
    assert same.run == ProbeRun(100, 160, 2, True, 60)
    changed = fold_probe(same.run, 220, False, max_gap=180)
    assert not changed.extends_last
    assert changed.run == ProbeRun(220, 220, 1, False, 0)
    after_gap = fold_probe(changed.run, 220 + 181, False, max_gap=180)
    assert not after_gap.extends_last  # a big gap starts a run even with the same result
    at_limit = fold_probe(changed.run, 220 + 180, False, max_gap=180)
    assert at_limit.extends_last


def test_fold_probe_refuses_old_or_repeated_probes() -> None:
    run = ProbeRun(100, 160, 2, True, 60)
    with pytest.raises(ProbeOrderError, match="not after the last folded probe"):
        fold_probe(run, 160, True, max_gap=180)
    with pytest.raises(ProbeOrderError):
        fold_probe(run, 10, False, max_gap=180)
    with pytest.raises(TypeError, match="bool"):
        fold_probe(run, 200, 1, max_gap=180)  # type: ignore[arg-type]


def test_bulk_fold_sorts_and_refuses_duplicate_times() -> None:
    assert runs_from_probes([120, 0, 60], [True, True, True], max_gap=60) == [
        ProbeRun(0, 120, 3, True, 60)
    ]
    with pytest.raises(ValueError, match="same time"):
        runs_from_probes([0, 60, 0], [True, False, True], max_gap=60)
    with pytest.raises(ValueError, match="3 probe times but 2 results"):
        runs_from_probes([0, 60, 120], [True, False], max_gap=60)
    assert runs_from_probes([], [], max_gap=60) == []


@pytest.mark.parametrize(
    "fields",
    [
        (0, 0, 0, True, 0),  # no probe
        (0, 10, 1, True, 0),  # one probe spanning time
        (0, 10, 2, True, 5),  # two probes 10 s apart cannot have a largest step of 5
        (0, 10, 3, True, 10),  # three probes: the other step is at least 1
        (0, 0, 1, True, 3),
    ],
)
def test_inconsistent_runs_are_refused(fields: tuple[int, int, int, bool, int]) -> None:
    with pytest.raises(ValueError, match="run"):
        ProbeRun(*fields)


def test_run_ok_must_be_a_bool() -> None:
    with pytest.raises(TypeError):
        ProbeRun(0, 0, 1, 0, 0)  # type: ignore[arg-type]

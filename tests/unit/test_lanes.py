"""Which lane (worker) each test runs in, and what workers hand to the controller."""

import os
from pathlib import Path

import pytest

from fixtures import lanes, workers

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize(
    ("nodeid", "lane"),
    [
        ("tests/test_01_cluster.py::test_step7_x", "homework"),
        ("tests/test_06_haproxy.py::test_step12_y", "homework"),
        # test_08 compares with the homework lane's own outcomes: it must share that lane.
        ("tests/test_08_grade_existing.py::test_grading", "homework"),
        ("tests/test_07_faults.py::test_planned_switchover_while_writing[sync]", "faults-sync"),
        ("tests/test_07_faults.py::test_planned_switchover_while_writing[async]", "faults-async"),
        ("tests/test_07_faults.py::test_etcd_lost[sync-failsafe-on]", "faults-sync"),
        ("tests/test_07_faults.py::test_etcd_lost[async-failsafe-off]", "faults-async"),
        ("tests/test_07_faults.py::test_a_member_that_cannot_rejoin", "faults-async"),
        ("tests/test_09_grade_homework.py::test_read_only", "homework-built"),
        ("tests/test_10_student_haproxy.py::test_every", "student-haproxy"),
        ("tests/test_11_grading_refuses.py::test_wrong", "grading-input"),
        ("tests/unit/test_lanes.py::test_x", "unit"),
        ("tests/test_99_new.py::test_z", "tests/test_99_new.py"),
    ],
)
def test_each_test_has_its_lane(nodeid, lane):
    assert lanes.lane_of(nodeid) == lane


def test_every_cluster_module_is_placed_in_a_named_lane():
    """A new module would run as a lane of its own: name it in fixtures/lanes.py."""
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py"))
    assert modules
    unplaced = [m for m in modules if lanes.lane_of(f"{m}::t[async]") not in lanes.LANES]
    assert not unplaced


def test_a_worker_per_lane_unless_the_run_must_stay_in_one_process():
    assert workers.worker_count(None) == len(lanes.LANES)
    assert workers.worker_count("grading a cluster") == 0


def test_report_heads_of_several_workers_are_merged():
    merged = workers.merge_contexts(
        [
            {"cluster": "run a", "etcd API": "v3"},
            {"cluster": "run b", "etcd API": "v3"},
            {"node image": "pgha/node:local"},
        ]
    )
    assert merged == {
        "cluster": "run a; run b",
        "etcd API": "v3",
        "node image": "pgha/node:local",
    }


def test_lanes_that_yield_the_cpu_are_the_cluster_lanes_without_budgets():
    assert lanes.YIELDING_LANES < set(lanes.LANES)
    assert not {"faults-sync", "faults-async", "unit"} & lanes.YIELDING_LANES


def test_a_yielding_process_gives_its_containers_a_lower_cpu_weight(monkeypatch):
    niced: list[int] = []
    monkeypatch.setattr(lanes.os, "nice", niced.append)
    before = os.environ.get(lanes.CPU_SHARES_VARIABLE)
    # setenv, not delenv: monkeypatch then restores the variable as it was, so the weight
    # yield_cpu sets does not reach a later lane's containers in this process (-n 1).
    monkeypatch.setenv(lanes.CPU_SHARES_VARIABLE, "")
    assert lanes.cpu_shares() == {}
    lanes.yield_cpu()
    lanes.yield_cpu()  # once is enough
    assert niced == [lanes.YIELDING_NICENESS]
    assert lanes.cpu_shares() == {"cpu_shares": lanes.YIELDING_CPU_SHARES}
    monkeypatch.undo()
    assert os.environ.get(lanes.CPU_SHARES_VARIABLE) == before


@pytest.mark.parametrize(
    "lane, workers, yields",
    [
        ("homework", 7, True),  # -n auto: a worker per lane
        ("homework", 2, False),  # -n 2: this worker may run a fault lane next
        ("faults-sync", 7, False),  # a lane with budgets never yields
        ("unit", 7, False),
    ],
)
def test_a_lane_yields_only_when_every_lane_has_a_worker_of_its_own(lane, workers, yields):
    assert lanes.yields(lane, set(lanes.LANES), workers) is yields


def test_a_selection_with_fewer_lanes_yields_with_fewer_workers():
    selected = {"homework", "homework-built", "student-haproxy", "grading-input", "unit"}
    assert lanes.yields("homework", selected, 5)  # -m "not faults"
    assert not lanes.yields("homework", selected, 4)

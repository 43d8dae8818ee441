"""Which lane (worker) each test runs in, and what workers hand to the controller."""

import os
import time
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


def test_each_yielding_lane_yields_to_the_longer_ones_and_all_to_the_fault_lanes():
    homework, built, haproxy, grading = (
        lanes.YIELDING[lane]
        for lane in ("homework", "homework-built", "student-haproxy", "grading-input")
    )
    assert lanes.CHAINS == ("homework", "homework-built")
    assert homework[0] < built[0] < haproxy[0] == grading[0] <= 19  # niceness
    assert lanes.DOCKER_CPU_WEIGHT > homework[1] > built[1] > haproxy[1] == grading[1] >= 2


def test_a_yielding_process_gives_its_containers_a_lower_cpu_weight(monkeypatch):
    niced: list[int] = []
    monkeypatch.setattr(lanes.os, "nice", niced.append)
    before = os.environ.get(lanes.CPU_SHARES_VARIABLE)
    # setenv, not delenv: monkeypatch then restores the variable as it was, so the weight
    # yield_cpu sets does not reach a later lane's containers in this process (-n 1).
    monkeypatch.setenv(lanes.CPU_SHARES_VARIABLE, "")
    assert lanes.cpu_shares() == {}
    lanes.yield_cpu("grading-input")
    lanes.yield_cpu("homework")  # once is enough: a process cannot take its priority back
    niceness, weight = lanes.YIELDING["grading-input"]
    assert niced == [niceness]
    assert lanes.cpu_shares() == {"cpu_shares": weight}
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


def test_a_yielding_process_waits_while_a_fault_lane_measures_outages(monkeypatch, tmp_path):
    monkeypatch.setenv(lanes.QUIET_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setenv(lanes.CPU_SHARES_VARIABLE, str(lanes.YIELDING["homework"][1]))
    lanes.set_window("faults-sync", True)
    lanes.set_window("faults-async", True)
    assert lanes.open_windows(tmp_path) == ["faults-async", "faults-sync"]
    began = time.monotonic()
    waited = lanes.wait_for_quiet(limit=0.5)  # bounded: the windows stay open
    assert 0.5 <= waited < 2 and time.monotonic() - began < 2
    lanes.set_window("faults-sync", False)
    lanes.set_window("faults-sync", False)  # closing twice is harmless
    assert lanes.open_windows(tmp_path) == ["faults-async"]
    lanes.set_window("faults-async", False)
    assert lanes.wait_for_quiet(limit=5) < lanes.QUIET_POLL


def test_the_chains_start_their_clusters_before_the_shorter_lanes(monkeypatch, tmp_path):
    monkeypatch.setenv(lanes.QUIET_DIR_VARIABLE, str(tmp_path))
    lanes.set_window("faults-sync", True)
    lanes.open_start_windows({"homework", "homework-built", "grading-input", "faults-sync"})
    weight = {lane: lanes.YIELDING[lane][1] for lane in lanes.YIELDING}
    everyone = ["faults-sync", "homework", "homework-built"]
    assert lanes.open_windows(tmp_path, weight=weight["grading-input"]) == everyone
    assert lanes.open_windows(tmp_path, weight=weight["student-haproxy"]) == everyone
    for chain in lanes.CHAINS:  # a chain never waits for a chain
        assert lanes.open_windows(tmp_path, weight=weight[chain]) == ["faults-sync"]
    lanes.cluster_started("tests/test_09_grade_homework.py")  # the module's fixture
    lanes.cluster_started("tests/test_01_cluster.py::test_a")
    lanes.cluster_started("tests/test_10_student_haproxy.py::test_b")  # not a chain: no-op
    lanes.cluster_started("tests/test_07_faults.py::test_c[sync]")  # nor its fault window
    assert lanes.open_windows(tmp_path, weight=weight["grading-input"]) == ["faults-sync"]


def test_a_selection_without_a_chain_opens_no_window_for_it(monkeypatch, tmp_path):
    monkeypatch.setenv(lanes.QUIET_DIR_VARIABLE, str(tmp_path))
    lanes.open_start_windows({"homework-built", "student-haproxy"})
    assert lanes.open_windows(tmp_path) == ["homework-built"]


def test_a_window_being_written_holds_everyone(tmp_path):
    (tmp_path / "lane-homework").touch()  # opened, its weight not written yet
    assert lanes.open_windows(tmp_path, weight=512) == ["homework"]


def test_a_window_closes_once_its_lanes_last_outage_is_measured(monkeypatch, tmp_path):
    monkeypatch.setenv(lanes.QUIET_DIR_VARIABLE, str(tmp_path))
    module = "tests/test_07_faults.py"
    first, last = f"{module}::test_a[sync]", f"{module}::test_b[sync]"
    pending = {"faults-sync": {first, last}, "faults-async": {f"{module}::test_a[async]"}}
    for lane in pending:
        lanes.set_window(lane, True)
    lanes.outage_measured(pending, last)  # measured early, inside the test
    assert lanes.open_windows(tmp_path) == ["faults-async", "faults-sync"]
    lanes.outage_measured(pending, first)
    assert lanes.open_windows(tmp_path) == ["faults-async"]
    lanes.outage_measured(pending, last)  # its teardown afterwards: nothing left to do
    lanes.outage_measured(pending, f"{module}::test_c[sync]")  # not against a budget
    assert lanes.open_windows(tmp_path) == ["faults-async"]


def test_only_a_yielding_process_waits_for_windows(monkeypatch, tmp_path):
    monkeypatch.setenv(lanes.QUIET_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setenv(lanes.CPU_SHARES_VARIABLE, "")  # a fault lane, or no lanes at all
    lanes.set_window("faults-sync", True)
    assert lanes.wait_for_quiet(limit=5) == 0.0
    monkeypatch.delenv(lanes.QUIET_DIR_VARIABLE)  # a run without workers: no windows
    lanes.set_window("faults-async", True)
    assert lanes.open_windows(tmp_path) == ["faults-sync"]


def test_a_window_open_longer_than_the_limit_counts_as_closed(tmp_path):
    # A fault lane whose worker died never closes its window: the others go on after
    # the limit, counted from when the window was opened, not per test.
    (tmp_path / "lane-faults-sync").touch()
    old = time.time() - lanes.QUIET_WAIT_LIMIT - 1
    os.utime(tmp_path / "lane-faults-sync", (old, old))
    (tmp_path / "lane-faults-async").touch()
    assert lanes.open_windows(tmp_path) == ["faults-async"]


@pytest.mark.parametrize(
    ("lane", "fixtures", "measures"),
    [
        ("faults-sync", ("healthy_cluster", "budgets"), True),
        ("faults-sync", ("healthy_cluster", "scenario"), False),
        ("homework", ("budgets",), None),
    ],
)
def test_a_fault_lanes_tests_against_budgets_are_told_apart(lane, fixtures, measures):
    assert lanes.measures_budgets(lane, fixtures) is measures


def test_the_tests_against_budgets_come_first_in_their_lanes():
    # Each fault lane's window closes after its last test against a budget; the lane's
    # other tests come after, while the other lanes run.
    import ast

    source = (ROOT / "tests" / "test_07_faults.py").read_text()
    tests = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]
    uses_budgets = [any(a.arg == "budgets" for a in t.args.args) for t in tests]
    assert any(uses_budgets)
    assert uses_budgets == sorted(uses_budgets, reverse=True), [t.name for t in tests]

"""The exclusive section of the fault measurements, between processes (no Docker)."""

import multiprocessing
import time
from pathlib import Path

import pytest

from fixtures.run import exclusive


def hold(kind: str, seconds: float, folder: Path, events) -> None:
    """A test ("share"), a measurement ("measure") or two in a row, one phase ("phase")."""
    if kind == "phase":
        for _ in range(2):
            with exclusive.measuring(folder, timeout=30):
                events.put((kind, "in", time.monotonic()))
                time.sleep(seconds)
                events.put((kind, "out", time.monotonic()))
            time.sleep(seconds)  # between the two: the next test's setup, say
        exclusive.end_phase()
        events.put((kind, "end", time.monotonic()))
        time.sleep(seconds)  # the process goes on: the gate is open all the same
        return
    section = exclusive.sharing if kind == "share" else exclusive.measuring
    with section(folder, timeout=30):
        events.put((kind, "in", time.monotonic()))
        time.sleep(seconds)
        events.put((kind, "out", time.monotonic()))


@pytest.fixture
def folder(tmp_path):
    return tmp_path


def run(folder: Path, plan: list[tuple[str, float, float]]) -> list[tuple[str, str, float]]:
    context = multiprocessing.get_context("fork")
    events = context.Queue()
    processes = []
    for kind, start_after, seconds in plan:
        time.sleep(start_after)
        process = context.Process(target=hold, args=(kind, seconds, folder, events))
        process.start()
        processes.append(process)
    for process in processes:
        process.join(timeout=60)
    found = []
    while not events.empty():
        found.append(events.get())
    return sorted(found, key=lambda e: e[2])


def test_tests_share_and_a_measurement_waits_for_them_to_end(folder):
    events = run(folder, [("share", 0, 0.6), ("share", 0.05, 0.6), ("measure", 0.1, 0.2)])
    order = [(kind, what) for kind, what, _ in events]
    assert order[:2] == [("share", "in"), ("share", "in")]  # side by side
    assert order.index(("measure", "in")) > max(
        i for i, e in enumerate(order) if e == ("share", "out")
    )


def test_no_test_starts_while_a_measurement_waits_or_runs(folder):
    """The gate: a measurement waiting for a test in progress holds back new tests."""
    events = run(folder, [("share", 0, 0.6), ("measure", 0.1, 0.4), ("share", 0.2, 0.1)])
    order = [(kind, what) for kind, what, _ in events]
    assert order == [
        ("share", "in"),
        ("share", "out"),
        ("measure", "in"),
        ("measure", "out"),
        ("share", "in"),
        ("share", "out"),
    ]


def test_measurements_overlap_each_other_and_no_test_starts_meanwhile(folder):
    """A phase of their own: two measurements side by side, a test only after both."""
    events = run(
        folder,
        [("measure", 0, 0.6), ("measure", 0.1, 0.6), ("share", 0.2, 0.1)],
    )
    order = [(kind, what) for kind, what, _ in events]
    assert order[:2] == [("measure", "in"), ("measure", "in")], order
    assert order[-2:] == [("share", "in"), ("share", "out")], order


def test_measurements_in_a_row_are_one_phase_no_test_starts_between_them(folder):
    events = run(folder, [("phase", 0, 0.3), ("share", 0.4, 0.1)])
    order = [(kind, what) for kind, what, _ in events]
    assert order == [
        ("phase", "in"),
        ("phase", "out"),
        ("phase", "in"),
        ("phase", "out"),
        ("phase", "end"),
        ("share", "in"),
        ("share", "out"),
    ], order


def test_without_workers_nothing_is_locked():
    with exclusive.sharing(None, 1) as waited, exclusive.measuring(None, 1) as also:
        assert (waited, also) == (0.0, 0.0)


def test_a_lock_folder_gone_stops_the_test_instead_of_running_it_unlocked(tmp_path):
    with pytest.raises(exclusive.NotExclusive, match="is gone"):
        with exclusive.sharing(tmp_path / "removed", 1):
            pass


def test_a_test_in_progress_during_a_measured_section_is_named():
    spans = {
        "before": (0.0, 10.0),
        "during": (12.0, 14.0),
        "across": (19.0, 25.0),
        "after": (21.0, 30.0),
    }
    found = exclusive.beside_measurements(spans, [("m", 10.0, 20.0)])
    assert [line.split()[0] for line in found] == ["during", "across"]
    assert "ran from +2.0s to +4.0s of the 10.0s measurement in m" in found[0]


def test_a_test_holding_its_workers_lock_still_locks_a_folder_of_its_own(tmp_path):
    """Nesting is per folder: a unit test run under its worker's shared lock that locks
    another folder really locks it (and sees that folder gone)."""
    run_folder, other = tmp_path / "run", tmp_path / "other"
    run_folder.mkdir()
    with exclusive.sharing(run_folder, 1):
        with exclusive.sharing(run_folder, 1) as nested:  # a cluster started inside a test
            assert nested == 0.0
        with pytest.raises(exclusive.NotExclusive, match="is gone"):
            with exclusive.sharing(other, 1):
                pass

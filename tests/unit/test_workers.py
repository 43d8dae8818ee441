"""Side-by-side workers, tested by running pytest itself with the suite's plugin (no Docker)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fixtures import run
from fixtures.run import workers

ROOT = Path(__file__).resolve().parents[2]

PLUGINS = f"pytest_plugins = {list(run.PLUGINS)!r}\n"


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    """Runs in a subprocess: workers are processes, and signals must hit a process of its own."""
    pytester.makeconftest(PLUGINS)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the suite's checkout is not installed
    # No Docker for unit tests: the run's closing sweep of leftovers must find no daemon.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    return pytester


def test_figures_of_every_worker_land_in_one_file_and_progress_shows(suite):
    for name in ("test_lane_a", "test_lane_b"):
        suite.makepyfile(
            **{
                name: f"""
                def test_measures(figures, progress):
                    progress("measuring in {name}")
                    figures.add("{name}", "async", {{"write_outage_seconds": 1.5}})
                """
            }
        )
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    document = json.loads((suite.path / "reports" / "figures.json").read_text())
    assert sorted(s["scenario"] for s in document["scenarios"]) == ["test_lane_a", "test_lane_b"]
    stderr = result.stderr.str()
    assert "] measuring in test_lane_a" in stderr and "[pgha gw" in stderr


def test_sigterm_to_the_run_tears_down_every_workers_fixtures(suite, tmp_path):
    """A cancelled CI job sends SIGTERM to pytest only: its workers get it at once and tear
    down (in the suite: remove their clusters)."""
    body = f"""
        import time
        from pathlib import Path

        import pytest

        MARKS = Path({str(tmp_path)!r})

        @pytest.fixture(scope="session")
        def resource(worker_id):
            yield
            (MARKS / f"torn-down-{{worker_id}}").write_text("yes")

        def test_waits(resource, worker_id):
            (MARKS / f"started-{{worker_id}}").write_text("yes")
            try:
                for _ in range(600):
                    time.sleep(0.1)
            except KeyboardInterrupt as exc:  # which interrupt: the signal, or xdist's
                (MARKS / f"interrupted-{{worker_id}}").write_text(str(exc))
                raise
        """
    suite.makepyfile(test_lane_a=body, test_lane_b=body)  # two modules: a worker each
    run = suite.popen(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider"],
        stdin=None,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("started-*"))) < 2:
            assert time.monotonic() < deadline, "the workers did not start their tests"
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            time.sleep(0.1)
        os.kill(run.pid, signal.SIGTERM)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert sorted(p.name for p in tmp_path.glob("torn-down-*")) == [
        "torn-down-gw0",
        "torn-down-gw1",
    ]
    # The signal itself reached each worker: not only pytest-xdist's own interrupt of a
    # worker it asked to exit (5 s later, 5 s before it kills it: short for a cluster).
    interrupts = {p.name: p.read_text() for p in tmp_path.glob("interrupted-*")}
    assert interrupts == {
        "interrupted-gw0": f"signal {signal.SIGTERM.value}",
        "interrupted-gw1": f"signal {signal.SIGTERM.value}",
    }


def test_a_worker_that_cannot_go_on_stops_the_run_with_its_message_and_status_3(suite):
    """As without workers (no Docker, a cluster that cannot start): one message, exit 3,
    no internal error of pytest-xdist."""
    suite.makepyfile(
        test_lane_a="""
        from fixtures.run.config import stop_run

        def test_needs_docker(request):
            stop_run(request.session, "no Docker daemon: nothing answers")
        """,
        test_lane_b="""
        def test_other_lane():
            pass
        """,
    )
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    assert result.ret == 3, result.stdout.str()
    assert "[pgha] no Docker daemon: nothing answers" in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_workers_tests_stay_locked_when_a_test_empties_the_environment(suite, tmp_path):
    """The worker reads its run's lock folder once: a test that changes the environment (an
    in-process pytest run does) must not let the worker's later tests run beside a fault
    measurement. Each run of workers has a folder of its own, gone at the end."""
    seen = tmp_path / "seen"
    suite.makepyfile(
        test_x=f"""
        import os
        from fixtures.run.config import LOCKS_KEY

        def test_first(pytestconfig):
            with open({str(seen)!r}, "w") as seen:
                seen.write(str(pytestconfig.stash[LOCKS_KEY]))
            os.environ.pop("PGHA_LOCK_DIR", None)

        def test_second(pytestconfig):
            assert pytestconfig.stash[LOCKS_KEY].is_dir()
        """
    )
    outer = os.environ.get("PGHA_LOCK_DIR")
    result = suite.runpytest_subprocess("-n", "1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    folder = seen.read_text()
    assert folder not in ("None", outer) and not Path(folder).exists()


def test_workers_take_the_groups_in_the_registrys_start_order(suite, tmp_path):
    """One worker runs the groups one after another in registry.START_ORDER (faults, the
    homework, the class, the older homework), not in the order they were collected."""
    done = tmp_path / "done"
    body = f"""
        def test_here(request):
            with open({str(done)!r}, "a") as file:
                file.write(request.node.path.name + "\\n")
        """
    names = [
        "test_07_faults.py",
        "test_01_cluster.py",
        "test_13_class.py",
        "test_12_grade_patroni2.py",
    ]
    for path in (f"tests/{name}" for name in names):
        (suite.path / path).parent.mkdir(parents=True, exist_ok=True)
        (suite.path / path).write_text(textwrap.dedent(body))
    result = suite.runpytest_subprocess(
        "-n", "1", "--dist", "loadgroup", "--no-loadscope-reorder", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=4)
    assert done.read_text().split() == names


@pytest.mark.parametrize("beside", [True, False])
def test_a_test_beside_a_measurement_fails_the_run(suite, beside):
    """The controller checks the reports afterwards: a test in progress during a measured
    section (as when a worker's locks fail) fails the run, naming both; none, no failure."""
    offset = 0.0 if beside else -100.0  # a section long before the other test ran
    suite.makepyfile(
        test_measures=f"""
        import time

        def test_measured(record_property):
            record_property("measures", "yes")
            began = time.time() + {offset}
            time.sleep(1.5)
            record_property("measured_between", f"{{began:.3f}} {{began + 1.5:.3f}}")
        """,
        test_other="""
        import time

        def test_other():
            time.sleep(1.5)
        """,
    )
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    if beside:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            ["*tests ran beside a fault measurement:*", "*test_other*measurement in*test_measured*"]
        )
    else:
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()


def test_the_last_measurement_opens_the_gate_as_its_section_ends(suite, tmp_path):
    """Tests of other groups wait for a measurement, but only for its section: what the
    last measuring test does after it (a member rejoining) runs while they start again."""
    times = tmp_path / "times"
    suite.makepyfile(
        test_measures=f"""
        import time

        import pytest

        from fixtures.run.deadlines import Deadlines

        class Cluster:
            deadlines = Deadlines()

        @pytest.fixture
        def healthy_cluster():
            return Cluster()

        def test_measured(measuring):
            time.sleep(0.5)  # the other group's first test is in progress: it is waited for
            with measuring():
                time.sleep(1.0)
            with open({str(times)!r}, "a") as file:
                file.write(f"section_end {{time.time()}}\\n")
            time.sleep(3.0)  # after the section: the old leader rejoining, say
            with open({str(times)!r}, "a") as file:
                file.write(f"measured_end {{time.time()}}\\n")
        """,
        test_other=f"""
        import time

        def test_first():
            time.sleep(1.0)

        def test_second():
            with open({str(times)!r}, "a") as file:
                file.write(f"second_start {{time.time()}}\\n")
        """,
    )
    result = suite.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)
    seen = dict(line.split() for line in times.read_text().splitlines())
    section_end, second, measured_end = (
        float(seen[k]) for k in ("section_end", "second_start", "measured_end")
    )
    assert section_end <= second < measured_end, seen


@pytest.mark.parametrize("proc", [True, False], ids=["with /proc", "without /proc"])
def test_a_termination_reaches_this_processs_children_with_or_without_proc(proc, tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tasks = Path("/proc/self/task") if proc else tmp_path / "no-proc"
        if proc and not tasks.is_dir():
            pytest.skip("this host has no /proc")
        assert child.pid in workers.child_pids(tasks)
    finally:
        child.kill()
        child.wait()

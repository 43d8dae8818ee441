"""The suite's cluster behind a student's own haproxy.cfg (--haproxy-config).

A teacher often has the student's files rather than a running cluster. A
second pytest run starts a cluster of its own with the seed's haproxy.cfg
(haproxy/homework.cfg, Patroni's sample as the homework wrote it: GET /
expecting 200 on 5000, 503 on 5001, inter 3s fall 3 rise 2) and must pass the
steps that go through HAProxy (step 12, a switchover followed through both
ports) and those of the cluster behind it (1-6, 9); the others never touch HAProxy.
A file HAProxy rejects, or one without a read-only section, must stop that run
with one message before any step.
"""

import os
from pathlib import Path

import pytest

from fixtures.grading.child_run import ROOT, outcomes, read_junit, run_pytest

pytestmark = [
    pytest.mark.order(10),
    pytest.mark.cluster,
    pytest.mark.homework(
        "grading: step 12 behind the student's own haproxy.cfg on the suite's cluster"
    ),
]

HOMEWORK_CFG = ROOT / "haproxy" / "homework.cfg"
# The cluster's steps and HAProxy's: steps 7-8, 10, 11 and 13 never go through HAProxy.
THROUGH_HAPROXY = ("tests/test_01_cluster.py", "tests/test_06_haproxy.py")


def run_child(tmp_path, config: Path, *modules: str, timeout: float):
    reports = tmp_path / "reports"
    args = ["--haproxy-config", str(config), *modules]
    return run_pytest(args, reports / "junit.xml", os.environ, timeout), reports


def test_the_cluster_and_haproxy_steps_pass_behind_the_seeds_haproxy_cfg(
    own_clusters, tmp_path, evidence, record_property, deadlines
):
    """The cluster's and HAProxy's modules against the suite's cluster behind
    haproxy/homework.cfg: every test passes, the file as run is kept, and the switchover
    times under the student's check settings are recorded."""
    done, reports = run_child(tmp_path, HOMEWORK_CFG, *THROUGH_HAPROXY, timeout=deadlines.child_run)
    xml = reports / "junit.xml"
    assert xml.exists(), f"the run left no report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    found = outcomes(xml)
    not_passed = {test: outcome for test, outcome in found.items() if outcome != "passed"}
    assert found and not not_passed, f"{not_passed}\n{done.stdout[-4000:]}"
    assert done.returncode == 0, done.stdout[-3000:]

    kept = (reports / "haproxy.cfg").read_text()
    evidence("haproxy.cfg as run (the seed's, servers pointed at the suite's nodes)", kept)
    assert "listen batman2" in kept and "http-check expect status 503" in kept
    assert "172.17.0.2" not in kept, "the student's own addresses are still in the file"
    for case in read_junit(xml):
        for name in ("haproxy_follow_seconds", "haproxy_ro_follow_seconds"):
            if name in case.properties:
                record_property(f"student_cfg_{name}", case.properties[name])


def test_a_file_haproxy_rejects_stops_the_run_with_haproxys_words(
    own_clusters, tmp_path, deadlines
):
    """One message, HAProxy's own, and exit 3 before any step."""
    broken = tmp_path / "broken.cfg"
    broken.write_text(HOMEWORK_CFG.read_text().replace("maxconn 100 check", "maxconn 100 chek"))
    done, _ = run_child(tmp_path, broken, "tests/test_01_cluster.py", timeout=deadlines.child_run)
    assert done.returncode == 3, done.stdout[-2000:]
    assert "HAProxy rejects the configuration" in done.stdout, done.stdout[-2000:]
    assert "unknown keyword 'chek'" in done.stdout, done.stdout[-2000:]
    assert " passed" not in done.stdout and "Traceback" not in done.stdout


def test_a_file_without_a_read_only_section_is_refused_before_anything_starts(tmp_path, deadlines):
    """The sections bound to 5000 and 5001 must exist: refused when options are read."""
    cfg = HOMEWORK_CFG.read_text()
    without = tmp_path / "no-read-only.cfg"
    without.write_text(cfg[: cfg.index("listen batman2")])
    done, _ = run_child(tmp_path, without, "tests/test_01_cluster.py", timeout=deadlines.child_run)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no section binds the read-only port 5001" in done.stderr, done.stderr[-2000:]

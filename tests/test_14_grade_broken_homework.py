"""Grading a complete homework cluster that is then broken, or acted on, by the grader.

A cluster built as the seed builds it (fixtures/grading/seed_cluster.py) with every step of
the homework done, then graded through 127.0.0.1-published ports only, asserting the
exact verdict of every step it grades (negative controls):

- HAProxy with two server lines of the read-write section at a wrong address: 12 FAIL;
  HAProxy reaching no leader at all: 12 FAIL, every other step graded (PASS);
- --allow-changes: every test passes and the cluster is left as found, the student's
  rows byte for byte;
- a replica stopped: a full sheet at once, 1-6 and 7-8 FAIL, the rest graded (12 and 13
  UNVERIFIED: what a stopped member hides cannot be told apart).

Everything started here is removed at the end, whatever happens.
"""

from __future__ import annotations

import json

import pytest

from fixtures.grading import seed_cluster
from fixtures.grading.seed_cluster import ALL_PASS, assert_verdicts, snapshot, without_counters

pytestmark = [
    pytest.mark.order(14),
    pytest.mark.cluster,
    pytest.mark.homework(
        "grading: a complete homework cluster with HAProxy typos, acted on, a replica stopped"
    ),
]


@pytest.fixture(scope="module")
def homework_cluster(homework_clusters, progress):
    """Built as the seed builds it, every step of the homework done."""
    hw = homework_clusters()
    progress(f"homework {hw.run_id}: the student's steps 10, 11 and 13")
    seed_cluster.complete_the_homework(hw)
    return hw


@pytest.fixture(scope="module")
def runs(homework_cluster, tmp_path_factory, progress):
    """Grading runs by stage, with a ledger of the suite's promotions for this module's only."""
    ledger = str(tmp_path_factory.mktemp("ledger") / "promotions.json")
    return seed_cluster.grader(
        homework_cluster, tmp_path_factory.mktemp, progress, env={"PGHA_LEDGER": ledger}
    )


@pytest.fixture(scope="module")
def as_found(homework_cluster):
    """The student's work complete; what a grader must not change."""
    return snapshot(homework_cluster)


@pytest.fixture(scope="module")
def two_wrong(homework_cluster, runs, as_found):
    """An HAProxy with two server lines of the read-write section at a wrong address."""
    hw = homework_cluster
    leader = hw.wait_settled()
    haproxy = hw.start_haproxy(seed_cluster.misaddressed_cfg(hw, 5000, {leader}), "haproxy-typo")
    seed_cluster.wait_stats_settled(hw, haproxy)
    return runs(
        "two read-write server lines at a wrong address",
        modules=["tests/test_06_haproxy.py"],
        haproxy=haproxy,
    )


@pytest.fixture(scope="module")
def no_leader(homework_cluster, runs, two_wrong):
    """An HAProxy whose every read-write server line is at a wrong address."""
    hw = homework_cluster
    hw.wait_settled()
    haproxy = hw.start_haproxy(seed_cluster.misaddressed_cfg(hw, 5000, set()), "haproxy-none")
    seed_cluster.wait_stats_settled(hw, haproxy)
    return runs("HAProxy reaching no leader", haproxy=haproxy)


@pytest.fixture(scope="module")
def acting_run(homework_cluster, runs, as_found, no_leader):
    run = runs("complete, --allow-changes", "--allow-changes")
    homework_cluster.wait_settled()
    return {**run, "after": snapshot(homework_cluster)}


@pytest.fixture(scope="module")
def replica_stopped(homework_cluster, runs, acting_run):
    """Last: one replica's container stopped (it is not started again)."""
    hw = homework_cluster
    replica = seed_cluster.a_replica(hw)
    args = seed_cluster.target_args(hw)  # the teacher's options, every member named
    address = hw.address(hw.nodes[replica])
    hw.nodes[replica].stop(timeout=30)
    seed_cluster.wait_server_down(hw, address)
    return runs("a replica stopped", args=args)


# -------------------------------------------------------------------------- tests
def test_haproxy_server_lines_at_a_wrong_address_fail_step_12(two_wrong):
    assert_verdicts(two_wrong, {"12": "FAIL"})
    assert any("nothing answers" in reason for reason in two_wrong["reasons"].values()), two_wrong[
        "reasons"
    ]


def test_haproxy_reaching_no_leader_fails_step_12_and_grades_the_rest(no_leader, record_property):
    record_property("grading_seconds_no_leader", no_leader["seconds"])
    assert_verdicts(no_leader, {**ALL_PASS, "12": "FAIL"})


def test_grading_with_changes_passes_every_homework_test(acting_run, record_property, evidence):
    """--allow-changes: every test of the homework modules runs and passes."""
    run = acting_run
    evidence("grading sheet (--allow-changes run)", run["report"][:6000])
    record_property("grading_seconds_allow_changes", run["seconds"])
    assert run["tests"], f"the grading run produced no report:\n{run['output']}"
    not_passed = {t: r["outcome"] for t, r in run["tests"].items() if r["outcome"] != "passed"}
    assert not not_passed, f"{not_passed}\n{run['output']}"
    assert_verdicts(run, ALL_PASS)


def test_grading_with_changes_leaves_the_cluster_as_found(as_found, acting_run):
    """The student's rows byte for byte (and the same row versions) on every member; the same
    databases, tables and row counts (the suite's own database dropped); leader and
    configuration as found."""
    after = without_counters(acting_run["after"])
    found = without_counters(as_found)
    for member, seen in found["members"].items():
        assert after["members"][member]["student's rows"] == seen["student's rows"], member
        assert after["members"][member] == seen, (
            f"{member} differs from how it was found:\n{json.dumps(seen, default=str)}\n"
            f"{json.dumps(after['members'][member], default=str)}"
        )
    assert after["leader"] == found["leader"], "grading left another leader in charge"
    assert after["config"] == found["config"], "grading left its configuration changes behind"


def test_a_stopped_replica_gets_a_full_sheet(replica_stopped, record_property):
    """Not refused: the steps that need every member FAIL, the others are graded."""
    run = replica_stopped
    record_property("grading_seconds_replica_stopped", run["seconds"])
    assert run["exit"] != 3, f"the run was refused:\n{run['output']}"
    assert_verdicts(
        run,
        {
            "1-6, 9": "FAIL",
            "7-8": "FAIL",
            "10": "PASS",
            "11": "PASS",
            # HAProxy cannot reach the stopped member's server: a wrong address looks the same
            "12": "UNVERIFIED",
            "13": "UNVERIFIED",
        },
    )

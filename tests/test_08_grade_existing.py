"""Grading a cluster the suite did not start: the same checks, the same result.

A second pytest run is pointed at this session's cluster only through the
addresses a person grading a hand-built cluster would give (etcd, REST, PostgreSQL,
HAProxy, a patronictl command). Its outcomes must equal this run's own for the
homework modules, and it must leave the cluster as it found it. What it refuses to
grade (bad input, a cluster of fewer than three) is test_11, on a cluster of its own.
"""

import pytest

from fixtures import homework
from fixtures.child_run import grade_as_foreign, outcomes, read_junit
from fixtures.docker_cluster import DockerCluster
from fixtures.report_plugin import grading_report

pytestmark = [
    pytest.mark.order(8),
    pytest.mark.cluster,
    pytest.mark.homework("grading: the same checks against a cluster the suite did not start"),
]

# Tests of these modules that only read: they run on a foreign cluster without --allow-changes.
READ_ONLY_IN_ACTING_MODULES = {
    "test_step10_history_shows_a_promotion_every_member_followed",
    "test_step13_running_max_connections_is_the_dynamic_configuration_on_every_member",
}


@pytest.fixture(scope="module")
def own(healthy_cluster):
    if not isinstance(healthy_cluster, DockerCluster):
        pytest.skip(
            "grades the suite's own cluster as a foreign one; this run grades a "
            "foreign cluster already"
        )
    homework_done(healthy_cluster)
    return healthy_cluster


def homework_done(cluster):
    """A foreign cluster is graded on the student's work: replicatest, a failover and a
    switchover in its history. The session's earlier modules leave them; when this module
    runs alone, the suite does them here (at most two switchovers)."""
    if homework.exists(cluster, cluster.leader()) is None:
        homework.create_replicatest(cluster)
    for _ in range(2):
        if len(cluster.history()) >= 2:
            break
        leader, candidate = cluster.leader(), cluster.replicas()[0]
        cluster.switchover(leader, candidate).raise_for_status()
        cluster.wait_for_leader(candidate)
        cluster.wait_healthy()


def test_grading_an_existing_cluster_gives_the_same_result_and_undoes_its_changes(
    own, tmp_path, pytestconfig, record_property
):
    """All homework modules, run as a grader would against a cluster they did not start."""
    leader_before = own.leader()
    config_before = own.rest(leader_before, "/config").json()

    done, xml = grade_as_foreign(own, tmp_path, "--allow-changes")
    child = outcomes(xml) if xml.exists() else {}
    assert child, f"the grading run produced no report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    record_property(
        "grading_run_outcomes", {k: v for k, v in child.items() if v != "passed"} or "all passed"
    )

    mine = {
        r.nodeid.replace("/", ".").replace(".py::", "."): r.outcome
        for r in grading_report(pytestconfig).results.values()
    }
    for test, outcome in child.items():
        expected = mine.get(f"{test}", "passed")  # not run here: it must simply pass
        assert outcome == expected, (
            f"{test}: {outcome} when grading the existing cluster, {expected} here\n"
            f"{done.stdout[-4000:]}"
        )

    assert own.leader() == leader_before, "grading left another leader in charge"
    assert own.rest(own.leader(), "/config").json() == config_before, (
        "grading left its configuration changes behind"
    )


def test_without_allow_changes_acting_steps_are_skipped_with_the_reason(own, tmp_path):
    """Failover, switchover and restart do not run on someone's cluster unless allowed;
    the steps are graded from what the cluster shows instead."""
    done, xml = grade_as_foreign(
        own, tmp_path, modules=["tests/test_03_failover.py", "tests/test_05_restart.py"]
    )
    child = {test.rsplit(".", 1)[-1]: outcome for test, outcome in outcomes(xml).items()}
    read_only = {t: o for t, o in child.items() if t in READ_ONLY_IN_ACTING_MODULES}
    acting = {t: o for t, o in child.items() if t not in READ_ONLY_IN_ACTING_MODULES}
    assert read_only == dict.fromkeys(READ_ONLY_IN_ACTING_MODULES, "passed"), (
        child,
        done.stdout[-2000:],
    )
    assert acting and set(acting.values()) == {"skipped"}, (child, done.stdout[-2000:])
    messages = [case.skip_message for case in read_junit(xml) if case.outcome == "skipped"]
    assert messages and all("pass --allow-changes" in (m or "") for m in messages), messages

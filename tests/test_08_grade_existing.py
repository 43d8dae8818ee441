"""Grading a cluster the suite did not start: the same checks, the same result.

A second pytest run is pointed at this session's cluster only through the
addresses a person grading a hand-built cluster would give (etcd, REST, PostgreSQL,
HAProxy, a patronictl command). Its outcomes must equal this run's own for the
homework modules, and it must leave the cluster as it found it. What it refuses to
grade (bad input, a cluster of fewer than three) and what it may not do (acting steps
without --allow-changes) is test_11, on a cluster of its own.
"""

import pytest

from fixtures.grading import homework
from fixtures.grading.child_run import grade_as_foreign, outcomes
from fixtures.grading.report_plugin import grading_report

pytestmark = [
    pytest.mark.order(8),
    pytest.mark.cluster,
    pytest.mark.homework("grading: the same checks against a cluster the suite did not start"),
]


@pytest.fixture(scope="module")
def own(own_cluster):
    homework.play_the_student(own_cluster)
    return own_cluster


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

    mine = {  # (without the @group that pytest-xdist's loadgroup adds to node ids)
        r.nodeid.split("@", 1)[0].replace("/", ".").replace(".py::", "."): r.outcome
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

"""Grading a cluster the suite did not start: the same checks, the same grades.

A second pytest run is pointed at this session's cluster only through the addresses a
person grading a hand-built cluster would give (etcd, REST, PostgreSQL, HAProxy, a
patronictl command), read-only as a teacher grades by default. Every test of the
student's work must end as it ended in this run; every step the suite itself performs
(a failover, a write) must be skipped with the reason, and the cluster left as found.
The acting steps through the same options, with --allow-changes, are test_14's (every
test passes, the cluster left as found to the byte) and test_09's; what the grader
refuses (bad input, a cluster of fewer than three) is test_11's.
"""

import pytest

from fixtures.grading import homework
from fixtures.grading.child_run import grade_as_foreign, read_junit
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


def test_grading_an_existing_cluster_read_only_gives_the_same_grades(
    own, tmp_path, pytestconfig, record_property
):
    """All homework modules, run as a grader would against a cluster they did not start."""
    leader_before = own.leader()
    config_before = own.rest(leader_before, "/config").json()

    done, xml = grade_as_foreign(own, tmp_path)
    cases = read_junit(xml) if xml.exists() else []
    assert cases, f"the grading run produced no report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    record_property(
        "grading_run_outcomes",
        {c.key: c.outcome for c in cases if c.outcome != "passed"} or "all passed",
    )

    mine = {  # (without the @group that pytest-xdist's loadgroup adds to node ids)
        r.nodeid.split("@", 1)[0].replace("/", ".").replace(".py::", "."): r.outcome
        for r in grading_report(pytestconfig).results.values()
    }
    works = {c.properties.get("work") for c in cases}
    assert {"suite", "student"} <= works, (
        f"the grading run graded nothing or left nothing out: {works}"
    )
    for case in cases:
        if case.properties.get("work") == "suite":  # a failover, a write: not without leave
            assert case.outcome == "skipped" and "--allow-changes" in (case.skip_message or ""), (
                f"{case.key}: {case.outcome} ({case.skip_message}) when grading read-only"
            )
            continue
        expected = mine.get(case.key, "passed")  # not run here: it must simply pass
        assert case.outcome == expected, (
            f"{case.key}: {case.outcome} when grading the existing cluster, {expected} here\n"
            f"{done.stdout[-4000:]}"
        )

    assert own.leader() == leader_before, "grading left another leader in charge"
    assert own.rest(own.leader(), "/config").json() == config_before, (
        "grading changed the configuration"
    )

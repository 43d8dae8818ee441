"""Homework step 11: a switchover over Patroni's REST API, with the homework's refusals first.

Graded from the timeline history and the members' logs: a promotion the old
leader stepped down for as a switchover. With changes allowed (always on the
suite's own cluster) the suite also performs the homework's three requests and
switches back; those are never counted as the student's.
"""

import json
import time

import pytest

from fixtures.grading import student_work, verdicts

pytestmark = [
    pytest.mark.order(4),
    pytest.mark.cluster,
    pytest.mark.homework("11: switchover through the REST API"),
]


@pytest.fixture(scope="module")
def start(healthy_cluster):
    """Roles and timelines before any switchover of this module."""
    return {
        "leader": healthy_cluster.leader(),
        "replicas": healthy_cluster.replicas(),
        "timelines": healthy_cluster.timelines(),
    }


def assert_unchanged(cluster, start):
    assert cluster.leader() == start["leader"]
    assert cluster.timelines() == start["timelines"]
    assert cluster.health_problems() == []


@pytest.mark.destructive
def test_step11_switchover_naming_only_a_candidate_is_refused(healthy_cluster, start, evidence):
    """POST /switchover {"candidate"} answers 400: a switchover needs the current leader named."""
    response = healthy_cluster.rest(
        start["leader"], "/switchover", method="POST", json_body={"candidate": start["replicas"][0]}
    )
    evidence("POST /switchover answer", f"{response.status_code} {response.text}")
    assert response.status_code == 400, response.text
    assert "Switchover could be performed only from a specific leader" in response.text
    assert_unchanged(healthy_cluster, start)


@pytest.mark.destructive
def test_step11_switchover_naming_the_wrong_leader_is_refused(healthy_cluster, start, evidence):
    """POST /switchover {"leader": a replica} answers 412: leader name does not match."""
    response = healthy_cluster.rest(
        start["leader"], "/switchover", method="POST", json_body={"leader": start["replicas"][0]}
    )
    evidence("POST /switchover answer", f"{response.status_code} {response.text}")
    assert response.status_code == 412, response.text
    assert "leader name does not match" in response.text
    assert_unchanged(healthy_cluster, start)


def switch(cluster, leader, candidate, record_property, figure, evidence):
    timeline = cluster.timelines()[leader]
    evidence("patronictl list before", cluster.patronictl("list").output)
    started = time.monotonic()
    response = cluster.switchover(leader, candidate)
    assert response.status_code == 200, response.text
    assert f'Successfully switched over to "{candidate}"' in response.text
    cluster.wait_for_leader(candidate)
    record_property(f"{figure}_seconds", round(time.monotonic() - started, 2))
    cluster.wait_streaming(leader, timeline=timeline + 1)
    record_property(
        f"{figure}_old_leader_streaming_after_seconds", round(time.monotonic() - started, 2)
    )
    expected = {name: timeline + 1 for name in cluster.member_names()}

    def every_member_followed():  # the other replicas follow a loop or so after the old leader
        now = cluster.timelines()
        return now == expected, now

    cluster.wait_for(
        f"every member on timeline {timeline + 1}",
        every_member_followed,
        timeout=cluster.deadlines.converge,
    )
    evidence("POST /switchover answer", response.text)
    evidence("patronictl list after", cluster.patronictl("list").output)


@pytest.mark.destructive
def test_step11_switchover_with_leader_and_candidate_succeeds(
    healthy_cluster, start, record_property, evidence
):
    """200, the candidate leads, the timeline rises by one, the old leader streams again."""
    switch(
        healthy_cluster,
        start["leader"],
        start["replicas"][0],
        record_property,
        "switchover",
        evidence,
    )


@pytest.mark.destructive
def test_step11_switch_back_to_the_original_leader(
    healthy_cluster, start, record_property, evidence
):
    """The same call in reverse returns the lock to the leader the module started with."""
    current = healthy_cluster.leader()
    if current == start["leader"]:
        pytest.fail("the first switchover did not happen; nothing to switch back")
    switch(healthy_cluster, current, start["leader"], record_property, "switch_back", evidence)
    assert healthy_cluster.leader() == start["leader"]


def test_step11_a_switchover_is_in_the_history(healthy_cluster, verdict, evidence):
    """A promotion in /history (as found, on a cluster someone else built) that the old
    leader's log shows was a switchover (POST /switchover naming the leader, or `patronictl
    switchover`). Promotions the suite made never count. Without the members' logs the kind
    cannot be told: UNVERIFIED."""
    cluster = healthy_cluster
    history = cluster.history_to_grade()
    evidence("/history graded", json.dumps(history))
    found = student_work.read_promotions(cluster, history)
    if found.log_notes:
        evidence("members' logs not read", found.log_notes)
    verdict(
        verdicts.grade_promotion_kind(
            found.promotions,
            verdicts.SWITCHOVER,
            'POST /switchover to the leader with {"leader": <leader>, "candidate": <replica>}',
            found.logs_given,
        )
    )

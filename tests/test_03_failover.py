"""Homework step 10: a manual failover with `patronictl failover`, run inside a node.

Graded from what the cluster remembers: a promotion in its timeline history
(/history) that the old leader's log shows was a manual failover, and every
member followed. With changes
allowed (always on the suite's own cluster) the suite also performs a failover,
writing its rows in a database of its own.
"""

import json
import time

import psycopg.errors
import pytest

from fixtures.cluster.interface import RUNNING_STATES, Unsupported
from fixtures.grading import student_work, verdicts

pytestmark = [
    pytest.mark.order(3),
    pytest.mark.cluster,
    pytest.mark.homework("10: failover with patronictl"),
]

ROWS = 100


@pytest.fixture(scope="module")
def failover(healthy_cluster, suite_database):
    """Write rows, then `patronictl failover --candidate <replica> --force` inside the leader."""
    cluster = healthy_cluster
    old_leader = cluster.leader()
    candidate = cluster.replicas()[0]
    timelines_before = cluster.timelines()
    listing_before = cluster.patronictl("list").output
    with cluster.connect(old_leader, dbname=suite_database) as conn:
        conn.execute("DROP TABLE IF EXISTS failover_rows")
        conn.execute("CREATE TABLE failover_rows (id int PRIMARY KEY)")
        for i in range(ROWS):  # one transaction each, every one acknowledged before the failover
            conn.execute("INSERT INTO failover_rows VALUES (%s)", (i,))

    started = time.monotonic()
    result = cluster.patronictl("failover", "--candidate", candidate, "--force", member=old_leader)
    cluster.wait_for_leader(candidate)
    promoted_after = time.monotonic() - started
    return {
        "old_leader": old_leader,
        "candidate": candidate,
        "result": result,
        "timelines_before": timelines_before,
        "promoted_after": promoted_after,
        "listing_before": listing_before,
        "database": suite_database,
        "started": started,
    }


@pytest.mark.destructive
def test_step10_patronictl_failover_promotes_the_candidate(
    healthy_cluster, failover, record_property, evidence
):
    """patronictl reports success and the candidate holds the leader lock."""
    result = failover["result"]
    evidence("patronictl list before", failover["listing_before"])
    evidence("patronictl failover", result.output)
    assert result.exit_code == 0, result.output
    assert f'Successfully failed over to "{failover["candidate"]}"' in result.output, result.output
    assert healthy_cluster.leader() == failover["candidate"]
    record_property("failover_seconds", round(failover["promoted_after"], 2))


@pytest.mark.destructive
def test_step10_old_leader_rejoins_as_a_streaming_replica(
    healthy_cluster, failover, record_property
):
    """The old leader follows the new one (pg_rewind where needed) and streams on the new
    timeline."""
    new_timeline = failover["timelines_before"][failover["old_leader"]] + 1
    healthy_cluster.wait_streaming(failover["old_leader"], timeline=new_timeline)
    record_property(
        "old_leader_streaming_after_seconds", round(time.monotonic() - failover["started"], 2)
    )


@pytest.mark.destructive
def test_step10_timeline_rises_by_exactly_one_on_every_member(healthy_cluster, failover, evidence):
    """Every member ends on the timeline after the one it was on."""
    before = failover["timelines_before"]
    expected = {name: tl + 1 for name, tl in before.items()}

    def probe():
        now = healthy_cluster.timelines()
        return now == expected, now

    healthy_cluster.wait_for(
        f"timelines {expected}", probe, timeout=healthy_cluster.deadlines.failover
    )
    evidence("timelines before and after", f"{before} -> {expected}")
    evidence("patronictl list after", healthy_cluster.patronictl("list").output)


@pytest.mark.destructive
def test_step10_history_records_the_switch(healthy_cluster, failover):
    """GET /history on the new leader ends with the switch away from the old timeline."""
    history = healthy_cluster.rest(failover["candidate"], "/history").json()
    assert history, "empty /history after a failover"
    timeline, _lsn, _reason, _when, *new_leader = history[-1]
    assert timeline == failover["timelines_before"][failover["old_leader"]], history
    if new_leader:  # Patroni records the new leader's name alongside
        assert new_leader[0] == failover["candidate"], history


@pytest.mark.destructive
def test_step10_old_leader_serves_reads_and_refuses_writes(healthy_cluster, failover):
    """Connected to directly, the old leader answers reads and is read-only now."""
    cluster = healthy_cluster
    old = failover["old_leader"]
    cluster.wait_streaming(old)

    def probe():
        count = cluster.sql(old, "SELECT count(*) FROM failover_rows", dbname=failover["database"])[
            0
        ][0]
        return count == ROWS, count

    cluster.wait_for(f"{old} to serve the {ROWS} rows", probe, timeout=cluster.deadlines.converge)
    with cluster.connect(old, dbname=failover["database"]) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO failover_rows VALUES (-1)")


@pytest.mark.destructive
def test_step10_no_row_written_before_the_failover_is_lost(healthy_cluster, failover):
    """Every acknowledged row is on the new leader."""
    ids = {
        r[0]
        for r in healthy_cluster.sql(
            failover["candidate"], "SELECT id FROM failover_rows", dbname=failover["database"]
        )
    }
    missing = sorted(set(range(ROWS)) - ids)
    assert not missing, f"lost rows after failover: {missing[:20]}"


# --------------------------------------- graded from the cluster's history (read-only)
def test_step10_a_manual_failover_is_in_the_history_and_every_member_followed(
    healthy_cluster, verdict, evidence
):
    """A promotion in /history (as found, on a cluster someone else built) that the old
    leader's log shows was a manual failover (`patronictl failover`, or POST /failover
    without a leader), not a switchover nor a lost leader; every member now on one timeline
    after it. Promotions the suite made never count. Without the members' logs the kind
    cannot be told: UNVERIFIED."""
    cluster = healthy_cluster
    history = cluster.history_to_grade()
    evidence("/history graded", json.dumps(history))
    found = student_work.read_promotions(cluster, history)
    if found.log_notes:
        evidence("members' logs not read", found.log_notes)
    try:  # extra evidence where patronictl can be run; grading does not need it
        evidence("patronictl history", cluster.patronictl("history").output)
    except Unsupported:
        pass
    grade = verdicts.grade_promotion_kind(
        found.promotions,
        verdicts.MANUAL_FAILOVER,
        "run `patronictl failover --candidate <replica> --force` in a node",
        found.logs_given,
    )
    if grade.verdict == verdicts.PASS:  # members that run (a stopped one is steps 1-6')
        timelines = {
            m["name"]: m.get("timeline")
            for m in cluster.members()
            if m.get("state") in RUNNING_STATES
        }
        last = max(p.timeline for p in found.promotions)
        current = set(timelines.values())
        if len(current) != 1 or not all(t is not None and t > last for t in current):
            grade = verdicts.Grade(
                verdicts.FAIL,
                f"members are on timelines {timelines}, not all on one after the last "
                f"promotion (from {last}): a member did not follow the new leader "
                "(patronictl list)",
                grade.evidence,
            )
    verdict(grade)

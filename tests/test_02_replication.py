"""Homework steps 7-8: a test database on the leader, and the state of replication.

Graded from the student's own work: database replicatest, table words, on the
leader and on every replica, whatever rows the student put there. On the suite's
own cluster the suite plays the student and creates them as the homework did.
A cluster someone else built is only read; with --allow-changes the suite also
performs the steps itself in a database of its own, never in replicatest.
"""

import psycopg.errors
import pytest

from fixtures.grading import homework, student_work, verdicts

pytestmark = [
    pytest.mark.order(2),
    pytest.mark.cluster,
    pytest.mark.homework("7-8: create a test database, check replication status"),
]

SUITE_WORDS = ("grader-one", "grader-two")


@pytest.fixture(scope="module")
def student(healthy_cluster):
    """The leader and replicatest.words as found there (created first on the suite's own
    cluster)."""
    cluster = healthy_cluster
    if cluster.started_by_suite:
        homework.create_replicatest(cluster)
    leader = cluster.leader()
    try:
        rows = homework.read_rows(cluster, leader)
        missing = None
    except homework.Missing as exc:
        rows, missing = None, str(exc)
    return {"leader": leader, "rows": rows, "missing": missing}


def test_step7_replicatest_words_exists_on_the_leader_with_rows(student, evidence):
    """Step 7: database replicatest with table words exists on the leader and holds rows."""
    assert student["rows"] is not None, (
        f"step 7 not done: {student['missing']} (leader {student['leader']})"
    )
    evidence(f"replicatest.words on the leader {student['leader']}", "\n".join(student["rows"]))
    assert student["rows"], f"replicatest.words on {student['leader']} is empty"


def test_step8_every_replica_holds_the_same_rows(healthy_cluster, student, evidence):
    """Step 8: each replica, connected to directly, serves exactly the leader's rows."""
    cluster = healthy_cluster
    if student["rows"] is None:
        pytest.fail(f"nothing to compare: {student['missing']}")
    seen = {}
    for replica in cluster.replicas():

        def probe(replica=replica):
            rows = homework.exists(cluster, replica)
            return rows == student["rows"], rows

        seen[replica] = cluster.wait_for(
            f"{replica} to serve the leader's replicatest.words",
            probe,
            timeout=cluster.deadlines.converge,
        )
    evidence(
        "rows on each replica",
        "\n".join(f"{name}: {len(rows)} rows, same as the leader" for name, rows in seen.items()),
    )


def test_step8_leader_streams_to_every_replica(healthy_cluster, evidence):
    """Step 8: pg_stat_replication on the leader lists every replica by name, streaming."""
    cluster = healthy_cluster
    rows = cluster.sql(cluster.leader(), "SELECT application_name, state FROM pg_stat_replication")
    evidence("pg_stat_replication on the leader", rows)
    assert sorted(rows) == [(name, "streaming") for name in cluster.replicas()], rows


def test_step8_patroni_reports_the_same_replication(healthy_cluster):
    """Step 8: GET /patroni on the leader lists the replicas as streaming, like the homework's
    curl."""
    cluster = healthy_cluster
    status = cluster.rest(cluster.leader(), "/patroni").json()
    seen = sorted((r["application_name"], r["state"]) for r in status.get("replication", []))
    assert seen == [(name, "streaming") for name in cluster.replicas()], status


def test_step8_replicas_catch_up_to_lag_zero(healthy_cluster, record_property):
    """Step 8: GET /cluster shows lag 0 for every replica once it has caught up."""
    cluster = healthy_cluster

    def probe():
        lags = {m["name"]: m.get("lag") for m in cluster.members() if m["role"] != "leader"}
        return (
            len(lags) == cluster.expected_members - 1 and all(lag == 0 for lag in lags.values())
        ), lags

    lags = cluster.wait_for(
        "every replica at lag 0 in /cluster", probe, timeout=cluster.deadlines.converge
    )
    record_property("replica_lag_bytes", lags)


def test_step8_every_replica_replays_what_it_receives(healthy_cluster, verdict):
    """Step 8: on every replica WAL replay is not paused and has caught up with what the
    replica received (a paused replay still shows lag 0 in /cluster)."""
    cluster = healthy_cluster
    replicas = cluster.replicas()

    def probe():
        state = student_work.replay_state(cluster, replicas)
        return all(paused or not behind for paused, behind in state.values()), state

    state = cluster.wait_for(
        "every replica to replay what it received (or to show its replay paused)",
        probe,
        timeout=cluster.deadlines.converge,
    )
    problems = verdicts.replay_problems(state)
    described = {name: f"paused {p}, behind {b}" for name, (p, b) in state.items()}
    if problems:
        verdict(verdicts.Grade(verdicts.FAIL, "; ".join(problems), {"replay": str(described)}))
    else:
        verdict(
            verdicts.Grade(
                verdicts.PASS, "every replica replays, none paused", {"replay": str(described)}
            )
        )


def test_step8_replicas_are_read_only(healthy_cluster):
    """Each replica is in recovery and reports transaction_read_only on: it refuses writes."""
    cluster = healthy_cluster
    for replica in cluster.replicas():
        in_recovery, read_only = cluster.sql(
            replica, "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
        )[0]
        assert (in_recovery, read_only) == (True, "on"), (
            f"{replica}: pg_is_in_recovery() {in_recovery}, transaction_read_only {read_only}"
        )


# ------------------------------------------------ the suite performs the steps itself
@pytest.fixture(scope="module")
def suite_words(healthy_cluster, suite_database):
    """Step 7 done by the suite in its own database: table words with two rows, on the leader."""
    leader = healthy_cluster.leader()
    with healthy_cluster.connect(leader, dbname=suite_database) as conn:
        conn.execute(
            "CREATE TABLE words (word varchar(40) NOT NULL, CONSTRAINT uword UNIQUE(word))"
        )
        conn.execute("INSERT INTO words (word) VALUES (%s), (%s)", SUITE_WORDS)
    return suite_database


@pytest.mark.writes
def test_step7_the_suite_creates_a_table_on_the_leader(healthy_cluster, suite_words):
    """Step 7 performed: a table created and filled on the leader holds its rows there."""
    rows = healthy_cluster.sql(
        healthy_cluster.leader(), "SELECT word FROM words ORDER BY word", dbname=suite_words
    )
    assert [r[0] for r in rows] == sorted(SUITE_WORDS)


@pytest.mark.writes
def test_step8_the_suite_rows_reach_every_replica(healthy_cluster, suite_words):
    """Step 8 performed: each replica serves the rows just written on the leader."""
    cluster = healthy_cluster
    for replica in cluster.replicas():

        def probe(replica=replica):
            rows = cluster.sql(replica, "SELECT word FROM words ORDER BY word", dbname=suite_words)
            return [r[0] for r in rows] == sorted(SUITE_WORDS), rows

        cluster.wait_for(
            f"{replica} to serve the suite's rows", probe, timeout=cluster.deadlines.converge
        )


@pytest.mark.writes
def test_step8_a_write_on_a_replica_is_refused_as_read_only(healthy_cluster, suite_words):
    """A replica refuses writes: SQLSTATE 25006, read-only transaction (as the homework saw)."""
    replica = healthy_cluster.replicas()[0]
    with healthy_cluster.connect(replica, dbname=suite_words) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as refused:
            conn.execute("INSERT INTO words (word) VALUES ('collins')")
    assert refused.value.sqlstate == "25006"
    assert "cannot execute INSERT in a read-only transaction" in str(refused.value)

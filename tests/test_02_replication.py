"""Homework steps 7-8: a test database on the leader, and the state of replication."""
import psycopg
import psycopg.errors
import pytest

pytestmark = [pytest.mark.order(2), pytest.mark.cluster,
              pytest.mark.homework("7-8: create a test database, check replication status")]

DATABASE = "replicatest"
WORDS = ("abarakadabra", "boo")


@pytest.fixture(scope="module")
def test_database(healthy_cluster):
    """Step 7 as the homework did it: on the leader, database replicatest, table words, two rows."""
    cluster = healthy_cluster
    leader = cluster.leader()
    cluster.sql(leader, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    cluster.sql(leader, f"CREATE DATABASE {DATABASE}")
    with cluster.connect(leader, dbname=DATABASE) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS words (word varchar(40) NOT NULL, "
                     "CONSTRAINT uword UNIQUE(word))")
        conn.execute("INSERT INTO words (word) VALUES (%s), (%s)", WORDS)
    return leader


def test_step7_database_and_rows_exist_on_the_leader(healthy_cluster, test_database):
    """Step 7: replicatest.words holds the two rows on the leader."""
    rows = healthy_cluster.sql(test_database, "SELECT word FROM words ORDER BY word",
                               dbname=DATABASE)
    assert [r[0] for r in rows] == sorted(WORDS)


def test_step8_rows_are_readable_on_every_replica(healthy_cluster, test_database):
    """Step 8: each replica, connected to directly, serves the leader's rows."""
    cluster = healthy_cluster
    for replica in cluster.replicas():
        def probe(replica=replica):
            rows = cluster.sql(replica, "SELECT word FROM words ORDER BY word", dbname=DATABASE)
            return [r[0] for r in rows] == sorted(WORDS), rows

        cluster.wait_for(f"{replica} to serve replicatest.words", probe, timeout=60)


def test_step8_leader_streams_to_both_replicas(healthy_cluster, test_database):
    """Step 8: pg_stat_replication on the leader lists every replica by name, streaming."""
    cluster = healthy_cluster
    rows = cluster.sql(test_database, "SELECT application_name, state FROM pg_stat_replication")
    assert sorted(rows) == [(name, "streaming") for name in cluster.replicas()], rows


def test_step8_patroni_reports_the_same_replication(healthy_cluster, test_database):
    """Step 8: GET /patroni on the leader lists the replicas as streaming, like the homework's curl."""
    cluster = healthy_cluster
    status = cluster.rest(test_database, "/patroni").json()
    seen = sorted((r["application_name"], r["state"]) for r in status.get("replication", []))
    assert seen == [(name, "streaming") for name in cluster.replicas()], status


def test_step8_replicas_catch_up_to_lag_zero(healthy_cluster, test_database, record_property):
    """Step 8: GET /cluster shows lag 0 for every replica once it has caught up."""
    cluster = healthy_cluster

    def probe():
        lags = {m["name"]: m.get("lag") for m in cluster.members() if m["role"] != "leader"}
        return (len(lags) == cluster.expected_members - 1
                and all(lag == 0 for lag in lags.values())), lags

    lags = cluster.wait_for("every replica at lag 0 in /cluster", probe, timeout=60)
    record_property("replica_lag_bytes", lags)


def test_step10_a_write_on_a_replica_is_refused_as_read_only(healthy_cluster, test_database):
    """A replica refuses writes: SQLSTATE 25006, read-only transaction."""
    replica = healthy_cluster.replicas()[0]
    with healthy_cluster.connect(replica, dbname=DATABASE) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as refused:
            conn.execute("INSERT INTO words (word) VALUES ('collins')")
    assert refused.value.sqlstate == "25006"
    assert "cannot execute INSERT in a read-only transaction" in str(refused.value)

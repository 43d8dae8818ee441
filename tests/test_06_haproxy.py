"""Homework step 12: client connections through HAProxy, 5000 read-write and 5001 read-only."""
import time

import psycopg
import psycopg.errors
import pytest

pytestmark = [pytest.mark.order(6), pytest.mark.cluster,
              pytest.mark.homework("12: client connections through HAProxy")]

RW_BACKEND, RO_BACKEND = "primary", "replicas"  # section names in haproxy/haproxy.cfg.template
FOLLOW_DEADLINE = 60  # seconds for 5000 to reach a new leader after a switchover


@pytest.fixture(scope="module")
def routed(healthy_cluster):
    """HAProxy's checks agree with Patroni: the leader UP for 5000, the replicas UP for 5001."""
    cluster = healthy_cluster
    leader, replicas = cluster.leader(), cluster.replicas()
    expected = {RW_BACKEND: {n: "UP" if n == leader else "DOWN" for n in cluster.member_names()},
                RO_BACKEND: {n: "UP" if n in replicas else "DOWN" for n in cluster.member_names()}}

    def probe():
        status = cluster.haproxy_status()
        return status == expected, status

    cluster.wait_for(f"HAProxy's stats to show {expected}", probe, timeout=60)
    return {"leader": leader, "replicas": replicas, "expected": expected}


def test_step12_port_5000_reaches_the_leader_and_takes_writes(healthy_cluster, routed):
    """5000: not in recovery, the current leader, and a write commits."""
    with healthy_cluster.connect(via="rw") as conn:
        member, in_recovery = healthy_cluster.served_by(conn)
        assert (member, in_recovery) == (routed["leader"], False)
        conn.execute("CREATE TABLE IF NOT EXISTS haproxy_writes (at timestamptz)")
        conn.execute("INSERT INTO haproxy_writes VALUES (now())")


def test_step12_port_5001_spreads_reads_over_the_replicas_and_refuses_writes(healthy_cluster,
                                                                             routed, evidence):
    """5001: in recovery, repeated connections reach every replica, writes are refused."""
    seen = set()
    for _ in range(4 * len(routed["replicas"])):
        with healthy_cluster.connect(via="ro") as conn:
            member, in_recovery = healthy_cluster.served_by(conn)
            assert in_recovery, f"5001 reached {member}, which is not in recovery"
            seen.add(member)
    evidence("servers reached through 5001", sorted(seen))
    assert seen == set(routed["replicas"]), f"5001 reached {seen}"
    with healthy_cluster.connect(via="ro") as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE haproxy_refused (i int)")


def test_step12_stats_page_shows_leader_and_replicas_in_their_backends(healthy_cluster, routed,
                                                                      evidence):
    """Stats on 7000: the leader UP only in the read-write backend, replicas UP only in read-only."""
    status = healthy_cluster.haproxy_status()
    evidence("HAProxy stats (backend: server status)", status)
    assert status == routed["expected"]


def test_step12_clients_connect_over_ssl(healthy_cluster, routed):
    """Through both ports the session is encrypted, as Spilo's pg_hba requires."""
    for via in ("rw", "ro"):
        with healthy_cluster.connect(via=via) as conn:
            ssl = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert ssl.fetchone()[0], f"{via}: not encrypted"


@pytest.mark.destructive
def test_step12_port_5000_follows_a_switchover(healthy_cluster, routed, record_property):
    """After a switchover 5000 reaches the new leader in time, never a demoted node marked down."""
    cluster = healthy_cluster
    old, new = routed["leader"], routed["replicas"][0]
    response = cluster.switchover(old, new)
    assert response.status_code == 200, response.text
    started = time.monotonic()
    followed_after, violations, landed_on_demoted = None, [], 0
    for _ in range(int(FOLLOW_DEADLINE / 0.2)):  # bounded: at most FOLLOW_DEADLINE seconds
        if time.monotonic() - started > FOLLOW_DEADLINE:
            break
        marked_down = {s for s, st in cluster.haproxy_status()[RW_BACKEND].items()
                       if st.startswith("DOWN") or st.startswith("MAINT")}
        try:
            with cluster.connect(via="rw", connect_timeout=2) as conn:
                member, in_recovery = cluster.served_by(conn)
        except psycopg.Error:
            time.sleep(0.2)  # no server behind 5000 for a moment: that is the outage
            continue
        if in_recovery:
            landed_on_demoted += 1
            if member in marked_down:
                violations.append(f"{member} in recovery though HAProxy had marked it down")
        elif member == new:
            followed_after = time.monotonic() - started
            break
        time.sleep(0.2)
    record_property("haproxy_follow_seconds",
                    round(followed_after, 2) if followed_after is not None else None)
    record_property("rw_connections_reaching_a_node_in_recovery", landed_on_demoted)
    assert not violations, violations
    assert followed_after is not None, \
        f"5000 did not reach {new} within {FOLLOW_DEADLINE}s\n{cluster.diagnostics()}"
    cluster.wait_healthy(timeout=120)

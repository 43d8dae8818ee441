"""Homework step 12: client connections through HAProxy, read-write and read-only ports.

Any HAProxy built after Patroni's sample is graded, whatever its section and
server names and whichever Patroni check it uses (GET / expecting 200 or 503,
or /primary and /replica): the section behind each port is found by using the
port, the member a client reached by asking the server, and the stats page
gives each section's servers UP and DOWN (and their addresses where it shows
them). Reading only; writes go to the suite's own database and need changes
allowed on a cluster someone else built.
"""

import time
from typing import Any

import psycopg
import psycopg.errors
import pytest
import requests

from fixtures.cluster.interface import REPLICA_ROLES, RUNNING_STATES
from fixtures.grading import verdicts
from fixtures.run.waiting import WaitTimeout, wait_until

# How often the ports are tried while HAProxy follows a switchover: as often as HAProxy
# checks a DOWN server in the suite's configuration (downinter 200ms).
HAPROXY_PROBE_INTERVAL = 0.2

pytestmark = [
    pytest.mark.order(6),
    pytest.mark.cluster,
    pytest.mark.homework("12: client connections through HAProxy"),
]


def routing_problems(cluster, rw, ro):
    """What keeps HAProxy's stats from agreeing with Patroni; empty when they agree.

    The read-write section: exactly one server UP, the leader's where addresses show.
    The read-only one: at least the running replicas UP and at most every replica (a
    replica whose PostgreSQL is not running may still pass a check that asks Patroni only
    whether it is the leader, as the homework's GET / does; a stopped member's key stays in
    etcd until its ttl runs out), replicas only where addresses show.
    Each section lists a server per member.
    """
    sections = cluster.haproxy_sections()
    members = cluster.members()
    leader = cluster.leader()
    replicas = {m["name"] for m in members if m["role"] in REPLICA_ROLES}
    running = {
        m["name"] for m in members if m["name"] in replicas and m.get("state") in RUNNING_STATES
    }
    by_host = {m["host"]: m["name"] for m in members}
    problems = []
    for name, fewest, most, what in (
        (rw, {leader}, {leader}, "the leader"),
        (ro, running, replicas, "the replicas"),
    ):
        section = sections.get(name)
        if section is None:
            problems.append(f"section {name} is gone from the stats page")
            continue
        up = section.up()
        if len(section.servers) != cluster.expected_members:
            problems.append(
                f"{name} lists {len(section.servers)} servers for "
                f"{cluster.expected_members} members"
            )
        if not len(fewest) <= len(up) <= len(most):
            expected = f"{len(most)}" if fewest == most else f"{len(fewest)} to {len(most)}"
            problems.append(f"{name}: {len(up)} server(s) UP, expected {expected} ({what})")
        up_members = {by_host.get(s.host, s.addr) for s in up if s.addr}
        if up_members and not (fewest <= up_members <= most):
            problems.append(f"{name}: UP {sorted(up_members)}, expected {what} {sorted(most)}")
    return problems, {name: sections[name].describe() for name in (rw, ro) if name in sections}


def members_not_answering(cluster) -> list[str]:
    """Members gone from /cluster or whose REST API does not answer: HAProxy's check cannot
    reach them either (a member whose Patroni answers is reachable, its PostgreSQL or not)."""
    listed = {m["name"] for m in cluster.members()}
    silent = [name for name in cluster.member_names() if name not in listed]
    for name in sorted(listed & set(cluster.member_names())):
        try:
            cluster.rest(name, "/patroni", timeout=3)
        except requests.RequestException:  # refused, timed out: nothing answers there
            silent.append(name)
    return sorted(silent)


@pytest.fixture(scope="module")
def routes(healthy_cluster):
    """The sections behind the read-write and read-only ports, once their checks agree with
    Patroni."""
    cluster = healthy_cluster
    rw, ro = cluster.haproxy_section("rw"), cluster.haproxy_section("ro")
    assert rw != ro, f"the read-write and the read-only port both lead to section {rw}"

    def probe():
        problems, described = routing_problems(cluster, rw, ro)
        return not problems, problems or described

    try:
        cluster.wait_for(
            f"HAProxy's stats to agree with Patroni (section {rw} on the leader, {ro} on the "
            "replicas)",
            probe,
            timeout=cluster.deadlines.haproxy,
        )
    except WaitTimeout as exc:  # one line in the homework's terms; the details stay below
        problems, _ = routing_problems(cluster, rw, ro)
        raise WaitTimeout(
            f"HAProxy does not route as Patroni says ({'; '.join(problems) or 'see below'}): "
            f"check the server lines and the health check of each section in haproxy.cfg\n"
            f"{exc}"
        ) from None
    return {"rw": rw, "ro": ro, "leader": cluster.leader(), "replicas": cluster.replicas()}


def test_step12_read_write_port_reaches_the_leader(healthy_cluster, routes, evidence):
    """5000: the server reached is the leader, not in recovery, accepting writes."""
    with healthy_cluster.connect(via="rw") as conn:
        member, in_recovery = healthy_cluster.served_by(conn)
        read_only = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()[0]
    evidence(
        "server reached through the read-write port",
        f"{member}: pg_is_in_recovery() {in_recovery}, transaction_read_only {read_only}",
    )
    assert (member, in_recovery, read_only) == (routes["leader"], False, "off")


def test_step12_read_only_port_reaches_only_replicas(healthy_cluster, routes, evidence):
    """5001: every one of repeated connections reaches a replica, in recovery and read-only."""
    seen: dict[str, int] = {}
    for _ in range(4 * len(routes["replicas"])):
        with healthy_cluster.connect(via="ro") as conn:
            member, in_recovery = healthy_cluster.served_by(conn)
            read_only = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()[
                0
            ]
        assert in_recovery and read_only == "on", (
            f"5001 reached {member}: pg_is_in_recovery() {in_recovery}, read-only {read_only}"
        )
        seen[member] = seen.get(member, 0) + 1
    evidence("servers reached through the read-only port (connections each)", seen)
    assert set(seen) <= set(routes["replicas"]), (
        f"5001 reached {sorted(seen)}; the replicas are {routes['replicas']}"
    )


def test_step12_stats_page_shows_the_leader_and_the_replicas_behind_their_ports(
    healthy_cluster, routes, evidence, verdict
):
    """Stats on 7000: the read-write section has the leader UP only, the read-only section the
    replicas; what each section checks and what its servers answered. Each DOWN server is
    down because Patroni answered its check (L7STS), not because nothing answers at its
    address (L4CON, L4TOUT: a wrong address or port in haproxy.cfg)."""
    problems, described = routing_problems(healthy_cluster, routes["rw"], routes["ro"])
    evidence(
        "HAProxy sections (read-write, read-only)",
        "\n".join(described.get(name, f"{name}: missing") for name in (routes["rw"], routes["ro"])),
    )
    evidence("HAProxy stats (section: server status)", healthy_cluster.haproxy_status())
    sections = healthy_cluster.haproxy_sections()
    unreachable = {
        name: verdicts.unreachable_servers(sections[name].servers.values())
        for name in (routes["rw"], routes["ro"])
    }
    down = members_not_answering(healthy_cluster)
    grade = verdicts.grade_haproxy_routing(problems, unreachable, down)
    if grade is not None:
        verdict(grade)


@pytest.mark.extra
def test_step12_clients_connect_over_ssl(healthy_cluster, routes, evidence):
    """Through both ports the server refuses a client without SSL (Spilo's pg_hba) and an
    SSL session is encrypted on the server's side (pg_stat_ssl: TLS version and cipher).
    Extra evidence on a student's cluster: the homework does not require SSL."""
    if healthy_cluster.credentials.sslmode == "disable":
        pytest.skip("graded with sslmode=disable (--target-sslmode): SSL is not expected")
    for via in ("rw", "ro"):
        endpoint = healthy_cluster.haproxy_endpoint(via)
        try:
            evidence(f"{via} without SSL", healthy_cluster.refusal_without_ssl(endpoint))
        except AssertionError as exc:
            if healthy_cluster.started_by_suite:
                raise
            pytest.skip(f"extra evidence: {exc} (ALLOW_NOSSL); the homework does not require SSL")
        with healthy_cluster.connect(via=via) as conn:
            row = conn.execute(
                "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            ).fetchone()
            assert row is not None and row[0], f"{via}: the server sees no SSL: {row}"
            evidence(f"{via} session", f"{row[1]} {row[2]}")


@pytest.mark.writes
def test_step12_a_write_through_the_read_write_port_commits(
    healthy_cluster, routes, suite_database
):
    """5000 takes writes: a row written through it is on the leader (the suite's own database)."""
    with healthy_cluster.connect(via="rw", dbname=suite_database) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS haproxy_writes (at timestamptz)")
        conn.execute("INSERT INTO haproxy_writes VALUES (now())")
    count = healthy_cluster.sql(
        routes["leader"], "SELECT count(*) FROM haproxy_writes", dbname=suite_database
    )[0][0]
    assert count >= 1


@pytest.mark.writes
def test_step12_a_write_through_the_read_only_port_is_refused(
    healthy_cluster, routes, suite_database
):
    """5001 refuses writes: read-only transaction (the suite's own database)."""
    with healthy_cluster.connect(via="ro", dbname=suite_database) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE haproxy_refused (i int)")


def marked_down(cluster, section):
    """Members whose server HAProxy has marked down in ``section``; None without addresses."""
    found = cluster.haproxy_sections().get(section)
    if found is None or not any(s.addr for s in found.servers.values()):
        return None
    by_host = {m["host"]: m["name"] for m in cluster.members()}
    return {by_host.get(s.host, s.addr) for s in found.down()}


@pytest.mark.destructive
def test_step12_read_write_port_follows_a_switchover(healthy_cluster, routes, record_property):
    """After a switchover 5000 reaches the new leader in time, never a demoted node marked down;
    5001 then reaches only replicas, the old leader among them (both times recorded)."""
    cluster = healthy_cluster
    old, new = routes["leader"], routes["replicas"][0]
    response = cluster.switchover(old, new)
    assert response.status_code == 200, response.text
    started = time.monotonic()
    seen: dict[str, Any] = {"violations": [], "landed_on_demoted": 0, "unchecked": False}

    def reaches_the_new_leader():
        down = marked_down(cluster, routes["rw"])
        seen["unchecked"] = seen["unchecked"] or down is None
        try:
            with cluster.connect(via="rw", connect_timeout=2) as conn:
                member, in_recovery = cluster.served_by(conn)
        except psycopg.Error as exc:  # no server behind 5000 for a moment: that is the outage
            return False, f"no connection through 5000: {type(exc).__name__}"
        if in_recovery:
            seen["landed_on_demoted"] += 1
            # Down before and after the connection: a server HAProxy routed to although it had
            # marked it down. (Down only before: the new leader, whose REST API says primary a
            # moment before PostgreSQL has left recovery, came UP meanwhile.)
            after = marked_down(cluster, routes["rw"])
            if down is not None and after is not None and member in down and member in after:
                seen["violations"].append(f"{member} in recovery though HAProxy had marked it down")
        return member == new, {"member": member, "in_recovery": in_recovery}

    followed_after, timed_out = None, None
    try:
        wait_until(
            f"5000 to reach the new leader {new}",
            reaches_the_new_leader,
            timeout=cluster.deadlines.haproxy,
            interval=HAPROXY_PROBE_INTERVAL,
            diagnostics=cluster.diagnostics,
        )
        followed_after = time.monotonic() - started
    except WaitTimeout as exc:
        timed_out = exc
    record_property(
        "haproxy_follow_seconds", round(followed_after, 2) if followed_after is not None else None
    )
    record_property("rw_connections_reaching_a_node_in_recovery", seen["landed_on_demoted"])
    if seen["unchecked"]:
        record_property(
            "marked_down_check",
            "not possible: the stats page shows no server addresses (no `stats show-legends`)",
        )
    assert not seen["violations"], seen["violations"]
    if timed_out is not None:
        raise timed_out
    ro_after = read_only_port_follows(cluster, old, new, started)
    record_property("haproxy_ro_follow_seconds", ro_after)
    cluster.wait_healthy()


def read_only_port_follows(cluster, old, new, started, rounds=6):
    """After a switchover the read-only port must stop sending clients to the new leader and
    reach the old one, now a replica: the time until ``rounds`` connections in a row reached
    replicas only, the old leader among them (under the cluster's own check settings)."""
    streak = {"replicas": 0, "old_among_them": False}

    def reaches_replicas_only():
        try:
            with cluster.connect(via="ro", connect_timeout=2) as conn:
                member, in_recovery = cluster.served_by(conn)
        except psycopg.Error as exc:
            streak.update(replicas=0, old_among_them=False)
            return False, f"no connection through 5001: {type(exc).__name__}"
        if not in_recovery or member == new:
            streak.update(replicas=0, old_among_them=False)  # still sent to the new leader
        else:
            streak["replicas"] += 1
            streak["old_among_them"] = streak["old_among_them"] or member == old
        done = streak["replicas"] >= rounds and streak["old_among_them"]
        return done, {"member": member, "in_recovery": in_recovery, **streak}

    wait_until(
        f"5001 to reach only replicas, {old} among them ({rounds} connections in a row), "
        f"after the switchover to {new}",
        reaches_replicas_only,
        timeout=max(0.0, cluster.deadlines.haproxy - (time.monotonic() - started)),
        interval=HAPROXY_PROBE_INTERVAL,
        diagnostics=cluster.diagnostics,
    )
    return round(time.monotonic() - started, 2)

"""Homework step 13: change PostgreSQL's configuration, including a parameter that needs a restart.

Graded from the cluster as found: a parameter that needs a restart differs in
Patroni's dynamic configuration from what the node bootstrapped with, every member
runs it and none waits for a restart (Spilo writes max_connections into /config at
bootstrap, so its presence alone proves nothing).
With changes allowed (always on the suite's own cluster) the suite also changes
parameters with `patronictl edit-config` and restarts; they are undone at the end.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fixtures.cluster.compat import patronictl_table_rows, version_tuple
from fixtures.cluster.interface import Unsupported
from fixtures.grading import verdicts

pytestmark = [
    pytest.mark.order(5),
    pytest.mark.cluster,
    pytest.mark.homework("13: configuration change that needs a restart"),
]


def show_everywhere(cluster, parameter):
    return {name: cluster.sql(name, f"SHOW {parameter}")[0][0] for name in cluster.member_names()}


def start_times(cluster):
    return {
        name: cluster.sql(name, "SELECT pg_postmaster_start_time()")[0][0]
        for name in cluster.member_names()
    }


def pending(cluster):
    """Each member's /patroni pending_restart flag and reason."""
    result = {}
    for name in cluster.member_names():
        status = cluster.rest(name, "/patroni").json()
        result[name] = (status.get("pending_restart", False), status.get("pending_restart_reason"))
    return result


@pytest.fixture(scope="module")
def before(healthy_cluster):
    return {
        "leader": healthy_cluster.leader(),
        "timelines": healthy_cluster.timelines(),
        "started": start_times(healthy_cluster),
    }


@pytest.fixture(scope="module")
def reload_change(healthy_cluster, before):
    """log_min_duration_statement through `patronictl edit-config`: needs only a reload."""
    current = healthy_cluster.sql(
        before["leader"],
        "SELECT setting FROM pg_settings WHERE name = 'log_min_duration_statement'",
    )[0][0]
    new = 250 if current != "250" else 300
    result = healthy_cluster.patronictl(
        "edit-config", "-p", f"log_min_duration_statement={new}", "--force"
    )
    return {"new": new, "result": result}


@pytest.fixture(scope="module")
def restart_change(healthy_cluster, before, reload_change):
    """max_connections through `patronictl edit-config`: needs a restart."""
    old = int(healthy_cluster.sql(before["leader"], "SHOW max_connections")[0][0])
    new = old + 10
    result = healthy_cluster.patronictl("edit-config", "-p", f"max_connections={new}", "--force")
    return {"old": old, "new": new, "result": result}


@pytest.mark.destructive
def test_step13_reload_parameter_applies_everywhere_without_restart(
    healthy_cluster, before, reload_change
):
    """A reload-only parameter reaches every member; no restart, no pending flag."""
    result = reload_change["result"]
    assert result.exit_code == 0 and "Configuration changed" in result.output, result.output
    expected = f"{reload_change['new']}ms"

    def probe():
        values = show_everywhere(healthy_cluster, "log_min_duration_statement")
        return set(values.values()) == {expected}, values

    healthy_cluster.wait_for(
        f"log_min_duration_statement = {expected} on every member",
        probe,
        timeout=healthy_cluster.deadlines.converge,
    )
    assert start_times(healthy_cluster) == before["started"], "a member restarted for a reload"
    flags = pending(healthy_cluster)
    assert not any(flag for flag, _ in flags.values()), flags


@pytest.mark.destructive
def test_step13_max_connections_change_is_pending_restart_on_every_member(
    healthy_cluster, restart_change
):
    """/patroni on each member: pending_restart, with the reason naming old and new values."""
    result = restart_change["result"]
    assert result.exit_code == 0 and "Configuration changed" in result.output, result.output
    reason = {
        "max_connections": {
            "old_value": str(restart_change["old"]),
            "new_value": str(restart_change["new"]),
        }
    }

    # Patroni 4 gives the reason; 3.x only the flag (no pending_restart_reason at all).
    without_reasons = {
        name
        for name in healthy_cluster.member_names()
        if version_tuple(
            healthy_cluster.rest(name, "/patroni").json().get("patroni", {}).get("version", "")
        )
        < (4,)
    }

    def probe():
        flags = pending(healthy_cluster)
        return all(
            flag and (why == reason or (why is None and name in without_reasons))
            for name, (flag, why) in flags.items()
        ), flags

    healthy_cluster.wait_for(
        f"pending_restart {reason} on every member",
        probe,
        timeout=healthy_cluster.deadlines.converge,
    )


@pytest.mark.destructive
def test_step13_patronictl_list_shows_the_pending_restart(
    healthy_cluster, restart_change, evidence
):
    """`patronictl list` grows the Pending restart column, flagged for every member."""
    change = f"max_connections: {restart_change['old']}->{restart_change['new']}"
    cluster = healthy_cluster

    def in_etcd():
        # patronictl reads the members' keys in etcd, which follow /patroni by a loop_wait;
        # /cluster shows the same keys, and asking it costs no patronictl run.
        flags = {m["name"]: bool(m.get("pending_restart")) for m in cluster.members()}
        return len(flags) == cluster.expected_members and all(flags.values()), flags

    cluster.wait_for(
        "every member's key in etcd flagged pending restart (/cluster)",
        in_etcd,
        timeout=cluster.deadlines.converge,
    )

    def probe():
        table = cluster.patronictl("list").output
        rows = patronictl_table_rows(table)
        # Patroni 4's patronictl adds a reason column; 3.x only the flag.
        flagged = bool(rows) and all(
            r.get("Pending restart") == "*" and change in r.get("Pending restart reason", change)
            for r in rows
        )
        return flagged, table

    table = cluster.wait_for(
        f"patronictl list to flag '{change}' on every member",
        probe,
        timeout=cluster.deadlines.converge,
    )
    evidence("patronictl list", table)


@pytest.mark.destructive
def test_step13_restart_applies_the_change_without_a_failover(
    healthy_cluster, before, restart_change, record_property
):
    """`patronictl restart <scope> <member> --force`, the replicas first (side by side, a
    patronictl each: one patronictl restarts its members one after another), then the
    leader: new value everywhere, flags gone, same leader.

    The order is the one PostgreSQL asks for when max_connections goes up: a replica that
    replays the leader's higher value before its own restart stops ("recovery aborted
    because of insufficient parameter settings"), and patronictl, restarting the leader
    first, can then find it down (seen on a loaded machine: "Failed: restart for member")."""
    cluster = healthy_cluster
    started = time.monotonic()
    replicas = [name for name in cluster.member_names() if name != before["leader"]]
    with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
        done = list(
            pool.map(
                lambda name: cluster.patronictl("restart", cluster.scope, name, "--force"), replicas
            )
        )
    done.append(cluster.patronictl("restart", cluster.scope, before["leader"], "--force"))
    output = "".join(result.output for result in done)
    assert all(result.exit_code == 0 for result in done), output
    for name in cluster.member_names():
        assert f"Success: restart on member {name}" in output, output
    expected = str(restart_change["new"])

    def probe():
        values = show_everywhere(cluster, "max_connections")
        flags = {name: flag for name, (flag, _) in pending(cluster).items()}
        return set(values.values()) == {expected} and not any(flags.values()), (values, flags)

    cluster.wait_for(
        f"max_connections = {expected} everywhere and no pending restart",
        probe,
        timeout=cluster.deadlines.restart,
    )
    record_property("restart_seconds", round(time.monotonic() - started, 2))
    cluster.wait_healthy()
    assert cluster.leader() == before["leader"], "the leader changed during a restart"
    assert cluster.timelines() == before["timelines"], "a restart must not switch timelines"
    restarted = start_times(cluster)
    assert all(restarted[n] > before["started"][n] for n in restarted), (restarted, before)


# ------------------------------------------- graded from the student's change (read-only)
def test_step13_a_restart_parameter_changed_after_bootstrap_runs_on_every_member(
    healthy_cluster, verdict, evidence
):
    """A parameter that needs a restart (pg_settings context postmaster) differs in /config
    from the node's bootstrap configuration, etcd shows /config written after bootstrap,
    every member runs the new value and none waits for a restart. Read as found on a
    cluster someone else built: the suite's own changes never count."""
    cluster = healthy_cluster
    try:  # extra evidence where patronictl can be run; grading does not need it
        evidence("patronictl list", cluster.patronictl("list").output)
    except Unsupported:
        pass
    verdict(verdicts.grade_restart_change(**cluster.restart_evidence_to_grade()))

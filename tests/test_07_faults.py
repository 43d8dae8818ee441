"""Beyond the homework: faults while clients write, in synchronous and asynchronous mode.

Every scenario writes through HAProxy's read-write port while the fault
happens, then checks from the data what survived: in synchronous mode no
acknowledged write may be lost; in asynchronous mode losses are reported.
Deadlines derive from the ttl and loop_wait the cluster reports; timings are
recorded as figures, never asserted tightly.
"""
import time

import pytest

from fixtures.containers import PatroniNodeContainer
from fixtures.faults import (Timings, WritableSampler, make_whole, set_failsafe_mode,
                             set_synchronous_mode, start_writer, verdict, wait_sync_standby)

pytestmark = [pytest.mark.order(7), pytest.mark.cluster, pytest.mark.destructive,
              pytest.mark.faults]


# Short names for the figures table.
SCENARIOS = {
    "test_planned_switchover_while_writing": "switchover",
    "test_leader_stopped_with_sigterm_hands_over_without_waiting_for_ttl": "SIGTERM leader",
    "test_leader_killed_with_sigkill_is_replaced_and_rejoins": "SIGKILL leader",
    "test_isolated_leader_demotes_and_no_two_members_accept_writes": "leader isolated",
    "test_etcd_lost_the_cluster_behaves_as_patroni_documents": "etcd stopped",
    "test_leader_and_sync_replica_lost_together_no_silent_promotion":
        "leader + sync replica killed",
}


@pytest.fixture(scope="module", params=["sync", "async"])
def mode(request, healthy_cluster):
    """synchronous_mode on or off for every scenario of the module (sync ones first)."""
    set_synchronous_mode(healthy_cluster, request.param == "sync")
    yield request.param
    if request.param == "sync":
        healthy_cluster.restore()
        healthy_cluster.wait_healthy(timeout=180)
        set_synchronous_mode(healthy_cluster, False)


@pytest.fixture
def scenario(healthy_cluster, mode, figures, record_property, request):
    """A healthy cluster in the module's mode, and a recorder for the scenario's figures.

    Whatever the scenario did, its faults are undone afterwards and the cluster
    is made whole again: a member that cannot rejoin is rebuilt, and the
    scenario fails with why, so one broken scenario costs one test.
    """
    cluster = healthy_cluster
    cluster.wait_healthy(timeout=180)
    if mode == "sync":
        wait_sync_standby(cluster)
    timings = Timings.of(cluster)
    recorded = {}
    began = time.time()
    try:
        yield recorded
    finally:
        cluster.restore()
    name = SCENARIOS.get(request.node.originalname, request.node.originalname)
    extra = [part for part in request.node.callspec.id.split("-", 1)[1:]]  # beyond the mode
    name += f" ({extra[0]})" if extra else ""
    for key, value in recorded.items():
        record_property(key, value)
    if recorded:
        figures.add(name, mode, recorded)
    rebuilt = make_whole(cluster, began, settle=timings.ttl + 4 * timings.loop_wait,
                         timeout=timings.failover_deadline + 120, logs_since=cluster.logs_since)
    if cluster.rest(cluster.leader(), "/config").json().get("failsafe_mode"):
        set_failsafe_mode(cluster, False)  # also when the scenario that set it failed
    if rebuilt:
        record_property("rebuilt_after_scenario", rebuilt)
        pytest.fail(rebuilt, pytrace=False)


def assert_data_directories_clean(cluster):
    """No member's data directory holds a socket or other special file (pg_rewind copies
    data directories file by file and cannot read one)."""
    found = {m: cluster.data_directory_anomalies(m) for m in cluster.member_names()}
    assert not any(found.values()), f"special files in data directories: {found}"


def check(mode, figures, cluster):
    """What must hold after every scenario, given the mode."""
    assert_data_directories_clean(cluster)
    assert figures["unexpected"] == 0, f"ids never written appeared: {figures['unexpected_ids']}"
    if mode == "sync":
        assert figures["lost"] == 0, \
            f"synchronous mode lost acknowledged writes: {figures['lost_ids']}"


def elapsed_since(start):
    return round(time.monotonic() - start, 2)


def promoted_elsewhere(cluster, old_leader, timeout):
    """Wait for a leader other than ``old_leader``; return its name."""
    def probe():
        leader = cluster.leader()
        if leader in (None, old_leader):
            return False, f"leader is {leader}"
        return cluster.rest(leader, "/patroni").json().get("role") == "primary", leader

    return cluster.wait_for(f"a leader other than {old_leader}", probe, timeout)


def sync_or_first_replica(cluster):
    members = cluster.members()
    sync = [m["name"] for m in members if m["role"] == "sync_standby"]
    return sync[0] if sync else cluster.replicas()[0]


def test_planned_switchover_while_writing(healthy_cluster, mode, scenario):
    """A switchover through the REST API under write load."""
    cluster = healthy_cluster
    timings = Timings.of(cluster)
    old, candidate = cluster.leader(), sync_or_first_replica(cluster)
    writer = start_writer(cluster)
    started = time.monotonic()
    response = cluster.switchover(old, candidate)
    assert response.status_code == 200, response.text
    cluster.wait_for_leader(candidate, timeout=timings.failover_deadline)
    scenario["new_leader_seconds"] = elapsed_since(started)
    cluster.wait_streaming(old, timeout=timings.failover_deadline)
    scenario["old_leader_streaming_seconds"] = elapsed_since(started)
    scenario.update(verdict(cluster, writer))
    check(mode, scenario, cluster)


def lose_leader_and_bring_it_back(cluster, mode, scenario, fault):
    """``fault(leader)`` takes the leader down; another takes over; the old one, started
    again, streams from the new leader; then the data is judged."""
    timings = Timings.of(cluster)
    old = cluster.leader()
    writer = start_writer(cluster)
    began = time.time()
    started = time.monotonic()
    fault(old)
    promoted_elsewhere(cluster, old, timings.failover_deadline)
    scenario["new_leader_seconds"] = elapsed_since(started)
    cluster.start_member(old)
    cluster.wait_streaming(old, timeout=timings.failover_deadline)
    scenario["old_leader_streaming_seconds"] = elapsed_since(started)
    scenario["old_leader_ran_pg_rewind"] = "running pg_rewind" in cluster.logs_since(old, began)
    scenario.update(verdict(cluster, writer))
    check(mode, scenario, cluster)
    return timings


def test_leader_stopped_with_sigterm_hands_over_without_waiting_for_ttl(healthy_cluster, mode,
                                                                        scenario):
    """`docker stop` of the leader: the key is released, a replica takes over before ttl."""
    timings = lose_leader_and_bring_it_back(healthy_cluster, mode, scenario,
                                            healthy_cluster.stop_member)
    assert scenario["new_leader_seconds"] < timings.ttl, \
        f"a released key should not wait for ttl ({timings.ttl}s): {scenario}"


def test_leader_killed_with_sigkill_is_replaced_and_rejoins(healthy_cluster, mode, scenario):
    """`docker kill` of the leader: a replica takes over once the key expires; the old node,
    started again, rejoins as a replica (pg_rewind where its timeline diverged)."""
    lose_leader_and_bring_it_back(healthy_cluster, mode, scenario, healthy_cluster.kill_member)


def test_isolated_leader_demotes_and_no_two_members_accept_writes(healthy_cluster, mode,
                                                                  scenario):
    """The leader cut off from the network demotes itself; a new leader is elected; no sample
    ever finds two writable members; reconnected, the old leader rejoins as a replica."""
    cluster = healthy_cluster
    timings = Timings.of(cluster)
    old = cluster.leader()
    writer = start_writer(cluster)
    sampler = WritableSampler(cluster).start()
    try:
        started = time.monotonic()
        cluster.isolate_member(old)
        new = promoted_elsewhere(cluster, old, timings.failover_deadline)
        scenario["new_leader_seconds"] = elapsed_since(started)

        def demoted():
            in_recovery = cluster.in_recovery_inside(old)
            return in_recovery is True, f"pg_is_in_recovery() on {old}: {in_recovery}"

        cluster.wait_for(f"isolated {old} to demote itself", demoted, timings.failover_deadline)
        scenario["isolated_leader_demoted_seconds"] = elapsed_since(started)
    finally:
        cluster.reconnect_member(old)
        sampler.stop()
    cluster.wait_streaming(old, timeout=timings.failover_deadline)
    scenario["old_leader_streaming_seconds"] = elapsed_since(started)
    scenario.update(verdict(cluster, writer))
    scenario["samples"] = len(sampler.rounds)

    split = sampler.split_brain_rounds()
    assert not split, f"two writable members at once: {split[:5]}"
    demoted_at = sampler.first_not_writable(old, after=started)
    promoted_at = sampler.first_writable(new, after=started)
    assert demoted_at is not None and promoted_at is not None, sampler.rounds[-3:]
    assert demoted_at <= promoted_at, "the new leader was writable before the old one demoted"
    check(mode, scenario, cluster)


@pytest.mark.parametrize("failsafe", [False, True], ids=["failsafe-off", "failsafe-on"])
def test_etcd_lost_the_cluster_behaves_as_patroni_documents(healthy_cluster, mode, scenario,
                                                            failsafe):
    """etcd stopped: without failsafe_mode the leader demotes (no DCS, no lock); with it the
    leader keeps writing while it reaches every member. Both recover when etcd returns."""
    cluster = healthy_cluster
    timings = Timings.of(cluster)
    set_failsafe_mode(cluster, failsafe)
    leader = cluster.leader()
    writer = start_writer(cluster)
    started = time.monotonic()
    cluster.stop_dcs()
    try:
        if failsafe:
            # Over a whole ttl and more, the leader stays primary and writes are acknowledged.
            watch_until = time.monotonic() + timings.ttl + 2 * timings.loop_wait + 5
            demoted = []
            for _ in range(int((watch_until - time.monotonic()) / 0.5) + 1):
                if time.monotonic() >= watch_until:
                    break
                if cluster.in_recovery_inside(leader) is not False:
                    demoted.append(elapsed_since(started))
                time.sleep(0.5)
            assert not demoted, f"{leader} left primary with failsafe_mode on at {demoted}s"
            writer.wait_for_acknowledged(20, timeout=30)
        else:
            def demoted():
                in_recovery = cluster.in_recovery_inside(leader)
                return in_recovery is True, f"pg_is_in_recovery() on {leader}: {in_recovery}"

            cluster.wait_for(f"{leader} to demote without etcd", demoted,
                             timings.failover_deadline)
            scenario["leader_demoted_seconds"] = elapsed_since(started)
            writable = [m for m in cluster.member_names() if cluster.in_recovery_inside(m) is False]
            assert not writable, f"writable without a DCS: {writable}"
    finally:
        cluster.start_dcs()
    cluster.wait_healthy(timeout=timings.failover_deadline)
    scenario["recovered_seconds"] = elapsed_since(started)
    scenario.update(verdict(cluster, writer))
    check(mode, scenario, cluster)


def test_leader_and_sync_replica_lost_together_no_silent_promotion(healthy_cluster, mode,
                                                                   scenario):
    """Leader and synchronous replica killed together: the remaining replica, which may lack
    acknowledged writes, is not promoted, watched for more than a ttl."""
    if mode != "sync":
        pytest.skip("only synchronous mode promises not to promote a replica that may lag")
    cluster = healthy_cluster
    timings = Timings.of(cluster)
    members = cluster.members()
    leader = next(m["name"] for m in members if m["role"] == "leader")
    sync = next(m["name"] for m in members if m["role"] == "sync_standby")
    remaining = next(m["name"] for m in members if m["name"] not in (leader, sync))
    writer = start_writer(cluster)
    started = time.monotonic()
    cluster.kill_member(leader)
    cluster.kill_member(sync)
    try:
        watch_until = time.monotonic() + timings.ttl + 2 * timings.loop_wait + 10
        promoted = []
        for _ in range(int((watch_until - time.monotonic()) / 0.5) + 1):
            if time.monotonic() >= watch_until:
                break
            if cluster.in_recovery_inside(remaining) is False:
                promoted.append(elapsed_since(started))
                break
            time.sleep(0.5)
        scenario["watched_seconds"] = elapsed_since(started)
        assert not promoted, f"{remaining} was promoted at {promoted[0]}s without the writes " \
                             f"only {leader} and {sync} had"
    finally:
        cluster.start_member(leader)
        cluster.start_member(sync)
    cluster.wait_healthy(timeout=timings.failover_deadline)
    scenario["recovered_seconds"] = elapsed_since(started)
    scenario.update(verdict(cluster, writer))
    check(mode, scenario, cluster)


def test_a_member_that_cannot_rejoin_is_named_and_rebuilt(healthy_cluster):
    """What every scenario's teardown relies on: a replica whose data directory PostgreSQL
    refuses (PG_VERSION naming another major version, then the node killed and started)
    cannot rejoin by itself; make_whole names it with its own log lines and rebuilds it
    with patronictl reinit."""
    cluster = healthy_cluster
    timings = Timings.of(cluster)
    victim = cluster.replicas()[0]
    began = time.time()
    broken = cluster.exec(victim, "sh", "-c",
                          f"echo 9.6 > {PatroniNodeContainer.PGDATA}/PG_VERSION")
    assert broken.exit_code == 0, broken.output
    cluster.kill_member(victim)
    cluster.start_member(victim)
    diagnosis = make_whole(cluster, began, settle=timings.ttl,
                           timeout=timings.failover_deadline + 120, logs_since=cluster.logs_since)
    assert diagnosis is not None, "a member PostgreSQL refuses rejoined by itself"
    assert f"{victim} could not rejoin" in diagnosis, diagnosis
    assert f"rebuilt {victim}: patronictl reinit exit 0" in diagnosis, diagnosis
    assert not cluster.health_problems(), cluster.health_problems()
    assert_data_directories_clean(cluster)

"""Beyond the homework: faults while clients write, in synchronous and asynchronous mode.

Every scenario reads "under load: fault, then expectations": a writer goes
through HAProxy's read-write port while the fault happens, then the data
says what survived: in synchronous mode no acknowledged write may be lost; in
asynchronous mode losses are reported. Faults come from the ``faults``
fixture, which only a cluster the suite started has: elsewhere every scenario
is skipped before it changes anything. Deadlines derive from the ttl and
loop_wait the cluster reports.
"""

import contextlib
import threading
import time
from typing import Any

import pytest

from fixtures.cluster.containers import PatroniNodeContainer
from fixtures.cluster.settings import PatroniTimings
from fixtures.faults.scenarios import (
    SAMPLER_MAX_GAP,
    UnderLoad,
    leader_loss_under_load,
    make_whole,
    promoted_elsewhere,
    set_failsafe_mode,
    set_synchronous_mode,
    switchover_under_load,
    wait_sync_standby,
)
from fixtures.run import options
from fixtures.run.deadlines import OutageBudgets
from fixtures.run.waiting import holds_for

pytestmark = [
    pytest.mark.order(7),
    pytest.mark.cluster,
    pytest.mark.destructive,
    pytest.mark.faults,
]


# Short names for the figures table.
SCENARIOS = {
    "test_planned_switchover_while_writing": "switchover",
    "test_leader_stopped_with_sigterm_hands_over_without_waiting_for_ttl": "SIGTERM leader",
    "test_leader_killed_with_sigkill_is_replaced_and_rejoins": "SIGKILL leader",
    "test_isolated_leader_demotes_and_no_two_members_accept_writes": "leader isolated",
    "test_etcd_lost_without_failsafe_mode_the_leader_demotes": "etcd stopped (failsafe off)",
    "test_etcd_lost_with_failsafe_mode_the_leader_keeps_writing": "etcd stopped (failsafe on)",
    "test_leader_and_sync_replica_lost_together_no_silent_promotion": (
        "leader + sync replica killed"
    ),
}


@pytest.fixture(scope="module", params=["sync", "async"])
def mode(request, faults, healthy_cluster):
    """synchronous_mode on or off for every scenario of the module (sync ones first).

    ``faults`` comes first: where the cluster offers no faults, nothing is changed."""
    set_synchronous_mode(healthy_cluster, request.param == "sync")
    try:
        yield request.param
    finally:
        if request.param == "sync":
            faults.restore()
            healthy_cluster.wait_healthy()
            set_synchronous_mode(healthy_cluster, False)


@pytest.fixture(scope="module")
def budgets(healthy_cluster, faults, pytestconfig):
    """The write-outage budgets (fixtures/run/deadlines.py), asserted for the suite's own HAProxy
    configuration; recorded only with --record-only or a student's --haproxy-config."""
    settings = healthy_cluster.suite_settings()
    student_cfg = settings is not None and settings.haproxy_config is not None
    return OutageBudgets(
        PatroniTimings.of(healthy_cluster),
        record_only=bool(options.value(pytestconfig, "--record-only")) or student_cfg,
    )


@pytest.fixture
def scenario(healthy_cluster, faults, mode, figures, record_property, request):
    """A healthy cluster in the module's mode, and a recorder for the scenario's figures.

    Whatever the scenario did, its faults are undone afterwards and the cluster
    is made whole again: a member that cannot rejoin is rebuilt, and the
    scenario fails with why, so one broken scenario costs one test.
    """
    cluster = healthy_cluster
    cluster.wait_healthy()
    if mode == "sync":
        wait_sync_standby(cluster)
    timings = PatroniTimings.of(cluster)
    recorded: dict[str, Any] = {}
    began = time.time()
    yield recorded
    name = SCENARIOS.get(request.node.originalname, request.node.originalname)
    for key, value in recorded.items():
        record_property(key, value)
    if recorded:
        figures.add(name, mode, recorded)
    rebuilt = after_scenario(cluster, faults, began, timings)
    if rebuilt:
        record_property("rebuilt_after_scenario", rebuilt)
        pytest.fail(rebuilt, pytrace=False)


def after_scenario(cluster, faults, began, timings):
    """Undo whatever a scenario left, passed or failed: faults still in effect, a member
    that cannot rejoin (rebuilt; the diagnosis is returned), failsafe_mode."""
    faults.restore()
    rebuilt = make_whole(
        cluster,
        began,
        settle=timings.ttl + 4 * timings.loop_wait,
        timeout=cluster.deadlines.healthy,
        logs_since=faults.logs_since,
    )
    # The leader's REST API answers /config from etcd: just after etcd returns, one request
    # can outlast its timeout while Patroni's client reconnects (seen in a two-worker run).
    failsafe = cluster.wait_for(
        "the leader's /config to answer",
        lambda: (True, cluster.rest(cluster.leader(), "/config").json().get("failsafe_mode")),
        timeout=cluster.deadlines.converge,
    )
    if failsafe:
        set_failsafe_mode(cluster, False)
    return rebuilt


def assert_data_directories_clean(cluster, faults):
    """No member's data directory holds a socket or other special file (pg_rewind copies
    data directories file by file and cannot read one)."""
    found = {m: faults.data_directory_anomalies(m) for m in cluster.member_names()}
    assert not any(found.values()), f"special files in data directories: {found}"


def check(mode, figures, cluster, faults):
    """What must hold after every scenario, given the mode."""
    assert_data_directories_clean(cluster, faults)
    assert figures["unexpected"] == 0, f"ids never written appeared: {figures['unexpected_ids']}"
    assert figures["failed_committed"] == 0, (
        f"writes refused by the server are committed: {figures['failed_committed_ids']}"
    )
    if mode == "sync":
        assert figures["lost"] == 0, (
            f"synchronous mode lost acknowledged writes: {figures['lost_ids']}"
        )


def in_recovery_is(faults, member, expected):
    """A probe: ``pg_is_in_recovery()`` asked inside ``member``'s container (so a member cut
    off from the network answers too) is ``expected``."""

    def probe():
        in_recovery = faults.in_recovery_inside(member)
        return in_recovery is expected, f"pg_is_in_recovery() on {member}: {in_recovery}"

    return probe


def demoted_inside(faults, member, since):
    """A probe: Patroni demoted ``member`` (its log since ``since`` says so) and its server
    accepts no writes (asked inside its container: in recovery, or not answering)."""

    def probe():
        in_recovery = faults.in_recovery_inside(member)
        logged = "Demoting self (" in faults.logs_since(member, since)
        return in_recovery is not False and logged, (
            f"pg_is_in_recovery() on {member}: {in_recovery}; Patroni logged its demotion: {logged}"
        )

    return probe


@contextlib.contextmanager
def etcd_stopped(cluster, faults, scenario, section=contextlib.nullcontext):
    """etcd stopped under write load for the body, which gets the load and when etcd
    stopped (monotonic, wall clock); then etcd started again, the cluster healthy, its
    recovery time and the writes' verdict recorded. ``section`` (a measured one) runs from
    before the writer starts until etcd is started again; the outage is taken within it."""
    with UnderLoad(cluster, faults, section=section) as load:
        started, since = time.monotonic(), time.time()
        faults.stop_dcs()
        try:
            yield load, started, since
        finally:
            faults.start_dcs()
            load.end_of_section()
        cluster.wait_healthy()
        scenario["recovered_seconds"] = elapsed_since(started)
        scenario.update(load.verdict())


def elapsed_since(start):
    return round(time.monotonic() - start, 2)


def test_planned_switchover_while_writing(
    healthy_cluster, faults, mode, scenario, budgets, measuring
):
    """A switchover through the REST API under write load; the write outage within its
    budget (see ``budgets``)."""
    with measuring():
        scenario.update(switchover_under_load(healthy_cluster, faults))
    check(mode, scenario, healthy_cluster, faults)
    budgets.check("switchover", scenario)


def test_leader_stopped_with_sigterm_hands_over_without_waiting_for_ttl(
    healthy_cluster, faults, mode, scenario, budgets, measuring
):
    """SIGTERM to the leader (as `docker stop` sends): the key is released, a replica takes
    over before ttl. Timed from the signal, not from the container's exit."""
    scenario.update(leader_loss_under_load(healthy_cluster, faults, "sigterm", section=measuring))
    check(mode, scenario, healthy_cluster, faults)
    ttl = PatroniTimings.of(healthy_cluster).ttl
    assert scenario["new_leader_seconds"] < ttl, (
        f"a released key should not wait for ttl ({ttl}s): {scenario}"
    )
    budgets.check("sigterm", scenario)


# What Patroni logs about failsafe_mode while the DCS is gone (patroni/ha.py).
FAILSAFE_LOG = ("failsafe", "POST", "DCS is not accessible", "demot")


def test_etcd_lost_with_failsafe_mode_the_leader_keeps_writing(
    healthy_cluster, faults, mode, scenario, measuring
):
    """etcd stopped, failsafe_mode on: the leader stays primary and writes are acknowledged
    over a whole ttl and more, while every member answers its POST /failsafe; the cluster
    recovers when etcd returns. Patroni gives each answer 2 s (one retry) and demotes the
    leader when one is late, so the watch runs with nothing else of the run beside it."""
    cluster = healthy_cluster
    timings = PatroniTimings.of(cluster)
    set_failsafe_mode(cluster, True)  # the scenario fixture switches it off again
    leader = cluster.leader()

    def failsafe_lines() -> str:
        lines = faults.logs_since(leader, since).splitlines()
        found = [line for line in lines if any(word in line for word in FAILSAFE_LOG)]
        return f"--- {leader}'s log on failsafe_mode since etcd stopped\n" + "\n".join(found[-20:])

    with etcd_stopped(cluster, faults, scenario, measuring) as (load, _, since):
        holds_for(
            f"{leader} staying primary with failsafe_mode on and etcd down",
            in_recovery_is(faults, leader, False),
            timings.ttl + 2 * timings.loop_wait + 5,
            diagnostics=failsafe_lines,
        )
        load.writer.wait_for_acknowledged(20, timeout=cluster.deadlines.converge)
    check(mode, scenario, cluster, faults)


def test_leader_killed_with_sigkill_is_replaced_and_rejoins(
    healthy_cluster, faults, mode, scenario, budgets, measuring
):
    """`docker kill` of the leader: a replica takes over once the key expires; the old node,
    started again, rejoins as a replica (pg_rewind where its timeline diverged)."""
    scenario.update(leader_loss_under_load(healthy_cluster, faults, "sigkill", section=measuring))
    check(mode, scenario, healthy_cluster, faults)
    budgets.check("sigkill", scenario)


def test_isolated_leader_demotes_and_no_two_members_accept_writes(
    healthy_cluster, faults, mode, scenario
):
    """The leader cut off from the network demotes itself; a new leader is elected; no sample
    ever finds two writable members (members asked all at once, rounds at most
    SAMPLER_MAX_GAP apart); reconnected, the old leader rejoins as a replica.

    Demoted, cut off: Patroni logged its demotion and the server accepts no writes. Its
    shutdown may still be waiting on the connections to its replicas (up to PostgreSQL's
    wal_sender_timeout, a minute by default), so it is reconnected then, and the rejoin
    proves the rest."""
    cluster = healthy_cluster
    old = cluster.leader()
    with UnderLoad(cluster, faults, sample=True) as load:
        since, started = time.time(), time.monotonic()
        try:
            faults.isolate_member(old)
            new = promoted_elsewhere(cluster, old)
            scenario["new_leader_seconds"] = elapsed_since(started)

            cluster.wait_for(
                f"isolated {old} to demote itself",
                demoted_inside(faults, old, since),
                cluster.deadlines.failover,
            )
            scenario["isolated_leader_demoted_seconds"] = elapsed_since(started)
        finally:
            faults.reconnect_member(old)
            sampler = load.stop_sampling()
        cluster.wait_streaming(old, timeout=cluster.deadlines.failover)
        scenario["old_leader_streaming_seconds"] = elapsed_since(started)
        scenario.update(load.verdict())

    split = sampler.split_brain_rounds()
    assert not split, f"two writable members at once: {split[:5]}"
    assert scenario["sampler_max_gap_seconds"] <= SAMPLER_MAX_GAP, (
        f"a member went up to {scenario['sampler_max_gap_seconds']}s without answering the "
        f"sampler; a split brain that short could have gone unseen. Per member (gap, from; "
        f"the fault at {started:.2f}): {sampler.gaps()}"
    )
    demoted_at = sampler.first_not_writable(old, after=started)
    promoted_at = sampler.first_writable(new, after=started)
    assert demoted_at is not None and promoted_at is not None, sampler.rounds[-3:]
    assert demoted_at <= promoted_at, "the new leader was writable before the old one demoted"
    check(mode, scenario, cluster, faults)


def test_etcd_lost_without_failsafe_mode_the_leader_demotes(
    healthy_cluster, faults, mode, scenario
):
    """etcd stopped, failsafe_mode off: the leader demotes (no DCS, no lock) and no member
    accepts writes; the cluster recovers when etcd returns."""
    cluster = healthy_cluster
    leader = cluster.leader()
    with etcd_stopped(cluster, faults, scenario) as (_, started, _):
        cluster.wait_for(
            f"{leader} to demote without etcd",
            in_recovery_is(faults, leader, True),
            cluster.deadlines.failover,
        )
        scenario["leader_demoted_seconds"] = elapsed_since(started)
        writable = [m for m in cluster.member_names() if faults.in_recovery_inside(m) is False]
        assert not writable, f"writable without a DCS: {writable}"
    check(mode, scenario, cluster, faults)


def test_leader_and_sync_replica_lost_together_no_silent_promotion(
    healthy_cluster, faults, mode, scenario
):
    """Leader and synchronous replica killed together: the remaining replica, which may lack
    acknowledged writes, is not promoted, watched for more than a ttl."""
    if mode != "sync":
        pytest.skip("only synchronous mode promises not to promote a replica that may lag")
    cluster = healthy_cluster
    timings = PatroniTimings.of(cluster)
    members = cluster.members()
    leader = next(m["name"] for m in members if m["role"] == "leader")
    sync = next(m["name"] for m in members if m["role"] == "sync_standby")
    remaining = next(m["name"] for m in members if m["name"] not in (leader, sync))
    with UnderLoad(cluster, faults) as load:
        started = time.monotonic()
        faults.kill_member(leader)
        faults.kill_member(sync)
        try:

            def not_promoted():
                in_recovery = faults.in_recovery_inside(remaining)
                return (
                    in_recovery is not False,
                    f"pg_is_in_recovery() on {remaining}: {in_recovery}",
                )

            holds_for(
                f"{remaining} (which may lack writes only {leader} and {sync} had) staying "
                f"unpromoted",
                not_promoted,
                timings.ttl + 2 * timings.loop_wait + 10,
                diagnostics=cluster.diagnostics,
            )
            scenario["watched_seconds"] = elapsed_since(started)
        finally:
            faults.start_member(leader)
            faults.start_member(sync)
        cluster.wait_healthy()
        scenario["recovered_seconds"] = elapsed_since(started)
        scenario.update(load.verdict())
    check(mode, scenario, cluster, faults)


def test_a_member_that_cannot_rejoin_is_named_and_rebuilt(healthy_cluster, faults):
    """What every scenario's teardown relies on: a replica whose data directory PostgreSQL
    refuses (PG_VERSION naming another major version, then the node killed and started)
    cannot rejoin by itself; make_whole names it with its own log lines and rebuilds it
    with patronictl reinit."""
    cluster = healthy_cluster
    timings = PatroniTimings.of(cluster)
    victim = cluster.replicas()[0]
    began = time.time()
    broken = faults.run_in(
        victim, "sh", "-c", f"echo 9.6 > {PatroniNodeContainer.PGDATA}/PG_VERSION"
    )
    assert broken.exit_code == 0, broken.text
    faults.kill_member(victim)
    faults.start_member(victim)
    diagnosis = make_whole(
        cluster,
        began,
        settle=timings.ttl,
        timeout=cluster.deadlines.healthy,
        logs_since=faults.logs_since,
    )
    assert diagnosis is not None, "a member PostgreSQL refuses rejoined by itself"
    assert f"{victim} could not rejoin" in diagnosis, diagnosis
    assert f"rebuilt {victim}: patronictl reinit exit 0" in diagnosis, diagnosis
    assert not cluster.health_problems(), cluster.health_problems()
    assert_data_directories_clean(cluster, faults)


def test_a_failure_inside_a_scenario_leaves_no_thread_and_no_setting_behind(
    healthy_cluster, faults
):
    """An injected failure in the middle of a scenario (failsafe_mode on, etcd stopped, the
    writer and sampler running): leaving the load stops both threads at once, and the
    clean-up every scenario gets restores etcd and failsafe_mode."""
    cluster = healthy_cluster
    timings = PatroniTimings.of(cluster)
    began = time.time()
    set_failsafe_mode(cluster, True)
    with pytest.raises(RuntimeError, match="injected"):
        with UnderLoad(cluster, faults, sample=True):
            faults.stop_dcs()
            raise RuntimeError("injected failure in the middle of a scenario")
    alive = [
        t.name
        for t in threading.enumerate()
        if t.name in ("ha-writer", "writable-sampler") and t.is_alive()
    ]
    assert not alive, f"threads left running: {alive}"
    assert after_scenario(cluster, faults, began, timings) is None
    assert not cluster.rest(cluster.leader(), "/config").json().get("failsafe_mode")
    assert not cluster.health_problems(), cluster.health_problems()

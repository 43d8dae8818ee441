"""Grading a cluster the suite did not start: the same checks, the same result.

A second pytest run is pointed at this session's cluster only through the
addresses a person grading a hand-built cluster would give (etcd, REST, PostgreSQL,
HAProxy, a patronictl command). Its outcomes must equal this run's own for the
homework modules, and it must leave the cluster as it found it.
"""

import os
from pathlib import Path

import pytest

from fixtures import homework
from fixtures.child_run import HOMEWORK_MODULES, read_junit, run_pytest
from fixtures.docker_cluster import DockerCluster
from fixtures.report_plugin import grading_report

pytestmark = [
    pytest.mark.order(8),
    pytest.mark.cluster,
    pytest.mark.homework("grading: the same checks against a cluster the suite did not start"),
]

ROOT = Path(__file__).resolve().parent.parent


# Tests of these modules that only read: they run on a foreign cluster without --allow-changes.
READ_ONLY_IN_ACTING_MODULES = {
    "test_step10_history_shows_a_promotion_every_member_followed",
    "test_step13_running_max_connections_is_the_dynamic_configuration_on_every_member",
}


@pytest.fixture(scope="module")
def own(healthy_cluster):
    if not isinstance(healthy_cluster, DockerCluster):
        pytest.skip(
            "grades the suite's own cluster as a foreign one; this run grades a "
            "foreign cluster already"
        )
    homework_done(healthy_cluster)
    return healthy_cluster


def homework_done(cluster):
    """A foreign cluster is graded on the student's work: replicatest, a failover and a
    switchover in its history. The session's earlier modules leave them; when this module
    runs alone, the suite does them here (at most two switchovers)."""
    if homework.exists(cluster, cluster.leader()) is None:
        homework.create_replicatest(cluster)
    for _ in range(2):
        if len(cluster.history()) >= 2:
            break
        leader, candidate = cluster.leader(), cluster.replicas()[0]
        cluster.switchover(leader, candidate).raise_for_status()
        cluster.wait_for_leader(candidate)
        cluster.wait_healthy()


def target_args(cluster: DockerCluster, members=None) -> list[str]:
    args = [
        "--scope",
        cluster.scope,
        "--target-etcd",
        str(cluster.etcd_endpoint()),
        "--target-haproxy",
        "127.0.0.1",
        "--target-haproxy-ports",
        ",".join(str(cluster.haproxy_endpoint(w).port) for w in ("rw", "ro", "stats")),
        "--target-patronictl",
        f"docker exec {next(iter(cluster.nodes.values())).get_wrapped_container().name} patronictl",
    ]
    for name in members or cluster.member_names():
        args += [
            "--target-member",
            f"{name}=http://{cluster.rest_endpoint(name)}",
            "--target-pg",
            f"{name}={cluster.pg_endpoint(name)}",
        ]
    return args


def run_child(cluster, tmp_path, *extra, password=None, modules=HOMEWORK_MODULES, members=None):
    env = dict(os.environ, PGHA_TARGET_PASSWORD=password or cluster.credentials.superuser_password)
    xml = tmp_path / "child.xml"
    args = [*modules, *target_args(cluster, members), *extra]
    return run_pytest(args, xml, env, cluster.deadlines.child_run), xml


def outcomes(xml: Path) -> dict[str, str]:
    return {case.key: case.outcome for case in read_junit(xml)}


def test_grading_an_existing_cluster_gives_the_same_result_and_undoes_its_changes(
    own, tmp_path, pytestconfig, record_property
):
    """All homework modules, run as a grader would against a cluster they did not start."""
    leader_before = own.leader()
    config_before = own.rest(leader_before, "/config").json()

    done, xml = run_child(own, tmp_path, "--allow-changes")
    child = outcomes(xml) if xml.exists() else {}
    assert child, f"the grading run produced no report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    record_property(
        "grading_run_outcomes", {k: v for k, v in child.items() if v != "passed"} or "all passed"
    )

    mine = {
        r.nodeid.replace("/", ".").replace(".py::", "."): r.outcome
        for r in grading_report(pytestconfig).results.values()
    }
    for test, outcome in child.items():
        expected = mine.get(f"{test}", "passed")  # not run here: it must simply pass
        assert outcome == expected, (
            f"{test}: {outcome} when grading the existing cluster, {expected} here\n"
            f"{done.stdout[-4000:]}"
        )

    assert own.leader() == leader_before, "grading left another leader in charge"
    assert own.rest(own.leader(), "/config").json() == config_before, (
        "grading left its configuration changes behind"
    )


def test_without_allow_changes_acting_steps_are_skipped_with_the_reason(own, tmp_path):
    """Failover, switchover and restart do not run on someone's cluster unless allowed;
    the steps are graded from what the cluster shows instead."""
    done, xml = run_child(
        own, tmp_path, modules=["tests/test_03_failover.py", "tests/test_05_restart.py"]
    )
    child = {test.rsplit(".", 1)[-1]: outcome for test, outcome in outcomes(xml).items()}
    read_only = {t: o for t, o in child.items() if t in READ_ONLY_IN_ACTING_MODULES}
    acting = {t: o for t, o in child.items() if t not in READ_ONLY_IN_ACTING_MODULES}
    assert read_only == dict.fromkeys(READ_ONLY_IN_ACTING_MODULES, "passed"), (
        child,
        done.stdout[-2000:],
    )
    assert acting and set(acting.values()) == {"skipped"}, (child, done.stdout[-2000:])
    messages = [case.skip_message for case in read_junit(xml) if case.outcome == "skipped"]
    assert messages and all("pass --allow-changes" in (m or "") for m in messages), messages


@pytest.mark.parametrize(
    "change, message",
    [
        (["--scope", "nosuchscope"], "scope 'nosuchscope' has no members in etcd"),
        (["--target-member", "node1=http://127.0.0.1:1"], "node1's REST API at http://127.0.0.1:1"),
        (["--target-etcd", "127.0.0.1:1"], "etcd at 127.0.0.1:1 is not reachable"),
    ],
)
def test_bad_input_stops_the_grading_run_with_one_clear_message(own, tmp_path, change, message):
    """An unreachable etcd or REST API, or a wrong scope: one message, before any step."""
    done, _ = run_child(own, tmp_path, *change, modules=["tests/test_01_cluster.py"])
    assert done.returncode == 3, done.stdout[-2000:]
    assert message in done.stdout, done.stdout[-2000:]
    assert "Traceback" not in done.stdout and " passed" not in done.stdout


def test_wrong_password_stops_the_grading_run_with_one_clear_message(own, tmp_path):
    done, _ = run_child(
        own, tmp_path, password="not-the-password", modules=["tests/test_01_cluster.py"]
    )
    assert done.returncode == 3, done.stdout[-2000:]
    assert "password authentication failed" in done.stdout, done.stdout[-2000:]
    assert "PGHA_TARGET_PASSWORD" in done.stdout, done.stdout[-2000:]
    assert "not-the-password" not in done.stdout


def test_wrong_haproxy_ports_stop_the_grading_run_with_one_clear_message(own, tmp_path):
    """A read-write port where nothing listens, or a read-only port that is HAProxy's stats
    page (HTTP, not PostgreSQL): one message naming the port, before any step."""
    rw, ro, stats = (own.haproxy_endpoint(w).port for w in ("rw", "ro", "stats"))
    for ports, message in (
        (f"1,{ro},{stats}", "read-write port 127.0.0.1:1"),
        (f"{rw},{stats},{stats}", f"read-only port 127.0.0.1:{stats}"),
    ):
        done, _ = run_child(
            own, tmp_path, "--target-haproxy-ports", ports, modules=["tests/test_01_cluster.py"]
        )
        assert done.returncode == 3, done.stdout[-2000:]
        assert message in done.stdout and "does not serve PostgreSQL" in done.stdout, done.stdout[
            -2000:
        ]
        assert " passed" not in done.stdout


def test_members_etcd_lists_without_an_address_are_named(own, tmp_path):
    """Every member etcd knows must be reachable: a missing REST URL is named."""
    done, _ = run_child(
        own, tmp_path, modules=["tests/test_01_cluster.py"], members=own.member_names()[:2]
    )
    assert done.returncode == 3, done.stdout[-2000:]
    assert f"no REST URL given for ['{own.member_names()[2]}']" in done.stdout, done.stdout[-2000:]


def test_a_cluster_of_fewer_than_three_members_is_refused(own, tmp_path):
    """The homework needs three members: with one stopped and gone from etcd, the grading
    run stops before any step. The member is started again afterwards."""
    stopped = own.replicas()[0]
    own.fault_control().stop_member(stopped)
    try:

        def gone():
            names = [m["name"] for m in own.members()]
            return stopped not in names, names

        own.wait_for(f"{stopped}'s member key to leave etcd", gone, timeout=own.deadlines.failover)
        remaining = [name for name in own.member_names() if name != stopped]
        done, _ = run_child(own, tmp_path, modules=["tests/test_01_cluster.py"], members=remaining)
    finally:
        own.fault_control().start_member(stopped)
    assert done.returncode == 3, done.stdout[-2000:]
    assert "the cluster has 2 members in etcd" in done.stdout, done.stdout[-2000:]
    own.wait_healthy()

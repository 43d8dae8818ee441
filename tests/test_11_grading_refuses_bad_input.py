"""Grading refuses what it cannot grade: bad input stops the run with one clear message.

A grading run (the homework modules pointed at a cluster through options only, as
in test_08) with a wrong scope, an unreachable etcd or REST API, a wrong password,
wrong HAProxy ports, a member without an address, or a cluster of fewer than three
members stops before any step, exit status 3, with one message that names what is
wrong. These need a running cluster but none of the homework's history, so they run
on a cluster of their own, beside the homework lane (fixtures/lanes.py).
"""

import pytest

from fixtures.child_run import grade_as_foreign
from fixtures.docker_cluster import DockerCluster

pytestmark = [
    pytest.mark.order(11),
    pytest.mark.cluster,
    pytest.mark.homework("grading: bad input stops a grading run with one clear message"),
]


@pytest.fixture(scope="module")
def own(healthy_cluster):
    if not isinstance(healthy_cluster, DockerCluster):
        pytest.skip(
            "grades the suite's own cluster as a foreign one; this run grades a "
            "foreign cluster already"
        )
    return healthy_cluster


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
    done, _ = grade_as_foreign(own, tmp_path, *change, modules=["tests/test_01_cluster.py"])
    assert done.returncode == 3, done.stdout[-2000:]
    assert message in done.stdout, done.stdout[-2000:]
    assert "Traceback" not in done.stdout and " passed" not in done.stdout


def test_wrong_password_stops_the_grading_run_with_one_clear_message(own, tmp_path):
    done, _ = grade_as_foreign(
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
        done, _ = grade_as_foreign(
            own, tmp_path, "--target-haproxy-ports", ports, modules=["tests/test_01_cluster.py"]
        )
        assert done.returncode == 3, done.stdout[-2000:]
        assert message in done.stdout and "does not serve PostgreSQL" in done.stdout, done.stdout[
            -2000:
        ]
        assert " passed" not in done.stdout


def test_members_etcd_lists_without_an_address_are_named(own, tmp_path):
    """Every member etcd knows must be reachable: a missing REST URL is named."""
    done, _ = grade_as_foreign(
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
        done, _ = grade_as_foreign(
            own, tmp_path, modules=["tests/test_01_cluster.py"], members=remaining
        )
    finally:
        own.fault_control().start_member(stopped)
    assert done.returncode == 3, done.stdout[-2000:]
    assert "the cluster has 2 members in etcd" in done.stdout, done.stdout[-2000:]
    own.wait_healthy()

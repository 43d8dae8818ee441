"""Homework steps 1-6: three Spilo nodes on one etcd form a cluster.

What the homework looked at by hand (etcd's keys, the REST API, `patronictl
list`, psql to the master) is checked here from the system itself.
"""

import json

import pytest

from fixtures.cluster.compat import patronictl_table_rows
from fixtures.cluster.interface import PRIMARY_ROLES, REPLICA_ROLES

pytestmark = [
    pytest.mark.order(1),
    pytest.mark.cluster,
    pytest.mark.homework("1-6, 9: three Spilo nodes on one etcd form a cluster"),
]


def test_cluster_has_one_leader_and_streaming_replicas_on_one_timeline(cluster):
    """Step 3-4: all nodes joined one cluster through etcd (REST /cluster)."""
    members = cluster.members()
    names = sorted(m["name"] for m in members)
    assert len(names) >= cluster.expected_members, (
        f"/cluster lists {len(names)} members ({', '.join(names)}); the homework needs "
        f"{cluster.expected_members}: start the missing node"
    )
    assert names == sorted(cluster.member_names()), f"/cluster lists {names}"
    roles = sorted(m["role"] for m in members)
    assert roles.count("leader") == 1, f"roles: {roles}"
    replicas = [m["name"] for m in members if m["role"] != "leader"]
    odd = {m["name"]: m["role"] for m in members if m["role"] not in ("leader", *REPLICA_ROLES)}
    assert not odd, f"members neither leader nor replica: {odd}"
    streaming = cluster.streaming_replicas()
    assert set(replicas) <= streaming, f"not streaming: {sorted(set(replicas) - streaming)}"
    timelines = {m["timeline"] for m in members}
    assert len(timelines) == 1, f"members on timelines {timelines}"


def test_etcd_holds_members_leader_config_and_initialize(cluster, evidence):
    """Step 5: what Patroni keeps in etcd under /service/<scope>/ (v3 API with etcd3, or the
    v2 store the homework's ETCD_HOST uses, read over HTTP)."""
    prefix = cluster.dcs_prefix()
    found = cluster.dcs_keys()
    keys = found.keys
    evidence(f"etcd {found.api} keys under {prefix}", "\n".join(sorted(keys)))

    for name in cluster.member_names():
        assert f"members/{name}" in keys, f"no members/{name} under {prefix}: {sorted(keys)}"
        member = json.loads(keys[f"members/{name}"])
        for field in ("conn_url", "api_url", "role", "state"):
            assert field in member, f"members/{name} lacks {field}: {member}"

    assert keys.get("leader") == cluster.leader(), (
        f"etcd leader key {keys.get('leader')!r}, REST leader {cluster.leader()!r}"
    )
    assert keys.get("initialize"), "no initialize key (the cluster's system identifier)"

    dcs_config = json.loads(keys["config"])
    in_force = cluster.rest(cluster.leader(), "/config").json()
    for field in ("ttl", "loop_wait"):
        assert dcs_config[field] == in_force[field], (field, dcs_config, in_force)
    settings = cluster.suite_settings()
    if settings is not None:  # the suite started this cluster: its timings are what it asked for
        assert (dcs_config["ttl"], dcs_config["loop_wait"]) == (
            settings.timings.ttl,
            settings.timings.loop_wait,
        )
        assert found.api == settings.etcd_api, (
            f"nodes were told to use etcd {settings.etcd_api}, keys are in {found.api}"
        )


def test_primary_endpoint_answers_200_on_leader_only(cluster):
    """Step 6: GET /primary is 200 on the leader, 503 on the replicas; /replica the reverse."""
    leader = cluster.leader()
    for name in cluster.member_names():
        primary = cluster.rest(name, "/primary").status_code
        replica = cluster.rest(name, "/replica").status_code
        if name == leader:
            assert (primary, replica) == (200, 503), (
                f"{name} (leader): /primary {primary}, /replica {replica}"
            )
        else:
            assert (primary, replica) == (503, 200), (
                f"{name} (replica): /primary {primary}, /replica {replica}"
            )


def test_patroni_endpoint_reports_role_state_timeline_version_and_scope(cluster):
    """Step 6: GET /patroni on each member describes that member."""
    leader = cluster.leader()
    timelines = set()
    for name in cluster.member_names():
        status = cluster.rest(name, "/patroni").json()
        expected_roles = PRIMARY_ROLES if name == leader else ("replica",)  # 3.x: master
        assert status["role"] in expected_roles, f"{name}: {status}"
        assert status["state"] in ("running", "streaming"), f"{name}: {status}"
        assert status["server_version"] >= 100000, f"{name}: {status}"
        assert status["patroni"]["scope"] == cluster.scope, f"{name}: {status}"
        assert status["patroni"].get("name", name) == name, f"{name}: {status}"
        timelines.add(status["timeline"])
    assert len(timelines) == 1, f"timelines {timelines}"


@pytest.mark.extra
def test_patronictl_list_inside_a_node_shows_every_member_and_the_leader(cluster, evidence):
    """Step 10's tool: `patronictl list` run inside a node, as in the homework (extra
    evidence: grading needs no patronictl, the REST API holds the same)."""
    table = cluster.patronictl("list")
    evidence("patronictl list", table.output)
    assert table.exit_code == 0, table.output
    rows = patronictl_table_rows(table.output)
    assert sorted(r.get("Member", "") for r in rows) == sorted(cluster.member_names()), table.output
    leaders = [r["Member"] for r in rows if r.get("Role") == "Leader"]
    assert leaders == [cluster.leader()], table.output


def test_sql_over_ssl_only_the_leader_is_not_in_recovery(cluster):
    """Step 9: connecting to each node from the host (SSL, as Spilo's pg_hba requires)."""
    leader = cluster.leader()
    for name in cluster.member_names():
        in_recovery, ssl = cluster.sql(
            name, "SELECT pg_is_in_recovery(), ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )[0]
        assert ssl, f"{name}: connection is not encrypted"
        assert in_recovery == (name != leader), (
            f"{name}: pg_is_in_recovery() = {in_recovery}, leader is {leader}"
        )


@pytest.mark.extra
def test_remote_clients_without_ssl_are_rejected(cluster, evidence):
    """Spilo's pg_hba: `hostnossl all all all reject` for clients from outside the node, on
    every member (the server refuses; the client's sslmode=require cannot decide this).
    Extra evidence on a student's cluster: the homework does not require SSL (Spilo's
    ALLOW_NOSSL lets clients in without it)."""
    if cluster.credentials.sslmode == "disable":
        pytest.skip("graded with sslmode=disable (--target-sslmode): SSL is not expected")
    for name in cluster.member_names():
        try:
            refusal = cluster.refusal_without_ssl(cluster.pg_endpoint(name))
        except AssertionError as exc:
            if cluster.started_by_suite:
                raise
            pytest.skip(f"extra evidence: {exc} (ALLOW_NOSSL); the homework does not require SSL")
        evidence(f"{name} without SSL", refusal)

"""Cluster settings: Patroni's timing rules, Spilo's environment, secrets kept out of reprs."""

import yaml

from fixtures.cluster.settings import ClusterSettings, PatroniTimings


def test_default_timings_are_legal_for_patroni():
    assert PatroniTimings().problems() == []


def test_illegal_timings_are_explained():
    problems = PatroniTimings(ttl=10, loop_wait=0, retry_timeout=2).problems()
    text = "; ".join(problems)
    assert "ttl 10" in text and "loop_wait 0" in text and "retry_timeout 2" in text
    assert PatroniTimings(ttl=20, loop_wait=5, retry_timeout=8).problems() == [
        "loop_wait + 2*retry_timeout = 21 exceeds ttl 20"
    ]


def test_node_env_follows_spilos_contract_and_carries_the_timings():
    settings = ClusterSettings(scope="batman", timings=PatroniTimings(25, 3, 6))
    env = settings.node_env("etcd:2379", "node1")
    assert env["SCOPE"] == "batman"
    assert env["ETCD3_HOST"] == "etcd:2379"
    assert env["PGPASSWORD_SUPERUSER"] == settings.superuser_password
    dcs = yaml.safe_load(env["SPILO_CONFIGURATION"])["bootstrap"]["dcs"]
    assert dcs == {"ttl": 25, "loop_wait": 3, "retry_timeout": 6}


def test_members_publish_their_rest_api_by_name_not_by_address():
    # A dead member's name stops resolving at once; its address would hold the leader
    # race for Patroni's 2 s request timeout.
    env = ClusterSettings().node_env("etcd:2379", "node2")
    restapi = yaml.safe_load(env["SPILO_CONFIGURATION"])["restapi"]
    assert restapi == {"connect_address": "node2:8008"}


def test_passwords_are_fresh_each_run_and_never_in_repr():
    first, second = ClusterSettings(), ClusterSettings()
    assert first.superuser_password != second.superuser_password
    assert first.replication_password != first.superuser_password
    assert first.superuser_password not in repr(first)
    assert first.replication_password not in repr(first)


def test_node_names():
    assert ClusterSettings(nodes=3).node_names == ["node1", "node2", "node3"]


def test_etcd_v2_gives_spilos_etcd_host_instead_of_etcd3_host():
    env = ClusterSettings(etcd_api="v2").node_env("etcd:2379", "node1")
    assert env["ETCD_HOST"] == "etcd:2379" and "ETCD3_HOST" not in env
    env = ClusterSettings().node_env("etcd:2379", "node1")
    assert env["ETCD3_HOST"] == "etcd:2379" and "ETCD_HOST" not in env


def test_an_unknown_etcd_api_is_refused():
    import pytest

    with pytest.raises(ValueError, match="v4"):
        ClusterSettings(etcd_api="v4").node_env("etcd:2379", "node1")

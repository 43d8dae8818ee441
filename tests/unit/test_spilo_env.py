"""The node image's entrypoint logic: Spilo's environment turned into Patroni's config."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docker" / "node"))
import spilo_env  # noqa: E402

BIN = "/usr/lib/postgresql/15/bin"


def build(**env):
    env.setdefault("ETCD3_HOST", "etcd:2379")
    return spilo_env.build_config(env, "node1", "10.0.0.5", BIN)


def test_defaults_follow_spilo():
    config = build()
    assert config["scope"] == "dummy"
    assert config["name"] == "node1"
    assert config["restapi"] == {"listen": "0.0.0.0:8008", "connect_address": "10.0.0.5:8008"}
    pg = config["postgresql"]
    assert pg["connect_address"] == "10.0.0.5:5432"
    assert pg["data_dir"] == "/home/postgres/pgdata/pgroot/data"
    assert pg["authentication"]["superuser"] == {"username": "postgres", "password": "zalando"}
    assert pg["authentication"]["replication"] == {"username": "standby", "password": "standby"}
    dcs = config["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (30, 10, 10)
    assert dcs["maximum_lag_on_failover"] == 33554432
    assert dcs["postgresql"]["use_pg_rewind"] and dcs["postgresql"]["use_slots"]
    assert dcs["postgresql"]["parameters"]["wal_log_hints"] == "on"


def test_ports_users_and_scope_come_from_the_environment():
    config = build(
        SCOPE="batman",
        PGPORT="6432",
        APIPORT="9008",
        PGUSER_SUPERUSER="admin",
        PGPASSWORD_SUPERUSER="s3",
        PGUSER_STANDBY="repl",
        PGPASSWORD_STANDBY="r3",
    )
    assert config["scope"] == "batman"
    assert config["restapi"]["listen"] == "0.0.0.0:9008"
    assert config["postgresql"]["listen"] == "*:6432"
    auth = config["postgresql"]["authentication"]
    assert auth["superuser"] == {"username": "admin", "password": "s3"}
    assert auth["replication"] == {"username": "repl", "password": "r3"}
    assert "hostssl replication repl all md5" in config["postgresql"]["pg_hba"]


def test_etcd3_and_etcd_variables_select_their_own_dcs_sections():
    config = spilo_env.build_config(
        {"ETCD3_HOSTS": "e1:2379,e2:2379", "ETCD3_PROTOCOL": "http"}, "n", "1.2.3.4", BIN
    )
    assert config["etcd3"] == {"hosts": "e1:2379,e2:2379", "protocol": "http"}
    assert "etcd" not in config
    config = spilo_env.build_config({"ETCD_HOST": "e1:2379"}, "n", "1.2.3.4", BIN)
    assert config["etcd"] == {"host": "e1:2379"}
    assert "etcd3" not in config


def test_missing_dcs_is_a_clear_error():
    with pytest.raises(spilo_env.ConfigError, match="ETCD3_HOST"):
        spilo_env.build_config({}, "n", "1.2.3.4", BIN)


def test_remote_clients_need_ssl_unless_allow_nossl():
    hba = build()["postgresql"]["pg_hba"]
    assert hba.index("hostnossl all all all reject") < hba.index("hostssl all all all md5")
    assert hba[0] == "local all all trust"
    relaxed = build(ALLOW_NOSSL="true")["postgresql"]["pg_hba"]
    assert "hostnossl all all all reject" not in relaxed
    assert "host all all all md5" in relaxed


def test_spilo_configuration_is_deep_merged_and_wins():
    config = build(
        SPILO_CONFIGURATION="{bootstrap: {dcs: {ttl: 20, loop_wait: 2}}, "
        "postgresql: {parameters: {shared_buffers: 32MB}}}"
    )
    dcs = config["bootstrap"]["dcs"]
    assert (dcs["ttl"], dcs["loop_wait"], dcs["retry_timeout"]) == (20, 2, 10)
    params = config["postgresql"]["parameters"]
    assert params["shared_buffers"] == "32MB"
    assert params["ssl"] == "on", "merging must keep the defaults the user did not override"


@pytest.mark.parametrize(
    "text, message",
    [("{a: [1, 2", "not valid YAML"), ("- just\n- a list", "must be a YAML mapping")],
)
def test_bad_spilo_configuration_is_a_clear_error(text, message):
    with pytest.raises(spilo_env.ConfigError, match=message):
        build(SPILO_CONFIGURATION=text)


def test_deep_merge_does_not_change_its_inputs():
    base = {"a": {"b": 1, "c": 2}}
    merged = spilo_env.deep_merge(base, {"a": {"b": 3}, "d": 4})
    assert merged == {"a": {"b": 3, "c": 2}, "d": 4}
    assert base == {"a": {"b": 1, "c": 2}}


def test_bin_dir_is_pgversion_or_the_newest_installed(tmp_path):
    for version in ("13", "15", "9"):
        (tmp_path / version / "bin").mkdir(parents=True)
    assert spilo_env.find_bin_dir({}, str(tmp_path)) == f"{tmp_path}/15/bin"
    assert spilo_env.find_bin_dir({"PGVERSION": "13"}, str(tmp_path)) == f"{tmp_path}/13/bin"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(spilo_env.ConfigError):
        spilo_env.find_bin_dir({}, str(empty))
